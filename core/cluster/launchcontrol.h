#pragma once
// LaunchControl: how the coordinator starts and stops agents on request of an admin
// client (the desktop app, `serve --launch-…`) without linking the launchers itself.
// core/launch implements it (AgentLaunchers). Every method is thread-safe; replies come
// from the launchers' own thread, since an sbatch call or an SSH connect may take seconds
// and the coordinator's thread must not wait for it.

#include <QJsonArray>
#include <QJsonObject>
#include <QString>

#include <functional>

namespace SegScale::Cluster {

class LaunchControl {
public:
    using Reply = std::function<void(const QJsonObject &reply)>;
    virtual ~LaunchControl() = default;

    // request: {kind: "local"|"ssh"|"slurm", count, host, partition, time_limit,
    // args: [...], program, name_prefix}. Reply: {type: "launched", ids: [...]} or an error.
    virtual void launch(const QJsonObject &request, Reply reply) = 0;
    // Reply: {type: "ok"} or an error.
    virtual void stop(const QString &id, Reply reply) = 0;
    // Every agent launched so far: {id, name, kind, state, exit_code, detail, log: [last lines]}.
    virtual QJsonArray launched() const = 0;
};

} // namespace SegScale::Cluster

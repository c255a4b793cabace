#pragma once
// Starts copies of a command as child processes of this one (QProcess), each in a
// process group of its own so that stop() also ends what it started (a shell's
// children). Their stdout and stderr come back line by line.

#include "launch/launcher.h"

#include <QHash>

#include <memory>

class QProcess;

namespace SegScale::Launch {

class LocalLauncher final : public Launcher {
    Q_OBJECT

public:
    explicit LocalLauncher(QObject *parent = nullptr);
    // Kills what is still running (SIGKILL to each process group) and waits for it.
    ~LocalLauncher() override;

    Result<QStringList> start(const LaunchSpec &spec) override;
    Result<void> stop(const QString &id) override;
    void stopAll() override;

private:
    struct Child;
    void readOutput(Child *child, bool standardError);
    void finish(Child *child, int exitCode, bool crashed);
    void signalGroup(const Child *child, int signal) const;

    QHash<QString, std::shared_ptr<Child>> m_children;
    int m_nextId = 1;
};

} // namespace SegScale::Launch

#pragma once
// Runs the batch system's commands on this machine (QProcess, no shell).

#include "launch/commandrunner.h"

namespace SegScale::Launch {

class LocalCommandRunner final : public CommandRunner {
public:
    Result<CommandOutput> run(const QString &program, const QStringList &arguments, const QByteArray &input = {},
                              int timeoutMs = 30000) override;
    QString where() const override { return QStringLiteral("localhost"); }
};

} // namespace SegScale::Launch

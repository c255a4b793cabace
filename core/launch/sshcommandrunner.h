#pragma once
// Runs the batch system's commands on a login host over SSH (one exec channel each, on
// one session kept open while the runner lives).

#include "launch/commandrunner.h"
#include "launch/sshconnection.h"

#include <memory>

namespace SegScale::Launch {

class SshCommandRunner final : public CommandRunner {
public:
    explicit SshCommandRunner(std::unique_ptr<SshConnection> connection);
    ~SshCommandRunner() override;

    Result<CommandOutput> run(const QString &program, const QStringList &arguments, const QByteArray &input = {},
                              int timeoutMs = 30000) override;
    QString where() const override { return m_connection->where(); }

private:
    std::unique_ptr<SshConnection> m_connection;
};

} // namespace SegScale::Launch

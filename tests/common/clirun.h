#pragma once
// Runs the segscale executable as a user would and keeps what it said: the exit code
// (-1 when it crashed or timed out) and both output streams.

#include <QProcess>
#include <QString>
#include <QStringList>

namespace SegScale::Testing {

struct CliRun {
    int code = -1;
    QString out;
    QString err;
};

inline CliRun runCli(const QString &program, const QStringList &args, int timeoutMs)
{
    QProcess p;
    p.start(program, args);
    CliRun r;
    if (!p.waitForFinished(timeoutMs)) {
        p.kill();
        p.waitForFinished();
        r.err = QStringLiteral("timed out");
        return r;
    }
    r.code = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
    r.out = QString::fromUtf8(p.readAllStandardOutput());
    r.err = QString::fromUtf8(p.readAllStandardError());
    return r;
}

} // namespace SegScale::Testing

// The launchers against the real things: child processes, a private sshd on 127.0.0.1
// (tests/common/sshdfixture) and a private Slurm cluster (tests/common/slurmfixture).
// The command launched is plain sh, so nothing here depends on the agent.

#include "common/slurmfixture.h"
#include "common/sshdfixture.h"
#include "launch/batchscript.h"
#include "launch/locallauncher.h"
#include "launch/shellcommand.h"
#include "launch/sshcommandrunner.h"
#include "launch/sshconnection.h"
#include "launch/slurmlauncher.h"
#include "launch/sshlauncher.h"

#include <QFile>
#include <QProcess>
#include <QJsonObject>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include <csignal>

using namespace SegScale;
using namespace SegScale::Launch;
using State = LaunchedAgent::State;

namespace {

// Everything a launcher said, for assertions after the fact.
struct Recorder {
    explicit Recorder(Launcher &launcher)
    {
        QObject::connect(&launcher, &Launcher::agentStateChanged, &launcher,
                         [this](const LaunchedAgent &a) { states[a.id].append(a.state); });
        QObject::connect(&launcher, &Launcher::logLineReceived, &launcher,
                         [this](const QString &id, const QString &line) { lines[id].append(line); });
    }
    QHash<QString, QList<State>> states;
    QHash<QString, QStringList> lines;
};

bool allFinished(const Launcher &launcher, const QStringList &ids)
{
    for (const QString &id : ids)
        if (!launcher.agent(id).isFinished())
            return false;
    return true;
}

bool processAlive(qint64 pid)
{
    // A zombie is dead for our purposes.
    QFile stat(QStringLiteral("/proc/%1/stat").arg(pid));
    if (!stat.open(QIODevice::ReadOnly))
        return false;
    const QByteArray line = stat.readAll();
    return line.mid(line.lastIndexOf(')') + 2, 1) != "Z";
}

qint64 readPid(const QString &path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll().trimmed().toLongLong() : 0;
}

QString readText(const QString &path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? QString::fromUtf8(f.readAll()).trimmed() : QString();
}

LaunchSpec shell(const QString &script, int count = 1)
{
    LaunchSpec spec;
    spec.program = QStringLiteral("sh");
    spec.arguments = {QStringLiteral("-c"), script};
    spec.count = count;
    spec.stopGraceMs = 2000;
    return spec;
}

} // namespace

class TestLaunchers : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void shellCommandQuotesEveryWord();
    void batchScriptPlaceholders();

    void localRunsStreamsAndReportsExitCodes();
    void localStopEndsTheProcessGroup();
    void localMissingProgramIsAnError();

    void sshRunsStreamsAndReportsExitCodes();
    void sshStopEndsTheRemoteProcess();
    void sshUnknownHostKeyIsRefused();
    void sshRefusedLoginIsAnError();

    void slurmArrayRunsAndExits();
    void slurmCancelStopsTheArray();
    void slurmRefusedSubmissionIsAnError();
    void slurmLoginHostOverSsh();
    void missingCommandsAreMissingErrors();

private:
    LaunchSpec sshSpec(const SshdFixture &sshd, const LaunchSpec &base) const;
    LaunchSpec slurmSpec(const SlurmFixture &slurm, const LaunchSpec &base) const;
};

// ---- command text -----------------------------------------------------------------

void TestLaunchers::shellCommandQuotesEveryWord()
{
    // What the remote shell and the batch script run: each argument must arrive exactly
    // as given, whatever quotes, dollars or spaces it holds; {index}/{name} become the
    // task id expression.
    QTemporaryDir tmp;
    LaunchSpec spec;
    spec.program = QStringLiteral("printf");
    spec.arguments = {QStringLiteral("%s|"), QStringLiteral("it's"), QStringLiteral("$HOME `id` \"x\""), QStringLiteral("a  b"),
                      QStringLiteral("--name={name}"), QStringLiteral("{index}{index}"), QString()};
    spec.environment.insert(QStringLiteral("X"), QStringLiteral("'{name}'"));
    spec.workingDirectory = tmp.path();
    spec.namePrefix = QStringLiteral("w");
    for (const bool slurm : {false, true}) {
        const QString line = ShellCommand::command(spec, 7, slurm ? QStringLiteral("$SLURM_ARRAY_TASK_ID") : QString());
        QProcess sh;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("SLURM_ARRAY_TASK_ID"), QStringLiteral("7"));
        sh.setProcessEnvironment(env);
        sh.start(QStringLiteral("sh"), {QStringLiteral("-c"), line + QStringLiteral("; echo never")});
        QVERIFY(sh.waitForFinished(10000));
        QCOMPARE(QString::fromUtf8(sh.readAllStandardOutput()),
                 QStringLiteral("it's|$HOME `id` \"x\"|a  b|--name=w-7|77||"));
        // The environment and the working folder.
        LaunchSpec probe = spec;
        probe.program = QStringLiteral("sh");
        probe.arguments = {QStringLiteral("-c"), QStringLiteral("echo \"$X\"; pwd")};
        sh.start(QStringLiteral("sh"), {QStringLiteral("-c"), ShellCommand::command(probe, 7, slurm ? QStringLiteral("$SLURM_ARRAY_TASK_ID") : QString())});
        QVERIFY(sh.waitForFinished(10000));
        QCOMPARE(QString::fromUtf8(sh.readAllStandardOutput()), QStringLiteral("'w-7'\n%1\n").arg(tmp.path()));
    }
}

void TestLaunchers::batchScriptPlaceholders()
{
    LaunchSpec spec = shell(QStringLiteral("true"), 3);
    spec.slurm.partition = QStringLiteral("gpu");
    spec.slurm.timeLimit = QStringLiteral("01:00:00");
    spec.slurm.cpusPerTask = 4;
    spec.slurm.extraSbatchLines = {QStringLiteral("--gres=gpu:1"), QStringLiteral("#SBATCH --mem=8G")};
    auto script = BatchScript::render(spec, QStringLiteral("/logs"));
    QVERIFY(script.ok());
    const QString text = QString::fromUtf8(*script);
    QVERIFY2(text.startsWith(QStringLiteral("#!/bin/sh\n#SBATCH --job-name=agent\n#SBATCH --output=/logs/agent-%A_%a.log\n"
                                            "#SBATCH --partition=gpu\n#SBATCH --time=01:00:00\n#SBATCH --cpus-per-task=4\n"
                                            "#SBATCH --gres=gpu:1\n#SBATCH --mem=8G\n")),
             qPrintable(text));
    QVERIFY(text.contains(QStringLiteral("exec 'sh' '-c' 'true'")));

    spec.slurm.batchTemplate = QStringLiteral("#!/bin/bash\n{{SBATCH_OPTIONS}}\nmodule load cuda\n# {{ JOB_NAME }} -> {{LOG_FILE}}\n{{COMMAND}}\n");
    script = BatchScript::render(spec, QStringLiteral("/logs"));
    QVERIFY(script.ok());
    QVERIFY(QString::fromUtf8(*script).contains(QStringLiteral("module load cuda\n# agent -> /logs/agent-%A_%a.log\nexec ")));

    for (const QString &bad : {QStringLiteral("#!/bin/sh\n{{SBATCH_OPTIONS}}\n"), QStringLiteral("no interpreter\n{{COMMAND}}"),
                               QStringLiteral("#!/bin/sh\n{{COMMAND}} {{PARTITION}}")}) {
        spec.slurm.batchTemplate = bad;
        const auto refused = BatchScript::render(spec, QStringLiteral("/logs"));
        QVERIFY(!refused.ok());
        QCOMPARE(refused.error().category, ErrorCategory::Usage);
    }
    spec.slurm.batchTemplate.clear();
    spec.slurm.extraSbatchLines = {QStringLiteral("--mem=1G\nrm -rf /")};
    QVERIFY(!BatchScript::render(spec, QStringLiteral("/logs")).ok());
}

// ---- local ------------------------------------------------------------------------

void TestLaunchers::localRunsStreamsAndReportsExitCodes()
{
    LocalLauncher launcher;
    Recorder rec(launcher);
    LaunchSpec spec = shell(QStringLiteral("echo \"out {index} $AGENT_NAME\"; echo \"err {index}\" >&2; exit {index}"), 3);
    spec.environment.insert(QStringLiteral("AGENT_NAME"), QStringLiteral("{name}"));
    spec.namePrefix = QStringLiteral("worker");
    const auto ids = launcher.start(spec);
    QVERIFY2(ids.ok(), qPrintable(ids.ok() ? QString() : ids.error().toString()));
    QCOMPARE(ids->size(), 3);
    QTRY_VERIFY_WITH_TIMEOUT(allFinished(launcher, *ids), 20000);
    for (int i = 0; i < 3; ++i) {
        const LaunchedAgent a = launcher.agent(ids->at(i));
        QCOMPARE(a.name, QStringLiteral("worker-%1").arg(i));
        QCOMPARE(a.state, State::Exited);
        QCOMPARE(a.exitCode, i);
        QVERIFY2(rec.states.value(a.id).contains(State::Running), "never reported running");
        QVERIFY2(rec.lines.value(a.id).contains(QStringLiteral("out %1 worker-%1").arg(i)), qPrintable(rec.lines.value(a.id).join(u'|')));
        QVERIFY(rec.lines.value(a.id).contains(QStringLiteral("err %1").arg(i)));
    }
}

void TestLaunchers::localStopEndsTheProcessGroup()
{
    QTemporaryDir tmp;
    const QString pidFile = tmp.filePath(QStringLiteral("sleep.pid"));
    LocalLauncher launcher;
    Recorder rec(launcher);
    // The shell starts a child of its own: stop must end that one too.
    const auto ids = launcher.start(shell(QStringLiteral("sleep 60 & echo $! > '%1'; echo ready; wait").arg(pidFile)));
    QVERIFY(ids.ok());
    const QString id = ids->first();
    QTRY_VERIFY_WITH_TIMEOUT(rec.lines.value(id).contains(QStringLiteral("ready")), 10000);
    const qint64 sleeper = readPid(pidFile);
    QVERIFY(sleeper > 0);
    QVERIFY(processAlive(sleeper));
    QVERIFY(launcher.stop(id).ok());
    QTRY_COMPARE_WITH_TIMEOUT(launcher.agent(id).state, State::Stopped, 10000);
    QTRY_VERIFY_WITH_TIMEOUT(!processAlive(sleeper), 5000);
    QVERIFY(!launcher.stop(QStringLiteral("local:999")).ok());
}

void TestLaunchers::localMissingProgramIsAnError()
{
    LocalLauncher launcher;
    LaunchSpec spec;
    spec.program = QStringLiteral("segscale-no-such-program");
    const auto ids = launcher.start(spec);
    QVERIFY(!ids.ok());
    QCOMPARE(ids.error().category, ErrorCategory::Missing);
    QVERIFY(ids.error().message.contains(QStringLiteral("segscale-no-such-program")));
    QVERIFY(launcher.agents().isEmpty());
}

// ---- SSH --------------------------------------------------------------------------

LaunchSpec TestLaunchers::sshSpec(const SshdFixture &sshd, const LaunchSpec &base) const
{
    LaunchSpec spec = base;
    spec.ssh.host = QStringLiteral("ssh://%1@%2:%3").arg(sshd.userName(), sshd.host()).arg(sshd.port());
    spec.ssh.knownHostsPath = sshd.writeKnownHosts();
    spec.ssh.credentialsPath = sshd.writeCredentials(QJsonObject{{QStringLiteral("key_file"), sshd.clientKey()}});
    return spec;
}

void TestLaunchers::sshRunsStreamsAndReportsExitCodes()
{
    if (const QString why = SshdFixture::unavailableReason(); !why.isEmpty())
        QSKIP(qPrintable(why));
    SshdFixture sshd;
    QVERIFY2(sshd.start(), qPrintable(sshd.errorString()));
    SshLauncher launcher;
    Recorder rec(launcher);
    LaunchSpec spec = sshSpec(sshd, shell(QStringLiteral("echo \"out {index} $AGENT_NAME\"; echo \"err {index}\" >&2; exit 3"), 2));
    spec.environment.insert(QStringLiteral("AGENT_NAME"), QStringLiteral("{name}"));
    spec.workingDirectory = sshd.dataDir();
    const auto ids = launcher.start(spec);
    QVERIFY2(ids.ok(), qPrintable(ids.ok() ? QString() : ids.error().toString()));
    QTRY_VERIFY_WITH_TIMEOUT(allFinished(launcher, *ids), 20000);
    for (int i = 0; i < 2; ++i) {
        const LaunchedAgent a = launcher.agent(ids->at(i));
        QCOMPARE(a.state, State::Exited);
        QCOMPARE(a.exitCode, 3);
        QVERIFY(rec.states.value(a.id).contains(State::Running));
        QVERIFY2(rec.lines.value(a.id).contains(QStringLiteral("out %1 agent-%1").arg(i)), qPrintable(rec.lines.value(a.id).join(u'|')));
        QVERIFY(rec.lines.value(a.id).contains(QStringLiteral("err %1").arg(i)));
    }
}

void TestLaunchers::sshStopEndsTheRemoteProcess()
{
    if (const QString why = SshdFixture::unavailableReason(); !why.isEmpty())
        QSKIP(qPrintable(why));
    SshdFixture sshd;
    QVERIFY2(sshd.start(), qPrintable(sshd.errorString()));
    const QString pidFile = sshd.dataDir() + QStringLiteral("/sleep.pid");
    SshLauncher launcher;
    Recorder rec(launcher);
    const auto ids = launcher.start(sshSpec(sshd, shell(QStringLiteral("sleep 60 & echo $! > '%1'; echo ready; wait").arg(pidFile))));
    QVERIFY2(ids.ok(), qPrintable(ids.ok() ? QString() : ids.error().toString()));
    const QString id = ids->first();
    QTRY_VERIFY_WITH_TIMEOUT(rec.lines.value(id).contains(QStringLiteral("ready")), 10000);
    QCOMPARE(launcher.agent(id).state, State::Running);
    const qint64 sleeper = readPid(pidFile);
    QVERIFY(sleeper > 0);
    QVERIFY(processAlive(sleeper));
    QVERIFY(launcher.stop(id).ok());
    QTRY_COMPARE_WITH_TIMEOUT(launcher.agent(id).state, State::Stopped, 10000);
    QTRY_VERIFY_WITH_TIMEOUT(!processAlive(sleeper), 5000);
}

void TestLaunchers::sshUnknownHostKeyIsRefused()
{
    if (const QString why = SshdFixture::unavailableReason(); !why.isEmpty())
        QSKIP(qPrintable(why));
    SshdFixture sshd;
    QVERIFY2(sshd.start(), qPrintable(sshd.errorString()));
    LaunchSpec spec = sshSpec(sshd, shell(QStringLiteral("echo should-not-run")));
    const QString empty = sshd.dir() + QStringLiteral("/empty_known_hosts");
    QFile(empty).open(QIODevice::WriteOnly);
    spec.ssh.knownHostsPath = empty;
    SshLauncher launcher;
    const auto ids = launcher.start(spec);
    QVERIFY(!ids.ok());
    QCOMPARE(ids.error().category, ErrorCategory::Storage);
    QVERIFY2(ids.error().message.contains(QStringLiteral("unknown host key")), qPrintable(ids.error().message));
    QVERIFY(ids.error().message.contains(QStringLiteral("127.0.0.1")));
    QVERIFY(!ids.error().message.contains(u'\n'));
    QVERIFY(launcher.agents().isEmpty());
    // Nothing was recorded: the key stays unknown.
    QCOMPARE(QFileInfo(empty).size(), 0);
}

void TestLaunchers::sshRefusedLoginIsAnError()
{
    if (const QString why = SshdFixture::unavailableReason(); !why.isEmpty())
        QSKIP(qPrintable(why));
    SshdFixture sshd;
    QVERIFY2(sshd.start(), qPrintable(sshd.errorString()));
    LaunchSpec spec = sshSpec(sshd, shell(QStringLiteral("echo should-not-run")));
    const QString stranger = sshd.makeClientKey(QStringLiteral("stranger"), false);
    QVERIFY(!stranger.isEmpty());
    spec.ssh.credentialsPath = sshd.writeCredentials(QJsonObject{{QStringLiteral("key_file"), stranger}}, QStringLiteral("stranger.json"));
    SshLauncher launcher;
    const auto ids = launcher.start(spec);
    QVERIFY(!ids.ok());
    QCOMPARE(ids.error().category, ErrorCategory::Storage);
    QVERIFY2(ids.error().message.contains(QStringLiteral("authentication as %1@[127.0.0.1]:%2 failed").arg(sshd.userName()).arg(sshd.port())),
             qPrintable(ids.error().message));
    QVERIFY(launcher.agents().isEmpty());

    spec.ssh.host = QStringLiteral("ssh://user:secret@127.0.0.1:%1").arg(sshd.port());
    const auto password = launcher.start(spec);
    QVERIFY(!password.ok());
    QCOMPARE(password.error().category, ErrorCategory::Usage);
    QVERIFY(!password.error().message.contains(QStringLiteral("secret")));
}

// ---- Slurm ------------------------------------------------------------------------

LaunchSpec TestLaunchers::slurmSpec(const SlurmFixture &slurm, const LaunchSpec &base) const
{
    LaunchSpec spec = base;
    spec.slurm.commandEnvironment = slurm.environment();
    spec.slurm.scriptDirectory = slurm.dir() + QStringLiteral("/jobs");
    spec.slurm.pollIntervalMs = 300;
    spec.slurm.cpusPerTask = 1;
    return spec;
}

void TestLaunchers::slurmArrayRunsAndExits()
{
    if (const QString why = SlurmFixture::unavailableReason(); !why.isEmpty())
        QSKIP(qPrintable(why));
    SlurmFixture slurm;
    QVERIFY2(slurm.start(), qPrintable(slurm.errorString()));
    const QString out = slurm.dir() + QStringLiteral("/out");
    QVERIFY(QDir().mkpath(out));
    SlurmLauncher launcher;
    Recorder rec(launcher);
    LaunchSpec spec = slurmSpec(slurm, shell(QStringLiteral("echo \"$SLURM_ARRAY_TASK_ID $AGENT_NAME\" > '%1/task-{index}'; "
                                                            "echo \"log of {name}\"; sleep 2; printf 'last line'")
                                                 .arg(out),
                                             2));
    spec.environment.insert(QStringLiteral("AGENT_NAME"), QStringLiteral("{name}"));
    const auto ids = launcher.start(spec);
    QVERIFY2(ids.ok(), qPrintable(ids.ok() ? QString() : ids.error().toString()));
    QCOMPARE(ids->size(), 2);
    QTRY_VERIFY_WITH_TIMEOUT(allFinished(launcher, *ids), 60000);
    for (int i = 0; i < 2; ++i) {
        const LaunchedAgent a = launcher.agent(ids->at(i));
        QVERIFY2(a.state == State::Exited, qPrintable(stateName(a.state) + u' ' + a.detail + u'\n' + slurm.logs()));
        QCOMPARE(a.exitCode, 0);
        QVERIFY2(rec.states.value(a.id).contains(State::Running), "never seen running");
        QCOMPARE(readText(out + QStringLiteral("/task-%1").arg(i)), QStringLiteral("%1 agent-%1").arg(i));
    }
    // The tasks' logs come back as lines, the last one without its newline too.
    for (int i = 0; i < 2; ++i)
        QTRY_COMPARE_WITH_TIMEOUT(rec.lines.value(ids->at(i)), (QStringList{QStringLiteral("log of agent-%1").arg(i), QStringLiteral("last line")}), 5000);
}

void TestLaunchers::slurmCancelStopsTheArray()
{
    if (const QString why = SlurmFixture::unavailableReason(); !why.isEmpty())
        QSKIP(qPrintable(why));
    SlurmFixture slurm;
    QVERIFY2(slurm.start(), qPrintable(slurm.errorString()));
    SlurmLauncher launcher;
    const auto ids = launcher.start(slurmSpec(slurm, shell(QStringLiteral("sleep 600"), 2)));
    QVERIFY2(ids.ok(), qPrintable(ids.ok() ? QString() : ids.error().toString()));
    QTRY_COMPARE_WITH_TIMEOUT(launcher.agent(ids->at(0)).state, State::Running, 30000);
    QVERIFY(launcher.stop(ids->at(0)).ok());
    launcher.stopAll();
    QTRY_VERIFY_WITH_TIMEOUT(allFinished(launcher, *ids), 30000);
    for (const QString &id : *ids)
        QVERIFY2(launcher.agent(id).state == State::Stopped, qPrintable(stateName(launcher.agent(id).state) + u' ' + launcher.agent(id).detail));
    int rc = 0;
    QTRY_VERIFY_WITH_TIMEOUT(slurm.run(QStringLiteral("squeue"), {QStringLiteral("-h")}, &rc).trimmed().isEmpty(), 10000);
}

void TestLaunchers::slurmRefusedSubmissionIsAnError()
{
    if (const QString why = SlurmFixture::unavailableReason(); !why.isEmpty())
        QSKIP(qPrintable(why));
    SlurmFixture slurm;
    QVERIFY2(slurm.start(), qPrintable(slurm.errorString()));
    SlurmLauncher launcher;
    LaunchSpec spec = slurmSpec(slurm, shell(QStringLiteral("true")));
    spec.slurm.partition = QStringLiteral("no-such-partition");
    const auto ids = launcher.start(spec);
    QVERIFY(!ids.ok());
    QCOMPARE(ids.error().category, ErrorCategory::Usage);
    QVERIFY2(ids.error().message.startsWith(QStringLiteral("sbatch on localhost refused")), qPrintable(ids.error().message));
    QVERIFY2(ids.error().message.contains(QStringLiteral("partition")), qPrintable(ids.error().message));
    QVERIFY(launcher.agents().isEmpty());

    spec.slurm.partition.clear();
    spec.slurm.batchTemplate = QStringLiteral("#!/bin/sh\n{{SBATCH_OPTIONS}}\n{{COMAND}}\n");
    const auto typo = launcher.start(spec);
    QVERIFY(!typo.ok());
    QCOMPARE(typo.error().category, ErrorCategory::Usage);
}

void TestLaunchers::slurmLoginHostOverSsh()
{
    if (const QString why = SlurmFixture::unavailableReason(); !why.isEmpty())
        QSKIP(qPrintable(why));
    if (const QString why = SshdFixture::unavailableReason(); !why.isEmpty())
        QSKIP(qPrintable(why));
    SlurmFixture slurm;
    QVERIFY2(slurm.start(), qPrintable(slurm.errorString()));
    SshdFixture sshd;
    QVERIFY2(sshd.start(), qPrintable(sshd.errorString()));
    const QString out = slurm.dir() + QStringLiteral("/out");
    QVERIFY(QDir().mkpath(out));
    SlurmLauncher launcher;
    LaunchSpec spec = sshSpec(sshd, slurmSpec(slurm, shell(QStringLiteral("echo \"$SLURM_ARRAY_TASK_ID\" > '%1/ssh-{index}'").arg(out), 2)));
    const auto ids = launcher.start(spec);
    QVERIFY2(ids.ok(), qPrintable(ids.ok() ? QString() : ids.error().toString()));
    QTRY_VERIFY_WITH_TIMEOUT(allFinished(launcher, *ids), 60000);
    for (int i = 0; i < 2; ++i) {
        QCOMPARE(launcher.agent(ids->at(i)).state, State::Exited);
        QCOMPARE(readText(out + QStringLiteral("/ssh-%1").arg(i)), QString::number(i));
    }
    // Host key checks apply to the login host too.
    LaunchSpec untrusted = spec;
    untrusted.ssh.knownHostsPath = sshd.dir() + QStringLiteral("/no_known_hosts");
    SlurmLauncher other;
    const auto refused = other.start(untrusted);
    QVERIFY(!refused.ok());
    QCOMPARE(refused.error().category, ErrorCategory::Storage);
    QVERIFY2(refused.error().message.contains(QStringLiteral("unknown host key")), qPrintable(refused.error().message));
}

namespace {
// A login host where Slurm's client commands are not installed.
class NoSlurmRunner final : public CommandRunner {
public:
    Result<CommandOutput> run(const QString &program, const QStringList &, const QByteArray &, int) override
    {
        if (program == QLatin1StringView("sh"))
            return CommandOutput{0, {}, {}};
        return Error{ErrorCategory::Missing, QStringLiteral("%1 is not installed on %2").arg(program, where())};
    }
    QString where() const override { return QStringLiteral("login.example.org"); }
};
} // namespace

void TestLaunchers::missingCommandsAreMissingErrors()
{
    SlurmLauncher launcher;
    launcher.setCommandRunner(std::make_unique<NoSlurmRunner>());
    const auto ids = launcher.start(shell(QStringLiteral("true")));
    QVERIFY(!ids.ok());
    QCOMPARE(ids.error().category, ErrorCategory::Missing);
    QVERIFY2(ids.error().message.contains(QStringLiteral("sbatch is not installed on login.example.org")), qPrintable(ids.error().message));

    // Over SSH a missing program is the remote shell's exit code 127.
    if (const QString why = SshdFixture::unavailableReason(); !why.isEmpty())
        QSKIP(qPrintable(why));
    SshdFixture sshd;
    QVERIFY2(sshd.start(), qPrintable(sshd.errorString()));
    auto connection = SshConnection::open(sshSpec(sshd, LaunchSpec{}).ssh);
    QVERIFY2(connection.ok(), qPrintable(connection.ok() ? QString() : connection.error().toString()));
    SshCommandRunner runner(std::move(*connection));
    const auto missing = runner.run(QStringLiteral("segscale-no-such-command"), {QStringLiteral("--version")});
    QVERIFY(!missing.ok());
    QCOMPARE(missing.error().category, ErrorCategory::Missing);
    QVERIFY2(missing.error().message.contains(QStringLiteral("segscale-no-such-command is not installed on %1@127.0.0.1:%2")
                                                  .arg(sshd.userName())
                                                  .arg(sshd.port())),
             qPrintable(missing.error().message));
    const auto echoed = runner.run(QStringLiteral("cat"), {}, QByteArrayLiteral("through stdin"));
    QVERIFY(echoed.ok());
    QCOMPARE(echoed->exitCode, 0);
    QCOMPARE(echoed->standardOutput, QByteArrayLiteral("through stdin"));
}

QTEST_GUILESS_MAIN(TestLaunchers)
#include "tst_launchers.moc"

// `segscale storage test|ls`: check a storage connection step by step, list its files.

#include "command.h"

#include "storage/connectiontester.h"
#include "storage/credentials.h"
#include "storage/storage.h"

#include <QCommandLineParser>
#include <QTextStream>

namespace SegScale::Cli {

namespace {

using namespace SegScale::Storage;

struct CommonOptions {
    QCommandLineOption knownHosts{QStringLiteral("known-hosts"),
                                  QStringLiteral("Known host keys file (default ~/.ssh/known_hosts)."), QStringLiteral("FILE")};
    QCommandLineOption credentials{QStringLiteral("credentials"),
                                   QStringLiteral("Credentials file, mode 0600 (default %1).").arg(Credentials::defaultPath()),
                                   QStringLiteral("FILE")};
    QCommandLineOption acceptNew{QStringLiteral("accept-new-host-key"),
                                 QStringLiteral("Record the server's host key if none is known yet (a changed key is still refused).")};
    QCommandLineOption timeout{QStringLiteral("timeout"), QStringLiteral("Connect timeout in seconds (default 10)."),
                               QStringLiteral("SECONDS"), QStringLiteral("10")};

    void addTo(QCommandLineParser &parser) const { parser.addOptions({knownHosts, credentials, acceptNew, timeout}); }
};

// Parses; on --help prints and returns ExitOk; on bad usage prints and returns ExitUsage.
std::optional<int> parse(QCommandLineParser &parser, const QStringList &args, const QString &positionalHelp)
{
    QTextStream err(stderr);
    parser.addPositionalArgument(QStringLiteral("URL"), positionalHelp);
    const QCommandLineOption help({QStringLiteral("h"), QStringLiteral("help")}, QStringLiteral("Show this help."));
    parser.addOption(help);
    if (!parser.parse(args)) {
        err << args.value(0) << ": " << parser.errorText() << "\n\n" << parser.helpText();
        return ExitUsage;
    }
    if (parser.isSet(help)) {
        QTextStream(stdout) << parser.helpText();
        return ExitOk;
    }
    if (parser.positionalArguments().size() != 1) {
        err << args.value(0) << ": expected exactly one URL\n\n" << parser.helpText();
        return ExitUsage;
    }
    return std::nullopt;
}

struct Setup {
    StorageUrl url;
    Credentials credentials;
    StorageOptions options;
};

// Usage problems return ExitUsage; an unusable credentials file is a failed check.
std::variant<Setup, int> setup(const QCommandLineParser &parser, const CommonOptions &common, const QString &name)
{
    QTextStream err(stderr);
    Setup s;
    auto url = StorageUrl::parse(parser.positionalArguments().constFirst());
    if (!url) {
        err << name << ": " << url.error().message << '\n';
        return int(ExitUsage);
    }
    s.url = *url;
    bool ok = false;
    const int seconds = parser.value(common.timeout).toInt(&ok);
    if (!ok || seconds <= 0) {
        err << name << ": --timeout wants a positive number of seconds\n";
        return int(ExitUsage);
    }
    s.options.connectTimeoutMs = seconds * 1000;
    s.options.knownHostsPath = parser.value(common.knownHosts);
    s.options.acceptNewHostKey = parser.isSet(common.acceptNew);
    s.options.connections = 1;
    s.options.maxRetries = 0; // a check reports the first failure instead of waiting it out
    if (!s.url.isLocal()) {
        auto credentials = parser.isSet(common.credentials) ? Credentials::load(parser.value(common.credentials))
                                                            : Credentials::loadDefault();
        if (!credentials) {
            err << name << ": " << credentials.error().message << '\n';
            return int(ExitFailure);
        }
        s.credentials = *credentials;
    }
    return s;
}

int runTest(const QStringList &args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Check that a storage location can be used, step by step: name lookup, TCP connect, SSH key "
                       "exchange, host key, authentication, SFTP, path, permission.\n"
                       "Exit status: 0 all checks passed, 1 a check failed, 2 bad usage."));
    CommonOptions common;
    common.addTo(parser);
    if (auto done = parse(parser, args, QStringLiteral("Local path, file:///path or sftp://user@host:port/path.")))
        return *done;
    const QString name = args.value(0);
    auto prepared = setup(parser, common, name);
    if (auto *code = std::get_if<int>(&prepared))
        return *code;
    const Setup &s = std::get<Setup>(prepared);

    QTextStream out(stdout);
    out << "Testing " << s.url.toString() << '\n';
    const ConnectionReport report = ConnectionTester::run(s.url, s.credentials, s.options);
    for (const ConnectionStep step : report.passed) {
        out << "  ok      " << connectionStepName(step);
        if (step == ConnectionStep::HostKey && !report.serverFingerprint.isEmpty())
            out << " (" << report.serverFingerprint << ')';
        if (step == ConnectionStep::Authentication && !report.authMethod.isEmpty())
            out << " (" << report.authMethod << ')';
        out << '\n';
    }
    if (report.ok()) {
        out << "All checks passed.\n";
        return ExitOk;
    }
    out << "  FAILED  " << connectionStepName(*report.failedStep) << ": " << report.error.message << '\n';
    if (report.hostKeyProblem) {
        const HostKeyProblem &p = *report.hostKeyProblem;
        out << "          host key: " << p.keyType << ' ' << p.fingerprint << '\n';
        if (p.kind == HostKeyProblem::Kind::Unknown)
            out << "          to trust it after checking the fingerprint with the server's administrator, run:\n"
                << "            " << name << ' ' << s.url.toString() << " --accept-new-host-key"
                << (s.options.knownHostsPath.isEmpty() ? QString() : QStringLiteral(" --known-hosts ") + s.options.knownHostsPath)
                << '\n';
        else
            out << "          refused: a changed host key is never accepted automatically.\n";
    }
    return ExitFailure;
}

int runLs(const QStringList &args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("List the files of a storage location, recursively, relative to it.\n"
                                                    "Exit status: 0 listed, 1 failed, 2 bad usage."));
    CommonOptions common;
    common.addTo(parser);
    const QCommandLineOption include(QStringLiteral("include"),
                                     QStringLiteral("Only files matching this glob (repeatable; a pattern with '/' matches the whole path)."),
                                     QStringLiteral("PATTERN"));
    const QCommandLineOption exclude(QStringLiteral("exclude"), QStringLiteral("Skip files and folders matching this glob (repeatable)."),
                                     QStringLiteral("PATTERN"));
    const QCommandLineOption longFormat({QStringLiteral("l"), QStringLiteral("long")}, QStringLiteral("Show size and modification time."));
    parser.addOptions({include, exclude, longFormat});
    if (auto done = parse(parser, args, QStringLiteral("Local path, file:///path or sftp://user@host:port/path.")))
        return *done;
    const QString name = args.value(0);
    auto prepared = setup(parser, common, name);
    if (auto *code = std::get_if<int>(&prepared))
        return *code;
    Setup s = std::get<Setup>(prepared);
    s.options.maxRetries = StorageOptions{}.maxRetries;

    QTextStream err(stderr);
    auto storage = openStorage(s.url, s.credentials, s.options);
    if (!storage) {
        err << name << ": " << storage.error().toString() << '\n';
        return ExitFailure;
    }
    const auto files = (*storage)->list(QString(), parser.values(include), parser.values(exclude));
    if (!files) {
        err << name << ": " << files.error().toString() << '\n';
        return ExitFailure;
    }
    QTextStream out(stdout);
    for (const FileEntry &f : *files) {
        if (parser.isSet(longFormat))
            out << QString::number(f.size).rightJustified(12) << "  " << f.modified.toString(Qt::ISODate) << "  ";
        out << f.path << '\n';
    }
    err << files->size() << " files\n";
    return ExitOk;
}

int runStorage(const QStringList &args)
{
    QTextStream err(stderr);
    const QString usage = QStringLiteral("Usage: %1 test URL [options]   check a connection step by step\n"
                                         "       %1 ls URL [options]     list files\n"
                                         "(%1 <test|ls> --help for options)\n")
                              .arg(args.value(0));
    const QString sub = args.value(1);
    if (sub == QLatin1StringView("--help") || sub == QLatin1StringView("-h")) {
        QTextStream(stdout) << usage;
        return ExitOk;
    }
    QStringList rest = args.mid(2);
    rest.prepend(args.value(0) + QLatin1Char(' ') + sub);
    if (sub == QLatin1StringView("test"))
        return runTest(rest);
    if (sub == QLatin1StringView("ls"))
        return runLs(rest);
    err << (sub.isEmpty() ? QStringLiteral("%1: missing subcommand\n").arg(args.value(0))
                          : QStringLiteral("%1: unknown subcommand \"%2\"\n").arg(args.value(0), sub))
        << usage;
    return ExitUsage;
}

const CommandRegistration registration{Command{"storage", "Test a storage connection or list its files", runStorage}};

} // namespace

} // namespace SegScale::Cli

#include "commandline.h"

#include "command.h"

#include <QTextStream>

namespace SegScale::Cli {

int commandFailure(const QString &command, int code, const QString &message)
{
    QTextStream(stderr) << "segscale " << command << ": " << message << '\n';
    return code;
}

std::optional<int> parseCommandLine(QCommandLineParser &parser, const QStringList &args, const QString &command, int positionals)
{
    if (!parser.parse(args))
        return commandFailure(command, ExitUsage, parser.errorText() + QStringLiteral(" (see --help)"));
    if (parser.isSet(QStringLiteral("help"))) {
        QTextStream(stdout) << parser.helpText();
        return ExitOk;
    }
    const QStringList given = parser.positionalArguments();
    if (positionals >= 0 && given.size() != positionals) {
        if (positionals == 0)
            return commandFailure(command, ExitUsage, QStringLiteral("unexpected argument \"%1\" (see --help)").arg(given.first()));
        return commandFailure(command, ExitUsage, QStringLiteral("expected %1 argument%2, got %3 (see --help)")
                                                      .arg(positionals)
                                                      .arg(positionals == 1 ? QString() : QStringLiteral("s"))
                                                      .arg(given.size()));
    }
    return std::nullopt;
}

void addStorageAccessOptions(QCommandLineParser &parser)
{
    parser.addOptions({
        {QStringLiteral("known-hosts"), QStringLiteral("known_hosts file for SFTP storages (default ~/.ssh/known_hosts)."), QStringLiteral("FILE")},
        {QStringLiteral("credentials"), QStringLiteral("0600 credentials file for SFTP storages."), QStringLiteral("FILE")},
    });
}

Result<StorageAccess> readStorageAccess(const QCommandLineParser &parser)
{
    StorageAccess access;
    access.credentialsPath = parser.value(QStringLiteral("credentials"));
    if (!access.credentialsPath.isEmpty()) {
        auto c = Storage::Credentials::load(access.credentialsPath);
        if (!c)
            return c.error();
        access.credentials = *c;
    } else if (auto c = Storage::Credentials::loadDefault(); c) {
        access.credentials = *c;
    }
    access.options.knownHostsPath = parser.value(QStringLiteral("known-hosts"));
    return access;
}

} // namespace SegScale::Cli

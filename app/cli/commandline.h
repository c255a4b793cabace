#pragma once
// What the serve, agent, study run and study checks commands parse alike: the usual
// --help / parse error / positional count handling, one-line failures, and SSH access
// to storages (--credentials, --known-hosts).

#include "base/result.h"
#include "storage/credentials.h"
#include "storage/storageoptions.h"

#include <QCommandLineParser>

#include <optional>

namespace SegScale::Cli {

// "segscale <command>: message" on stderr; returns code.
int commandFailure(const QString &command, int code, const QString &message);

// Parses; prints --help; checks the number of positional arguments (-1: any). Returns an
// exit code when the command must stop here.
std::optional<int> parseCommandLine(QCommandLineParser &parser, const QStringList &args, const QString &command, int positionals);

// --known-hosts and --credentials, as every command that reaches SFTP storages has them.
void addStorageAccessOptions(QCommandLineParser &parser);
struct StorageAccess {
    Storage::Credentials credentials;
    Storage::StorageOptions options;
    QString credentialsPath;  // as given (empty: the default file)
};
// The credentials file named with --credentials (an error when unusable), else the
// default one when it exists.
Result<StorageAccess> readStorageAccess(const QCommandLineParser &parser);

} // namespace SegScale::Cli

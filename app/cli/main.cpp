// segscale: the command-line front end. Thin: finds the subcommand and runs it.

#include "command.h"

#include <QCoreApplication>
#include <QTextStream>

#include <algorithm>
#include <cstdlib>
#include <unistd.h>

namespace SegScale::Cli {
std::vector<Command> &commandRegistry()
{
    static std::vector<Command> commands;
    return commands;
}
} // namespace SegScale::Cli

int main(int argc, char **argv)
{
    // OpenMP threads that spin between LibTorch calls steal the cores the other stages
    // (and the sequential loop's own combine) need: measured up to 6x slower per window on
    // a loaded 2-core machine. libgomp reads its environment when it is loaded, before
    // main(), so setting the variable here is too late: re-execute once with it set. A
    // user's own setting wins.
    if (!std::getenv("OMP_WAIT_POLICY")) {
        setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
        execv("/proc/self/exe", argv);  // returns only on failure: then run as we are
    }
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("segscale"));
    QCoreApplication::setOrganizationName(QStringLiteral("SegScale"));
    QCoreApplication::setApplicationVersion(QStringLiteral(SEGSCALE_VERSION));

    auto &commands = SegScale::Cli::commandRegistry();
    std::sort(commands.begin(), commands.end(), [](const auto &a, const auto &b) { return qstrcmp(a.name, b.name) < 0; });
    const QStringList args = QCoreApplication::arguments();
    QTextStream err(stderr);
    auto usage = [&] {
        err << "Usage: segscale <command> [options]   (segscale <command> --help for its options)\n\nCommands:\n";
        for (const auto &c : commands)
            err << "  " << QString::fromLatin1(c.name).leftJustified(10) << c.summary << '\n';
        err.flush();
    };
    if (args.size() < 2 || args[1] == QLatin1StringView("--help") || args[1] == QLatin1StringView("-h") ||
        args[1] == QLatin1StringView("help")) {
        usage();
        return args.size() < 2 ? SegScale::Cli::ExitUsage : SegScale::Cli::ExitOk;
    }
    if (args[1] == QLatin1StringView("--version")) {
        QTextStream(stdout) << "segscale " << QCoreApplication::applicationVersion() << '\n';
        return 0;
    }
    for (const auto &c : commands) {
        if (args[1] == QLatin1StringView(c.name)) {
            QStringList rest = args.mid(2);
            rest.prepend(QStringLiteral("segscale ") + QLatin1StringView(c.name));
            return c.run(rest);
        }
    }
    err << "segscale: unknown command \"" << args[1] << "\"\n\n";
    usage();
    return SegScale::Cli::ExitUsage;
}

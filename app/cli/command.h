#pragma once
// A subcommand of `segscale`. Each command file registers itself with a static
// CommandRegistration, so adding a command touches no other file.

#include <QStringList>

#include <functional>
#include <vector>

namespace SegScale::Cli {

// Exit codes of the stable CLI contract (DESIGN.md).
enum ExitCode { ExitOk = 0, ExitFailure = 1, ExitUsage = 2, ExitSomeFailed = 3, ExitInterrupted = 130 };

struct Command {
    const char *name;
    const char *summary;
    // args[0] is "segscale <name>", the rest are the command's own arguments.
    std::function<int(const QStringList &args)> run;
};

std::vector<Command> &commandRegistry();

struct CommandRegistration {
    explicit CommandRegistration(Command c) { commandRegistry().push_back(std::move(c)); }
};

} // namespace SegScale::Cli

#pragma once
// `segscale study <subcommand>`: the subcommands register themselves here like the
// top-level commands do, so `study run` (which needs the pipeline) lives in a file of
// its own and this one stays free of inference code.

#include <QStringList>

#include <functional>
#include <vector>

namespace SegScale::Cli {

struct StudySubcommand {
    const char *name;
    const char *summary;
    // args[0] is "segscale study <name>", the rest are the subcommand's own arguments.
    std::function<int(const QStringList &args)> run;
};

std::vector<StudySubcommand> &studySubcommands();

struct StudySubcommandRegistration {
    explicit StudySubcommandRegistration(StudySubcommand c) { studySubcommands().push_back(std::move(c)); }
};

} // namespace SegScale::Cli

#pragma once
// Turns a LaunchSpec into text for a POSIX shell (sh -c on an SSH host, a Slurm batch
// script): every word single-quoted, so nothing in a path or an argument is expanded,
// except the {index}/{name} placeholders where the caller wants a shell expression (the
// array task id under Slurm).

#include "launch/launchspec.h"

#include <QString>
#include <QStringList>

namespace SegScale::Launch {

class ShellCommand {
public:
    // 'text' with any ' written as '\'' — safe for sh, bash and dash.
    static QString quote(const QString &text);
    // The words quoted and joined by spaces.
    static QString join(const QStringList &words);

    // {index} and {name} replaced by plain text (local processes, SSH copies).
    static QString substitute(const QString &text, int index, const QString &name);

    // `[cd DIR && ]exec env K=V ... PROGRAM ARGS...` for one copy. With `indexExpression`
    // (e.g. "$SLURM_ARRAY_TASK_ID"), {index} and {name} become that expression,
    // double-quoted and spliced between the quoted parts; otherwise `index` is used.
    static QString command(const LaunchSpec &spec, int index, const QString &indexExpression = {});

private:
    static QString word(const QString &text, const LaunchSpec &spec, int index, const QString &indexExpression);
};

} // namespace SegScale::Launch

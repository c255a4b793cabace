#pragma once
// The Slurm batch script of a launch: a template with placeholders, filled from the
// LaunchSpec. The default template is enough for most clusters; a site that needs
// modules loaded or a container started gives its own (LaunchSpec::Slurm::batchTemplate).
//
// Placeholders, each written {{NAME}}; any other {{...}} is refused (a typo would
// otherwise reach sbatch):
//   {{SBATCH_OPTIONS}} the #SBATCH lines: --job-name, --output, --partition, --time,
//                      --cpus-per-task (those that are set) and the extra lines
//   {{COMMAND}}        the command for this task, shell-quoted: `[cd DIR &&] exec env
//                      K=V ... PROGRAM ARGS`, {index} and {name} in it taken from
//                      $SLURM_ARRAY_TASK_ID (required)
//   {{JOB_NAME}}       namePrefix
//   {{LOG_FILE}}       where each task's output goes (sbatch's %A_%a pattern)
// The template must start with "#!" (sbatch needs an interpreter line).

#include "base/result.h"
#include "launch/launchspec.h"

#include <QByteArray>
#include <QString>

namespace SegScale::Launch {

class BatchScript {
public:
    static QString defaultTemplate();
    // `logDirectory`: where the tasks' output files go (on the cluster).
    static Result<QByteArray> render(const LaunchSpec &spec, const QString &logDirectory);
    // The file name of one task's log in `logDirectory`.
    static QString logFile(const LaunchSpec &spec, const QString &logDirectory, const QString &jobId, int task);
};

} // namespace SegScale::Launch

#pragma once
// StudyStatus: one look at a study as plain values — its model, the counts per state,
// throughput, time left and the most common errors — for `study status`, a GUI's
// summary panel or a coordinator's report. Formatting helpers give the texts the CLI
// prints, so every front end words them alike.

#include "base/result.h"
#include "jobs/jobtypes.h"
#include "jobs/studysettings.h"

#include <QString>

#include <optional>

namespace SegScale::Jobs {
class JobStore;
}

namespace SegScale::Study {

class StudyStatus {
public:
    // Throughput is measured over the last windowMinutes.
    static Result<StudyStatus> read(Jobs::JobStore &store, int windowMinutes = 5);

    std::optional<Jobs::StudySettings> settings;  // none before the first run is recorded
    Jobs::StudyProgress progress;

    bool finished() const { return progress.pending + progress.leased == 0; }
    // "12.5%" of all images, "-" when the study has none.
    QString percentOf(qint64 images) const;
    // "finished", "h:mm:ss" or "unknown" (nothing finished recently).
    QString eta() const;
    // "h:mm:ss"; "unknown" for a negative number.
    static QString duration(qint64 seconds);
};

} // namespace SegScale::Study

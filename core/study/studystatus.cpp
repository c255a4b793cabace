#include "study/studystatus.h"

#include "jobs/jobstore.h"

namespace SegScale::Study {

Result<StudyStatus> StudyStatus::read(Jobs::JobStore &store, int windowMinutes)
{
    StudyStatus status;
    auto settings = store.settings();
    if (!settings)
        return settings.error();
    status.settings = *settings;
    auto progress = store.progress(windowMinutes);
    if (!progress)
        return progress.error();
    status.progress = *progress;
    return status;
}

QString StudyStatus::percentOf(qint64 images) const
{
    const qint64 total = progress.total();
    return total ? QString::number(100.0 * double(images) / double(total), 'f', 1) + QLatin1Char('%') : QStringLiteral("-");
}

QString StudyStatus::eta() const
{
    return finished() ? QStringLiteral("finished") : duration(progress.etaSeconds);
}

QString StudyStatus::duration(qint64 seconds)
{
    if (seconds < 0)
        return QStringLiteral("unknown");
    return QStringLiteral("%1:%2:%3")
        .arg(seconds / 3600)
        .arg((seconds / 60) % 60, 2, 10, QLatin1Char('0'))
        .arg(seconds % 60, 2, 10, QLatin1Char('0'));
}

} // namespace SegScale::Study

#include "jobs/audittypes.h"

namespace SegScale::Jobs {

QString verdictName(AuditVerdict verdict)
{
    return verdict == AuditVerdict::Accepted ? QStringLiteral("accepted") : QStringLiteral("flagged");
}

std::optional<AuditVerdict> verdictFromName(const QString &name)
{
    if (name == QLatin1StringView("accepted"))
        return AuditVerdict::Accepted;
    if (name == QLatin1StringView("flagged"))
        return AuditVerdict::Flagged;
    return std::nullopt;
}

QString modeName(AuditMode mode)
{
    switch (mode) {
    case AuditMode::Random: return QStringLiteral("random");
    case AuditMode::PerDataset: return QStringLiteral("per-dataset");
    case AuditMode::Extremes: return QStringLiteral("extremes");
    }
    return {};
}

std::optional<AuditMode> modeFromName(const QString &name)
{
    for (auto m : {AuditMode::Random, AuditMode::PerDataset, AuditMode::Extremes})
        if (name == modeName(m))
            return m;
    return std::nullopt;
}

} // namespace SegScale::Jobs

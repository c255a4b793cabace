#include "jobs/auditsampler.h"

#include <QSet>

#include <algorithm>
#include <cmath>

namespace SegScale::Jobs {

AuditSampler::AuditSampler(const AuditSampleParams &params) : m_params(params)
{
    m_params.k = std::max(1, m_params.k);
}

AuditSampler::Reservoir &AuditSampler::reservoir(qint64 key)
{
    auto it = m_reservoirs.find(key);
    if (it == m_reservoirs.end()) {
        // One stream per stratum, from the seed and the stratum's key (golden-ratio mix).
        Reservoir r;
        r.rng.seed(m_params.seed ^ (static_cast<quint64>(key) * 0x9E3779B97F4A7C15ull));
        it = m_reservoirs.insert(key, std::move(r));
    }
    return *it;
}

void AuditSampler::trim(std::vector<Pick> &v, bool highest) const
{
    const auto better = [highest](const Pick &a, const Pick &b) {
        if (a.share != b.share)
            return highest ? a.share > b.share : a.share < b.share;
        return a.imageId < b.imageId;
    };
    std::sort(v.begin(), v.end(), better);
    if (v.size() > static_cast<size_t>(m_params.k))
        v.resize(static_cast<size_t>(m_params.k));
}

void AuditSampler::add(qint64 imageId, qint64 datasetId, double share)
{
    ++m_seen;
    const Pick pick{imageId, datasetId, share, AuditItem::Group::None};
    const auto k = static_cast<size_t>(m_params.k);
    if (m_params.mode == AuditMode::Extremes) {
        if (std::isnan(share))
            return;
        // Kept sorted lazily: trimmed back to k whenever 4k candidates piled up.
        m_highest.push_back(pick);
        m_lowest.push_back(pick);
        if (m_highest.size() >= 4 * k) {
            trim(m_highest, true);
            trim(m_lowest, false);
        }
        return;
    }
    Reservoir &r = reservoir(m_params.mode == AuditMode::PerDataset ? datasetId : 0);
    const qint64 i = r.seen++;
    if (r.picks.size() < k) {
        r.picks.push_back(pick);
        return;
    }
    const quint64 j = r.rng() % static_cast<quint64>(i + 1);
    if (j < k)
        r.picks[static_cast<size_t>(j)] = pick;
}

QList<AuditSampler::Pick> AuditSampler::picks() const
{
    QList<Pick> out;
    if (m_params.mode == AuditMode::Extremes) {
        std::vector<Pick> high = m_highest, low = m_lowest;
        trim(high, true);
        trim(low, false);
        QSet<qint64> taken;
        for (Pick p : high) {
            p.group = AuditItem::Group::Highest;
            taken.insert(p.imageId);
            out.append(p);
        }
        for (Pick p : low) {
            if (taken.contains(p.imageId))
                continue;  // fewer than 2k images: the two ends meet
            p.group = AuditItem::Group::Lowest;
            out.append(p);
        }
        return out;
    }
    for (const Reservoir &r : m_reservoirs)
        for (const Pick &p : r.picks)
            out.append(p);
    std::sort(out.begin(), out.end(), [](const Pick &a, const Pick &b) {
        return a.datasetId != b.datasetId ? a.datasetId < b.datasetId : a.imageId < b.imageId;
    });
    if (m_params.mode == AuditMode::Random)
        std::sort(out.begin(), out.end(), [](const Pick &a, const Pick &b) { return a.imageId < b.imageId; });
    return out;
}

} // namespace SegScale::Jobs

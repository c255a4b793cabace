#pragma once
// AuditSampler: draws an audit sample from a stream of finished images fed in ascending
// image id (AuditStore feeds it a page at a time), in memory of O(k) per stratum however
// large the study. Random and per-dataset modes are reservoir samples (Algorithm R) driven
// by a 64-bit Mersenne Twister seeded from the seed (and the dataset id for per-dataset),
// whose outputs the C++ standard fixes: the same seed over the same images draws the same
// sample on every platform, and a dataset's sample does not depend on the others.
// Extremes keeps the k highest and k lowest shares (ties: the lower image id first).

#include "jobs/audittypes.h"

#include <QHash>
#include <QList>

#include <random>
#include <vector>

namespace SegScale::Jobs {

class AuditSampler {
public:
    struct Pick {
        qint64 imageId = 0;
        qint64 datasetId = 0;
        double share = 0;
        AuditItem::Group group = AuditItem::Group::None;
    };

    explicit AuditSampler(const AuditSampleParams &params);

    const AuditSampleParams &params() const { return m_params; }
    bool needsShares() const { return m_params.mode == AuditMode::Extremes; }
    // Images must come in ascending id. share: the class's share (Extremes; NaN: unknown,
    // the image is left out).
    void add(qint64 imageId, qint64 datasetId, double share = 0);
    qint64 seen() const { return m_seen; }
    // The sample: Random by image id; PerDataset by dataset, then image id; Extremes the
    // highest shares first (descending), then the lowest (ascending), no image twice.
    QList<Pick> picks() const;

private:
    struct Reservoir {
        std::mt19937_64 rng;
        qint64 seen = 0;
        std::vector<Pick> picks;
    };
    Reservoir &reservoir(qint64 key);
    void trim(std::vector<Pick> &v, bool highest) const;

    AuditSampleParams m_params;
    qint64 m_seen = 0;
    QHash<qint64, Reservoir> m_reservoirs;
    std::vector<Pick> m_highest, m_lowest;
};

} // namespace SegScale::Jobs

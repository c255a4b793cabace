#pragma once
// The value types of the audit (AuditStore, AuditSampler, the coordinator's audit
// messages): a researcher's mark on a finished image, an image drawn for review, and the
// quality rate of a dataset. Together in one header (like jobtypes.h): none has behaviour.

#include <QList>
#include <QString>

#include <cmath>
#include <optional>
#include <vector>

namespace SegScale::Jobs {

enum class AuditVerdict { Accepted, Flagged };

QString verdictName(AuditVerdict verdict);
std::optional<AuditVerdict> verdictFromName(const QString &name);

struct AuditMark {
    qint64 imageId = 0;
    AuditVerdict verdict = AuditVerdict::Accepted;
    QString note;
    qint64 markedAtMs = 0;
    QString markedBy;
};

// How a sample is drawn. Random: k images of the whole run, reproducible for a seed.
// PerDataset: k of every dataset (fewer where it has fewer). Extremes: the k images with
// the highest and the k with the lowest share of one class.
enum class AuditMode { Random, PerDataset, Extremes };

QString modeName(AuditMode mode);
std::optional<AuditMode> modeFromName(const QString &name);

struct AuditSampleParams {
    AuditMode mode = AuditMode::Random;
    int k = 20;
    quint64 seed = 1;
    int classIndex = 0;  // Extremes only
};

// An image drawn into a sample, with where it is, its outputs and its mark if any.
struct AuditItem {
    qint64 imageId = 0;
    qint64 datasetId = 0;
    QString location;
    QString labelPath;
    QString overlayPath;
    // The result's size and class shares: the viewer's title and legend.
    int width = 0;
    int height = 0;
    std::vector<float> composition;
    double share = std::nan("");  // Extremes: the class's share of the image
    enum class Group { None, Highest, Lowest } group = Group::None;
    std::optional<AuditMark> mark;
};

// A dataset's audit so far: quality rate = accepted / marked (unknown while none is marked).
struct AuditQuality {
    qint64 datasetId = 0;
    QString root;
    qint64 finished = 0;  // done images (the population the samples are drawn from); -1: not counted
    qint64 accepted = 0;
    qint64 flagged = 0;
    qint64 marked() const { return accepted + flagged; }
    std::optional<double> rate() const
    {
        return marked() > 0 ? std::optional<double>(static_cast<double>(accepted) / static_cast<double>(marked())) : std::nullopt;
    }
};

} // namespace SegScale::Jobs

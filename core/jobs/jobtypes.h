#pragma once
// The small value types that cross the JobStore API: what a lease hands out, what a
// worker sends back, and what the store answers. They live together (an exception to
// one-class-per-file) because none of them has behaviour and a runner needs all of them.

#include "base/error.h"

#include <QByteArray>
#include <QJsonObject>
#include <QList>
#include <QPair>
#include <QString>

#include <cstdint>
#include <vector>

namespace SegScale::Jobs {

// Stored as small integers; the numbers are part of the schema, never renumber them.
enum class ImageState { Pending = 0, Leased = 1, Done = 2, Failed = 3 };

QString stateName(ImageState state);

// Where an image is on its storage: the dataset root joined with the relative path.
inline QString imageLocation(const QString &root, const QString &path)
{
    if (root.isEmpty() || root.endsWith(QLatin1Char('/')))
        return root + path;
    return root + QLatin1Char('/') + path;
}

// One image handed to a worker. leaseId identifies this lease: a result is accepted only
// while the image is still leased under the same id.
struct LeasedImage {
    qint64 imageId = 0;
    qint64 leaseId = 0;
    qint64 datasetId = 0;
    QString storageUrl;  // e.g. "file://" or "sftp://user@host:22"
    QString root;        // dataset root on that storage
    QString path;        // relative to root
    qint64 size = 0;
    int attempts = 0;    // failed attempts so far
    QString location() const { return imageLocation(root, path); }
};

struct ImageResult {
    int width = 0;
    int height = 0;
    std::vector<float> composition;  // one fraction per class, in the model's class order
    QString labelPath;
    QString overlayPath;
    QJsonObject timings;             // per-stage milliseconds
    QByteArray modelFingerprint;     // hex; must match the study when not empty
};

struct Completion {
    qint64 imageId = 0;
    qint64 leaseId = 0;
    ImageResult result;
};

struct Failure {
    qint64 imageId = 0;
    qint64 leaseId = 0;
    Error error;
};

// What became of one complete()/fail(). Stale: the lease was no longer current (expired,
// re-leased, reset or a new run); nothing was written. Rejected: the result came from
// another model than the study's; nothing was written.
enum class WriteOutcome { Done, Retry, Failed, Stale, Rejected };

QString outcomeName(WriteOutcome outcome);

struct ImageEntry {
    QString path;  // relative to the dataset root, '/' separated
    qint64 size = 0;
};

struct AddStats {
    qint64 added = 0;
    qint64 skipped = 0;  // already in the dataset
};

struct ExpireStats {
    qint64 returnedToPending = 0;
    qint64 failed = 0;
};

struct StudyProgress {
    qint64 pending = 0;
    qint64 leased = 0;
    qint64 done = 0;
    qint64 failed = 0;
    qint64 total() const { return pending + leased + done + failed; }
    int run = 0;
    int windowMinutes = 0;
    qint64 finishedInWindow = 0;   // done + failed over the last windowMinutes
    double imagesPerMinute = 0.0;
    qint64 etaSeconds = -1;        // -1: unknown (nothing finished recently)
    QList<QPair<QString, qint64>> topErrors;  // category name, failed images; largest first
};

// An image with the labels a trusted run gave it: agents must reproduce them (to within
// minAgreement of the pixels) before they may take work. labelsPng is the label map as
// OutputWriter writes it (8- or 16-bit PNG of class indices).
struct CheckImage {
    qint64 id = 0;
    QString location;
    QByteArray image;      // the encoded image, as fetched
    QByteArray labelsPng;
    int width = 0;
    int height = 0;
    double minAgreement = 0.999;
};

// One row of a results page (the current run), for tables that page with keyset.
struct ResultRecord {
    qint64 imageId = 0;
    QString location;
    int width = 0;
    int height = 0;
    std::vector<float> composition;
    QString labelPath;
    qint64 atMs = 0;
};

struct ErrorRecord {
    qint64 imageId = 0;
    QString location;
    QString category;
    QString message;
    qint64 atMs = 0;
    QString worker;
    qint64 datasetId = 0;
    int attempts = 0;  // failed attempts of the image
};

} // namespace SegScale::Jobs

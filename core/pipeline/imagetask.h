#pragma once
// The unit of work the engine consumes and the record it produces, plus the two seams
// it talks through: an ImageSource it pulls tasks from (a list of files, or leases from
// a study database) and a ResultSink it reports to (CSV files, or the database).

#include "base/result.h"

#include <QByteArray>
#include <QString>

#include <functional>
#include <optional>
#include <vector>

namespace SegScale::Pipeline {

struct ImageTask {
    qint64 id = 0;         // the caller's key (a study's image id, or an index)
    QString name;          // what users know the image by; used in messages and CSVs
    QString outputStem;    // labels/<stem>.png, overlays/<stem>.jpg; empty = no files
    // Reads the image's bytes (local file, SFTP...). Called on a fetch thread.
    std::function<Result<QByteArray>()> fetch;
};

struct StageTimes {
    double fetch = 0, decode = 0, preprocess = 0, network = 0, combine = 0, report = 0;
};

struct ImageResult {
    ImageTask task;
    int width = 0, height = 0;
    std::vector<double> composition;
    QString labelPath, overlayPath;  // relative to the output folder; empty when not written
    bool damaged = false;            // decoded despite warnings (--accept-damaged)
    StageTimes times;
};

class ImageSource {
public:
    virtual ~ImageSource() = default;
    // The next task, or nothing when there is no more work. May block (a study waits
    // for leases). Called from fetch threads, one call at a time.
    virtual std::optional<ImageTask> next() = 0;
};

class ResultSink {
public:
    virtual ~ResultSink() = default;
    // Called on the report thread only, once per image, after its files are written.
    virtual void imageDone(const ImageResult &result) = 0;
    virtual void imageFailed(const ImageTask &task, const Error &error) = 0;
};

} // namespace SegScale::Pipeline

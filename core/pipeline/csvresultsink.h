#pragma once
// CsvResultSink: the result files of `segscale segment` — DIR/composition.csv (header
// image,width,height,<class names>; fractions with 6 decimals) and DIR/errors.csv
// (image,category,message). One row per image, flushed as soon as the image is done, so
// a killed run keeps every finished row.

#include "pipeline/imagetask.h"

#include <QFile>
#include <QStringList>

#include <functional>

namespace SegScale::Pipeline {

class CsvResultSink final : public ResultSink {
public:
    CsvResultSink(QString outputDir, QStringList classNames);
    Result<void> open();

    void imageDone(const ImageResult &result) override;
    void imageFailed(const ImageTask &task, const Error &error) override;

    // Called after each image (done or failed), on the report thread.
    std::function<void(int done, int failed)> onProgress;
    int done() const { return m_done; }
    int failed() const { return m_failed; }

private:
    QString m_dir;
    QStringList m_classes;
    QFile m_composition, m_errors;
    int m_done = 0, m_failed = 0;
};

} // namespace SegScale::Pipeline

#pragma once
// CsvResultSink: the result files of `segscale segment` — DIR/composition.csv (header
// image,width,height,<class names>; fractions with 6 decimals) and DIR/errors.csv
// (image,category,message). One row per image, flushed as soon as the image is done, so
// a killed run keeps every finished row; finish() then puts the rows in input order
// (task ids), since several images in flight complete in any order.

#include "pipeline/imagetask.h"

#include <QFile>
#include <QStringList>

#include <functional>
#include <vector>

namespace SegScale::Pipeline {

class CsvResultSink final : public ResultSink {
public:
    CsvResultSink(QString outputDir, QStringList classNames);
    Result<void> open();

    void imageDone(const ImageResult &result) override;
    void imageFailed(const ImageTask &task, const Error &error) override;

    // Rewrites both files with their rows in task-id order (the order of the inputs), each
    // replaced atomically; nothing is rewritten when the rows are in order already.
    Result<void> finish();

    // Called after each image (done or failed), on the report thread.
    std::function<void(int done, int failed)> onProgress;
    int done() const { return m_done; }
    int failed() const { return m_failed; }

private:
    // Where each row sits in its file: enough to reorder it later without keeping rows.
    struct RowSpan {
        qint64 id, offset, length;
    };
    static void append(QFile &file, std::vector<RowSpan> &spans, qint64 id, const QByteArray &row);
    static Result<void> reorder(QFile &file, std::vector<RowSpan> &spans);

    QString m_dir;
    std::vector<RowSpan> m_compositionRows, m_errorRows;
    QStringList m_classes;
    QFile m_composition, m_errors;
    int m_done = 0, m_failed = 0;
};

} // namespace SegScale::Pipeline

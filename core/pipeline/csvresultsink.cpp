#include "pipeline/csvresultsink.h"

#include "base/csv.h"
#include "base/printabletext.h"

#include <QDir>
#include <QSaveFile>

#include <algorithm>

namespace SegScale::Pipeline {

CsvResultSink::CsvResultSink(QString outputDir, QStringList classNames)
    : m_dir(std::move(outputDir)), m_classes(std::move(classNames))
{
}

Result<void> CsvResultSink::open()
{
    QDir().mkpath(m_dir);
    m_composition.setFileName(QDir(m_dir).filePath(QStringLiteral("composition.csv")));
    m_errors.setFileName(QDir(m_dir).filePath(QStringLiteral("errors.csv")));
    for (QFile *f : {&m_composition, &m_errors})
        if (!f->open(QIODevice::WriteOnly | QIODevice::Truncate))
            return Error{ErrorCategory::Usage, QStringLiteral("cannot write %1: %2").arg(f->fileName(), f->errorString())};
    QStringList header{QStringLiteral("image"), QStringLiteral("width"), QStringLiteral("height")};
    header << m_classes;
    m_composition.write(Csv::row(header));
    m_composition.flush();
    m_errors.write(Csv::row({QStringLiteral("image"), QStringLiteral("category"), QStringLiteral("message")}));
    m_errors.flush();
    return {};
}

void CsvResultSink::imageDone(const ImageResult &result)
{
    QStringList row{result.task.name, QString::number(result.width), QString::number(result.height)};
    for (double f : result.composition)
        row << Csv::fraction(f);
    append(m_composition, m_compositionRows, result.task.id, Csv::row(row));
    ++m_done;
    if (onProgress)
        onProgress(m_done, m_failed);
}

void CsvResultSink::imageFailed(const ImageTask &task, const Error &error)
{
    // Messages quote hostile content (library complaints, names from damaged files): one
    // printable line each.
    append(m_errors, m_errorRows, task.id,
           Csv::row({task.name, categoryName(error.category), PrintableText::of(error.message)}));
    ++m_failed;
    if (onProgress)
        onProgress(m_done, m_failed);
}

void CsvResultSink::append(QFile &file, std::vector<RowSpan> &spans, qint64 id, const QByteArray &row)
{
    spans.push_back(RowSpan{id, file.pos(), row.size()});
    file.write(row);
    file.flush();
}

Result<void> CsvResultSink::finish()
{
    if (auto r = reorder(m_composition, m_compositionRows); !r)
        return r;
    return reorder(m_errors, m_errorRows);
}

Result<void> CsvResultSink::reorder(QFile &file, std::vector<RowSpan> &spans)
{
    const auto byId = [](const RowSpan &a, const RowSpan &b) { return a.id < b.id; };
    if (std::is_sorted(spans.begin(), spans.end(), byId))
        return {};
    const QString path = file.fileName();
    // Rows follow the header; the first row written starts where the header ends.
    const qint64 headerBytes = std::min_element(spans.begin(), spans.end(), [](const RowSpan &a, const RowSpan &b) {
                                   return a.offset < b.offset;
                               })->offset;
    file.close();
    QFile in(path);
    if (!in.open(QIODevice::ReadOnly))
        return Error{ErrorCategory::Internal, QStringLiteral("cannot read back %1: %2").arg(path, in.errorString())};
    const QByteArray all = in.readAll();
    in.close();
    std::stable_sort(spans.begin(), spans.end(), byId);
    // Written beside and renamed over: a crash here leaves the old file, complete.
    QSaveFile out(path);
    if (!out.open(QIODevice::WriteOnly))
        return Error{ErrorCategory::Internal, QStringLiteral("cannot rewrite %1: %2").arg(path, out.errorString())};
    out.write(all.left(headerBytes));
    for (const RowSpan &r : spans)
        out.write(all.mid(r.offset, r.length));
    if (!out.commit())
        return Error{ErrorCategory::Internal, QStringLiteral("cannot rewrite %1: %2").arg(path, out.errorString())};
    return {};
}

} // namespace SegScale::Pipeline

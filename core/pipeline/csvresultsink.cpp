#include "pipeline/csvresultsink.h"

#include "base/csv.h"
#include "base/printabletext.h"

#include <QDir>

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
    m_composition.write(Csv::row(row));
    m_composition.flush();
    ++m_done;
    if (onProgress)
        onProgress(m_done, m_failed);
}

void CsvResultSink::imageFailed(const ImageTask &task, const Error &error)
{
    // Messages quote hostile content (library complaints, names from damaged files): one
    // printable line each.
    m_errors.write(Csv::row({task.name, categoryName(error.category), PrintableText::of(error.message)}));
    m_errors.flush();
    ++m_failed;
    if (onProgress)
        onProgress(m_done, m_failed);
}

} // namespace SegScale::Pipeline

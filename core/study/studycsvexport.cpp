#include "study/studycsvexport.h"

#include <QSaveFile>

#include <functional>

namespace SegScale::Study {

namespace {

Result<qint64> writeAtomically(const QString &path, const std::function<Result<qint64>(QIODevice &)> &write)
{
    // Written to a temporary file and renamed at the end: a reader never sees half a CSV.
    QSaveFile f(path);
    if (!f.open(QIODevice::WriteOnly))
        return Error{ErrorCategory::Unreadable, QStringLiteral("cannot write %1: %2").arg(path, f.errorString())};
    auto n = write(f);
    if (!n) {
        f.cancelWriting();
        return n;
    }
    if (!f.commit())
        return Error{ErrorCategory::Unreadable, QStringLiteral("cannot write %1: %2").arg(path, f.errorString())};
    return n;
}

} // namespace

Result<qint64> StudyCsvExport::writeComposition(const QString &path, Jobs::StudyExporter::Format format,
                                                const Jobs::StudyExporter::Progress &progress)
{
    return writeAtomically(path, [&](QIODevice &dev) { return m_exporter.exportComposition(dev, format, progress); });
}

Result<qint64> StudyCsvExport::writeErrors(const QString &path)
{
    return writeAtomically(path, [&](QIODevice &dev) { return m_exporter.exportErrors(dev); });
}

} // namespace SegScale::Study

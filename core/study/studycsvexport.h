#pragma once
// StudyCsvExport: a study's composition and failed images written to CSV files that a
// reader never sees half-written (a temporary file renamed at the end; nothing is left
// behind on failure). StudyExporter streams the rows; this names the files.

#include "base/result.h"
#include "jobs/studyexporter.h"

#include <QString>

namespace SegScale::Jobs {
class JobStore;
}

namespace SegScale::Study {

class StudyCsvExport {
public:
    explicit StudyCsvExport(Jobs::JobStore &store) : m_exporter(store) {}

    // The composition gets the audit marks as two more columns (see StudyExporter).
    void setAuditColumns(bool on) { m_exporter.setAuditColumns(on); }

    // Images of the current run written; Unreadable when the file cannot be written.
    Result<qint64> writeComposition(const QString &path, Jobs::StudyExporter::Format format,
                                    const Jobs::StudyExporter::Progress &progress = {});
    // Failed images written (image,category,message).
    Result<qint64> writeErrors(const QString &path);

private:
    Jobs::StudyExporter m_exporter;
};

} // namespace SegScale::Study

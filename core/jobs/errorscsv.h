#pragma once
// ErrorsCsv: the failed-images CSV (image,category,message), one writer for every place
// that writes it — `segscale study export --errors` (StudyExporter) and the desktop app's
// Errors export, which pages the rows through the coordinator — so both give the same
// bytes for the same rows.

#include "jobs/csvwriter.h"

#include <QStringView>

class QIODevice;

namespace SegScale::Jobs {

class ErrorsCsv {
public:
    // Writes the header line (into the buffer; flush() or the destructor writes it out).
    explicit ErrorsCsv(QIODevice *out);

    void add(QStringView location, QStringView category, QStringView message);
    bool ok() const { return m_csv.ok(); }
    bool flush() { return m_csv.flush(); }

private:
    CsvWriter m_csv;
};

} // namespace SegScale::Jobs

#pragma once
// StudyExporter: writes a study's results of the current run as CSV — wide
// (image,width,height,<one column per class>) or long (image,class,fraction) — and its
// failed images (image,category,message). Optionally the audit marks as two more
// composition columns. Rows are streamed from the database straight
// into the device, so memory stays flat for a million images. Uses the JobStore's
// connection: call it on the store's thread.

#include "base/result.h"

#include <functional>

class QIODevice;

namespace SegScale::Jobs {

class JobStore;

class StudyExporter {
public:
    enum class Format { Wide, Long };
    // rows written so far (images, not CSV lines), rows in all
    using Progress = std::function<void(qint64 done, qint64 total)>;

    explicit StudyExporter(JobStore &store) : m_store(store) {}

    // Adds `audit` (accepted, flagged or empty) and `audit_note` at the end of every
    // composition row (`segscale study export --audit`). Off: the bytes are as before.
    void setAuditColumns(bool on) { m_audit = on; }

    // Returns the number of images written. Fractions have 6 decimals.
    Result<qint64> exportComposition(QIODevice &out, Format format, const Progress &progress = {});

    // The same CSV a page at a time, for clients that cannot read the database (the
    // admin "export" message): the header when afterImageId is 0, then the images after
    // afterImageId in image order until maxRows images or about maxBytes were written.
    // Pages concatenated give the very bytes of exportComposition (same rows, same code)
    // as long as no result is written in between.
    struct Page {
        qint64 rows = 0;         // images in this page
        qint64 lastImageId = 0;  // the key of the next page
        bool last = false;       // nothing after this page
        qint64 total = -1;       // results in all; on the first page only
    };
    Result<Page> exportCompositionPage(QIODevice &out, Format format, qint64 afterImageId, int maxRows, qint64 maxBytes);
    // Returns the number of failed images written.
    Result<qint64> exportErrors(QIODevice &out, const Progress &progress = {});

private:
    JobStore &m_store;
    bool m_audit = false;
};

} // namespace SegScale::Jobs

#include "jobs/studyexporter.h"

#include "jobs/csvwriter.h"
#include "jobs/errorscsv.h"
#include "jobs/jobstore.h"

#include <QHash>
#include <QIODevice>
#include <QSqlError>
#include <QSqlQuery>
#include <QtEndian>

#include <optional>
#include <utility>

namespace SegScale::Jobs {

namespace {

constexpr qint64 kProgressEvery = 10'000;

Error queryError(const QSqlQuery &q, const QString &what)
{
    return Error{ErrorCategory::Internal, QStringLiteral("study database: %1: %2").arg(what, q.lastError().text())};
}

Error writeError(const QIODevice &out)
{
    return Error{ErrorCategory::Unreadable, QStringLiteral("cannot write the export: %1").arg(out.errorString())};
}

// dataset id -> root; a study has a handful of datasets.
Result<QHash<qint64, QString>> datasetRoots(QSqlDatabase db)
{
    QSqlQuery q(db);
    if (!q.exec(QStringLiteral("SELECT id, root FROM datasets")))
        return queryError(q, QStringLiteral("reading datasets"));
    QHash<qint64, QString> roots;
    while (q.next())
        roots.insert(q.value(0).toLongLong(), q.value(1).toString());
    return roots;
}

// Holds one read transaction for the whole export: SQLite (WAL) and PostgreSQL both then
// give one consistent snapshot while writers carry on.
class ReadSnapshot {
public:
    explicit ReadSnapshot(QSqlDatabase db) : m_db(db) { m_ok = m_db.transaction(); }
    ~ReadSnapshot()
    {
        if (m_ok)
            m_db.rollback();
    }
    ReadSnapshot(const ReadSnapshot &) = delete;
    ReadSnapshot &operator=(const ReadSnapshot &) = delete;

private:
    QSqlDatabase m_db;
    bool m_ok = false;
};

// Every formatting line of the composition export, shared by the whole-file and the
// paged export so both give the same bytes.
void writeCompositionHeader(CsvWriter &csv, StudyExporter::Format format, const QStringList &classes, bool audit)
{
    if (format == StudyExporter::Format::Wide) {
        csv.field(u"image");
        csv.field(u"width");
        csv.field(u"height");
        for (const auto &c : classes)
            csv.field(c);
    } else {
        csv.field(u"image");
        csv.field(u"class");
        csv.field(u"fraction");
    }
    if (audit) {
        csv.field(u"audit");
        csv.field(u"audit_note");
    }
    csv.endRow();
}

// The audit mark's verdict and note (`--audit`), or none.
using AuditColumns = std::optional<std::pair<QString, QString>>;

// One image: row = (dataset id, path, width, height, composition BLOB).
void writeCompositionRow(CsvWriter &csv, StudyExporter::Format format, const QStringList &classes, const QString &location,
                         qint64 width, qint64 height, const QByteArray &blob, std::vector<float> &values,
                         const AuditColumns &audit)
{
    const auto auditColumns = [&] {
        if (audit) {
            csv.field(audit->first);
            csv.field(audit->second);
        }
    };
    const qsizetype n = std::min<qsizetype>(blob.size() / qsizetype(sizeof(float)), classes.size());
    values.resize(static_cast<size_t>(n));
    qFromLittleEndian<float>(blob.constData(), n, values.data());
    if (format == StudyExporter::Format::Wide) {
        csv.field(location);
        csv.field(width);
        csv.field(height);
        for (qsizetype c = 0; c < classes.size(); ++c) {
            if (c < n)
                csv.field(double(values[size_t(c)]), 6);
            else
                csv.field(QStringView());  // an older result with fewer classes: unknown, not 0
        }
        auditColumns();
        csv.endRow();
    } else {
        for (qsizetype c = 0; c < n; ++c) {
            csv.field(location);
            csv.field(classes[c]);
            csv.field(double(values[size_t(c)]), 6);
            auditColumns();
            csv.endRow();
        }
    }
}

// Columns: image id, dataset id, path, width, height, composition BLOB[, verdict, note].
QString compositionSelect(bool audit)
{
    return audit ? QStringLiteral("SELECT r.image_id, i.dataset_id, i.path, r.width, r.height, r.composition, a.verdict, a.note "
                                  "FROM results r JOIN images i ON i.id = r.image_id LEFT JOIN audit_marks a ON a.image_id = r.image_id "
                                  "WHERE r.run = ? ")
                 : QStringLiteral("SELECT r.image_id, i.dataset_id, i.path, r.width, r.height, r.composition FROM results r "
                                  "JOIN images i ON i.id = r.image_id WHERE r.run = ? ");
}

AuditColumns auditOf(const QSqlQuery &q, bool audit)
{
    if (!audit)
        return std::nullopt;
    return std::pair{q.value(6).toString(), q.value(7).toString()};
}

// What every composition export reads first: the class names, the current run and the
// datasets' roots (call inside the export's read snapshot).
struct CompositionSource {
    QStringList classes;
    int run = 0;
    QHash<qint64, QString> roots;
};

Result<CompositionSource> compositionSource(JobStore &store)
{
    auto settings = store.settings();
    if (!settings)
        return settings.error();
    if (!*settings)
        return Error{ErrorCategory::Usage, QStringLiteral("study %1 has no settings: nothing to export").arg(store.location())};
    auto run = store.currentRun();
    if (!run)
        return run.error();
    auto roots = datasetRoots(store.database());
    if (!roots)
        return roots.error();
    return CompositionSource{(*settings)->classNames(), *run, std::move(*roots)};
}

} // namespace

Result<qint64> StudyExporter::exportComposition(QIODevice &out, Format format, const Progress &progress)
{
    QSqlDatabase db = m_store.database();
    ReadSnapshot snapshot(db);
    auto source = compositionSource(m_store);
    if (!source)
        return source.error();
    const QStringList &classes = source->classes;

    QSqlQuery q(db);
    q.prepare(QStringLiteral("SELECT COUNT(*) FROM results WHERE run = ?"));
    q.addBindValue(source->run);
    if (!q.exec() || !q.next())
        return queryError(q, QStringLiteral("counting results"));
    const qint64 total = q.value(0).toLongLong();
    q.finish();

    // Forward-only: the driver keeps one row at a time instead of caching the result.
    q.setForwardOnly(true);
    q.prepare(compositionSelect(m_audit) + QStringLiteral("ORDER BY r.image_id"));
    q.addBindValue(source->run);
    if (!q.exec())
        return queryError(q, QStringLiteral("reading results"));

    CsvWriter csv(&out);
    writeCompositionHeader(csv, format, classes, m_audit);

    qint64 rows = 0;
    std::vector<float> values;
    while (q.next()) {
        const QString location = imageLocation(source->roots.value(q.value(1).toLongLong()), q.value(2).toString());
        writeCompositionRow(csv, format, classes, location, q.value(3).toLongLong(), q.value(4).toLongLong(), q.value(5).toByteArray(),
                            values, auditOf(q, m_audit));
        if (!csv.ok())
            return writeError(out);
        if (++rows % kProgressEvery == 0 && progress)
            progress(rows, total);
    }
    if (q.lastError().isValid())
        return queryError(q, QStringLiteral("reading results"));
    if (!csv.flush())
        return writeError(out);
    if (progress)
        progress(rows, total);
    return rows;
}

Result<StudyExporter::Page> StudyExporter::exportCompositionPage(QIODevice &out, Format format, qint64 afterImageId, int maxRows,
                                                                  qint64 maxBytes)
{
    QSqlDatabase db = m_store.database();
    ReadSnapshot snapshot(db);
    auto source = compositionSource(m_store);
    if (!source)
        return source.error();
    const QStringList &classes = source->classes;

    Page page;
    page.lastImageId = afterImageId;
    QSqlQuery q(db);
    if (afterImageId <= 0) {
        q.prepare(QStringLiteral("SELECT COUNT(*) FROM results WHERE run = ?"));
        q.addBindValue(source->run);
        if (!q.exec() || !q.next())
            return queryError(q, QStringLiteral("counting results"));
        page.total = q.value(0).toLongLong();
        q.finish();
    }
    q.setForwardOnly(true);
    // One row more than asked for tells whether this page is the last.
    q.prepare(compositionSelect(m_audit) + QStringLiteral("AND r.image_id > ? ORDER BY r.image_id LIMIT %1").arg(std::max(1, maxRows) + 1));
    q.addBindValue(source->run);
    q.addBindValue(afterImageId);
    if (!q.exec())
        return queryError(q, QStringLiteral("reading results"));

    CsvWriter csv(&out);
    if (afterImageId <= 0)
        writeCompositionHeader(csv, format, classes, m_audit);
    std::vector<float> values;
    page.last = true;
    while (q.next()) {
        if (page.rows >= std::max(1, maxRows) || (page.rows > 0 && out.size() >= maxBytes)) {
            page.last = false;
            break;
        }
        const QString location = imageLocation(source->roots.value(q.value(1).toLongLong()), q.value(2).toString());
        writeCompositionRow(csv, format, classes, location, q.value(3).toLongLong(), q.value(4).toLongLong(), q.value(5).toByteArray(),
                            values, auditOf(q, m_audit));
        // Written through at once so that out.size() tells how big the page has grown.
        if (!csv.flush())
            return writeError(out);
        page.lastImageId = q.value(0).toLongLong();
        ++page.rows;
    }
    if (q.lastError().isValid())
        return queryError(q, QStringLiteral("reading results"));
    if (!csv.flush())
        return writeError(out);
    return page;
}

Result<qint64> StudyExporter::exportErrors(QIODevice &out, const Progress &progress)
{
    QSqlDatabase db = m_store.database();
    ReadSnapshot snapshot(db);
    auto roots = datasetRoots(db);
    if (!roots)
        return roots.error();
    QSqlQuery q(db);
    if (!q.exec(QStringLiteral("SELECT COUNT(*) FROM images WHERE state = 3")) || !q.next())
        return queryError(q, QStringLiteral("counting failed images"));
    const qint64 total = q.value(0).toLongLong();
    q.finish();
    q.setForwardOnly(true);
    if (!q.exec(QStringLiteral("SELECT i.dataset_id, i.path, i.error_category, e.message FROM images i "
                               "LEFT JOIN errors e ON e.id = (SELECT MAX(x.id) FROM errors x WHERE x.image_id = i.id) "
                               "WHERE i.state = 3 ORDER BY i.id")))
        return queryError(q, QStringLiteral("reading errors"));
    ErrorsCsv csv(&out);
    qint64 rows = 0;
    while (q.next()) {
        csv.add(imageLocation(roots->value(q.value(0).toLongLong()), q.value(1).toString()), q.value(2).toString(),
                q.value(3).toString());
        if (!csv.ok())
            return writeError(out);
        if (++rows % kProgressEvery == 0 && progress)
            progress(rows, total);
    }
    if (!csv.flush())
        return writeError(out);
    if (progress)
        progress(rows, total);
    return rows;
}

} // namespace SegScale::Jobs

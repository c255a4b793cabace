#include "jobs/resultsquery.h"

#include "jobs/jobstore.h"
#include "jobs/resultshares.h"

#include <QSqlError>
#include <QSqlQuery>
#include <QtEndian>

#include <cmath>
#include <limits>

namespace SegScale::Jobs {

namespace {

Error sqlError(const QSqlQuery &q, const QString &what)
{
    return Error{ErrorCategory::Internal, QStringLiteral("study database: %1: %2").arg(what, q.lastError().text())};
}

} // namespace

Result<int> ResultsQuery::classIndex(const QString &name, const QStringList &classes)
{
    const QString wanted = name.trimmed();
    for (qsizetype i = 0; i < classes.size(); ++i)
        if (classes[i].compare(wanted, Qt::CaseInsensitive) == 0)
            return int(i);
    return Error{ErrorCategory::Usage, QStringLiteral("unknown class \"%1\"; the model's classes are: %2")
                                           .arg(wanted, classes.join(QStringLiteral(", ")))};
}

Result<ResultsQuery::Condition> ResultsQuery::parseCondition(const QString &text, const QStringList &classes)
{
    // The operator is the last < or > so that a class name may hold neither; names are
    // matched whole, so "a>b>0.3" means class "a>b".
    const qsizetype gt = text.lastIndexOf(QLatin1Char('>'));
    const qsizetype lt = text.lastIndexOf(QLatin1Char('<'));
    const qsizetype at = std::max(gt, lt);
    if (at <= 0)
        return Error{ErrorCategory::Usage,
                     QStringLiteral("\"%1\" is not a condition like \"sky > 0.3\" or \"sky > 30%\"").arg(text)};
    auto cls = classIndex(text.left(at), classes);
    if (!cls)
        return cls.error();
    QString value = text.mid(at + 1).trimmed();
    const bool percent = value.endsWith(QLatin1Char('%'));
    if (percent)
        value.chop(1);
    bool ok = false;
    double v = value.trimmed().toDouble(&ok);
    if (percent)
        v /= 100.0;
    if (!ok || !std::isfinite(v) || v < 0.0 || v > 1.0)
        return Error{ErrorCategory::Usage, QStringLiteral("\"%1\": the threshold must be a fraction from 0 to 1 or a percentage "
                                                          "from 0% to 100%")
                                               .arg(text)};
    return Condition{*cls, at == gt, v};
}

Result<QStringList> ResultsQuery::classes()
{
    auto settings = m_store.settings();
    if (!settings)
        return settings.error();
    if (!*settings)
        return Error{ErrorCategory::Usage, QStringLiteral("study %1 has no settings yet: no results").arg(m_store.location())};
    return (*settings)->classNames();
}

Result<int> ResultsQuery::shareColumns()
{
    QSqlDatabase db = m_store.database();
    const int have = ResultShares::columns(db);
    if (have > 0)
        return have;
    // A study that has no result yet has no table: made now, empty.
    auto classes = ResultShares::studyClasses(db);
    if (!classes)
        return classes.error();
    if (!db.transaction())
        return Error{ErrorCategory::Internal, QStringLiteral("study database: %1").arg(db.lastError().text())};
    auto made = ResultShares::ensure(db, m_store.dialect(), *classes);
    if (!made) {
        db.rollback();
        return made.error();
    }
    if (!db.commit())
        return Error{ErrorCategory::Internal, QStringLiteral("study database: %1").arg(db.lastError().text())};
    return *made;
}

Result<QList<ResultsQuery::Row>> ResultsQuery::page(const Options &o, qint64 afterImageId, int limit)
{
    auto run = m_store.currentRun();
    if (!run)
        return run.error();
    auto columns = shareColumns();
    if (!columns)
        return columns.error();
    const auto usable = [&](int cls) -> Result<void> {
        if (cls < 0 || cls >= *columns)
            return Error{ErrorCategory::Usage, QStringLiteral("class %1 cannot be sorted or filtered by (the study keeps %2 class shares)")
                                                   .arg(cls)
                                                   .arg(*columns)};
        return {};
    };
    QSqlDatabase db = m_store.database();
    if (o.sortClass >= 0) {
        if (auto r = usable(o.sortClass); !r)
            return r.error();
        // Made once per class, the first time someone sorts by it.
        if (auto r = ResultShares::ensureIndex(db, o.sortClass); !r)
            return r.error();
    }
    QString where = QStringLiteral("s.run = ?");
    QVariantList binds{*run};
    if (o.datasetId) {
        where += QStringLiteral(" AND s.dataset_id = ?");
        binds.append(*o.datasetId);
    }
    for (const Condition &c : o.conditions) {
        if (auto r = usable(c.cls); !r)
            return r.error();
        where += QStringLiteral(" AND s.%1 %2 ?").arg(ResultShares::column(c.cls), c.greater ? QStringLiteral(">") : QStringLiteral("<"));
        binds.append(c.fraction);
    }
    // SQLite has no statistics here, and with a condition on one class and the order on
    // another it reads every match through the condition's index and sorts them (1 s for
    // "sky > 30%" over a million results). When the condition matches many results, walking
    // the sort index and skipping non-matches finds a page far sooner (0.08 s): a bounded
    // count tells which case this is. PostgreSQL's planner has statistics and decides.
    QString forceIndex;
    if (m_store.dialect() == Dialect::Sqlite && o.sortClass >= 0 && !o.conditions.isEmpty()) {
        constexpr int kMany = 5000;
        QSqlQuery probe(db);
        probe.prepare(QStringLiteral("SELECT COUNT(*) FROM (SELECT 1 FROM result_shares s WHERE %1 LIMIT %2)").arg(where).arg(kMany));
        for (const QVariant &b : binds)
            probe.addBindValue(b);
        if (!probe.exec() || !probe.next())
            return sqlError(probe, QStringLiteral("counting matching results"));
        if (probe.value(0).toInt() >= kMany)
            forceIndex = QStringLiteral(" INDEXED BY result_shares_") + ResultShares::column(o.sortClass);
    }
    const QString op = o.descending ? QStringLiteral("<") : QStringLiteral(">");
    const QString dir = o.descending ? QStringLiteral("DESC") : QStringLiteral("ASC");
    QString order;
    if (o.sortClass >= 0) {
        const QString col = QStringLiteral("s.") + ResultShares::column(o.sortClass);
        where += QStringLiteral(" AND %1 IS NOT NULL").arg(col);
        if (afterImageId > 0) {
            where += QStringLiteral(" AND (%1, s.image_id) %2 ((SELECT k.%3 FROM result_shares k WHERE k.run = ? AND k.image_id = ?), ?)")
                         .arg(col, op, ResultShares::column(o.sortClass));
            binds << *run << afterImageId << afterImageId;
        }
        order = QStringLiteral("%1 %2, s.image_id %2").arg(col, dir);
    } else {
        if (afterImageId > 0) {
            where += QStringLiteral(" AND s.image_id %1 ?").arg(op);
            binds << afterImageId;
        }
        order = QStringLiteral("s.image_id %1").arg(dir);
    }
    QSqlQuery q(db);
    q.setForwardOnly(true);
    q.prepare(QStringLiteral("SELECT s.image_id, i.dataset_id, d.root, i.path, r.width, r.height, r.composition, r.label_path, "
                             "r.created_at FROM result_shares s%4 JOIN results r ON r.id = s.result_id "
                             "JOIN images i ON i.id = s.image_id JOIN datasets d ON d.id = i.dataset_id "
                             "WHERE %1 ORDER BY %2 LIMIT %3")
                  .arg(where, order)
                  .arg(std::max(0, limit))
                  .arg(forceIndex));
    for (const QVariant &b : binds)
        q.addBindValue(b);
    if (!q.exec())
        return sqlError(q, QStringLiteral("reading results"));
    QList<Row> rows;
    while (q.next()) {
        Row row;
        ResultRecord &r = row.record;
        r.imageId = q.value(0).toLongLong();
        row.datasetId = q.value(1).toLongLong();
        row.datasetRoot = q.value(2).toString();
        r.location = imageLocation(row.datasetRoot, q.value(3).toString());
        r.width = q.value(4).toInt();
        r.height = q.value(5).toInt();
        const QByteArray blob = q.value(6).toByteArray();
        r.composition.resize(static_cast<size_t>(blob.size() / qsizetype(sizeof(float))));
        qFromLittleEndian<float>(blob.constData(), qsizetype(r.composition.size()), r.composition.data());
        r.labelPath = q.value(7).toString();
        r.atMs = q.value(8).toLongLong();
        rows.append(std::move(row));
    }
    return rows;
}

Result<QList<ResultsQuery::DatasetMeans>> ResultsQuery::datasetMeans()
{
    auto run = m_store.currentRun();
    if (!run)
        return run.error();
    auto columns = shareColumns();
    if (!columns)
        return columns.error();
    // From the running sums (ResultShares), not a scan of every result.
    QStringList averages;
    for (int c = 0; c < *columns; ++c)
        averages.append(QStringLiteral(", s.%1 / s.n").arg(ResultShares::column(c)));
    QSqlQuery q(m_store.database());
    q.setForwardOnly(true);
    q.prepare(QStringLiteral("SELECT s.dataset_id, d.root, s.n%1 FROM result_share_sums s JOIN datasets d ON d.id = s.dataset_id "
                             "WHERE s.run = ? AND s.n > 0 ORDER BY s.dataset_id")
                  .arg(averages.join(QString())));
    q.addBindValue(*run);
    if (!q.exec())
        return sqlError(q, QStringLiteral("averaging class shares"));
    QList<DatasetMeans> out;
    while (q.next()) {
        DatasetMeans m;
        m.datasetId = q.value(0).toLongLong();
        m.root = q.value(1).toString();
        m.results = q.value(2).toLongLong();
        m.means.reserve(size_t(*columns));
        for (int c = 0; c < *columns; ++c) {
            const QVariant v = q.value(3 + c);
            m.means.push_back(v.isNull() ? std::numeric_limits<double>::quiet_NaN() : v.toDouble());
        }
        out.append(std::move(m));
    }
    return out;
}

Result<ResultsQuery::ImageFiles> ResultsQuery::imageFiles(qint64 imageId)
{
    auto run = m_store.currentRun();
    if (!run)
        return run.error();
    QSqlQuery q(m_store.database());
    q.prepare(QStringLiteral("SELECT st.url, d.root, i.path, r.label_path, r.id FROM images i JOIN datasets d ON d.id = i.dataset_id "
                             "JOIN storages st ON st.id = d.storage_id LEFT JOIN results r ON r.image_id = i.id AND r.run = ? "
                             "WHERE i.id = ?"));
    q.addBindValue(*run);
    q.addBindValue(imageId);
    if (!q.exec())
        return sqlError(q, QStringLiteral("finding image %1").arg(imageId));
    if (!q.next())
        return Error{ErrorCategory::Missing, QStringLiteral("the study has no image %1").arg(imageId)};
    ImageFiles f;
    f.imageId = imageId;
    f.storageUrl = q.value(0).toString();
    f.root = q.value(1).toString();
    f.path = q.value(2).toString();
    f.location = imageLocation(f.root, f.path);
    f.labelPath = q.value(3).toString();
    f.hasResult = !q.value(4).isNull();
    return f;
}

} // namespace SegScale::Jobs

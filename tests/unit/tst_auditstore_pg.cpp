// AuditStore and ErrorLog on a real PostgreSQL (its own throw-away cluster, as
// tst_jobstore_pg; skips clearly without the server binaries): the upsert of a mark, the
// 4-byte share read from a BYTEA composition, the filters and retry by id, and the
// --audit export columns — the SQL both dialects must speak.

#include "common/auditstudy.h"
#include "common/postgresfixture.h"
#include "jobs/auditstore.h"
#include "jobs/errorlog.h"
#include "jobs/jobstore.h"
#include "jobs/studyexporter.h"

#include <QBuffer>
#include <QSqlDatabase>
#include <QTest>

#include <algorithm>

using namespace SegScale;
using namespace SegScale::Jobs;
using SegScale::Testing::AuditStudy;

class TestAuditStorePg : public QObject {
    Q_OBJECT

    PostgresFixture m_pg;

private Q_SLOTS:
    void initTestCase()
    {
        if (!QSqlDatabase::isDriverAvailable(QStringLiteral("QPSQL")))
            QSKIP("the Qt PostgreSQL driver (libqt6sql6-psql) is not installed");
        if (const QString why = PostgresFixture::unavailableReason(); !why.isEmpty())
            QSKIP(qPrintable(why));
        QVERIFY2(m_pg.start(), qPrintable(m_pg.errorString()));
    }

    void cleanupTestCase() { m_pg.stop(); }

    void auditAndErrorLog()
    {
        const QString url = m_pg.createDatabase();
        QVERIFY2(!url.isEmpty(), qPrintable(m_pg.errorString()));
        AuditStudy study;
        const QString written = study.write(url);
        QVERIFY2(written.isEmpty(), qPrintable(written));
        auto opened = JobStore::open(url);
        QVERIFY(opened.ok());
        JobStore &store = **opened;
        AuditStore audit(store);

        // Extremes: the k highest and lowest road shares, as brute force orders them.
        auto extremes = audit.sample(AuditSampleParams{AuditMode::Extremes, 4, 0, 0});
        QVERIFY2(extremes.ok(), extremes.ok() ? "" : qPrintable(extremes.error().toString()));
        std::vector<qint64> byShare = study.done;
        std::sort(byShare.begin(), byShare.end(), [](qint64 a, qint64 b) {
            const float sa = AuditStudy::composition(a)[0], sb = AuditStudy::composition(b)[0];
            return sa != sb ? sa > sb : a < b;
        });
        QCOMPARE(extremes->size(), 8);
        for (int i = 0; i < 4; ++i)
            QCOMPARE(extremes->at(i).imageId, byShare[static_cast<size_t>(i)]);
        // The same seed draws the same random sample as on SQLite (same ids in, same draw).
        auto a = audit.sample(AuditSampleParams{AuditMode::Random, 10, 5, 0});
        auto b = audit.sample(AuditSampleParams{AuditMode::Random, 10, 5, 0});
        QCOMPARE(a->size(), 10);
        for (int i = 0; i < 10; ++i)
            QCOMPARE(a->at(i).imageId, b->at(i).imageId);

        QVERIFY(audit.setMark(1, AuditVerdict::Flagged, QStringLiteral("first"), QStringLiteral("ana")).ok());
        QVERIFY(audit.setMark(1, AuditVerdict::Accepted, QStringLiteral("second, \"look\""), QStringLiteral("bo")).ok());
        QVERIFY(audit.setMark(121, AuditVerdict::Flagged, {}, {}).ok());
        auto marks = audit.marks({1, 121});
        QCOMPARE(marks->value(1).note, QStringLiteral("second, \"look\""));
        QCOMPARE(marks->value(1).verdict, AuditVerdict::Accepted);
        auto q = audit.quality();
        QCOMPARE(q->at(0).accepted, 1);
        QCOMPARE(q->at(0).finished, 96);
        QCOMPARE(q->at(1).flagged, 1);

        QBuffer csv;
        csv.open(QIODevice::WriteOnly);
        StudyExporter exporter(store);
        exporter.setAuditColumns(true);
        QCOMPARE(*exporter.exportComposition(csv, StudyExporter::Format::Wide), 160);
        QVERIFY(csv.data().startsWith("image,width,height,road,sky,tree,audit,audit_note\r\n"));
        QVERIFY(csv.data().contains(",accepted,\"second, \"\"look\"\"\"\r\n"));

        ErrorLog log(store);
        ErrorLog::Filter f;
        f.category = ErrorCategory::Missing;
        f.worker = QStringLiteral("w2");
        f.sinceMs = AuditStudy::kT0 + AuditStudy::kHour;
        const std::vector<qint64> want = study.matching(QStringLiteral("missing"), QStringLiteral("w2"), {}, f.sinceMs, {});
        auto page = log.page(f);
        QVERIFY(page.ok());
        QCOMPARE(page->size(), static_cast<qsizetype>(want.size()));
        for (size_t i = 0; i < want.size(); ++i)
            QCOMPARE(page->at(static_cast<qsizetype>(i)).imageId, want[i]);
        QCOMPARE(*log.retry({5, 10, 1}), 2);
        QCOMPARE(*store.imageCount(ImageState::Pending), 2);
    }
};

QTEST_GUILESS_MAIN(TestAuditStorePg)
#include "tst_auditstore_pg.moc"

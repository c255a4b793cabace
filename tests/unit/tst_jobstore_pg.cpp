// JobStore on a real PostgreSQL: the test starts its own throw-away cluster
// (tests/common/postgresfixture: initdb + pg_ctl in a temp dir, on a free port, as a
// non-root user) and skips clearly when the PostgreSQL server binaries are not installed.

#include "common/postgresfixture.h"
#include "jobs/jobstore.h"
#include "jobs/studyexporter.h"

#include <QBuffer>
#include <QJsonArray>
#include <QSet>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QTest>
#include <QThread>

using namespace SegScale;
using namespace SegScale::Jobs;

class TestJobStorePg : public QObject {
    Q_OBJECT

    PostgresFixture m_pg;

    QString newDatabase()
    {
        const QString url = m_pg.createDatabase();
        if (url.isEmpty())
            qWarning().noquote() << m_pg.errorString();
        return url;
    }

    std::unique_ptr<JobStore> makeStore(const QString &url, int n)
    {
        auto store = JobStore::open(url);
        if (!store) {
            qWarning() << store.error().toString();
            return nullptr;
        }
        StudySettings s;
        s.modelCard[QStringLiteral("name")] = QStringLiteral("pg");
        s.modelCard[QStringLiteral("classes")] = QJsonArray{QStringLiteral("road"), QStringLiteral("sky, blue")};
        s.modelFingerprint = "aaaa";
        if (!(*store)->beginRun(s, false))
            return nullptr;
        const qint64 storage = *(*store)->addStorage(QStringLiteral("local"), QStringLiteral("file://"));
        const qint64 ds = *(*store)->addDataset(storage, QStringLiteral("/data"), {}, {});
        QList<ImageEntry> entries;
        for (int i = 0; i < n; ++i)
            entries.append({QStringLiteral("img%1.jpg").arg(i), i});
        auto added = (*store)->addImages(ds, entries);
        if (!added || added->added != n) {
            qWarning() << "addImages failed";
            return nullptr;
        }
        return std::move(*store);
    }

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

    void stateMachine()
    {
        const QString url = newDatabase();
        QVERIFY(!url.isEmpty());
        auto store = makeStore(url, 5);
        QVERIFY(store);
        QSqlDatabase db = store->database();
        QCOMPARE(*Schema::version(db), Schema::CurrentVersion);
        qint64 clock = 1'700'000'000'000;
        store->setClock([&] { return clock; });
        QCOMPARE(store->addImages(1, {{QStringLiteral("img1.jpg"), 1}})->skipped, 1);
        auto l = store->lease(QStringLiteral("A"), 3, 10);
        QVERIFY(l.ok());
        QCOMPARE(l->size(), 3);
        QCOMPARE(l->first().location(), QStringLiteral("/data/img0.jpg"));
        ImageResult r;
        r.width = 4;
        r.height = 2;
        r.composition = {0.25f, 0.75f};
        QCOMPARE(*store->complete(l->at(0).imageId, l->at(0).leaseId, r), WriteOutcome::Done);
        QCOMPARE(*store->complete(l->at(0).imageId, l->at(0).leaseId, r), WriteOutcome::Stale);
        QCOMPARE(*store->fail(l->at(1).imageId, l->at(1).leaseId, {ErrorCategory::Corrupt, QStringLiteral("bad")}), WriteOutcome::Failed);
        QCOMPARE(*store->fail(l->at(2).imageId, l->at(2).leaseId, {ErrorCategory::Storage, QStringLiteral("down")}), WriteOutcome::Retry);
        auto l2 = store->lease(QStringLiteral("B"), 5, 10);
        QCOMPARE(l2->size(), 2);  // the retried one is backing off
        clock += 11'000;
        QCOMPARE(store->expireLeases()->returnedToPending, 2);
        QCOMPARE(*store->complete(l2->at(0).imageId, l2->at(0).leaseId, r), WriteOutcome::Stale);
        QCOMPARE(*store->retryFailed(ErrorCategory::Corrupt), 1);
        auto p = store->progress();
        QCOMPARE(p->done, 1);
        QCOMPARE(p->pending, 4);
        QBuffer buf;
        buf.open(QIODevice::WriteOnly);
        QCOMPARE(*StudyExporter(*store).exportComposition(buf, StudyExporter::Format::Wide), 1);
        QCOMPARE(buf.data(), QByteArray("image,width,height,road,\"sky, blue\"\r\n/data/img0.jpg,4,2,0.250000,0.750000\r\n"));
        StudySettings other = *(*store->settings());
        other.modelFingerprint = "bbbb";
        QVERIFY(!store->beginRun(other, false).ok());
        QCOMPARE(*store->beginRun(other, true), 2);
    }

    void skipLockedLeasersNeverShare()
    {
        const QString url = newDatabase();
        QVERIFY(!url.isEmpty());
        auto store = makeStore(url, 1500);
        QVERIFY(store);
        struct Leaser : QThread {
            QString url, name, error;
            QList<qint64> ids;
            void run() override
            {
                auto s = JobStore::open(url);
                if (!s) {
                    error = s.error().toString();
                    return;
                }
                for (;;) {
                    auto l = (*s)->lease(name, 5, 600);
                    if (!l) {
                        error = l.error().toString();
                        return;
                    }
                    if (l->isEmpty())
                        return;
                    QList<Completion> done;
                    for (const auto &img : *l) {
                        ids.append(img.imageId);
                        ImageResult r;
                        r.composition = {1, 0};
                        done.append({img.imageId, img.leaseId, r});
                    }
                    auto o = (*s)->completeMany(done);
                    if (!o || o->count(WriteOutcome::Done) != done.size()) {
                        error = QStringLiteral("completion refused");
                        return;
                    }
                }
            }
        };
        Leaser a, b;
        a.url = b.url = url;
        a.name = QStringLiteral("A");
        b.name = QStringLiteral("B");
        a.start();
        b.start();
        QVERIFY(a.wait(120'000) && b.wait(120'000));
        QVERIFY2(a.error.isEmpty(), qPrintable(a.error));
        QVERIFY2(b.error.isEmpty(), qPrintable(b.error));
        const QSet<qint64> sa(a.ids.cbegin(), a.ids.cend()), sb(b.ids.cbegin(), b.ids.cend());
        QVERIFY(!sa.intersects(sb));
        QCOMPARE(sa.size() + sb.size(), 1500);
        QCOMPARE(a.ids.size() + b.ids.size(), 1500);
        QCOMPARE(*store->imageCount(ImageState::Done), 1500);
    }
};

QTEST_GUILESS_MAIN(TestJobStorePg)
#include "tst_jobstore_pg.moc"

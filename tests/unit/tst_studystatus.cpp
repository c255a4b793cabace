// StudyStatus and StudyCsvExport: what `study status` and `study export` show and write,
// as values read from a real study database.
#include "jobs/jobstore.h"
#include "study/studycsvexport.h"
#include "study/studystatus.h"

#include <QFile>
#include <QJsonArray>
#include <QTemporaryDir>
#include <QtTest>

using namespace SegScale;
using Study::StudyStatus;

class StudyStatusTest : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;

private Q_SLOTS:
    void durations()
    {
        QCOMPARE(StudyStatus::duration(-1), QStringLiteral("unknown"));
        QCOMPARE(StudyStatus::duration(0), QStringLiteral("0:00:00"));
        QCOMPARE(StudyStatus::duration(3 * 3600 + 4 * 60 + 5), QStringLiteral("3:04:05"));
        QCOMPARE(StudyStatus::duration(100 * 3600 + 59), QStringLiteral("100:00:59"));
    }

    void countsAndPercentages()
    {
        auto store = Jobs::JobStore::open(m_dir.filePath(QStringLiteral("s.db")), Jobs::JobStore::OpenMode::CreateIfMissing);
        QVERIFY(store.ok());
        auto empty = StudyStatus::read(**store);
        QVERIFY(empty.ok());
        QVERIFY(!empty->settings);
        QCOMPARE(empty->percentOf(0), QStringLiteral("-"));
        QCOMPARE(empty->eta(), QStringLiteral("finished"));

        Jobs::StudySettings settings;
        settings.modelCard = QJsonObject{{QStringLiteral("name"), QStringLiteral("tiny")},
                                         {QStringLiteral("classes"), QJsonArray{QStringLiteral("a"), QStringLiteral("b")}}};
        settings.modelFingerprint = QByteArray(64, 'f');
        QVERIFY((*store)->beginRun(settings, false).ok());
        auto storage = (*store)->addStorage(QStringLiteral("local"), QStringLiteral("file://"));
        QVERIFY(storage.ok());
        auto dataset = (*store)->addDataset(*storage, m_dir.path(), {}, {});
        QVERIFY(dataset.ok());
        QList<Jobs::ImageEntry> images;
        for (int i = 0; i < 8; ++i)
            images.append({QStringLiteral("%1.jpg").arg(i), 1});
        QVERIFY((*store)->addImages(*dataset, images).ok());
        auto leased = (*store)->lease(QStringLiteral("w"), 1, 60);
        QVERIFY(leased.ok() && leased->size() == 1);
        QVERIFY((*store)->fail(leased->first().imageId, leased->first().leaseId, {ErrorCategory::Corrupt, QStringLiteral("bad")}).ok());

        auto status = StudyStatus::read(**store, 5);
        QVERIFY(status.ok());
        QVERIFY(status->settings);
        QCOMPARE(status->settings->modelName(), QStringLiteral("tiny"));
        QCOMPARE(status->progress.pending, 7);
        QCOMPARE(status->progress.failed, 1);
        QCOMPARE(status->percentOf(status->progress.pending), QStringLiteral("87.5%"));
        QCOMPARE(status->percentOf(status->progress.failed), QStringLiteral("12.5%"));
        QVERIFY(!status->finished());
        QCOMPARE(status->progress.topErrors.size(), 1);

        // Export: the errors file is written whole; an unwritable path is an error and
        // leaves nothing behind.
        Study::StudyCsvExport exporter(**store);
        const QString errors = m_dir.filePath(QStringLiteral("errors.csv"));
        auto n = exporter.writeErrors(errors);
        QVERIFY2(n.ok(), qPrintable(n.ok() ? QString() : n.error().toString()));
        QCOMPARE(*n, 1);
        QFile f(errors);
        QVERIFY(f.open(QIODevice::ReadOnly));
        QVERIFY(f.readAll().contains("corrupt,bad"));
        const QString nowhere = m_dir.filePath(QStringLiteral("no/such/folder/c.csv"));
        auto refused = exporter.writeComposition(nowhere, Jobs::StudyExporter::Format::Wide);
        QVERIFY(!refused.ok());
        QCOMPARE(refused.error().category, ErrorCategory::Unreadable);
        QVERIFY(!QFile::exists(nowhere));
        auto wide = exporter.writeComposition(m_dir.filePath(QStringLiteral("c.csv")), Jobs::StudyExporter::Format::Wide);
        QVERIFY(wide.ok());
        QCOMPARE(*wide, 0);  // nothing done yet: the header only
    }
};

QTEST_GUILESS_MAIN(StudyStatusTest)
#include "tst_studystatus.moc"

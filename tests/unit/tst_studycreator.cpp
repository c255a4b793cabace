// StudyCreator: a new study records the model card, where it lives, the weights'
// fingerprint and the settings (card defaults with the caller's choices on top); an
// existing file, a bad precision or an unreadable model creates nothing.
#include "jobs/jobstore.h"
#include "study/studycreator.h"

#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

using namespace SegScale;
using Study::StudyCreator;

namespace {

// A card the reader accepts, with weights whose bytes the fingerprint covers.
QString writeModel(const QTemporaryDir &dir, const QString &name, const QByteArray &weights)
{
    const QString folder = dir.filePath(name);
    QDir().mkpath(folder);
    QFile card(folder + QStringLiteral("/model.json"));
    if (!card.open(QIODevice::WriteOnly))
        return {};
    card.write(R"({"name":"tiny","architecture":"torchscript","file":"m.pt","num_classes":2,"classes":["sky","road"],
                  "defaults":{"scales":[0.5,1],"base_size":300,"crop":200,"flip":false}})");
    QFile w(folder + QStringLiteral("/m.pt"));
    if (!w.open(QIODevice::WriteOnly))
        return {};
    w.write(weights);
    return folder;
}

} // namespace

class StudyCreatorTest : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    QString m_model;

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_model = writeModel(m_dir, QStringLiteral("tiny"), QByteArray(1000, 'w'));
        QVERIFY(!m_model.isEmpty());
    }

    void cardDefaultsAndChoices()
    {
        StudyCreator::Params params;
        params.database = m_dir.filePath(QStringLiteral("defaults.db"));
        params.model = m_model;
        QStringList notes;
        auto created = StudyCreator::create(params, [&](const QString &n) { notes << n; });
        QVERIFY2(created.ok(), qPrintable(created.ok() ? QString() : created.error().toString()));
        QCOMPARE(created->run, 1);
        QCOMPARE(created->card.name, QStringLiteral("tiny"));
        QCOMPARE(notes.size(), 1);
        QVERIFY2(notes[0].startsWith(QStringLiteral("fingerprinting ")) && notes[0].contains(QStringLiteral("m.pt")), qPrintable(notes[0]));

        auto store = Jobs::JobStore::open(params.database);
        QVERIFY(store.ok());
        auto stored = (*store)->settings();
        QVERIFY(stored.ok() && *stored);
        const Jobs::StudySettings &s = **stored;
        QCOMPARE(s.scales, (QList<double>{0.5, 1.0}));
        QCOMPARE(s.baseSize, 300);
        QCOMPARE(s.crop, 200);
        QCOMPARE(s.flip, false);
        QCOMPARE(s.batch, 1);
        QCOMPARE(s.precision, QStringLiteral("fp32"));
        QCOMPARE(s.classNames(), (QStringList{QStringLiteral("sky"), QStringLiteral("road")}));
        QCOMPARE(s.modelCard.value(QStringLiteral("directory")).toString(), created->card.directory);
        QCOMPARE(s.modelFingerprint, created->card.fingerprint().value());

        params.database = m_dir.filePath(QStringLiteral("chosen.db"));
        params.scales = QList<double>{1.0, 1.5};
        params.baseSize = 640;
        params.crop = 321;
        params.flip = true;
        params.batch = 4;
        params.precision = QStringLiteral("bfloat16");
        created = StudyCreator::create(params);
        QVERIFY(created.ok());
        QCOMPARE(created->settings.scales, (QList<double>{1.0, 1.5}));
        QCOMPARE(created->settings.baseSize, 640);
        QCOMPARE(created->settings.crop, 321);
        QCOMPARE(created->settings.flip, true);
        QCOMPARE(created->settings.batch, 4);
        QCOMPARE(created->settings.precision, QStringLiteral("bf16"));
    }

    void refusals()
    {
        StudyCreator::Params params;
        params.database = m_dir.filePath(QStringLiteral("refused.db"));
        params.model = m_model;
        params.precision = QStringLiteral("fp8");
        auto created = StudyCreator::create(params);
        QVERIFY(!created.ok());
        QCOMPARE(created.error().category, ErrorCategory::Usage);
        QCOMPARE(created.error().message, QStringLiteral("--precision must be fp32, fp16 or bf16, not \"fp8\""));
        QVERIFY(!QFile::exists(params.database));

        params.precision.reset();
        params.model = m_dir.filePath(QStringLiteral("no-such-model"));
        created = StudyCreator::create(params);
        QVERIFY(!created.ok());
        QVERIFY(created.error().category != ErrorCategory::Usage);
        QVERIFY(!QFile::exists(params.database));

        params.model = m_model;
        QVERIFY(StudyCreator::create(params).ok());
        created = StudyCreator::create(params);  // a study is created once
        QVERIFY(!created.ok());
        QCOMPARE(created.error().category, ErrorCategory::Usage);
        QVERIFY2(created.error().message.contains(QStringLiteral("already exists")), qPrintable(created.error().message));
    }
};

QTEST_GUILESS_MAIN(StudyCreatorTest)
#include "tst_studycreator.moc"

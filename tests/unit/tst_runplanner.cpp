// RunPlanner: a run starts from the study's stored settings; options that change the
// labels (scales, crop, model, precision) need a new run, else the study refuses; the
// study's precision and batch apply unless given; fp16 needs a CUDA device.
#include "jobs/jobstore.h"
#include "study/runplanner.h"
#include "study/studycreator.h"

#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

using namespace SegScale;
using Study::RunPlanner;

namespace {

QString writeModel(const QTemporaryDir &dir, const QString &name, const QByteArray &weights)
{
    const QString folder = dir.filePath(name);
    QDir().mkpath(folder);
    QFile card(folder + QStringLiteral("/model.json"));
    if (!card.open(QIODevice::WriteOnly))
        return {};
    card.write(R"({"name":"tiny","architecture":"torchscript","file":"m.pt","num_classes":2,"classes":["sky","road"],
                  "defaults":{"scales":[1],"base_size":300,"crop":200,"flip":true}})");
    QFile w(folder + QStringLiteral("/m.pt"));
    if (!w.open(QIODevice::WriteOnly))
        return {};
    w.write(weights);
    return folder;
}

QString errorText(const Result<RunPlanner::Plan> &r)
{
    return r.ok() ? QStringLiteral("(ok)") : r.error().toString();
}

} // namespace

class RunPlannerTest : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    QString m_model;
    QString m_otherModel;
    int m_studies = 0;

    QString newStudy(std::optional<QString> precision = std::nullopt, std::optional<int> batch = std::nullopt)
    {
        Study::StudyCreator::Params params;
        params.database = m_dir.filePath(QStringLiteral("study%1.db").arg(++m_studies));
        params.model = m_model;
        params.scales = QList<double>{0.5, 1.0};
        params.precision = precision;
        params.batch = batch;
        auto created = Study::StudyCreator::create(params);
        if (!created)
            qWarning("%s", qPrintable(created.error().toString()));
        return created ? params.database : QString();
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_model = writeModel(m_dir, QStringLiteral("tiny"), QByteArray(1000, 'w'));
        m_otherModel = writeModel(m_dir, QStringLiteral("retrained"), QByteArray(1000, 'v'));
        QVERIFY(!m_model.isEmpty() && !m_otherModel.isEmpty());
    }

    void sameSettingsKeepTheRun()
    {
        const QString db = newStudy();
        QVERIFY(!db.isEmpty());
        auto planner = RunPlanner::load(db);
        QVERIFY2(planner.ok(), qPrintable(planner.ok() ? QString() : planner.error().toString()));
        // The study's settings, not the card's, are what overrides start from.
        QCOMPARE(planner->studyCard().defaults.scales, (QList<double>{0.5, 1.0}));
        QCOMPARE(planner->studyCard().defaults.baseSize, 300);
        auto options = Pipeline::SegmentOptions::fromCard(planner->studyCard());
        options.threads = 2;  // speed options pass through
        auto plan = planner->plan(options, {});
        QVERIFY2(plan.ok(), qPrintable(errorText(plan)));
        QVERIFY(!plan->newRunNeeded);
        QCOMPARE(plan->options.threads, 2);
        QCOMPARE(plan->options.batch, 0);  // study batch 1: the device's automatic choice
        QCOMPARE(plan->options.precision, Pipeline::Precision::Float32);
        QCOMPARE(plan->modelFingerprint, planner->storedSettings().modelFingerprint);
        auto began = planner->begin(*plan);
        QVERIFY2(began.ok(), qPrintable(errorText(began)));
        QCOMPARE(began->run, 1);
        QVERIFY(began->storagesWithWork.isEmpty());
    }

    // The refusal without --new-run when a label-changing setting differs.
    void changedSettingsNeedANewRun()
    {
        const QString db = newStudy();
        auto planner = RunPlanner::load(db);
        QVERIFY(planner.ok());
        auto options = Pipeline::SegmentOptions::fromCard(planner->studyCard());
        options.crop = 150;
        auto plan = planner->plan(options, {});
        QVERIFY(plan.ok());
        QVERIFY(plan->newRunNeeded);
        QCOMPARE(plan->settings.crop, 150);
        auto refused = planner->begin(*plan);
        QVERIFY(!refused.ok());
        QCOMPARE(refused.error().category, ErrorCategory::Usage);
        QVERIFY2(refused.error().message.contains(QStringLiteral("never mixed")), qPrintable(refused.error().message));
        QCOMPARE(Jobs::JobStore::open(db).value()->currentRun().value(), 1);

        RunPlanner::Choices choices;
        choices.newRun = true;
        plan = planner->plan(options, choices);
        QVERIFY(plan.ok());
        auto began = planner->begin(*plan);
        QVERIFY2(began.ok(), qPrintable(errorText(began)));
        QCOMPARE(began->run, 2);
        QCOMPARE(Jobs::JobStore::open(db).value()->settings().value()->crop, 150);
    }

    void otherModelNeedsANewRun()
    {
        const QString db = newStudy();
        auto planner = RunPlanner::load(db, m_otherModel);
        QVERIFY(planner.ok());
        RunPlanner::Choices choices;
        choices.otherModel = true;
        auto plan = planner->plan(Pipeline::SegmentOptions::fromCard(planner->studyCard()), choices);
        QVERIFY(plan.ok());
        QVERIFY(plan->newRunNeeded);
        QCOMPARE(plan->card.directory, QFileInfo(m_otherModel).absoluteFilePath());
        QCOMPARE(plan->settings.modelCard.value(QStringLiteral("directory")).toString(), plan->card.directory);
        QVERIFY(plan->modelFingerprint != planner->storedSettings().modelFingerprint);
        QVERIFY(!planner->begin(*plan).ok());
        choices.newRun = true;
        auto began = planner->begin(planner->plan(Pipeline::SegmentOptions::fromCard(planner->studyCard()), choices).value());
        QVERIFY2(began.ok(), qPrintable(errorText(began)));
        QCOMPARE(began->run, 2);
        // The study now records the new model: a plain run loads it and keeps the run.
        auto again = RunPlanner::load(db);
        QVERIFY(again.ok());
        auto same = again->plan(Pipeline::SegmentOptions::fromCard(again->studyCard()), {});
        QVERIFY(same.ok());
        QVERIFY(!same->newRunNeeded);
        QCOMPARE(same->card.directory, plan->card.directory);
    }

    void precisionIsTheStudys()
    {
        // fp16: refused on the CPU, fine on CUDA (nothing is loaded here).
        const QString half = newStudy(QStringLiteral("fp16"));
        auto planner = RunPlanner::load(half);
        QVERIFY(planner.ok());
        auto options = Pipeline::SegmentOptions::fromCard(planner->studyCard());
        auto plan = planner->plan(options, {});
        QVERIFY(!plan.ok());
        QCOMPARE(plan.error().category, ErrorCategory::Usage);
        QCOMPARE(plan.error().message, QStringLiteral("this study runs in fp16, which needs --device cuda (LibTorch has no float16 "
                                                      "convolutions on the CPU)"));
        options.device = QStringLiteral("cuda:1");
        plan = planner->plan(options, {});
        QVERIFY2(plan.ok(), qPrintable(errorText(plan)));
        QCOMPARE(plan->options.precision, Pipeline::Precision::Float16);
        QVERIFY(!plan->newRunNeeded);
        QCOMPARE(plan->options.batch, 0);

        // Given explicitly, another precision changes the settings: a new run.
        options.device = QStringLiteral("cpu");
        options.precision = Pipeline::Precision::Float32;
        RunPlanner::Choices given;
        given.precision = true;
        plan = planner->plan(options, given);
        QVERIFY(plan.ok());
        QVERIFY(plan->newRunNeeded);
        QCOMPARE(plan->settings.precision, QStringLiteral("fp32"));
        auto refused = planner->begin(*plan);
        QVERIFY(!refused.ok());
        QVERIFY2(refused.error().message.contains(QStringLiteral("never mixed")), qPrintable(refused.error().message));

        // bf16 runs on the CPU; the study's batch applies unless given.
        const QString brain = newStudy(QStringLiteral("bf16"), 4);
        planner = RunPlanner::load(brain);
        QVERIFY(planner.ok());
        options = Pipeline::SegmentOptions::fromCard(planner->studyCard());
        options.precision = Pipeline::Precision::Float32;  // not given: ignored
        options.batch = 2;                                 // not given: ignored
        plan = planner->plan(options, {});
        QVERIFY(plan.ok());
        QCOMPARE(plan->options.precision, Pipeline::Precision::BFloat16);
        QCOMPARE(plan->options.batch, 4);
        QVERIFY(!plan->newRunNeeded);
        given.batch = true;
        given.precision = false;
        plan = planner->plan(options, given);
        QVERIFY(plan.ok());
        QCOMPARE(plan->options.batch, 2);
        QVERIFY(!plan->newRunNeeded);  // the batch changes speed, not labels
    }

    void unknownRecordedPrecision()
    {
        const QString db = newStudy();
        {
            auto store = Jobs::JobStore::open(db);
            QVERIFY(store.ok());
            auto s = (*store)->settings().value().value();
            s.precision = QStringLiteral("fp8");
            QVERIFY((*store)->beginRun(s, true).ok());
        }
        auto planner = RunPlanner::load(db);
        QVERIFY(planner.ok());
        auto plan = planner->plan(Pipeline::SegmentOptions::fromCard(planner->studyCard()), {});
        QVERIFY(!plan.ok());
        QCOMPARE(plan.error().category, ErrorCategory::Usage);
        QVERIFY2(plan.error().message.startsWith(QStringLiteral("the study records an unknown precision: ")), qPrintable(plan.error().message));
    }

    void refusedStudies()
    {
        auto missing = RunPlanner::load(m_dir.filePath(QStringLiteral("nothing.db")));
        QVERIFY(!missing.ok());
        QCOMPARE(missing.error().category, ErrorCategory::Usage);
        QVERIFY2(missing.error().message.endsWith(QStringLiteral("does not exist; create it with `segscale study create`")),
                 qPrintable(missing.error().message));

        const QString empty = m_dir.filePath(QStringLiteral("empty.db"));
        QVERIFY(Jobs::JobStore::open(empty, Jobs::JobStore::OpenMode::CreateIfMissing).ok());
        auto noSettings = RunPlanner::load(empty);
        QVERIFY(!noSettings.ok());
        QCOMPARE(noSettings.error().category, ErrorCategory::Usage);
        QVERIFY(noSettings.error().message.contains(QStringLiteral("has no settings")));

        // The weights are gone since the study was made: a Model error (exit 2 in the CLI).
        QTemporaryDir moved;
        const QString model = writeModel(moved, QStringLiteral("m"), QByteArray(10, 'a'));
        Study::StudyCreator::Params params;
        params.database = m_dir.filePath(QStringLiteral("moved.db"));
        params.model = model;
        QVERIFY(Study::StudyCreator::create(params).ok());
        QVERIFY(QFile::remove(model + QStringLiteral("/m.pt")));
        auto gone = RunPlanner::load(params.database);
        QVERIFY(!gone.ok());
        QCOMPARE(gone.error().category, ErrorCategory::Model);
    }
};

QTEST_GUILESS_MAIN(RunPlannerTest)
#include "tst_runplanner.moc"

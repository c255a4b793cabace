#include "study/runplanner.h"

#include "jobs/jobstore.h"
#include "pipeline/precision.h"

#include <QFileInfo>

namespace SegScale::Study {

Result<RunPlanner> RunPlanner::load(const QString &database, const QString &modelPath)
{
    if (!database.contains(QLatin1StringView("://")) && !QFileInfo::exists(database))
        return Error{ErrorCategory::Usage, QStringLiteral("%1 does not exist; create it with `segscale study create`").arg(database)};
    RunPlanner planner;
    planner.m_database = database;
    {
        auto store = Jobs::JobStore::open(database);
        if (!store)
            return store.error();
        auto stored = (*store)->settings();
        if (!stored)
            return stored.error();
        if (!*stored)
            return Error{ErrorCategory::Usage, QStringLiteral("%1 has no settings: create it with `segscale study create`").arg(database)};
        planner.m_stored = **stored;
        if (auto progress = (*store)->progress())
            planner.m_progress = *progress;
    }
    const QString path = modelPath.isEmpty() ? planner.m_stored.modelCard.value(QStringLiteral("directory")).toString() : modelPath;
    if (path.isEmpty())
        return Error{ErrorCategory::Usage, QStringLiteral("the study does not record where its model is; give --model PATH")};
    // Whatever stops the model from loading is the user's to fix (a moved folder, changed
    // weights): a Model error, whichever category the card reader gave it.
    auto card = Model::ModelCard::load(path);
    if (!card)
        return Error{ErrorCategory::Model, card.error().message};
    auto fingerprint = card->fingerprint();
    if (!fingerprint)
        return Error{ErrorCategory::Model, fingerprint.error().message};
    planner.m_card = *card;
    planner.m_fingerprint = *fingerprint;

    // Start from the study's settings; label-changing options a front end gives on top of
    // these make new settings.
    planner.m_studyCard = *card;
    planner.m_studyCard.defaults.scales = planner.m_stored.scales;
    planner.m_studyCard.defaults.baseSize = planner.m_stored.baseSize;
    planner.m_studyCard.defaults.crop = planner.m_stored.crop;
    planner.m_studyCard.defaults.flip = planner.m_stored.flip;
    planner.m_studyCard.defaults.strideRate = planner.m_stored.strideRate;
    return planner;
}

Result<RunPlanner::Plan> RunPlanner::plan(Pipeline::SegmentOptions options, const Choices &choices) const
{
    // The precision is one of the study's settings (schema v3): the study's unless given.
    if (!choices.precision) {
        auto recorded = Pipeline::parsePrecision(m_stored.precision.isEmpty() ? QStringLiteral("fp32") : m_stored.precision);
        if (!recorded)
            return Error{ErrorCategory::Usage, QStringLiteral("the study records an unknown precision: %1").arg(recorded.error().message)};
        options.precision = *recorded;
        if (options.precision == Pipeline::Precision::Float16 && !options.onCuda())
            return Error{ErrorCategory::Usage, QStringLiteral("this study runs in fp16, which needs --device cuda (LibTorch has no float16 "
                                                              "convolutions on the CPU)")};
    }
    if (!choices.batch)
        options.batch = m_stored.batch > 1 ? m_stored.batch : 0;  // 0: the device's automatic choice

    Plan plan;
    plan.card = m_card;
    plan.modelFingerprint = m_fingerprint;
    plan.settings = m_stored;
    plan.settings.scales = options.scales;
    plan.settings.baseSize = options.baseSize;
    plan.settings.crop = options.crop;
    plan.settings.flip = options.flip;
    plan.settings.precision = Pipeline::precisionName(options.precision);
    plan.settings.modelFingerprint = m_fingerprint;
    if (choices.otherModel) {
        plan.settings.modelCard = m_card.toJson();
        plan.settings.modelCard[QStringLiteral("directory")] = m_card.directory;
    }
    plan.options = std::move(options);
    plan.newRunNeeded = plan.settings.fingerprint() != m_stored.fingerprint();
    plan.newRun = choices.newRun;
    plan.before = m_progress;
    return plan;
}

Result<RunPlanner::Plan> RunPlanner::begin(Plan plan) const
{
    auto store = Jobs::JobStore::open(m_database);
    if (!store)
        return store.error();
    // Refused with a clear message when the model or settings differ without a new run.
    auto began = (*store)->beginRun(plan.settings, plan.newRun);
    if (!began)
        return began.error();
    plan.run = *began;
    if (plan.newRun) {
        if (auto p = (*store)->progress())
            plan.before = *p;
    }
    auto withWork = (*store)->storagesWithWork();
    if (!withWork)
        return withWork.error();
    plan.storagesWithWork = *withWork;
    return plan;
}

} // namespace SegScale::Study

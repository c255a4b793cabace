#include "study/studycreator.h"

#include "jobs/jobstore.h"
#include "model/modelregistry.h"
#include "pipeline/precision.h"

#include <QFileInfo>

namespace SegScale::Study {

Result<Jobs::StudySettings> StudyCreator::settingsFor(const Model::ModelCard &card, const Params &params)
{
    Jobs::StudySettings s;
    s.modelCard = card.toJson();
    // Where the model lives, so that `study run` can load it again (it checks the weights
    // still have the recorded fingerprint).
    s.modelCard[QStringLiteral("directory")] = card.directory;
    s.scales = params.scales.value_or(card.defaults.scales);
    s.baseSize = params.baseSize.value_or(card.defaults.baseSize);
    s.crop = params.crop.value_or(card.defaults.crop);
    s.flip = params.flip.value_or(card.defaults.flip);
    s.strideRate = card.defaults.strideRate;
    s.batch = params.batch.value_or(s.batch);
    if (s.scales.isEmpty())
        return Error{ErrorCategory::Usage, QStringLiteral("--scales is empty")};
    if (s.baseSize <= 0 || s.crop <= 0 || s.batch <= 0)
        return Error{ErrorCategory::Usage, QStringLiteral("base size, crop and batch must be positive")};
    if (params.precision) {
        auto chosen = Pipeline::parsePrecision(*params.precision);
        if (!chosen)
            return chosen.error();
        s.precision = Pipeline::precisionName(*chosen);
    }
    return s;
}

Result<StudyCreator::Created> StudyCreator::create(const Params &params, const Note &note)
{
    if (!params.database.contains(QLatin1StringView("://")) && QFileInfo::exists(params.database))
        return Error{ErrorCategory::Usage,
                     QStringLiteral("%1 already exists; a study is created once (use another file name)").arg(params.database)};
    auto card = Model::ModelCard::load(Model::ModelRegistry::resolveModelPath(params.model));
    if (!card)
        return card.error();
    auto settings = settingsFor(*card, params);
    if (!settings)
        return settings.error();

    if (note)
        note(QStringLiteral("fingerprinting %1 ...").arg(card->weightsPath()));
    auto fingerprint = card->fingerprint();
    if (!fingerprint)
        return fingerprint.error();
    settings->modelFingerprint = *fingerprint;

    auto store = Jobs::JobStore::open(params.database, Jobs::JobStore::OpenMode::CreateIfMissing);
    if (!store)
        return store.error();
    auto run = (*store)->beginRun(*settings, false);
    if (!run)
        return run.error();
    return Created{std::move(*card), std::move(*settings), *run};
}

} // namespace SegScale::Study

#pragma once
// StudyCreator: makes a new study database that records the model (its card, where it
// lives and the fingerprint of its weights) and the settings every image of the study is
// segmented with — what `segscale study create` does, for any front end.

#include "base/result.h"
#include "jobs/studysettings.h"
#include "model/modelcard.h"

#include <QList>
#include <QString>

#include <functional>
#include <optional>

namespace SegScale::Study {

class StudyCreator {
public:
    // What the caller chose; everything unset comes from the model card's defaults.
    struct Params {
        QString database;   // a file path (must not exist yet) or postgresql://...
        QString model;      // model folder, model.json, or a registry name
        std::optional<QList<double>> scales;
        std::optional<int> baseSize;
        std::optional<int> crop;
        std::optional<bool> flip;
        std::optional<int> batch;
        std::optional<QString> precision;  // "fp32", "fp16", "bf16"; a bad word is a Usage error
    };
    struct Created {
        Model::ModelCard card;
        Jobs::StudySettings settings;
        int run = 0;
    };
    // Told about steps that take a while (fingerprinting the weights reads them all).
    using Note = std::function<void(const QString &message)>;

    // Usage when the database exists or a setting is invalid; the card's own errors
    // (Model, Missing) when the model cannot be read; nothing is created then.
    static Result<Created> create(const Params &params, const Note &note = {});
    // The settings a study of `card` records with `params` applied (no fingerprint yet).
    static Result<Jobs::StudySettings> settingsFor(const Model::ModelCard &card, const Params &params);
};

} // namespace SegScale::Study

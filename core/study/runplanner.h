#pragma once
// RunPlanner: what a run of a study will do, decided before anything is leased. It reads
// the study's stored settings, loads the study's model (or another one the caller names)
// and fingerprints its weights, takes the options the front end read on top of the
// study's settings, applies the study's precision and batch size where the caller gave
// none, and records the run in the database: the study refuses (Usage) settings that
// would change the labels unless a new run is asked for, so results of two models or two
// label-changing settings are never mixed.
//
// No LibTorch here: the caller loads the network from plan.card and plan.options.
// Use on one thread (it opens the study's JobStore on the calling thread).

#include "base/result.h"
#include "jobs/jobtypes.h"
#include "jobs/studysettings.h"
#include "model/modelcard.h"
#include "pipeline/segmentoptions.h"

#include <QString>
#include <QStringList>

namespace SegScale::Study {

class RunPlanner {
public:
    // Which of the options handed to plan() the user chose; the others are the study's.
    struct Choices {
        bool precision = false;  // else the study's precision
        bool batch = false;      // else the study's batch size (1: the device's automatic choice)
        bool otherModel = false; // the model given to load() replaces the study's
        bool newRun = false;     // start run N+1 when the settings differ
    };
    struct Plan {
        Model::ModelCard card;              // the model to load
        Pipeline::SegmentOptions options;   // what the engine runs with
        Jobs::StudySettings settings;       // what the run records
        QByteArray modelFingerprint;        // hex SHA-256 of the card and weights
        bool newRunNeeded = false;          // the settings differ from the study's
        bool newRun = false;                // asked for
        int run = 0;                        // set by begin()
        Jobs::StudyProgress before;         // counts when the run begins
        QStringList storagesWithWork;       // set by begin(): storages still holding work
    };

    // Reads the study at `database` and loads `modelPath` (empty: the model the study
    // records). Usage when the study does not exist or has no settings; Model when the
    // model cannot be loaded or fingerprinted; the store's own errors otherwise.
    static Result<RunPlanner> load(const QString &database, const QString &modelPath = {});

    // The loaded model's card with the study's settings as its defaults: what a front end
    // reads its options on top of (SegmentOptions::fromCard(studyCard()) plus overrides).
    const Model::ModelCard &studyCard() const { return m_studyCard; }
    const Jobs::StudySettings &storedSettings() const { return m_stored; }
    const Jobs::StudyProgress &progress() const { return m_progress; }

    // Decides the run, writing nothing. Usage when the study's precision is unknown, or
    // fp16 without a CUDA device.
    Result<Plan> plan(Pipeline::SegmentOptions options, const Choices &choices) const;
    // Records the plan's run: refused (Usage) when newRunNeeded and not newRun.
    Result<Plan> begin(Plan plan) const;

private:
    RunPlanner() = default;

    QString m_database;
    Jobs::StudySettings m_stored;
    Jobs::StudyProgress m_progress;
    Model::ModelCard m_card;
    Model::ModelCard m_studyCard;
    QByteArray m_fingerprint;
};

} // namespace SegScale::Study

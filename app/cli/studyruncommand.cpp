// `segscale study run`: the embedded coordinator and a local pipeline over a study
// database. Ctrl-C drains (in-flight images finish and are committed); running it again
// continues where it stopped and recomputes nothing already done.

#include "command.h"
#include "commandline.h"
#include "inferenceoptions.h"
#include "interruptwatcher.h"
#include "progressprinter.h"
#include "studycommand.h"

#include "agent/studyrunner.h"
#include "model/network.h"
#include "pipeline/outputwriter.h"
#include "pipeline/storagefetcher.h"
#include "storage/credentials.h"
#include "study/runplanner.h"

#include <QCommandLineParser>
#include <QDir>
#include <QFileInfo>
#include <QJsonDocument>
#include <QSaveFile>
#include <QSysInfo>
#include <QTextStream>

#include <unistd.h>

namespace SegScale::Cli {
namespace {

const QString kCommand = QStringLiteral("study run");

int exitCodeFor(const Error &e)
{
    return e.category == ErrorCategory::Usage || e.category == ErrorCategory::Model || e.category == ErrorCategory::Missing
               ? ExitUsage
               : ExitFailure;
}

int runStudy(const QStringList &args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Segments every pending image of a study with the study's model and settings, writing\n"
        "label maps under --out and results into the study database. Interrupt with Ctrl-C\n"
        "(images in flight finish and are committed; Ctrl-C again stops at once); run it again\n"
        "to continue: nothing already done is recomputed, and images a killed run had in flight\n"
        "are redone. Exit codes: 0 all images done, 3 some failed (segscale study errors),\n"
        "2 bad usage or unusable model, 1 database/storage failure, 130 interrupted."));
    parser.addHelpOption();
    parser.addOptions({
        {QStringLiteral("out"), QStringLiteral("Folder for labels/ and overlays/, local or sftp://user@host:port/folder (default: <study>-outputs beside the database)."), QStringLiteral("DIR")},
        {QStringLiteral("overlays"), QStringLiteral("Also write overlays/<name>.jpg.")},
        {QStringLiteral("workers"), QStringLiteral("Engines in this process, sharing the model (default 1)."), QStringLiteral("N")},
        {QStringLiteral("worker"), QStringLiteral("Worker name recorded with leases (default <host>-local); a restart with the same name reclaims its leases at once."), QStringLiteral("NAME")},
        {QStringLiteral("lease-seconds"), QStringLiteral("How long a lease lasts without a heartbeat (default 300)."), QStringLiteral("N")},
        {QStringLiteral("lease-batch"), QStringLiteral("Images leased per request (default 4)."), QStringLiteral("N")},
        {QStringLiteral("max-attempts"), QStringLiteral("Attempts before a retryable failure becomes final (default 3)."), QStringLiteral("N")},
        {QStringLiteral("model"), QStringLiteral("Use this model folder instead of the study's (needs --new-run unless it is the same model)."), QStringLiteral("PATH")},
        {QStringLiteral("new-run"), QStringLiteral("Start a new run: needed when the model or a label-changing setting differs from the study's.")},
        {QStringLiteral("stats-json"), QStringLiteral("Write run statistics to FILE."), QStringLiteral("FILE")},
    });
    addStorageAccessOptions(parser);
    addInferenceOptions(parser);
    parser.addPositionalArgument(QStringLiteral("STUDY.db"), QStringLiteral("The study database."));
    if (!parser.parse(args))
        return commandFailure(kCommand, ExitUsage, parser.errorText() + QStringLiteral(" (see --help)"));
    if (parser.isSet(QStringLiteral("help"))) {
        QTextStream(stdout) << parser.helpText();
        return ExitOk;
    }
    if (parser.positionalArguments().size() != 1)
        return commandFailure(kCommand, ExitUsage, QStringLiteral("name exactly one study database (see --help)"));
    const QString database = parser.positionalArguments().first();
    auto intOption = [&](const QString &name, int def, int min) -> std::optional<int> {
        if (!parser.isSet(name))
            return def;
        bool ok = false;
        const int v = parser.value(name).toInt(&ok);
        if (!ok || v < min)
            return std::nullopt;
        return v;
    };
    Agent::StudyRunOptions run;
    run.database = database;
    run.workerName = parser.isSet(QStringLiteral("worker")) ? parser.value(QStringLiteral("worker"))
                                                             : QSysInfo::machineHostName() + QStringLiteral("-local");
    const auto workers = intOption(QStringLiteral("workers"), 1, 1);
    const auto leaseSeconds = intOption(QStringLiteral("lease-seconds"), 300, 5);
    const auto leaseBatch = intOption(QStringLiteral("lease-batch"), 4, 1);
    const auto maxAttempts = intOption(QStringLiteral("max-attempts"), 3, 1);
    if (!workers || !leaseSeconds || !leaseBatch || !maxAttempts)
        return commandFailure(kCommand, ExitUsage, QStringLiteral("--workers, --lease-batch, --max-attempts want integers >= 1 and --lease-seconds >= 5"));
    run.workers = *workers;
    run.leaseSeconds = *leaseSeconds;
    run.leaseBatch = *leaseBatch;
    run.maxAttempts = *maxAttempts;

    // The study's settings decide the labels; the command line may only change how fast
    // (label-changing options need --new-run: Study::RunPlanner decides).
    const QString otherModel = parser.isSet(QStringLiteral("model")) ? parser.value(QStringLiteral("model")) : QString();
    auto planner = Study::RunPlanner::load(database, otherModel);
    if (!planner)
        return commandFailure(kCommand, exitCodeFor(planner.error()), planner.error().message);
    auto options = readInferenceOptions(parser, planner->studyCard());
    if (!options)
        return commandFailure(kCommand, ExitUsage, options.error().message);
    options->overlays = parser.isSet(QStringLiteral("overlays"));
    Study::RunPlanner::Choices choices;
    choices.precision = parser.isSet(QStringLiteral("precision"));
    choices.batch = parser.isSet(QStringLiteral("batch"));
    choices.otherModel = parser.isSet(QStringLiteral("model"));
    choices.newRun = parser.isSet(QStringLiteral("new-run"));
    auto planned = planner->plan(*options, choices);
    if (!planned)
        return commandFailure(kCommand, ExitUsage, planned.error().message);
    // Refused with a clear message when the model or settings differ without --new-run.
    auto plan = planner->begin(std::move(*planned));
    if (!plan)
        return commandFailure(kCommand, exitCodeFor(plan.error()), plan.error().message);
    run.segment = plan->options;
    const Model::ModelCard *card = &plan->card;
    options = plan->options;
    const Jobs::StudyProgress before = plan->before;
    const QStringList &servers = plan->storagesWithWork;  // checked below before any lease

    auto network = loadNetwork(*card, *options);
    if (!network)
        return commandFailure(kCommand, ExitUsage, network.error().message);

    const QFileInfo dbInfo(database);
    const QString outDir = parser.isSet(QStringLiteral("out")) ? parser.value(QStringLiteral("out"))
                                                                : dbInfo.absolutePath() + QLatin1Char('/') + dbInfo.completeBaseName() + QStringLiteral("-outputs");
    auto access = readStorageAccess(parser);
    if (!access)
        return commandFailure(kCommand, ExitUsage, access.error().message);
    Pipeline::StorageFetcher fetcher(access->credentials, access->options);
    // Every server that still holds work, once, before anything is leased: an unreachable
    // server or an untrusted host key is one clear error now, not a timeout per image.
    for (const QString &server : servers) {
        if (!Pipeline::StorageFetcher::isRemote(server))
            continue;
        auto url = Pipeline::StorageFetcher::parseRemote(server);
        if (!url)
            return commandFailure(kCommand, ExitUsage, url.error().message);
        auto storage = fetcher.connect(*url, parser.value(QStringLiteral("credentials")));
        if (!storage) {
            const Error &e = storage.error();
            return commandFailure(kCommand, e.category == ErrorCategory::Usage ? ExitUsage : ExitFailure,
                        QStringLiteral("images of this study are on %1, which cannot be used now: %2")
                            .arg(server, e.category == ErrorCategory::Usage ? e.message : e.toString()));
        }
    }

    // Label maps may go straight to the storage server (--out sftp://host/folder).
    std::shared_ptr<Storage::Storage> labelStorage;
    QString labelDir = outDir;
    if (Pipeline::StorageFetcher::isRemote(outDir)) {
        auto url = Pipeline::StorageFetcher::parseRemote(outDir);
        if (!url)
            return commandFailure(kCommand, ExitUsage, QStringLiteral("--out: ") + url.error().message);
        auto storage = fetcher.storageFor(*url);
        if (!storage)
            return commandFailure(kCommand, ExitUsage, QStringLiteral("--out: ") + storage.error().toString());
        labelStorage = *storage;
        labelDir = url->path;
    }
    Pipeline::OutputWriter writer(labelDir, card->palette, options->overlays, (*network)->untrained(), labelStorage);
    if (auto r = writer.prepare(); !r)
        return commandFailure(kCommand, ExitUsage, r.error().message);

    QTextStream err(stderr);
    err << "study: " << database << " (" << before.done << " done, " << before.failed << " failed, " << before.pending
        << " pending, " << before.leased << " leased)\n";
    err << "model: " << (*network)->describe() << '\n';
    err << "settings: " << describeOptions(*options) << "; worker " << run.workerName << "; outputs in " << outDir << '\n';
    err.flush();

    const qint64 toDo = before.pending + before.leased;
    ProgressPrinter progress(toDo);
    Agent::StudyRunner runner(run, *network, &writer, &fetcher);
    InterruptWatcher watcher(
        [&] {
            QTextStream(stderr) << "\ninterrupted: finishing the images in flight (Ctrl-C again to stop at once)\n";
            runner.cancel();
        },
        [&] { runner.abort(); });
    auto summary = runner.run([&](const Agent::StudyRunProgress &p) { progress.update(p.done, p.failed); });
    if (!summary)
        return commandFailure(kCommand, exitCodeFor(summary.error()), summary.error().message);
    progress.finish(summary->committedDone, summary->committedFailed);

    if (parser.isSet(QStringLiteral("stats-json"))) {
        QSaveFile f(parser.value(QStringLiteral("stats-json")));
        if (f.open(QIODevice::WriteOnly)) {
            f.write(QJsonDocument(summary->stats.toJson()).toJson());
            f.commit();
        }
    }
    const auto &end = summary->progressAtEnd;
    err << QStringLiteral("this run: %1 done, %2 failed, %3 to retry; study: %4 done, %5 failed, %6 pending, %7 leased by other workers\n")
               .arg(summary->committedDone)
               .arg(summary->committedFailed)
               .arg(summary->retrying)
               .arg(end.done)
               .arg(end.failed)
               .arg(end.pending)
               .arg(end.leased);
    if (summary->stale)
        err << summary->stale << " results were refused because their lease had expired (they are redone)\n";
    if (watcher.interrupted())
        return ExitInterrupted;
    if (end.failed)
        err << "see `segscale study errors " << database << "` for the failures\n";
    return end.failed ? ExitSomeFailed : ExitOk;
}

const StudySubcommandRegistration registration{
    {"run", "segment the pending images (resumable; Ctrl-C drains cleanly)", runStudy}};

} // namespace
} // namespace SegScale::Cli

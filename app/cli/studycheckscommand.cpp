// `segscale study checks`: records a study's check images — the first few images with
// the labels this machine gives them under the study's settings. Every agent segments
// them before it may lease work and is refused when its labels differ beyond
// --min-agreement: a wrong driver, precision or build is caught before it writes a result.
// Run it on the machine you trust (the one that matched the reference procedure).

#include "command.h"
#include "commandline.h"
#include "inferenceoptions.h"
#include "studycommand.h"

#include "agent/checkrunner.h"
#include "jobs/jobstore.h"
#include "model/network.h"
#include "pipeline/storagefetcher.h"
#include "storage/credentials.h"
#include "study/runplanner.h"

#include <QCommandLineParser>
#include <QTextStream>

namespace SegScale::Cli {
namespace {

const QString kCommand = QStringLiteral("study checks");

int checks(const QStringList &args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Records the study's check images: the first N images of the study, segmented here with the\n"
        "study's model and settings. Agents must reproduce their labels (to --min-agreement of the\n"
        "pixels) before they get work. --count 0 removes them."));
    parser.addHelpOption();
    parser.addOptions({
        {QStringLiteral("count"), QStringLiteral("How many images (default 3)."), QStringLiteral("N")},
        {QStringLiteral("min-agreement"), QStringLiteral("Fraction of pixels an agent must label alike (default 0.999)."), QStringLiteral("F")},
        {QStringLiteral("device"), QStringLiteral("cpu or cuda[:i] (default cpu)."), QStringLiteral("DEV")},
    });
    addStorageAccessOptions(parser);
    parser.addPositionalArgument(QStringLiteral("STUDY"), QStringLiteral("The study database (or postgresql:// URL)."));
    if (auto stop = parseCommandLine(parser, args, kCommand, 1))
        return *stop;
    const QString database = parser.positionalArguments().first();
    bool ok = true;
    const int count = parser.isSet(QStringLiteral("count")) ? parser.value(QStringLiteral("count")).toInt(&ok) : 3;
    if (!ok || count < 0 || count > 100)
        return commandFailure(kCommand, ExitUsage, QStringLiteral("--count wants an integer from 0 to 100"));
    const double minAgreement = parser.isSet(QStringLiteral("min-agreement")) ? parser.value(QStringLiteral("min-agreement")).toDouble(&ok) : 0.999;
    if (!ok || minAgreement <= 0 || minAgreement > 1)
        return commandFailure(kCommand, ExitUsage, QStringLiteral("--min-agreement wants a fraction in (0, 1], e.g. 0.999"));

    auto planner = Study::RunPlanner::load(database);
    if (!planner)
        return commandFailure(kCommand, planner.error().category == ErrorCategory::Internal ? ExitFailure : ExitUsage, planner.error().message);
    Pipeline::SegmentOptions options = Pipeline::SegmentOptions::fromCard(planner->studyCard());
    if (parser.isSet(QStringLiteral("device")))
        options.device = parser.value(QStringLiteral("device"));
    auto plan = planner->plan(options, {});
    if (!plan)
        return commandFailure(kCommand, ExitUsage, plan.error().message);

    auto store = Jobs::JobStore::open(database);
    if (!store)
        return commandFailure(kCommand, ExitFailure, store.error().message);
    if (count == 0) {
        if (auto r = (*store)->setCheckImages({}); !r)
            return commandFailure(kCommand, ExitFailure, r.error().message);
        QTextStream(stderr) << "check images removed\n";
        return ExitOk;
    }
    auto images = (*store)->firstImages(count);
    if (!images)
        return commandFailure(kCommand, ExitFailure, images.error().message);
    if (images->isEmpty())
        return commandFailure(kCommand, ExitUsage, QStringLiteral("the study has no images yet; add some with `segscale study add`"));

    auto access = readStorageAccess(parser);
    if (!access)
        return commandFailure(kCommand, ExitUsage, access.error().message);
    Pipeline::StorageFetcher fetcher(access->credentials, access->options);
    QList<Agent::CheckRunner::Input> inputs;
    for (const auto &img : *images) {
        const QString location = Pipeline::StorageFetcher::location(img.storageUrl, img.location());
        auto bytes = fetcher.fetch(location, Pipeline::DecodeOptions{});
        if (!bytes)
            return commandFailure(kCommand, ExitFailure, QStringLiteral("%1: %2").arg(location, bytes.error().toString()));
        // A check image travels to every agent in one message.
        if (bytes->size() > 2 * 1024 * 1024)
            return commandFailure(kCommand, ExitUsage, QStringLiteral("%1 is larger than 2 MiB; check images must be small").arg(location));
        inputs.append(Agent::CheckRunner::Input{location, *bytes});
    }
    auto network = loadNetwork(plan->card, plan->options);
    if (!network)
        return commandFailure(kCommand, ExitUsage, network.error().message);
    QTextStream(stderr) << "segmenting " << inputs.size() << " check images with " << (*network)->describe() << '\n';
    auto outputs = Agent::CheckRunner::segment(*network, plan->options, inputs);
    if (!outputs)
        return commandFailure(kCommand, ExitFailure, outputs.error().toString());
    QList<Jobs::CheckImage> checks;
    for (qsizetype i = 0; i < inputs.size(); ++i) {
        Jobs::CheckImage c;
        c.location = inputs[i].name;
        c.image = inputs[i].bytes;
        c.labelsPng = outputs->at(i).labelsPng;
        c.width = outputs->at(i).width;
        c.height = outputs->at(i).height;
        c.minAgreement = minAgreement;
        checks.append(std::move(c));
    }
    if (auto r = (*store)->setCheckImages(checks); !r)
        return commandFailure(kCommand, ExitFailure, r.error().message);
    QTextStream(stderr) << "recorded " << checks.size() << " check images (agents must match " << minAgreement * 100.0
                        << "% of their pixels); serve picks them up when it starts\n";
    return ExitOk;
}

const StudySubcommandRegistration registration{
    {"checks", "record check images every agent must reproduce before it gets work", checks}};

} // namespace
} // namespace SegScale::Cli

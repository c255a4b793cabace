// `segscale segment`: the reference procedure (or its pipelined schedule) over files and
// folders, writing labels/, overlays/, composition.csv, errors.csv (DESIGN.md contract).

#include "command.h"
#include "inferenceoptions.h"
#include "interruptwatcher.h"
#include "progressprinter.h"

#include "base/printabletext.h"
#include "model/modelregistry.h"
#include "model/network.h"
#include "pipeline/csvresultsink.h"
#include "pipeline/engine.h"
#include "pipeline/imagedecoder.h"
#include "pipeline/inputcollector.h"
#include "pipeline/outputwriter.h"
#include "pipeline/storagefetcher.h"
#include "storage/credentials.h"

#include <QCommandLineParser>
#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QSaveFile>
#include <QTextStream>

#include <memory>
#include <variant>

namespace SegScale::Cli {
namespace {

class ListSource final : public Pipeline::ImageSource {
public:
    ListSource(const std::vector<Pipeline::InputImage> &images, qint64 maxFileBytes, Pipeline::StorageFetcher &fetcher)
        : m_images(images), m_maxBytes(maxFileBytes), m_fetcher(fetcher) {}
    std::optional<Pipeline::ImageTask> next() override
    {
        if (m_next >= m_images.size())
            return std::nullopt;
        const auto &img = m_images[m_next];
        Pipeline::ImageTask task;
        task.id = static_cast<qint64>(m_next++);
        task.name = img.name;
        task.outputStem = img.stem;
        Pipeline::DecodeOptions decode;
        decode.maxFileBytes = m_maxBytes;
        // Local paths and sftp:// locations alike; the fetcher outlives the engine run.
        task.fetch = [fetcher = &m_fetcher, path = img.path, decode] { return fetcher->fetch(path, decode); };
        return task;
    }

private:
    const std::vector<Pipeline::InputImage> &m_images;
    qint64 m_maxBytes;
    Pipeline::StorageFetcher &m_fetcher;
    size_t m_next = 0;
};

int fail(int code, const QString &message)
{
    QTextStream(stderr) << "segscale segment: " << PrintableText::of(message) << '\n';
    return code;
}

// The fetcher for the run, with every sftp:// server of the inputs connected once up front:
// a host key that is not trusted yet, a refused login or an unreachable server is one clear
// usage error now instead of a failure for every image. Returns an exit code on failure.
std::variant<std::unique_ptr<Pipeline::StorageFetcher>, int> connectStorages(const QCommandLineParser &parser)
{
    QStringList remote;
    for (const QString &input : parser.positionalArguments())
        if (Pipeline::StorageFetcher::isRemote(input))
            remote.append(input);
    if (parser.isSet(QStringLiteral("labels-to")))
        remote.append(parser.value(QStringLiteral("labels-to")));
    Storage::StorageOptions options;
    options.knownHostsPath = parser.value(QStringLiteral("known-hosts"));
    if (remote.isEmpty())
        return std::make_unique<Pipeline::StorageFetcher>(Storage::Credentials{}, options);

    // No file named: the default one if it exists, else ssh-agent and ~/.ssh keys.
    auto credentials = parser.isSet(QStringLiteral("credentials")) ? Storage::Credentials::load(parser.value(QStringLiteral("credentials")))
                                                                   : Storage::Credentials::loadDefault();
    if (!credentials)
        return fail(ExitUsage, credentials.error().message);
    auto fetcher = std::make_unique<Pipeline::StorageFetcher>(*credentials, options);
    for (const QString &input : remote) {
        auto url = Pipeline::StorageFetcher::parseRemote(input);
        if (!url)
            return fail(ExitUsage, url.error().message);
        auto storage = fetcher->connect(*url, parser.value(QStringLiteral("credentials")));
        if (!storage) {
            const Error &e = storage.error();
            return fail(ExitUsage, e.category == ErrorCategory::Usage ? e.message : e.toString());
        }
    }
    return fetcher;
}

int runSegment(const QStringList &args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Segment images with a model, as the PSPNet multi-scale test procedure does.\n"
        "Writes OUT/labels/<name>.png (class index per pixel), OUT/overlays/<name>.jpg (--overlays),\n"
        "OUT/composition.csv (fraction of pixels per class), OUT/errors.csv and OUT/run.json.\n"
        "Exit codes: 0 all images done, 3 some images failed (see errors.csv), 2 bad usage or unusable model,\n"
        "130 interrupted (Ctrl-C once: finish images in flight; twice: stop now)."));
    parser.addHelpOption();
    parser.addOptions({
        {QStringLiteral("model"), QStringLiteral("Model folder (with model.json) to use. Required."), QStringLiteral("PATH")},
        {QStringLiteral("out"), QStringLiteral("Output folder. Required."), QStringLiteral("DIR")},
        {QStringLiteral("overlays"), QStringLiteral("Also write overlays/<name>.jpg: the class colours over the photo.")},
        {QStringLiteral("stats-json"), QStringLiteral("Write run statistics (per-stage seconds, images/s, queues, peak RSS) to FILE."), QStringLiteral("FILE")},
        {QStringLiteral("include"), QStringLiteral("File patterns searched in folders (repeatable; default: common image types)."), QStringLiteral("GLOB")},
        {QStringLiteral("labels-to"), QStringLiteral("Write labels/ and overlays/ to this sftp:// folder on the storage server instead of under --out (the CSV files stay in --out)."), QStringLiteral("URL")},
        {QStringLiteral("known-hosts"), QStringLiteral("Known host keys file for sftp:// inputs (default ~/.ssh/known_hosts)."), QStringLiteral("FILE")},
        {QStringLiteral("credentials"), QStringLiteral("Credentials file for sftp:// inputs, mode 0600 (default %1 if it exists, "
                                                       "else ssh-agent and ~/.ssh keys).").arg(Storage::Credentials::defaultPath()),
         QStringLiteral("FILE")},
    });
    addInferenceOptions(parser);
    parser.addPositionalArgument(QStringLiteral("INPUT"),
                                 QStringLiteral("Image files or folders (searched recursively): local paths, file:///path or "
                                                "sftp://user@host:port/path."),
                                 QStringLiteral("INPUT..."));
    if (!parser.parse(args))
        return fail(ExitUsage, parser.errorText() + QStringLiteral(" (see --help)"));
    if (parser.isSet(QStringLiteral("help"))) {
        QTextStream(stdout) << parser.helpText();
        return ExitOk;
    }
    if (!parser.isSet(QStringLiteral("model")))
        return fail(ExitUsage, QStringLiteral("--model PATH is required (a folder with model.json)"));
    if (!parser.isSet(QStringLiteral("out")))
        return fail(ExitUsage, QStringLiteral("--out DIR is required"));
    if (parser.positionalArguments().isEmpty())
        return fail(ExitUsage, QStringLiteral("no INPUT given: name image files or folders"));

    auto card = Model::ModelCard::load(Model::ModelRegistry::resolveModelPath(parser.value(QStringLiteral("model"))));
    if (!card)
        return fail(ExitUsage, card.error().message);
    auto options = readInferenceOptions(parser, *card);
    if (!options)
        return fail(ExitUsage, options.error().message);
    options->overlays = parser.isSet(QStringLiteral("overlays"));

    const QStringList patterns = parser.isSet(QStringLiteral("include")) ? parser.values(QStringLiteral("include"))
                                                                          : Pipeline::InputCollector::defaultPatterns();
    auto connected = connectStorages(parser);
    if (auto *code = std::get_if<int>(&connected))
        return *code;
    Pipeline::StorageFetcher &fetcher = *std::get<std::unique_ptr<Pipeline::StorageFetcher>>(connected);
    auto images = Pipeline::InputCollector::collect(parser.positionalArguments(), patterns, &fetcher);
    if (!images)
        return fail(ExitUsage, images.error().message);

    auto network = loadNetwork(*card, *options);
    if (!network)
        return fail(ExitUsage, network.error().message);
    QTextStream err(stderr);
    err << "model: " << (*network)->describe() << '\n';
    if ((*network)->untrained())
        err << "WARNING: this model is UNTRAINED (random weights): its labels mean nothing\n";
    else if (card->weightsSha256.isEmpty())
        err << "note: the card records no weights_sha256, so the weights were loaded unverified "
               "(segscale model import records one)\n";
    else
        err << "weights: SHA-256 verified against the card\n";
    err << "settings: " << describeOptions(*options) << '\n';
    err << "images: " << images->size() << '\n';
    err.flush();

    const QString outDir = parser.value(QStringLiteral("out"));
    std::shared_ptr<Storage::Storage> labelStorage;
    QString labelDir = outDir;
    if (parser.isSet(QStringLiteral("labels-to"))) {
        auto url = Pipeline::StorageFetcher::parseRemote(parser.value(QStringLiteral("labels-to")));
        if (!url)
            return fail(ExitUsage, QStringLiteral("--labels-to: ") + url.error().message);
        auto storage = fetcher.storageFor(*url);  // connected (and checked) up front already
        if (!storage)
            return fail(ExitUsage, QStringLiteral("--labels-to: ") + storage.error().message);
        labelStorage = *storage;
        labelDir = url->path;
    }
    Pipeline::OutputWriter writer(labelDir, card->palette, options->overlays, (*network)->untrained(), labelStorage);
    if (auto r = writer.prepare(); !r)
        return fail(ExitUsage, r.error().message);
    Pipeline::CsvResultSink sink(outDir, card->classes);
    if (auto r = sink.open(); !r)
        return fail(ExitUsage, r.error().message);

    auto fingerprint = card->fingerprint();
    const QDateTime started = QDateTime::currentDateTimeUtc();
    auto writeManifest = [&](const Pipeline::RunStats *stats, bool interrupted) {
        QJsonArray scales;
        for (double s : options->scales)
            scales.append(s);
        QJsonObject manifest{
            {QStringLiteral("model"), QJsonObject{{QStringLiteral("name"), card->name},
                                                  {QStringLiteral("directory"), card->directory},
                                                  {QStringLiteral("architecture"), card->architecture},
                                                  {QStringLiteral("fingerprint"), fingerprint ? QString::fromLatin1(*fingerprint) : QString()},
                                                  {QStringLiteral("untrained"), (*network)->untrained()}}},
            {QStringLiteral("settings"), QJsonObject{{QStringLiteral("scales"), scales},
                                                     {QStringLiteral("base_size"), options->baseSize},
                                                     {QStringLiteral("crop"), options->crop},
                                                     {QStringLiteral("flip"), options->flip},
                                                     {QStringLiteral("stride_rate"), options->strideRate}}},
            {QStringLiteral("started"), started.toString(Qt::ISODate)},
            {QStringLiteral("images"), static_cast<qint64>(images->size())},
            {QStringLiteral("done"), sink.done()},
            {QStringLiteral("failed"), sink.failed()},
            {QStringLiteral("complete"), stats != nullptr && !interrupted},
        };
        QSaveFile f(QDir(outDir).filePath(QStringLiteral("run.json")));
        if (f.open(QIODevice::WriteOnly)) {
            f.write(QJsonDocument(manifest).toJson());
            f.commit();
        }
    };
    writeManifest(nullptr, false);

    ProgressPrinter progress(static_cast<qint64>(images->size()));
    sink.onProgress = [&](int done, int failed) { progress.update(done, failed); };
    Pipeline::Engine engine(*network, *options, &writer);
    InterruptWatcher watcher(
        [&] {
            QTextStream(stderr) << "\ninterrupted: finishing the images in flight (Ctrl-C again to stop at once)\n";
            engine.cancel();
        },
        [&] { engine.abort(); });
    ListSource source(*images, Pipeline::DecodeOptions{}.maxFileBytes, fetcher);
    const Pipeline::RunStats stats = engine.run(source, sink);
    progress.finish(sink.done(), sink.failed());
    if (auto ordered = sink.finish(); !ordered)
        err << "rows stay in completion order: " << ordered.error().message << '\n';
    writeManifest(&stats, watcher.interrupted());

    if (parser.isSet(QStringLiteral("stats-json"))) {
        QSaveFile f(parser.value(QStringLiteral("stats-json")));
        if (!f.open(QIODevice::WriteOnly) || f.write(QJsonDocument(stats.toJson()).toJson()) < 0 || !f.commit())
            err << "cannot write --stats-json file " << f.fileName() << '\n';
    }
    err << QStringLiteral("%1 done, %2 failed in %3 s (%4 images/s); results in %5\n")
               .arg(sink.done())
               .arg(sink.failed())
               .arg(stats.wallSeconds, 0, 'f', 1)
               .arg(stats.imagesPerSecond(), 0, 'f', 2)
               .arg(QDir(outDir).absolutePath());
    if (sink.failed())
        err << "failures are listed in " << QDir(outDir).filePath(QStringLiteral("errors.csv")) << '\n';
    if (watcher.interrupted())
        return ExitInterrupted;
    return sink.failed() ? ExitSomeFailed : ExitOk;
}

const CommandRegistration registration{
    {"segment", "Segment image files and folders; write labels, overlays, composition.csv", runSegment}};

} // namespace
} // namespace SegScale::Cli

// `segscale model`: import an authors' checkpoint as a model folder, pull a known model
// from where its authors publish it (checked against its SHA-256), inspect a model.
//
// The download lives here rather than in core/model because segscale_model does not link
// Qt Network; it is one function over QNetworkAccessManager.

#include "command.h"

#include "base/printabletext.h"
#include "model/classtable.h"
#include "model/modelcard.h"
#include "model/modelimporter.h"
#include "model/modelregistry.h"
#include "pipeline/segmentoptions.h"

#include <QCommandLineParser>
#include <QCryptographicHash>
#include <QDir>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QNetworkRequest>
#include <QTemporaryDir>
#include <QTextStream>

namespace SegScale::Cli {

namespace {

using namespace SegScale::Model;

QTextStream &err()
{
    static QTextStream s(stderr);
    return s;
}

QTextStream &out()
{
    static QTextStream s(stdout);
    return s;
}

int fail(const Error &e)
{
    err() << "segscale model: " << PrintableText::of(e.message) << '\n';
    err().flush();
    // DESIGN.md: 2 = bad usage or unusable model.
    return e.category == ErrorCategory::Usage || e.category == ErrorCategory::Model ? ExitUsage : ExitFailure;
}

int usageError(QCommandLineParser &parser, const QString &message)
{
    err() << "segscale model: " << message << "\n\n" << parser.helpText();
    err().flush();
    return ExitUsage;
}

// Parses; returns -1 to go on, or the exit code (help shown, bad usage).
int parse(QCommandLineParser &parser, const QStringList &args, const QString &description, int positionals)
{
    parser.setApplicationDescription(description);
    parser.addHelpOption();
    if (!parser.parse(args))
        return usageError(parser, parser.errorText());
    if (parser.isSet(QStringLiteral("help"))) {
        out() << parser.helpText();
        out().flush();
        return ExitOk;
    }
    if (parser.positionalArguments().size() != positionals)
        return usageError(parser, QStringLiteral("expected %1 argument(s), got %2").arg(positionals).arg(parser.positionalArguments().size()));
    return -1;
}

QString megabytes(qint64 bytes)
{
    return QString::number(double(bytes) / (1024.0 * 1024.0), 'f', 1);
}

// GET url into partPath, hashing as it goes. A connection closed before Content-Length
// bytes arrived, an HTTP error or a disk error is a Storage error.
Result<QByteArray> download(const QUrl &url, const QString &partPath, const QString &label)
{
    QFile part(partPath);
    if (!part.open(QIODevice::WriteOnly | QIODevice::Truncate))
        return Error{ErrorCategory::Storage, QStringLiteral("cannot write %1: %2").arg(partPath, part.errorString())};
    QNetworkAccessManager manager;
    QNetworkRequest request(url);
    request.setAttribute(QNetworkRequest::RedirectPolicyAttribute, QNetworkRequest::NoLessSafeRedirectPolicy);
    request.setTransferTimeout(60 * 1000);  // a stalled server ends the pull instead of hanging it
    request.setHeader(QNetworkRequest::UserAgentHeader, QStringLiteral("segscale/%1").arg(QStringLiteral(SEGSCALE_VERSION)));
    QNetworkReply *reply = manager.get(request);
    QCryptographicHash hash(QCryptographicHash::Sha256);
    qint64 received = 0;
    bool diskFull = false;
    QElapsedTimer sinceReport;
    sinceReport.start();
    QEventLoop loop;
    auto drain = [&] {
        const QByteArray chunk = reply->readAll();
        if (chunk.isEmpty() || diskFull)
            return;
        hash.addData(chunk);
        received += chunk.size();
        if (part.write(chunk) != chunk.size()) {
            diskFull = true;
            reply->abort();
        }
    };
    QObject::connect(reply, &QNetworkReply::readyRead, &loop, drain);
    QObject::connect(reply, &QNetworkReply::downloadProgress, &loop, [&](qint64 done, qint64 total) {
        // A few updates a second are plenty.
        if (sinceReport.elapsed() < 250 && done != total)
            return;
        sinceReport.restart();
        if (total > 0)
            err() << "\r" << label << ": " << megabytes(done) << " of " << megabytes(total) << " MB (" << (100 * done / total) << "%)   ";
        else
            err() << "\r" << label << ": " << megabytes(done) << " MB   ";
        err().flush();
    });
    QObject::connect(reply, &QNetworkReply::finished, &loop, &QEventLoop::quit);
    if (!reply->isFinished())
        loop.exec();
    drain();
    err() << '\n';
    err().flush();
    const auto error = reply->error();
    const QString errorString = reply->errorString();
    const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
    const QVariant length = reply->header(QNetworkRequest::ContentLengthHeader);
    reply->deleteLater();
    part.close();
    if (diskFull)
        return Error{ErrorCategory::Storage, QStringLiteral("cannot write %1: %2").arg(partPath, part.errorString())};
    if (status != 0 && status != 200)
        return Error{ErrorCategory::Storage, QStringLiteral("%1 answered HTTP %2: %3").arg(url.toDisplayString()).arg(status).arg(errorString)};
    const qint64 expected = length.isValid() ? length.toLongLong() : -1;
    if (error != QNetworkReply::NoError || (expected >= 0 && received != expected)) {
        const QString sizes = expected >= 0 ? QStringLiteral("%1 of %2 bytes").arg(received).arg(expected)
                                            : QStringLiteral("%1 bytes").arg(received);
        if (error == QNetworkReply::RemoteHostClosedError || (error == QNetworkReply::NoError && received < expected) ||
            (received > 0 && error != QNetworkReply::NoError))
            return Error{ErrorCategory::Storage, QStringLiteral("download of %1 was interrupted after %2: %3")
                                                     .arg(url.toDisplayString(), sizes,
                                                          error == QNetworkReply::NoError ? QStringLiteral("the server closed the connection") : errorString)};
        return Error{ErrorCategory::Storage, QStringLiteral("cannot download %1: %2").arg(url.toDisplayString(), errorString)};
    }
    return hash.result().toHex();
}

int runImport(const QStringList &args)
{
    QCommandLineParser parser;
    parser.addPositionalArgument(QStringLiteral("checkpoint"), QStringLiteral("The PyTorch checkpoint (.pth; zip or legacy format)."));
    const QCommandLineOption arch(QStringLiteral("arch"), QStringLiteral("Architecture: pspnet or espnet."), QStringLiteral("name"));
    const QCommandLineOption layers(QStringLiteral("layers"), QStringLiteral("PSPNet depth: 50, 101 or 152 (default 50)."),
                                    QStringLiteral("n"), QStringLiteral("50"));
    const QCommandLineOption classes(QStringLiteral("classes"),
                                     QStringLiteral("Class table: %1.").arg(ClassTable::builtinNames().join(QStringLiteral(", "))),
                                     QStringLiteral("table"));
    const QCommandLineOption outDir(QStringLiteral("out"), QStringLiteral("The model folder to write."), QStringLiteral("dir"));
    const QCommandLineOption name(QStringLiteral("name"), QStringLiteral("Model name (default <arch>[<layers>]-<classes>)."), QStringLiteral("name"));
    parser.addOptions({arch, layers, classes, outDir, name});
    if (const int rc = parse(parser, args,
                             QStringLiteral("Writes a model folder (model.json + weights) for an authors' checkpoint,\n"
                                            "after checking that every key and shape fits the architecture."),
                             1);
        rc >= 0)
        return rc;
    for (const auto &required : {arch, classes, outDir})
        if (!parser.isSet(required))
            return usageError(parser, QStringLiteral("--%1 is required").arg(required.names().constFirst()));
    bool ok = false;
    ImportOptions o;
    o.checkpoint = parser.positionalArguments().constFirst();
    o.architecture = parser.value(arch);
    o.layers = parser.value(layers).toInt(&ok);
    if (!ok)
        return usageError(parser, QStringLiteral("--layers must be a number"));
    if (parser.isSet(layers) && o.architecture != QLatin1StringView("pspnet"))
        return usageError(parser, QStringLiteral("--layers applies to --arch pspnet only"));
    o.classes = parser.value(classes);
    o.outDir = parser.value(outDir);
    o.name = parser.value(name);
    auto sha = ModelImporter::sha256(o.checkpoint);
    if (!sha)
        return fail(sha.error());
    o.about = QJsonObject{{QStringLiteral("imported_from"), QFileInfo(o.checkpoint).absoluteFilePath()},
                          {QStringLiteral("weights_sha256"), QString::fromLatin1(*sha)}};
    err() << "checking " << o.checkpoint << " against " << o.architecture << "...\n";
    err().flush();
    auto card = ModelImporter::import(o);
    if (!card)
        return fail(card.error());
    err() << "imported " << card->name << " (" << card->numClasses << " classes)\n";
    err().flush();
    out() << card->directory << '\n';
    return ExitOk;
}

int runPull(const QStringList &args)
{
    QCommandLineParser parser;
    parser.addPositionalArgument(QStringLiteral("name"), QStringLiteral("A known model (segscale model list)."));
    const QCommandLineOption cache(QStringLiteral("cache"),
                                   QStringLiteral("Cache root (default $SEGSCALE_MODEL_CACHE or %1).").arg(ModelRegistry::cacheRoot()),
                                   QStringLiteral("dir"));
    const QCommandLineOption url(QStringLiteral("url"),
                                 QStringLiteral("Download from this URL instead (a mirror; also $SEGSCALE_MODEL_URL_<NAME>)."),
                                 QStringLiteral("url"));
    const QCommandLineOption force(QStringLiteral("force"), QStringLiteral("Download again even when the model is cached."));
    parser.addOptions({cache, url, force});
    if (const int rc = parse(parser, args,
                             QStringLiteral("Downloads a known model where its authors publish it, checks its SHA-256,\n"
                                            "imports it and caches it. Prints the model folder on stdout."),
                             1);
        rc >= 0)
        return rc;
    const QString name = parser.positionalArguments().constFirst();
    const auto entry = ModelRegistry::find(name);
    if (!entry) {
        QStringList known;
        for (const auto &e : ModelRegistry::entries())
            known << e.name;
        return usageError(parser, QStringLiteral("unknown model \"%1\" (known: %2)").arg(name, known.join(QStringLiteral(", "))));
    }
    const QUrl source = ModelRegistry::downloadUrl(*entry, parser.value(url));
    if (source.isEmpty()) {
        err() << entry->manualInstructions;
        err().flush();
        return ExitFailure;
    }
    const QDir root(ModelRegistry::cacheRoot(parser.value(cache)));
    const QString target = root.filePath(entry->name);
    if (!parser.isSet(force) && QFileInfo::exists(QDir(target).filePath(QStringLiteral("model.json")))) {
        auto card = ModelCard::load(target);
        auto sha = card ? ModelImporter::sha256(card->weightsPath()) : Result<QByteArray>(card.error());
        if (sha && *sha == entry->sha256) {
            err() << entry->name << " is already in " << target << " (use --force to download again)\n";
            err().flush();
            out() << target << '\n';
            return ExitOk;
        }
    }
    if (!root.mkpath(QStringLiteral(".")))
        return fail(Error{ErrorCategory::Storage, QStringLiteral("cannot create the cache folder %1").arg(root.path())});
    // Everything happens in a hidden staging folder that is removed on any failure: no
    // .part file, no half-imported model is ever left in the cache.
    QTemporaryDir staging(root.filePath(QStringLiteral(".") + entry->name + QStringLiteral("-XXXXXX")));
    if (!staging.isValid())
        return fail(Error{ErrorCategory::Storage, QStringLiteral("cannot create a folder in %1: %2").arg(root.path(), staging.errorString())});
    const QString weights = staging.filePath(entry->fileName);
    err() << "downloading " << entry->name << " from " << source.toDisplayString() << '\n';
    err().flush();
    auto sha = download(source, weights + QStringLiteral(".part"), entry->name);
    if (!sha)
        return fail(sha.error());
    if (*sha != entry->sha256)
        return fail(Error{ErrorCategory::Corrupt, QStringLiteral("the download from %1 has SHA-256 %2 but %3 must be %4: refused, nothing kept")
                                                      .arg(source.toDisplayString(), QString::fromLatin1(*sha), entry->name,
                                                           QString::fromLatin1(entry->sha256))});
    if (!QFile::rename(weights + QStringLiteral(".part"), weights))
        return fail(Error{ErrorCategory::Storage, QStringLiteral("cannot rename the download in %1").arg(staging.path())});

    ImportOptions o;
    o.checkpoint = weights;
    o.architecture = entry->architecture;
    o.layers = entry->layers;
    o.classes = entry->classes;
    o.name = entry->name;
    o.outDir = staging.filePath(QStringLiteral("model"));
    o.about = QJsonObject{{QStringLiteral("source_url"), entry->url.toString()},
                          {QStringLiteral("downloaded_from"), source.toString()},
                          {QStringLiteral("weights_sha256"), QString::fromLatin1(entry->sha256)},
                          {QStringLiteral("license"), entry->license}};
    auto card = ModelImporter::import(o);
    if (!card)
        return fail(card.error());
    if (QFileInfo::exists(target) && !QDir(target).removeRecursively())
        return fail(Error{ErrorCategory::Storage, QStringLiteral("cannot replace %1").arg(target)});
    if (!QDir().rename(o.outDir, target))
        return fail(Error{ErrorCategory::Storage, QStringLiteral("cannot move the model into %1").arg(target)});
    err() << "pulled " << entry->name << " into " << target << '\n';
    err().flush();
    out() << target << '\n';
    return ExitOk;
}

int runInfo(const QStringList &args)
{
    QCommandLineParser parser;
    parser.addPositionalArgument(QStringLiteral("model"), QStringLiteral("A model folder, or the name of a pulled model."));
    const QCommandLineOption cache(QStringLiteral("cache"), QStringLiteral("Cache root to look NAME up in."), QStringLiteral("dir"));
    const QCommandLineOption json(QStringLiteral("json"), QStringLiteral("Print the card with the checksum and parameter count as JSON."));
    parser.addOptions({cache, json});
    if (const int rc = parse(parser, args, QStringLiteral("Shows a model's card, classes, parameter count and weights checksum."), 1);
        rc >= 0)
        return rc;
    QString path = parser.positionalArguments().constFirst();
    if (!QFileInfo::exists(path)) {
        if (!ModelRegistry::find(path))
            return fail(Error{ErrorCategory::Usage, QStringLiteral("%1 is neither a model folder nor a known model name").arg(path)});
        const QString cached = QDir(ModelRegistry::cacheRoot(parser.value(cache))).filePath(path);
        if (!QFileInfo::exists(cached))
            return fail(Error{ErrorCategory::Missing, QStringLiteral("%1 has not been pulled into %2 (segscale model pull %1)")
                                                          .arg(path, ModelRegistry::cacheRoot(parser.value(cache)))});
        path = cached;
    }
    auto card = ModelCard::load(path);
    if (!card)
        return fail(card.error());
    const auto sha = card->randomInit ? Result<QByteArray>(QByteArray("-")) : ModelImporter::sha256(card->weightsPath());
    if (!sha)
        return fail(sha.error());
    const auto parameters = card->randomInit ? Result<qint64>(qint64(-1)) : ModelImporter::parameterCount(*card);
    if (!parameters)
        return fail(parameters.error());
    // What every load checks (WeightsFile): the file's hash against the card's.
    QString shaNote;
    if (!card->randomInit)
        shaNote = card->weightsSha256.isEmpty() ? QStringLiteral(" (the card records none: loads unverified)")
                  : card->weightsSha256 == *sha ? QStringLiteral(" (matches the card)")
                                                : QStringLiteral(" (MISMATCH: the card records %1; loading refuses these weights)")
                                                      .arg(QString::fromLatin1(card->weightsSha256));
    if (parser.isSet(json)) {
        QJsonObject j = card->toJson();
        j[QStringLiteral("weights_sha256")] = QString::fromLatin1(*sha);
        if (!card->weightsSha256.isEmpty())
            j[QStringLiteral("weights_match_card")] = card->weightsSha256 == *sha;
        j[QStringLiteral("parameters")] = double(*parameters);
        j[QStringLiteral("directory")] = card->directory;
        out() << QJsonDocument(j).toJson(QJsonDocument::Indented);
        return ExitOk;
    }
    auto triple = [](const std::array<float, 3> &v) {
        return QStringLiteral("%1, %2, %3").arg(v[0]).arg(v[1]).arg(v[2]);
    };
    QTextStream &o = out();
    o << "name:          " << card->name << '\n'
      << "folder:        " << card->directory << '\n'
      << "architecture:  " << card->architecture;
    if (card->architecture == QLatin1StringView("pspnet"))
        o << " (ResNet-" << card->pspnet.layers << ")";
    o << '\n'
      << "weights:       " << (card->randomInit ? QStringLiteral("none (random_init: UNTRAINED)") : card->weightsPath()) << '\n'
      << "sha256:        " << *sha << shaNote << '\n'
      << "parameters:    " << (*parameters >= 0 ? QString::number(*parameters) : QStringLiteral("-")) << '\n'
      << "input:         " << (card->input.colorOrder == ColorOrder::BGR ? "BGR" : "RGB") << ", mean " << triple(card->input.mean)
      << ", std " << triple(card->input.std) << '\n'
      << "defaults:      scales " << Pipeline::scalesText(card->defaults.scales) << ", base size " << card->defaults.baseSize << ", crop "
      << card->defaults.crop << ", flip " << (card->defaults.flip ? "on" : "off") << '\n'
      << "classes:       " << card->numClasses << '\n';
    for (int i = 0; i < card->numClasses; ++i) {
        const Rgb c = card->palette[static_cast<size_t>(i)];
        o << "  " << QString::number(i).rightJustified(3) << "  " << card->classes[i].leftJustified(24) << " rgb(" << int(c.r) << ", "
          << int(c.g) << ", " << int(c.b) << ")\n";
    }
    return ExitOk;
}

int runList(const QStringList &args)
{
    QCommandLineParser parser;
    const QCommandLineOption cache(QStringLiteral("cache"), QStringLiteral("Cache root."), QStringLiteral("dir"));
    parser.addOption(cache);
    if (const int rc = parse(parser, args, QStringLiteral("Lists the models `segscale model pull` knows."), 0); rc >= 0)
        return rc;
    const QDir root(ModelRegistry::cacheRoot(parser.value(cache)));
    for (const auto &e : ModelRegistry::entries()) {
        const bool cached = QFileInfo::exists(root.filePath(e.name + QStringLiteral("/model.json")));
        out() << e.name.leftJustified(22) << (cached ? "cached  " : e.downloadable() ? "pull    " : "manual  ") << e.description << '\n';
    }
    return ExitOk;
}

int dispatch(const QStringList &args)
{
    const QString help = QStringLiteral(
        "Usage: segscale model <subcommand> [options]   (segscale model <subcommand> --help)\n\n"
        "  import CHECKPOINT --arch pspnet|espnet [--layers 50] --classes ade20k|cityscapes --out DIR\n"
        "                      write a model folder for an authors' checkpoint\n"
        "  pull NAME [--cache DIR] [--url URL]\n"
        "                      download a known model, verify its SHA-256, import and cache it\n"
        "  info DIR|NAME       card, classes, parameter count and weights checksum\n"
        "  list                the known models\n");
    if (args.size() < 2) {
        err() << help;
        return ExitUsage;
    }
    const QString sub = args[1];
    if (sub == QLatin1StringView("--help") || sub == QLatin1StringView("-h") || sub == QLatin1StringView("help")) {
        out() << help;
        return ExitOk;
    }
    QStringList rest = args.mid(2);
    rest.prepend(args[0] + QLatin1Char(' ') + sub);
    if (sub == QLatin1StringView("import"))
        return runImport(rest);
    if (sub == QLatin1StringView("pull"))
        return runPull(rest);
    if (sub == QLatin1StringView("info"))
        return runInfo(rest);
    if (sub == QLatin1StringView("list"))
        return runList(rest);
    err() << "segscale model: unknown subcommand \"" << sub << "\"\n\n" << help;
    return ExitUsage;
}

int modelMain(const QStringList &args)
{
    const int rc = dispatch(args);
    out().flush();
    err().flush();
    return rc;
}

const CommandRegistration registration{Command{"model", "Import, pull (download) and inspect models", modelMain}};

} // namespace

} // namespace SegScale::Cli

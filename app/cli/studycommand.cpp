// `segscale study`: create a study database, add images, and look after it (status,
// errors, retry, reset, export). Everything here works without running inference.

#include "studycommand.h"

#include "command.h"
#include "inferenceoptions.h"
#include "jobs/jobstore.h"
#include "jobs/studyexporter.h"
#include "model/modelcard.h"
#include "model/modelregistry.h"
#include "pipeline/storagefetcher.h"
#include "storage/credentials.h"

#include <QCommandLineParser>
#include <QDir>
#include <QDirIterator>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QRegularExpression>
#include <QSaveFile>
#include <QTextStream>
#include <QUrl>

#include <algorithm>
#include <functional>
#include <optional>

namespace SegScale::Cli {

std::vector<StudySubcommand> &studySubcommands()
{
    static std::vector<StudySubcommand> subcommands;
    return subcommands;
}

namespace {

using Jobs::JobStore;

QTextStream &out()
{
    static QTextStream s(stdout);
    return s;
}

QTextStream &err()
{
    static QTextStream s(stderr);
    return s;
}

int usageError(const QString &command, const QString &message)
{
    err() << command << ": " << message << "\n(" << command << " --help for usage)\n";
    err().flush();
    return ExitUsage;
}

int failure(const QString &command, const Error &error)
{
    err() << command << ": " << error.toString() << '\n';
    err().flush();
    // What the user gave us (a missing study, bad settings, a model that will not load) is
    // bad usage by the CLI contract; everything else is a plain failure.
    const bool usage = error.category == ErrorCategory::Usage || error.category == ErrorCategory::Missing ||
                       error.category == ErrorCategory::Model || error.category == ErrorCategory::Unsupported;
    return usage ? ExitUsage : ExitFailure;
}

// Parses args with a --help of its own; returns an exit code when the command must stop.
std::optional<int> parse(QCommandLineParser &p, const QStringList &args, const QString &synopsis,
                         const QString &description, int positionals)
{
    const QCommandLineOption help({QStringLiteral("h"), QStringLiteral("help")}, QStringLiteral("Show this help."));
    p.addOption(help);
    p.setSingleDashWordOptionMode(QCommandLineParser::ParseAsLongOptions);
    if (!p.parse(args))
        return usageError(args.first(), p.errorText());
    if (p.isSet(help)) {
        QString text = p.helpText();
        text = text.mid(text.indexOf(QLatin1Char('\n')) + 1);  // our own usage line instead of Qt's
        out() << "Usage: " << args.first() << ' ' << synopsis << "\n\n" << description << '\n' << text;
        out().flush();
        return ExitOk;
    }
    if (p.positionalArguments().size() != positionals)
        return usageError(args.first(), QStringLiteral("expected %1 argument%2 (%3), got %4")
                                            .arg(positionals)
                                            .arg(positionals == 1 ? QString() : QStringLiteral("s"), synopsis)
                                            .arg(p.positionalArguments().size()));
    return std::nullopt;
}

Result<std::unique_ptr<JobStore>> openStudy(const QString &path)
{
    return JobStore::open(path, JobStore::OpenMode::OpenExisting);
}

// Progress lines on stderr at most twice a second, overwritten in place on a terminal.
class ProgressLine {
public:
    explicit ProgressLine(QString what) : m_what(std::move(what)) { m_timer.start(); }
    void update(qint64 done, qint64 total, bool force = false)
    {
        if (!force && m_timer.elapsed() < m_last + 500)
            return;
        m_last = m_timer.elapsed();
        err() << '\r' << m_what << ": " << done;
        if (total > 0)
            err() << " / " << total;
        err() << "  (" << QString::number(double(m_last) / 1000.0, 'f', 1) << " s)";
        err().flush();
        m_shown = true;
    }
    void finish()
    {
        if (m_shown)
            err() << '\n';
        err().flush();
    }
    qint64 elapsedMs() const { return m_timer.elapsed(); }

private:
    QString m_what;
    QElapsedTimer m_timer;
    qint64 m_last = -1000;
    bool m_shown = false;
};

std::optional<ErrorCategory> parseCategory(const QCommandLineParser &p, const QCommandLineOption &opt, bool *bad)
{
    *bad = false;
    if (!p.isSet(opt))
        return std::nullopt;
    auto c = categoryFromName(p.value(opt));
    if (!c)
        *bad = true;
    return c;
}

const QString kCategories = QStringLiteral("missing, unreadable, corrupt, too-large, unsupported, storage, model, internal");

// --- create --------------------------------------------------------------------------

int create(const QStringList &args)
{
    QCommandLineParser p;
    const QCommandLineOption model(QStringLiteral("model"), QStringLiteral("Model folder (with model.json) or card."), QStringLiteral("PATH"));
    const QCommandLineOption scales(QStringLiteral("scales"), QStringLiteral("Comma-separated scales (default: the card's)."), QStringLiteral("LIST"));
    const QCommandLineOption baseSize(QStringLiteral("base-size"), QStringLiteral("Long side at scale 1 (default: the card's)."), QStringLiteral("N"));
    const QCommandLineOption crop(QStringLiteral("crop"), QStringLiteral("Window size (default: the card's)."), QStringLiteral("N"));
    const QCommandLineOption flip(QStringLiteral("flip"), QStringLiteral("Average with the horizontal flip."));
    const QCommandLineOption noFlip(QStringLiteral("no-flip"), QStringLiteral("Do not average with the flip."));
    const QCommandLineOption batch(QStringLiteral("batch"), QStringLiteral("Windows per network batch (default 1)."), QStringLiteral("N"));
    const QCommandLineOption precision(QStringLiteral("precision"),
                                       QStringLiteral("Network arithmetic for every image: fp32 (default), fp16 (runs need --device cuda) or "
                                                      "bf16. Part of the settings: results of two precisions are never mixed."),
                                       QStringLiteral("p"));
    p.addOptions({model, scales, baseSize, crop, flip, noFlip, batch, precision});
    if (auto stop = parse(p, args, QStringLiteral("STUDY.db --model PATH [options]"),
                          QStringLiteral("Creates a study database that records the model and the settings every image "
                                         "of the study will be segmented with."),
                          1))
        return *stop;
    const QString cmd = args.first();
    const QString path = p.positionalArguments().first();
    if (!p.isSet(model))
        return usageError(cmd, QStringLiteral("--model PATH is required"));
    if (p.isSet(flip) && p.isSet(noFlip))
        return usageError(cmd, QStringLiteral("--flip and --no-flip exclude each other"));
    if (QFileInfo::exists(path))
        return usageError(cmd, QStringLiteral("%1 already exists; a study is created once (use another file name)").arg(path));

    auto card = Model::ModelCard::load(Model::ModelRegistry::resolveModelPath(p.value(model)));
    if (!card)
        return failure(cmd, card.error());
    Jobs::StudySettings s;
    s.modelCard = card->toJson();
    // Where the model lives, so that `study run` can load it again (it checks the weights
    // still have the recorded fingerprint).
    s.modelCard[QStringLiteral("directory")] = card->directory;
    s.scales = card->defaults.scales;
    s.baseSize = card->defaults.baseSize;
    s.crop = card->defaults.crop;
    s.flip = card->defaults.flip;
    s.strideRate = card->defaults.strideRate;
    auto positiveInt = [&](const QCommandLineOption &o, int *target) {
        if (!p.isSet(o))
            return true;
        bool ok = false;
        const int v = p.value(o).toInt(&ok);
        if (!ok || v <= 0)
            return false;
        *target = v;
        return true;
    };
    if (!positiveInt(baseSize, &s.baseSize))
        return usageError(cmd, QStringLiteral("--base-size wants a positive integer, not \"%1\"").arg(p.value(baseSize)));
    if (!positiveInt(crop, &s.crop))
        return usageError(cmd, QStringLiteral("--crop wants a positive integer, not \"%1\"").arg(p.value(crop)));
    if (!positiveInt(batch, &s.batch))
        return usageError(cmd, QStringLiteral("--batch wants a positive integer, not \"%1\"").arg(p.value(batch)));
    if (p.isSet(scales)) {
        s.scales.clear();
        for (const QString &part : p.value(scales).split(QLatin1Char(','), Qt::SkipEmptyParts)) {
            bool ok = false;
            const double v = part.trimmed().toDouble(&ok);
            if (!ok || v <= 0 || v > 16)
                return usageError(cmd, QStringLiteral("--scales: \"%1\" is not a scale (a positive number such as 0.75)").arg(part));
            s.scales.append(v);
        }
        if (s.scales.isEmpty())
            return usageError(cmd, QStringLiteral("--scales is empty"));
    }
    if (p.isSet(flip))
        s.flip = true;
    if (p.isSet(noFlip))
        s.flip = false;
    if (p.isSet(precision)) {
        auto chosen = parsePrecision(p.value(precision));
        if (!chosen)
            return usageError(cmd, chosen.error().message);
        s.precision = precisionName(*chosen);
    }

    err() << cmd << ": fingerprinting " << card->weightsPath() << " ...\n";
    err().flush();
    auto fingerprint = card->fingerprint();
    if (!fingerprint)
        return failure(cmd, fingerprint.error());
    s.modelFingerprint = *fingerprint;

    auto store = JobStore::open(path, JobStore::OpenMode::CreateIfMissing);
    if (!store)
        return failure(cmd, store.error());
    auto run = (*store)->beginRun(s, false);
    if (!run)
        return failure(cmd, run.error());
    out() << "created study " << path << '\n'
          << "  model:    " << card->name << " (" << card->classes.size() << " classes, " << QString::fromLatin1(s.modelFingerprint.left(16)) << "…)\n"
          << "  scales:   " << Pipeline::scalesText(s.scales) << "  base size " << s.baseSize << "  crop " << s.crop
          << "  flip " << (s.flip ? "on" : "off") << "  batch " << s.batch << "  precision " << s.precision << '\n'
          << "next: segscale study add " << path << " FOLDER\n";
    out().flush();
    return ExitOk;
}

// --- add (sftp://) -------------------------------------------------------------------

// The same as the local branch of "add", for a dataset on an SFTP server: listed through
// Storage::list, recorded as storage "sftp://user@host:port" (no secret) + dataset root +
// paths relative to it, which is what a runner's StorageFetcher reads them back with.
// The end of both `study add` branches (local folder, sftp:// folder): record the
// storage and the dataset, add the images in chunks with progress, say what happened.
int recordImages(JobStore &store, const QString &cmd, const QString &storageName, const QString &storageUrl,
                 const QString &root, const QString &where, const QStringList &includes, const QStringList &excludes,
                 const QList<Jobs::ImageEntry> &entries, qint64 excluded)
{
    auto storage = store.addStorage(storageName, storageUrl);
    if (!storage)
        return failure(cmd, storage.error());
    auto dataset = store.addDataset(*storage, root, includes, excludes);
    if (!dataset)
        return failure(cmd, dataset.error());
    constexpr qsizetype kChunk = 50'000;
    Jobs::AddStats total;
    ProgressLine adding(QStringLiteral("adding"));
    for (qsizetype start = 0; start < entries.size(); start += kChunk) {
        auto added = store.addImages(*dataset, entries.mid(start, kChunk));
        if (!added)
            return failure(cmd, added.error());
        total.added += added->added;
        total.skipped += added->skipped;
        adding.update(start + std::min(kChunk, entries.size() - start), entries.size());
    }
    adding.finish();
    out() << "added " << total.added << " images from " << where << " (" << total.skipped << " already in the study";
    if (excluded)
        out() << ", " << excluded << " excluded";
    out() << ")\n";
    out().flush();
    if (entries.isEmpty())
        err() << cmd << ": no file under " << where << " matches " << includes.join(QLatin1Char(' ')) << '\n';
    return ExitOk;
}

int addRemote(const QString &cmd, const QString &studyPath, const QString &input,
              QStringList includes, const QStringList &excludePatterns, const QString &knownHostsPath,
              const std::optional<QString> &credentialsPath)
{
    auto url = Pipeline::StorageFetcher::parseRemote(input);
    if (!url)
        return usageError(cmd, url.error().message);
    auto credentials = credentialsPath ? Storage::Credentials::load(*credentialsPath) : Storage::Credentials::loadDefault();
    if (!credentials)
        return usageError(cmd, credentials.error().message);
    if (includes.isEmpty())
        includes = {QStringLiteral("*.jpg"), QStringLiteral("*.jpeg"), QStringLiteral("*.png")};
    QList<QRegularExpression> excludes;
    for (const QString &pattern : excludePatterns)
        excludes.append(QRegularExpression(QRegularExpression::wildcardToRegularExpression(pattern),
                                           QRegularExpression::CaseInsensitiveOption));

    auto store = openStudy(studyPath);
    if (!store)
        return failure(cmd, store.error());

    Storage::StorageOptions options;
    options.knownHostsPath = knownHostsPath;
    Pipeline::StorageFetcher fetcher(*credentials, options);
    // The server first, so a host key or login problem is reported as such (an unknown
    // host key is a usage problem: exit 2, with the command that trusts it).
    auto server = fetcher.connect(*url, credentialsPath.value_or(QString()));
    if (!server)
        return failure(cmd, server.error());
    auto entry = (*server)->stat(url->path);
    if (!entry)
        return entry.error().category == ErrorCategory::Missing ? usageError(cmd, QStringLiteral("%1 does not exist").arg(input))
                                                                : failure(cmd, entry.error());

    QString root = url->path;
    QList<Jobs::ImageEntry> entries;
    qint64 excluded = 0;
    auto consider = [&](const QString &rel, qint64 size) {
        const QString name = rel.section(QLatin1Char('/'), -1);
        for (const auto &re : excludes) {
            if (re.match(rel).hasMatch() || re.match(name).hasMatch()) {
                ++excluded;
                return;
            }
        }
        entries.append({rel, size});
    };
    auto folder = fetcher.openFolder(*url);
    if (folder) {
        ProgressLine scan(QStringLiteral("scanning ") + input);
        auto files = (*folder)->list(QString(), includes, {}, [&](qint64 found) { scan.update(found, 0); });
        scan.finish();
        if (!files)
            return failure(cmd, files.error());
        for (const auto &f : *files)
            consider(f.path, f.size);
    } else if (folder.error().category == ErrorCategory::Unreadable) {
        // Not a folder: one file, recorded under its parent folder as the local branch does.
        const qsizetype slash = root.lastIndexOf(QLatin1Char('/'));
        const QString name = root.mid(slash + 1);
        root = slash <= 0 ? QStringLiteral("/") : root.left(slash);
        consider(name, entry->size);
    } else {
        return failure(cmd, folder.error());
    }
    // Sorted, so that images are leased in a stable, human-predictable order.
    std::sort(entries.begin(), entries.end(), [](const auto &a, const auto &b) { return a.path < b.path; });

    const QString storageUrl = Pipeline::StorageFetcher::serverUrl(*url);
    return recordImages(**store, cmd, storageUrl, storageUrl, root, Pipeline::StorageFetcher::location(storageUrl, root),
                        includes, excludePatterns, entries, excluded);
}

// --- add -----------------------------------------------------------------------------

int add(const QStringList &args)
{
    QCommandLineParser p;
    const QCommandLineOption include(QStringLiteral("include"),
                                     QStringLiteral("File-name pattern to add (repeatable; default *.jpg *.jpeg *.png, any case)."),
                                     QStringLiteral("PATTERN"));
    const QCommandLineOption exclude(QStringLiteral("exclude"),
                                     QStringLiteral("Pattern to leave out, matched against the file name and the path "
                                                    "relative to the folder (repeatable)."),
                                     QStringLiteral("PATTERN"));
    const QCommandLineOption knownHosts(QStringLiteral("known-hosts"),
                                        QStringLiteral("Known host keys file for sftp:// paths (default ~/.ssh/known_hosts)."),
                                        QStringLiteral("FILE"));
    const QCommandLineOption credentials(QStringLiteral("credentials"),
                                         QStringLiteral("Credentials file for sftp:// paths, mode 0600 (default %1 if it exists, "
                                                        "else ssh-agent and ~/.ssh keys).")
                                             .arg(Storage::Credentials::defaultPath()),
                                         QStringLiteral("FILE"));
    p.addOptions({include, exclude, knownHosts, credentials});
    if (auto stop = parse(p, args, QStringLiteral("STUDY.db PATH [--include PATTERN ...] [--exclude PATTERN ...]"),
                          QStringLiteral("Adds the images under PATH (a folder, scanned recursively, or one file) to the "
                                         "study. PATH may be local, file:///path or sftp://user@host:port/path (the "
                                         "study records the server, never a secret). Images already in the study are "
                                         "skipped, so adding a folder again picks up only new files."),
                          2))
        return *stop;
    const QString cmd = args.first();
    const QString studyPath = p.positionalArguments().at(0);
    const QString input = p.positionalArguments().at(1);
    if (Pipeline::StorageFetcher::isRemote(input))
        return addRemote(cmd, studyPath, input, p.values(include), p.values(exclude), p.value(knownHosts),
                         p.isSet(credentials) ? std::optional<QString>(p.value(credentials)) : std::nullopt);
    if (input.contains(QLatin1StringView("://")) && !input.startsWith(QLatin1StringView("file://")))
        return usageError(cmd, QStringLiteral("%1: unsupported URL; use a local path, file:///path or "
                                              "sftp://user@host:port/path").arg(input));
    const QString localPath = input.startsWith(QLatin1StringView("file://")) ? QUrl(input).toLocalFile() : input;
    const QFileInfo info(localPath);
    if (!info.exists())
        return usageError(cmd, QStringLiteral("%1 does not exist").arg(input));
    QStringList includes = p.values(include);
    if (includes.isEmpty())
        includes = {QStringLiteral("*.jpg"), QStringLiteral("*.jpeg"), QStringLiteral("*.png")};
    QList<QRegularExpression> excludes;
    for (const QString &pattern : p.values(exclude))
        excludes.append(QRegularExpression(QRegularExpression::wildcardToRegularExpression(pattern),
                                           QRegularExpression::CaseInsensitiveOption));

    auto store = openStudy(studyPath);
    if (!store)
        return failure(cmd, store.error());

    const QString root = info.isDir() ? info.canonicalFilePath() : info.canonicalPath();
    const QDir rootDir(root);
    QList<Jobs::ImageEntry> entries;
    ProgressLine scan(QStringLiteral("scanning ") + root);
    qint64 excluded = 0;
    auto consider = [&](const QFileInfo &f) {
        const QString rel = rootDir.relativeFilePath(f.filePath());
        for (const auto &re : excludes) {
            if (re.match(rel).hasMatch() || re.match(f.fileName()).hasMatch()) {
                ++excluded;
                return;
            }
        }
        entries.append({rel, f.size()});
    };
    if (info.isDir()) {
        // Name filters without QDir::CaseSensitive match IMG_001.JPG as well as img_001.jpg.
        QDirIterator it(root, includes, QDir::Files | QDir::NoDotAndDotDot, QDirIterator::Subdirectories);
        while (it.hasNext()) {
            it.next();
            consider(it.fileInfo());
            scan.update(entries.size(), 0);
        }
    } else {
        consider(info);
    }
    scan.finish();
    // Sorted, so that images are leased in a stable, human-predictable order.
    std::sort(entries.begin(), entries.end(), [](const auto &a, const auto &b) { return a.path < b.path; });

    return recordImages(**store, cmd, QStringLiteral("local"), QStringLiteral("file://"), root, root, includes,
                        p.values(exclude), entries, excluded);
}

// --- status --------------------------------------------------------------------------

QString duration(qint64 seconds)
{
    if (seconds < 0)
        return QStringLiteral("unknown");
    return QStringLiteral("%1:%2:%3")
        .arg(seconds / 3600)
        .arg((seconds / 60) % 60, 2, 10, QLatin1Char('0'))
        .arg(seconds % 60, 2, 10, QLatin1Char('0'));
}

int status(const QStringList &args)
{
    QCommandLineParser p;
    const QCommandLineOption window(QStringLiteral("window"), QStringLiteral("Minutes to measure throughput over (default 5)."),
                                    QStringLiteral("MINUTES"), QStringLiteral("5"));
    p.addOption(window);
    if (auto stop = parse(p, args, QStringLiteral("STUDY.db [--window MINUTES]"),
                          QStringLiteral("Shows how many images are pending, leased, done and failed, the recent "
                                         "throughput, the time left and the most common errors."),
                          1))
        return *stop;
    const QString cmd = args.first();
    bool ok = false;
    const int minutes = p.value(window).toInt(&ok);
    if (!ok || minutes <= 0)
        return usageError(cmd, QStringLiteral("--window wants a positive number of minutes"));
    auto store = openStudy(p.positionalArguments().first());
    if (!store)
        return failure(cmd, store.error());
    auto settings = (*store)->settings();
    if (!settings)
        return failure(cmd, settings.error());
    auto pr = (*store)->progress(minutes);
    if (!pr)
        return failure(cmd, pr.error());
    auto &o = out();
    o << "study:      " << p.positionalArguments().first() << '\n';
    if (*settings)
        o << "model:      " << (*settings)->modelName() << " (" << QString::fromLatin1((*settings)->modelFingerprint.left(16))
          << "…), run " << pr->run << '\n';
    else
        o << "model:      none yet\n";
    auto pct = [&](qint64 n) {
        return pr->total() ? QString::number(100.0 * double(n) / double(pr->total()), 'f', 1) + QLatin1Char('%') : QStringLiteral("-");
    };
    o << "images:     " << pr->total() << '\n'
      << "  pending   " << pr->pending << "  (" << pct(pr->pending) << ")\n"
      << "  leased    " << pr->leased << "  (" << pct(pr->leased) << ")\n"
      << "  done      " << pr->done << "  (" << pct(pr->done) << ")\n"
      << "  failed    " << pr->failed << "  (" << pct(pr->failed) << ")\n"
      << "throughput: " << QString::number(pr->imagesPerMinute, 'f', 1) << " images/min over the last " << pr->windowMinutes
      << " min\n"
      << "eta:        " << (pr->pending + pr->leased == 0 ? QStringLiteral("finished") : duration(pr->etaSeconds)) << '\n';
    if (!pr->topErrors.isEmpty()) {
        o << "top errors:";
        for (const auto &[category, n] : pr->topErrors)
            o << ' ' << category << ' ' << n << ';';
        o << "  (segscale study errors " << p.positionalArguments().first() << ")\n";
    }
    o.flush();
    return ExitOk;
}

// --- errors, retry, reset ------------------------------------------------------------

// errors and retry share their shape: STUDY.db [--category C], then one call on the store.
int withCategory(const QStringList &args, const QString &description,
                 const std::function<int(JobStore &, std::optional<ErrorCategory>, const QString &cmd)> &action)
{
    QCommandLineParser p;
    const QCommandLineOption category(QStringLiteral("category"), QStringLiteral("Only this category (") + kCategories + u')',
                                      QStringLiteral("C"));
    p.addOption(category);
    if (auto stop = parse(p, args, QStringLiteral("STUDY.db [--category C]"), description, 1))
        return *stop;
    const QString cmd = args.first();
    bool bad = false;
    const auto c = parseCategory(p, category, &bad);
    if (bad)
        return usageError(cmd, QStringLiteral("unknown category \"%1\" (one of: %2)").arg(p.value(category), kCategories));
    auto store = openStudy(p.positionalArguments().first());
    if (!store)
        return failure(cmd, store.error());
    return action(**store, c, cmd);
}

int errors(const QStringList &args)
{
    return withCategory(args,
                        QStringLiteral("Lists the failed images with their last error, one per line: "
                                       "image<TAB>category<TAB>message."),
                        [](JobStore &store, std::optional<ErrorCategory> c, const QString &cmd) {
                            auto list = store.failedImages(c);
                            if (!list)
                                return failure(cmd, list.error());
                            for (const auto &e : *list) {
                                QString message = e.message;
                                message.replace(QLatin1Char('\n'), QLatin1Char(' '));
                                out() << e.location << '\t' << e.category << '\t' << message << '\n';
                            }
                            out().flush();
                            err() << list->size() << " failed image" << (list->size() == 1 ? "" : "s") << '\n';
                            return int(ExitOk);
                        });
}

int retry(const QStringList &args)
{
    return withCategory(args,
                        QStringLiteral("Puts failed images (of one category, when given) back to pending with their "
                                       "attempts reset, for the next run to try again."),
                        [](JobStore &store, std::optional<ErrorCategory> c, const QString &cmd) {
                            auto n = store.retryFailed(c);
                            if (!n)
                                return failure(cmd, n.error());
                            out() << *n << " failed image" << (*n == 1 ? "" : "s") << " back to pending\n";
                            out().flush();
                            return int(ExitOk);
                        });
}

int reset(const QStringList &args)
{
    QCommandLineParser p;
    const QCommandLineOption state(QStringLiteral("state"), QStringLiteral("Only images in this state: leased, done or failed."),
                                   QStringLiteral("STATE"));
    p.addOption(state);
    if (auto stop = parse(p, args, QStringLiteral("STUDY.db [--state leased|done|failed]"),
                          QStringLiteral("Puts images back to pending (all that are not, by default). Done images lose "
                                         "their result of the current run; leases still out become stale. Do not run "
                                         "it while a run is in progress unless you mean to."),
                          1))
        return *stop;
    const QString cmd = args.first();
    std::optional<Jobs::ImageState> which;
    if (p.isSet(state)) {
        const QString v = p.value(state);
        if (v == QLatin1StringView("leased"))
            which = Jobs::ImageState::Leased;
        else if (v == QLatin1StringView("done"))
            which = Jobs::ImageState::Done;
        else if (v == QLatin1StringView("failed"))
            which = Jobs::ImageState::Failed;
        else
            return usageError(cmd, QStringLiteral("--state wants leased, done or failed, not \"%1\"").arg(v));
    }
    auto store = openStudy(p.positionalArguments().first());
    if (!store)
        return failure(cmd, store.error());
    auto n = (*store)->resetToPending(which);
    if (!n)
        return failure(cmd, n.error());
    out() << *n << " image" << (*n == 1 ? "" : "s") << " back to pending\n";
    out().flush();
    return ExitOk;
}

// --- export --------------------------------------------------------------------------

Result<qint64> exportTo(const QString &path, const std::function<Result<qint64>(QIODevice &)> &write)
{
    // Written to a temporary file and renamed at the end: a reader never sees half a CSV.
    QSaveFile f(path);
    if (!f.open(QIODevice::WriteOnly))
        return Error{ErrorCategory::Unreadable, QStringLiteral("cannot write %1: %2").arg(path, f.errorString())};
    auto n = write(f);
    if (!n) {
        f.cancelWriting();
        return n;
    }
    if (!f.commit())
        return Error{ErrorCategory::Unreadable, QStringLiteral("cannot write %1: %2").arg(path, f.errorString())};
    return n;
}

int exportCsv(const QStringList &args)
{
    QCommandLineParser p;
    const QCommandLineOption format(QStringLiteral("format"),
                                    QStringLiteral("wide: image,width,height,<one column per class>; long: image,class,fraction."),
                                    QStringLiteral("wide|long"), QStringLiteral("wide"));
    const QCommandLineOption outFile(QStringLiteral("out"), QStringLiteral("Composition CSV to write."), QStringLiteral("FILE"));
    const QCommandLineOption errorsFile(QStringLiteral("errors"), QStringLiteral("Also write the failed images (image,category,message)."),
                                       QStringLiteral("FILE"));
    p.addOptions({format, outFile, errorsFile});
    if (auto stop = parse(p, args, QStringLiteral("STUDY.db --format wide|long --out FILE [--errors FILE]"),
                          QStringLiteral("Writes the per-class composition of every image done in the current run as "
                                         "CSV (RFC 4180, UTF-8, fractions with 6 decimals)."),
                          1))
        return *stop;
    const QString cmd = args.first();
    const QString f = p.value(format);
    if (f != QLatin1StringView("wide") && f != QLatin1StringView("long"))
        return usageError(cmd, QStringLiteral("--format wants wide or long, not \"%1\"").arg(f));
    if (!p.isSet(outFile))
        return usageError(cmd, QStringLiteral("--out FILE is required"));
    auto store = openStudy(p.positionalArguments().first());
    if (!store)
        return failure(cmd, store.error());
    Jobs::StudyExporter exporter(**store);
    ProgressLine progress(QStringLiteral("exporting"));
    auto n = exportTo(p.value(outFile), [&](QIODevice &dev) {
        return exporter.exportComposition(dev, f == QLatin1StringView("wide") ? Jobs::StudyExporter::Format::Wide
                                                                              : Jobs::StudyExporter::Format::Long,
                                          [&](qint64 done, qint64 total) { progress.update(done, total); });
    });
    progress.finish();
    if (!n)
        return failure(cmd, n.error());
    out() << "wrote " << *n << " images to " << p.value(outFile) << '\n';
    if (p.isSet(errorsFile)) {
        auto e = exportTo(p.value(errorsFile), [&](QIODevice &dev) { return exporter.exportErrors(dev); });
        if (!e)
            return failure(cmd, e.error());
        out() << "wrote " << *e << " failed images to " << p.value(errorsFile) << '\n';
    }
    out().flush();
    return ExitOk;
}

const StudySubcommandRegistration registerCreate({"create", "create a study database for a model and its settings", create});
const StudySubcommandRegistration registerAdd({"add", "add the images of a folder (recursively)", add});
const StudySubcommandRegistration registerStatus({"status", "counts per state, throughput, ETA, top errors", status});
const StudySubcommandRegistration registerErrors({"errors", "list failed images and why", errors});
const StudySubcommandRegistration registerRetry({"retry", "put failed images back to pending", retry});
const StudySubcommandRegistration registerReset({"reset", "put images back to pending", reset});
const StudySubcommandRegistration registerExport({"export", "write the composition (and errors) as CSV", exportCsv});

int study(const QStringList &args)
{
    auto &subs = studySubcommands();
    std::sort(subs.begin(), subs.end(), [](const auto &a, const auto &b) { return qstrcmp(a.name, b.name) < 0; });
    auto usage = [&](QTextStream &s) {
        s << "Usage: segscale study <subcommand> STUDY.db [options]   (segscale study <subcommand> --help)\n\n"
             "A study is one database (SQLite file) that tracks every image of a dataset through\n"
             "pending -> leased -> done | failed, with its results and errors.\n\nSubcommands:\n";
        for (const auto &c : subs)
            s << "  " << QString::fromLatin1(c.name).leftJustified(8) << c.summary << '\n';
        s.flush();
    };
    if (args.size() < 2) {
        usage(err());
        return ExitUsage;
    }
    const QString sub = args.at(1);
    if (sub == QLatin1StringView("--help") || sub == QLatin1StringView("-h") || sub == QLatin1StringView("help")) {
        usage(out());
        return ExitOk;
    }
    for (const auto &c : subs) {
        if (sub == QLatin1StringView(c.name)) {
            QStringList rest = args.mid(2);
            rest.prepend(QStringLiteral("segscale study ") + sub);
            return c.run(rest);
        }
    }
    err() << "segscale study: unknown subcommand \"" << sub << "\"\n\n";
    usage(err());
    return ExitUsage;
}

const CommandRegistration registerStudy({"study", "Resumable studies in a database: create, add, run, status, errors, retry, export", study});

} // namespace

} // namespace SegScale::Cli

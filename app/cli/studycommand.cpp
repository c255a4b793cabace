// `segscale study`: create a study database, add images, and look after it (status,
// errors, retry, reset, export). Everything here works without running inference.

#include "studycommand.h"

#include "command.h"
#include "inferenceoptions.h"
#include "jobs/jobstore.h"
#include "pipeline/storagefetcher.h"
#include "storage/credentials.h"
#include "study/datasetscanner.h"
#include "study/datasetsource.h"
#include "study/studycreator.h"
#include "study/studycsvexport.h"
#include "study/studystatus.h"

#include <QCommandLineParser>
#include <QElapsedTimer>
#include <QTextStream>

#include <algorithm>
#include <functional>
#include <optional>
#include <variant>

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
    Study::StudyCreator::Params params;
    params.database = path;
    params.model = p.value(model);
    auto positiveInt = [&](const QCommandLineOption &o, std::optional<int> *target) {
        if (!p.isSet(o))
            return true;
        bool ok = false;
        const int v = p.value(o).toInt(&ok);
        if (!ok || v <= 0)
            return false;
        *target = v;
        return true;
    };
    if (!positiveInt(baseSize, &params.baseSize))
        return usageError(cmd, QStringLiteral("--base-size wants a positive integer, not \"%1\"").arg(p.value(baseSize)));
    if (!positiveInt(crop, &params.crop))
        return usageError(cmd, QStringLiteral("--crop wants a positive integer, not \"%1\"").arg(p.value(crop)));
    if (!positiveInt(batch, &params.batch))
        return usageError(cmd, QStringLiteral("--batch wants a positive integer, not \"%1\"").arg(p.value(batch)));
    if (p.isSet(scales)) {
        QList<double> list;
        for (const QString &part : p.value(scales).split(QLatin1Char(','), Qt::SkipEmptyParts)) {
            bool ok = false;
            const double v = part.trimmed().toDouble(&ok);
            if (!ok || v <= 0 || v > 16)
                return usageError(cmd, QStringLiteral("--scales: \"%1\" is not a scale (a positive number such as 0.75)").arg(part));
            list.append(v);
        }
        if (list.isEmpty())
            return usageError(cmd, QStringLiteral("--scales is empty"));
        params.scales = list;
    }
    if (p.isSet(flip))
        params.flip = true;
    if (p.isSet(noFlip))
        params.flip = false;
    if (p.isSet(precision))
        params.precision = p.value(precision);

    auto created = Study::StudyCreator::create(params, [&](const QString &note) {
        err() << cmd << ": " << note << '\n';
        err().flush();
    });
    if (!created)
        return created.error().category == ErrorCategory::Usage ? usageError(cmd, created.error().message)
                                                                 : failure(cmd, created.error());
    const Model::ModelCard *card = &created->card;
    const Jobs::StudySettings &s = created->settings;
    out() << "created study " << path << '\n'
          << "  model:    " << card->name << " (" << card->classes.size() << " classes, " << QString::fromLatin1(s.modelFingerprint.left(16)) << "…)\n"
          << "  scales:   " << Pipeline::scalesText(s.scales) << "  base size " << s.baseSize << "  crop " << s.crop
          << "  flip " << (s.flip ? "on" : "off") << "  batch " << s.batch << "  precision " << s.precision << '\n'
          << "next: segscale study add " << path << " FOLDER\n";
    out().flush();
    return ExitOk;
}

// --- add ------------------------------------------------------------------------------

// Where `study add` finds a dataset: Study::DatasetSource opens it (a local folder, or a
// connection to the server) as the desktop app does; walking, filtering and adding are
// Study::DatasetScanner's. An error from opening it is reported here; its exit code.
using Opened = std::variant<Study::DatasetSource::Opened, int>;

int openFailure(const QString &cmd, const Error &error)
{
    return error.category == ErrorCategory::Usage ? usageError(cmd, error.message) : failure(cmd, error);
}

Opened openLocal(const QString &cmd, const QString &input)
{
    auto opened = Study::DatasetSource::openLocal(input);
    if (!opened)
        return openFailure(cmd, opened.error());
    return *opened;
}

Opened openRemote(const QString &cmd, const Storage::StorageUrl &url, Pipeline::StorageFetcher &fetcher,
                  const Storage::Credentials &credentials, const Storage::StorageOptions &options,
                  const std::optional<QString> &credentialsPath)
{
    // The server first, so a host key or login problem is reported as such (an unknown
    // host key is a usage problem: exit 2, with the command that trusts it).
    auto server = fetcher.connect(url, credentialsPath.value_or(QString()));
    if (!server)
        return failure(cmd, server.error());
    auto opened = Study::DatasetSource::openRemote(url, credentials, options, *server);
    if (!opened)
        return openFailure(cmd, opened.error());
    return *opened;
}

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
    const std::optional<QString> credentialsPath =
        p.isSet(credentials) ? std::optional<QString>(p.value(credentials)) : std::nullopt;
    // What the user typed is checked before the study is opened: a bad URL, a missing
    // folder or an unreadable credentials file is a usage error whatever the study.
    std::optional<Storage::StorageUrl> url;
    std::optional<Opened> opened;
    Storage::Credentials loaded;
    if (Pipeline::StorageFetcher::isRemote(input)) {
        auto parsed = Pipeline::StorageFetcher::parseRemote(input);
        if (!parsed)
            return usageError(cmd, parsed.error().message);
        url = *parsed;
        auto c = credentialsPath ? Storage::Credentials::load(*credentialsPath) : Storage::Credentials::loadDefault();
        if (!c)
            return usageError(cmd, c.error().message);
        loaded = *c;
    } else {
        opened = openLocal(cmd, input);
        if (std::holds_alternative<int>(*opened))
            return std::get<int>(*opened);
    }

    auto store = openStudy(studyPath);
    if (!store)
        return failure(cmd, store.error());

    Storage::StorageOptions options;
    options.knownHostsPath = p.value(knownHosts);
    Pipeline::StorageFetcher fetcher(loaded, options);
    if (url) {
        opened = openRemote(cmd, *url, fetcher, loaded, options, credentialsPath);
        if (std::holds_alternative<int>(*opened))
            return std::get<int>(*opened);
    }
    auto &d = std::get<Study::DatasetSource::Opened>(*opened);
    const QString scanning = QStringLiteral("scanning ") + (url ? input : d.where);
    d.dataset.include = p.values(include);
    d.dataset.exclude = p.values(exclude);

    ProgressLine scan(scanning);
    std::optional<ProgressLine> adding;
    Study::DatasetScanner scanner(**store, *d.folder);
    auto stats = scanner.scan(d.dataset, [&](const Study::DatasetScanner::Progress &progress) {
        if (progress.phase == Study::DatasetScanner::Progress::Phase::Scanning) {
            if (progress.done > 0)  // no progress line for a folder with nothing to add
                scan.update(progress.done, 0);
            return;
        }
        if (!adding) {
            scan.finish();
            adding.emplace(QStringLiteral("adding"));
        }
        adding->update(progress.done, progress.total);
    });
    if (!adding)
        scan.finish();
    else
        adding->finish();
    if (!stats)
        return failure(cmd, stats.error());
    out() << "added " << stats->added << " images from " << d.where << " (" << stats->skipped << " already in the study";
    if (stats->excluded)
        out() << ", " << stats->excluded << " excluded";
    out() << ")\n";
    out().flush();
    if (stats->listed == 0)
        err() << cmd << ": no file under " << d.where << " matches "
              << (d.dataset.include.isEmpty() ? Study::DatasetScanner::defaultIncludes() : d.dataset.include).join(QLatin1Char(' '))
              << '\n';
    return ExitOk;
}

// --- status --------------------------------------------------------------------------

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
    auto st = Study::StudyStatus::read(**store, minutes);
    if (!st)
        return failure(cmd, st.error());
    const Jobs::StudyProgress *pr = &st->progress;
    auto &o = out();
    o << "study:      " << p.positionalArguments().first() << '\n';
    if (st->settings)
        o << "model:      " << st->settings->modelName() << " (" << QString::fromLatin1(st->settings->modelFingerprint.left(16))
          << "…), run " << pr->run << '\n';
    else
        o << "model:      none yet\n";
    auto pct = [&](qint64 n) { return st->percentOf(n); };
    o << "images:     " << pr->total() << '\n'
      << "  pending   " << pr->pending << "  (" << pct(pr->pending) << ")\n"
      << "  leased    " << pr->leased << "  (" << pct(pr->leased) << ")\n"
      << "  done      " << pr->done << "  (" << pct(pr->done) << ")\n"
      << "  failed    " << pr->failed << "  (" << pct(pr->failed) << ")\n"
      << "throughput: " << QString::number(pr->imagesPerMinute, 'f', 1) << " images/min over the last " << pr->windowMinutes
      << " min\n"
      << "eta:        " << st->eta() << '\n';
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

int exportCsv(const QStringList &args)
{
    QCommandLineParser p;
    const QCommandLineOption format(QStringLiteral("format"),
                                    QStringLiteral("wide: image,width,height,<one column per class>; long: image,class,fraction."),
                                    QStringLiteral("wide|long"), QStringLiteral("wide"));
    const QCommandLineOption outFile(QStringLiteral("out"), QStringLiteral("Composition CSV to write."), QStringLiteral("FILE"));
    const QCommandLineOption errorsFile(QStringLiteral("errors"), QStringLiteral("Also write the failed images (image,category,message)."),
                                       QStringLiteral("FILE"));
    const QCommandLineOption audit(QStringLiteral("audit"),
                                   QStringLiteral("Add the audit marks: columns audit (accepted, flagged or empty) and audit_note at the end."));
    p.addOptions({format, outFile, errorsFile, audit});
    if (auto stop = parse(p, args, QStringLiteral("STUDY.db --format wide|long --out FILE [--errors FILE] [--audit]"),
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
    Study::StudyCsvExport exporter(**store);
    exporter.setAuditColumns(p.isSet(audit));
    ProgressLine progress(QStringLiteral("exporting"));
    auto n = exporter.writeComposition(p.value(outFile),
                                       f == QLatin1StringView("wide") ? Jobs::StudyExporter::Format::Wide : Jobs::StudyExporter::Format::Long,
                                       [&](qint64 done, qint64 total) { progress.update(done, total); });
    progress.finish();
    if (!n)
        return failure(cmd, n.error());
    out() << "wrote " << *n << " images to " << p.value(outFile) << '\n';
    if (p.isSet(errorsFile)) {
        auto e = exporter.writeErrors(p.value(errorsFile));
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

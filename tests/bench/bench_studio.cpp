// SegScale Studio over a large study (issue #13: "views over a 1,000,000-image study open
// in under 2 s and scroll smoothly"). Writes a SQLite study with JobStore's schema — N
// images in 4 datasets, ~90% done with a 19-class composition each, ~1% failed, the rest
// pending, finished over the last 3 hours — in one transaction with prepared statements,
// then opens it in a MainWindow (embedded coordinator, offscreen) and measures, from the
// moment openStudy() is called: the summary shown, the first page of each tab (Progress:
// per-dataset bars and throughput chart; Workers; Errors; Results), the longest stall of
// the GUI thread while that happens, and the time of each fetchMore + scroll step through
// the Results and Errors tables. Prints a table; asserts nothing (timings are reported).
//   build/tests/bench_studio --images 1000000 [--pages 50] [--db PATH (kept and reused)]
// CTest runs it small (SEGSCALE_BENCH_IMAGES) so that it keeps working.

#include "jobs/jobstore.h"
#include "jobs/resultshares.h"
#include "ui/errorsmodel.h"
#include "ui/mainwindow.h"
#include "ui/resultsmodel.h"
#include "ui/studyconnection.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QDateTime>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QRandomGenerator>
#include <QScrollBar>
#include <QSettings>
#include <QSqlError>
#include <QSqlQuery>
#include <QStandardPaths>
#include <QTableView>
#include <QTemporaryDir>
#include <QTextStream>
#include <QTimer>
#include <QtEndian>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <optional>

using namespace SegScale;

namespace {

const QStringList kClasses{QStringLiteral("road"),   QStringLiteral("sidewalk"),   QStringLiteral("building"), QStringLiteral("wall"),
                           QStringLiteral("fence"),  QStringLiteral("pole"),       QStringLiteral("traffic light"),
                           QStringLiteral("traffic sign"), QStringLiteral("vegetation"), QStringLiteral("terrain"),
                           QStringLiteral("sky"),    QStringLiteral("person"),     QStringLiteral("rider"),    QStringLiteral("car"),
                           QStringLiteral("truck"),  QStringLiteral("bus"),        QStringLiteral("train"),    QStringLiteral("motorcycle"),
                           QStringLiteral("bicycle")};

bool fail(const QString &what)
{
    std::fprintf(stderr, "bench_studio: %s\n", qPrintable(what));
    return false;
}

bool generate(const QString &path, qint64 images)
{
    auto opened = Jobs::JobStore::open(path, Jobs::JobStore::OpenMode::CreateIfMissing);
    if (!opened)
        return fail(opened.error().message);
    Jobs::JobStore &store = **opened;
    Jobs::StudySettings settings;
    settings.modelCard = QJsonObject{{QStringLiteral("name"), QStringLiteral("bench-cityscapes")},
                                     {QStringLiteral("classes"), QJsonArray::fromStringList(kClasses)}};
    settings.modelFingerprint = QByteArray(64, 'f');
    auto run = store.beginRun(settings, false);
    if (!run)
        return fail(run.error().message);
    auto storage = store.addStorage(QStringLiteral("local"), QStringLiteral("file://"));
    if (!storage)
        return fail(storage.error().message);
    QList<qint64> datasets;
    for (int d = 0; d < 4; ++d) {
        auto ds = store.addDataset(*storage, QStringLiteral("/data/streetview/city-%1").arg(d + 1), {QStringLiteral("*.jpg")}, {});
        if (!ds)
            return fail(ds.error().message);
        datasets << *ds;
    }
    QSqlDatabase db = store.database();
    QSqlQuery pragma(db);
    pragma.exec(QStringLiteral("PRAGMA synchronous = OFF"));
    if (!db.transaction())
        return fail(db.lastError().text());
    QSqlQuery image(db), result(db), error(db);
    const bool prepared =
        image.prepare(QStringLiteral("INSERT INTO images (id, dataset_id, path, size, state, attempts, created_at, updated_at, finished_at, "
                                     "error_category) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) &&
        result.prepare(QStringLiteral("INSERT INTO results (image_id, run, width, height, composition, label_path, model_fingerprint, "
                                      "created_at) VALUES (?, ?, 640, 640, ?, ?, ?, ?)")) &&
        error.prepare(QStringLiteral("INSERT INTO errors (image_id, run, category, message, at, worker) VALUES (?, ?, 'corrupt', ?, ?, 'node-%1')"));
    if (!prepared)
        return fail(image.lastError().text() + result.lastError().text() + error.lastError().text());
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    const qint64 span = 3 * 3600 * 1000;
    QRandomGenerator rng(13);
    std::vector<float> comp(static_cast<size_t>(kClasses.size()));
    QByteArray blob(static_cast<qsizetype>(comp.size() * sizeof(float)), Qt::Uninitialized);
    QElapsedTimer timer;
    timer.start();
    for (qint64 id = 1; id <= images; ++id) {
        const qint64 dataset = datasets[static_cast<qsizetype>((id - 1) * 4 / images)];
        const quint32 r = rng.bounded(1000u);
        const int state = r < 900 ? 2 : r < 910 ? 3 : 0;
        const qint64 finished = now - span + span * id / images;
        image.bindValue(0, id);
        image.bindValue(1, dataset);
        image.bindValue(2, QStringLiteral("seq-%1/pano_%2.jpg").arg(id / 1000, 4, 10, QLatin1Char('0')).arg(id, 7, 10, QLatin1Char('0')));
        image.bindValue(3, 180000 + static_cast<int>(r) * 10);
        image.bindValue(4, state);
        image.bindValue(5, state == 3 ? 1 : 0);
        image.bindValue(6, now - span);
        image.bindValue(7, state == 0 ? now - span : finished);
        image.bindValue(8, state == 0 ? QVariant() : QVariant(finished));
        image.bindValue(9, state == 3 ? QVariant(QStringLiteral("corrupt")) : QVariant());
        if (!image.exec())
            return fail(image.lastError().text());
        if (state == 2) {
            float left = 1.0f;
            for (size_t c = 0; c + 1 < comp.size(); ++c) {
                comp[c] = left * static_cast<float>(rng.generateDouble()) * 0.5f;
                left -= comp[c];
            }
            comp.back() = left;
            qToLittleEndian<float>(comp.data(), static_cast<qsizetype>(comp.size()), blob.data());
            result.bindValue(0, id);
            result.bindValue(1, *run);
            result.bindValue(2, blob);
            result.bindValue(3, QStringLiteral("labels/pano_%1.png").arg(id));
            result.bindValue(4, QString::fromLatin1(settings.modelFingerprint));
            result.bindValue(5, finished);
            if (!result.exec())
                return fail(result.lastError().text());
        } else if (state == 3) {
            error.bindValue(0, id);
            error.bindValue(1, *run);
            error.bindValue(2, QStringLiteral("truncated JPEG: premature end of data segment in pano_%1.jpg").arg(id));
            error.bindValue(3, finished);
            if (!error.exec())
                return fail(error.lastError().text());
        }
        if (id % 200000 == 0)
            std::fprintf(stderr, "  %lld images written (%.1f s)\n", static_cast<long long>(id), timer.elapsed() / 1000.0);
    }
    if (!db.commit())
        return fail(db.lastError().text());
    // The rows above went in by plain INSERTs: make the Results view's share table (and
    // its per-dataset sums) again, filled from the composition BLOBs as a migration would.
    if (!db.transaction())
        return fail(db.lastError().text());
    QSqlQuery drop(db);
    if (!drop.exec(QStringLiteral("DROP TABLE IF EXISTS result_shares")) || !drop.exec(QStringLiteral("DROP TABLE IF EXISTS result_share_sums")))
        return fail(drop.lastError().text());
    if (auto made = SegScale::Jobs::ResultShares::ensure(db, SegScale::Jobs::Dialect::Sqlite, static_cast<int>(kClasses.size())); !made)
        return fail(made.error().message);
    if (!db.commit())
        return fail(db.lastError().text());
    std::fprintf(stderr, "generated %lld images in %.1f s\n", static_cast<long long>(images), timer.elapsed() / 1000.0);
    return true;
}

// Runs the event loop until done() or the timeout; returns the elapsed ms, -1 on timeout.
qint64 waitFor(const std::function<bool()> &done, int timeoutMs = 60000)
{
    QElapsedTimer t;
    t.start();
    while (!done()) {
        if (t.elapsed() > timeoutMs)
            return -1;
        QCoreApplication::processEvents(QEventLoop::AllEvents, 5);
    }
    return t.elapsed();
}

struct Steps {
    QList<double> ms;
    double median() const
    {
        if (ms.isEmpty())
            return -1;
        QList<double> s = ms;
        std::sort(s.begin(), s.end());
        return s[s.size() / 2];
    }
    double max() const { return ms.isEmpty() ? -1 : *std::max_element(ms.begin(), ms.end()); }
};

Steps scroll(QTableView *view, Ui::KeysetTableModel *model, int pages)
{
    Steps steps;
    for (int i = 0; i < pages && model->canFetchMore({}); ++i) {
        const int before = model->rowCount();
        QElapsedTimer t;
        t.start();
        // What a view does when its scroll bar reaches the end: fetchMore, then it shows
        // the new rows; the step ends when they are painted.
        view->scrollToBottom();
        QCoreApplication::processEvents();
        if (model->rowCount() == before)
            model->fetchMore({});
        if (waitFor([&] { return model->rowCount() > before; }) < 0)
            break;
        view->verticalScrollBar()->setValue(view->verticalScrollBar()->maximum());
        view->viewport()->repaint();
        steps.ms << t.nsecsElapsed() / 1e6;
    }
    return steps;
}

} // namespace

int main(int argc, char *argv[])
{
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    QCommandLineParser parser;
    parser.addOptions({{QStringLiteral("images"), QStringLiteral("Images in the generated study."), QStringLiteral("N")},
                       {QStringLiteral("pages"), QStringLiteral("fetchMore steps through Results and Errors."), QStringLiteral("N"), QStringLiteral("50")},
                       {QStringLiteral("db"), QStringLiteral("Keep the study here (reused when it exists)."), QStringLiteral("PATH")}});
    parser.addHelpOption();
    parser.process(app);
    const qint64 images = parser.isSet(QStringLiteral("images")) ? parser.value(QStringLiteral("images")).toLongLong()
                         : qEnvironmentVariableIsSet("SEGSCALE_BENCH_IMAGES") ? qEnvironmentVariable("SEGSCALE_BENCH_IMAGES").toLongLong()
                                                                               : 1000000;
    const int pages = parser.value(QStringLiteral("pages")).toInt();
    QTemporaryDir dir;
    QStandardPaths::setTestModeEnabled(true);
    QSettings::setDefaultFormat(QSettings::IniFormat);
    QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, dir.filePath(QStringLiteral("settings")));
    const QString db = parser.isSet(QStringLiteral("db")) ? parser.value(QStringLiteral("db")) : dir.filePath(QStringLiteral("study.db"));
    if (!QFile::exists(db) && !generate(db, images))
        return 1;

    Ui::MainWindow window;
    window.resize(1280, 800);
    window.show();
    QCoreApplication::processEvents();

    // The GUI thread's longest stall: a 5 ms timer that notes how late it fires.
    qint64 worstGapMs = 0;
    QElapsedTimer gap;
    QTimer ticker;
    ticker.setInterval(5);
    QObject::connect(&ticker, &QTimer::timeout, &window, [&] {
        worstGapMs = std::max(worstGapMs, gap.restart());
    });

    std::optional<qint64> summaryMs, datasetsMs, throughputMs, workersMs, errorsMs, resultsMs;
    QElapsedTimer t;
    auto mark = [&t](std::optional<qint64> &at) {
        if (!at)
            at = t.elapsed();
    };
    QObject::connect(window.connection(), &Ui::StudyConnection::summaryUpdated, &window, [&] { mark(summaryMs); });
    QObject::connect(window.connection(), &Ui::StudyConnection::datasetsUpdated, &window, [&] { mark(datasetsMs); });
    QObject::connect(window.connection(), &Ui::StudyConnection::throughputUpdated, &window, [&] { mark(throughputMs); });
    QObject::connect(window.connection(), &Ui::StudyConnection::workersUpdated, &window, [&] { mark(workersMs); });
    QObject::connect(window.errorsModel(), &Ui::KeysetTableModel::pageLoaded, &window, [&] { mark(errorsMs); });
    QObject::connect(window.resultsModel(), &Ui::KeysetTableModel::pageLoaded, &window, [&] { mark(resultsMs); });
    t.start();
    gap.start();
    ticker.start();
    window.openStudy(db);
    const qint64 opened = waitFor([&] { return summaryMs && datasetsMs && throughputMs && workersMs && errorsMs && resultsMs; }, 120000);
    ticker.stop();
    if (opened < 0) {
        std::fprintf(stderr, "bench_studio: the views did not all load within 120 s (%s)\n", qPrintable(window.lastFailure()));
        return 1;
    }
    const qint64 openGap = worstGapMs;
    // Each tab shown once, as a user would click through them.
    QList<std::pair<QString, double>> tabs;
    for (int i = 0; i < 4; ++i) {
        QElapsedTimer s;
        s.start();
        window.tabs()->setCurrentIndex(i);
        window.repaint();
        tabs.append({window.tabs()->tabText(i).remove(QLatin1Char('&')), s.nsecsElapsed() / 1e6});
    }
    window.tabs()->setCurrentIndex(3);
    const Steps results = scroll(window.resultsView(), window.resultsModel(), pages);
    window.tabs()->setCurrentIndex(2);
    const Steps errors = scroll(window.errorsView(), window.errorsModel(), pages);

    const QJsonObject s = window.connection()->lastSummary();
    QTextStream out(stdout);
    out << "study: " << static_cast<qint64>(s.value(QStringLiteral("total")).toDouble()) << " images ("
        << static_cast<qint64>(s.value(QStringLiteral("done")).toDouble()) << " done, "
        << static_cast<qint64>(s.value(QStringLiteral("failed")).toDouble()) << " failed, "
        << static_cast<qint64>(s.value(QStringLiteral("pending")).toDouble()) << " pending), " << kClasses.size() << " classes\n";
    out << QStringLiteral("%1 %2\n").arg(QStringLiteral("from openStudy() to"), -44).arg(QStringLiteral("ms"), 8);
    auto row = [&out](const QString &what, double ms) { out << QStringLiteral("%1 %2\n").arg(what, -44).arg(ms, 8, 'f', 1); };
    row(QStringLiteral("summary shown (Progress counts, ETA)"), double(*summaryMs));
    row(QStringLiteral("Progress: per-dataset bars"), double(*datasetsMs));
    row(QStringLiteral("Progress: throughput chart"), double(*throughputMs));
    row(QStringLiteral("Workers: first list"), double(*workersMs));
    row(QStringLiteral("Errors: first page (200 rows)"), double(*errorsMs));
    row(QStringLiteral("Results: first page (200 rows)"), double(*resultsMs));
    row(QStringLiteral("longest GUI-thread stall while opening"), double(openGap));
    for (const auto &[name, ms] : tabs)
        row(QStringLiteral("switch to tab %1 and paint").arg(name), ms);
    out << QStringLiteral("%1 %2 %3 %4\n").arg(QStringLiteral("scrolling (fetchMore + paint per 200 rows)"), -44).arg(QStringLiteral("steps"), 6)
               .arg(QStringLiteral("median"), 8).arg(QStringLiteral("max"), 8);
    out << QStringLiteral("%1 %2 %3 %4\n").arg(QStringLiteral("Results"), -44).arg(results.ms.size(), 6).arg(results.median(), 8, 'f', 1).arg(results.max(), 8, 'f', 1);
    out << QStringLiteral("%1 %2 %3 %4\n").arg(QStringLiteral("Errors"), -44).arg(errors.ms.size(), 6).arg(errors.median(), 8, 'f', 1).arg(errors.max(), 8, 'f', 1);
    out.flush();
    window.connection()->close();
    return 0;
}

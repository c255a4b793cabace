// `segscale segment` driven as users run it ($SEGSCALE_CLI via QProcess) with the real
// ESPNet Cityscapes model on real street photos: the files it writes and what is in them
// (labels that make sense for the photo, composition that matches the labels), bad inputs
// failing alone with their category, unusable models and bad usage refused with exit 2,
// the sequential and pipelined schedules giving the same labels, Ctrl-C leaving a
// consistent output folder, and progress on stderr.

#include "base/csv.h"
#include "base/error.h"
#include "common/badinputs.h"

#include <QDir>
#include <QDirIterator>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QSet>
#include <QTemporaryDir>
#include <QTest>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <array>
#include <csignal>
#include <map>
#include <sys/types.h>

using SegScale::Csv;
using SegScale::ErrorCategory;
using SegScale::Tests::BadInputs;

namespace {

const QString kStreetCentre = QStringLiteral("crop640_frankfurt294_x0704_y0192_side0640_street-centre-vehicles");
const QString kTreeSky = QStringLiteral("crop640_frankfurt576_x0824_y0000_side0800_tree-sky-buildings");
const QString kWideCentre = QStringLiteral("crop640_frankfurt294_x0512_y0000_side1024_wide-centre");

// Cityscapes class indices of the model card (checked against model.json in initTestCase).
enum Class { Road = 0, Sidewalk = 1, Building = 2, Vegetation = 8, Sky = 10, Car = 13, Void = 19 };
constexpr int kClasses = 20;

struct Run {
    bool finished = false;  // false: did not start, crashed, or ran past the hang guard
    int exitCode = -1;
    QString out, err;
};

// A composition.csv or errors.csv read back: header plus rows keyed by file name (the
// image column holds the input path as given; file names are unique in every test here).
struct Table {
    QStringList header;
    std::map<QString, QStringList> rows;
    int rowCount = 0;
};

Table readTable(const QString &path)
{
    Table t;
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return t;
    const std::vector<QStringList> all = Csv::parse(f.readAll());
    if (all.empty())
        return t;
    t.header = all.front();
    for (size_t i = 1; i < all.size(); ++i) {
        t.rows[QFileInfo(all[i].value(0)).fileName()] = all[i];
        ++t.rowCount;
    }
    return t;
}

QJsonObject readJson(const QString &path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    return QJsonDocument::fromJson(f.readAll()).object();
}

cv::Mat readLabels(const QString &path)
{
    return cv::imread(QFile::encodeName(path).toStdString(), cv::IMREAD_UNCHANGED);
}

// Pixels per class inside a region of an 8-bit label map.
std::array<int, 256> histogram(const cv::Mat &labels, const cv::Rect &region)
{
    std::array<int, 256> h{};
    const cv::Mat roi = labels(region);
    for (int y = 0; y < roi.rows; ++y)
        for (int x = 0; x < roi.cols; ++x)
            ++h[roi.at<uchar>(y, x)];
    return h;
}

int mostFrequent(const std::array<int, 256> &h)
{
    return int(std::max_element(h.begin(), h.end()) - h.begin());
}

QString describe(const std::array<int, 256> &h)
{
    QStringList parts;
    for (int k = 0; k < kClasses; ++k)
        if (h[size_t(k)])
            parts << QStringLiteral("%1:%2").arg(k).arg(h[size_t(k)]);
    return parts.join(QLatin1Char(' '));
}

// Every file under dir, as paths relative to it (hidden and temporary files included).
QStringList filesUnder(const QString &dir)
{
    QStringList files;
    QDirIterator it(dir, QDir::Files | QDir::Hidden | QDir::System | QDir::NoDotAndDotDot, QDirIterator::Subdirectories);
    while (it.hasNext())
        files << QDir(dir).relativeFilePath(it.next());
    files.sort();
    return files;
}

int dataRows(const QString &csvPath)
{
    QFile f(csvPath);
    if (!f.open(QIODevice::ReadOnly))
        return 0;
    return std::max(0, int(f.readAll().count('\n')) - 1);
}

} // namespace

class TestSegmentCli : public QObject {
    Q_OBJECT

private:
    QString m_cli;
    QString m_model;
    QString m_streets;
    QJsonObject m_card;
    QTemporaryDir m_tmp;
    QElapsedTimer m_clock;

    QString tmp(const QString &name) const { return m_tmp.filePath(name); }
    QString photo(const QString &stem) const { return m_streets + QLatin1Char('/') + stem + QStringLiteral(".jpg"); }

    // The CLI's environment. OMP_WAIT_POLICY=passive: on a busy 2-core machine LibTorch's
    // OpenMP threads spinning in the main thread make --mode sequential ~6x slower per
    // window than the pipelined engine's worker thread (measured 7.8 s vs 1.3 s for the
    // same 4 windows); passive waiting removes that without changing any number computed.
    static void prepare(QProcess &p)
    {
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        if (!env.contains(QStringLiteral("OMP_WAIT_POLICY")))
            env.insert(QStringLiteral("OMP_WAIT_POLICY"), QStringLiteral("passive"));
        p.setProcessEnvironment(env);
    }

    // Runs `segscale segment ARGS`; the long wait only guards against a hang.
    Run segment(const QStringList &args, int hangGuardMs = 240000) const
    {
        QProcess p;
        prepare(p);
        p.start(m_cli, QStringList{QStringLiteral("segment")} + args);
        Run r;
        if (!p.waitForStarted(20000))
            return r;
        if (!p.waitForFinished(hangGuardMs)) {
            p.kill();
            p.waitForFinished();
        } else {
            r.finished = p.exitStatus() == QProcess::NormalExit;
        }
        r.exitCode = p.exitCode();
        r.out = QString::fromUtf8(p.readAllStandardOutput());
        r.err = QString::fromUtf8(p.readAllStandardError());
        return r;
    }

    QStringList modelArgs() const { return {QStringLiteral("--model"), m_model}; }

    // Writes a copy of the card with changes into a folder of its own.
    QString writeCard(const QString &folder, const QJsonObject &card) const
    {
        const QString dir = tmp(folder);
        QDir().mkpath(dir);
        QFile f(dir + QStringLiteral("/model.json"));
        if (f.open(QIODevice::WriteOnly))
            f.write(QJsonDocument(card).toJson());
        return dir;
    }

    // Checks the label maps and composition.csv of a folder against each other: every row
    // has its 8-bit label map of the row's size, values < 20, and the row's fractions are
    // the map's class counts (rounded to 6 decimals), summing to 1.
    void checkLabelsMatchComposition(const QString &out, const Table &composition)
    {
        for (const auto &[name, row] : composition.rows) {
            QCOMPARE(row.size(), 3 + kClasses);
            const cv::Mat labels = readLabels(out + QStringLiteral("/labels/") + QFileInfo(name).completeBaseName() + QStringLiteral(".png"));
            QVERIFY2(!labels.empty(), qPrintable(name));
            QCOMPARE(labels.type(), CV_8UC1);
            QCOMPARE(labels.cols, row[1].toInt());
            QCOMPARE(labels.rows, row[2].toInt());
            const auto h = histogram(labels, cv::Rect(0, 0, labels.cols, labels.rows));
            for (size_t k = kClasses; k < h.size(); ++k)
                QVERIFY2(h[k] == 0, qPrintable(QStringLiteral("%1 has label %2").arg(name).arg(k)));
            double sum = 0;
            const double pixels = double(labels.cols) * labels.rows;
            for (int k = 0; k < kClasses; ++k) {
                bool ok = false;
                const double fraction = row[3 + k].toDouble(&ok);
                QVERIFY(ok);
                QCOMPARE(row[3 + k], QString::number(fraction, 'f', 6));
                QVERIFY2(qAbs(fraction - h[size_t(k)] / pixels) <= 5.01e-7,
                         qPrintable(QStringLiteral("%1 class %2: %3 in the CSV, %4 in the label map").arg(name).arg(k).arg(row[3 + k]).arg(h[size_t(k)] / pixels)));
                sum += fraction;
            }
            QVERIFY2(qAbs(sum - 1.0) <= 2e-5, qPrintable(QStringLiteral("%1 fractions sum to %2").arg(name).arg(sum, 0, 'f', 7)));
        }
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_tmp.isValid());
        m_cli = qEnvironmentVariable("SEGSCALE_CLI");
        QVERIFY2(!m_cli.isEmpty() && QFile::exists(m_cli), "SEGSCALE_CLI must name the segscale executable (ctest sets it)");
        const QString shared = qEnvironmentVariable("SEGSCALE_SHARED_DIR");
        m_model = shared + QStringLiteral("/models/espnet-cityscapes");
        m_streets = shared + QStringLiteral("/samples/streets");
        if (shared.isEmpty() || !QFile::exists(m_model + QStringLiteral("/model.json")))
            QSKIP("SEGSCALE_SHARED_DIR/models/espnet-cityscapes is absent: the segment CLI is not tested with a real model");
        if (!QFile::exists(photo(kStreetCentre)) || !QFile::exists(photo(kTreeSky)) || !QFile::exists(photo(kWideCentre)))
            QSKIP("SEGSCALE_SHARED_DIR/samples/streets lacks the 640x640 crops: the segment CLI is not tested");
        m_card = readJson(m_model + QStringLiteral("/model.json"));
        QCOMPARE(m_card[QStringLiteral("num_classes")].toInt(), kClasses);
        const QJsonArray classes = m_card[QStringLiteral("classes")].toArray();
        QCOMPARE(classes[Road].toString(), QStringLiteral("road"));
        QCOMPARE(classes[Building].toString(), QStringLiteral("building"));
        QCOMPARE(classes[Vegetation].toString(), QStringLiteral("vegetation"));
        QCOMPARE(classes[Sky].toString(), QStringLiteral("sky"));
        QCOMPARE(classes[Car].toString(), QStringLiteral("car"));
        QCOMPARE(classes[Void].toString(), QStringLiteral("void"));
    }

    void init() { m_clock.start(); }
    void cleanup()
    {
        const char *tag = QTest::currentDataTag();
        qInfo("%s(%s): %.1f s wall", QTest::currentTestFunction(), tag ? tag : "", double(m_clock.elapsed()) / 1000.0);
    }

    void realStreetPhotos()
    {
        const QString out = tmp(QStringLiteral("real"));
        const QString statsPath = tmp(QStringLiteral("real-stats.json"));
        // Two scales of one 512 window each per 640x640 crop: 6 windows, batched 4 at a time
        // (the CPU default is 1) so that the batch statistics are exercised.
        const Run r = segment(modelArgs() + QStringList{QStringLiteral("--scales"), QStringLiteral("0.75,1"), QStringLiteral("--base-size"),
                                                        QStringLiteral("512"), QStringLiteral("--crop"), QStringLiteral("512"), QStringLiteral("--no-flip"),
                                                        QStringLiteral("--batch"), QStringLiteral("4"),
                                                        QStringLiteral("--overlays"), QStringLiteral("--stats-json"), statsPath,
                                                        QStringLiteral("--out"), out, photo(kStreetCentre), photo(kTreeSky), photo(kWideCentre)});
        QVERIFY2(r.finished, qPrintable(r.err));
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QVERIFY2(r.err.startsWith(QStringLiteral("model: espnet-cityscapes")) || r.err.contains(QStringLiteral("\nmodel: espnet-cityscapes")),
                 qPrintable(r.err));
        QVERIFY2(!r.err.contains(QStringLiteral("UNTRAINED")), qPrintable(r.err));

        // composition.csv: the contract's header, one row per photo, fractions = labels.
        const Table composition = readTable(out + QStringLiteral("/composition.csv"));
        QStringList header{QStringLiteral("image"), QStringLiteral("width"), QStringLiteral("height")};
        for (const auto &c : m_card[QStringLiteral("classes")].toArray())
            header << c.toString();
        QCOMPARE(composition.header, header);
        QCOMPARE(composition.rowCount, 3);
        for (const QString &stem : {kStreetCentre, kTreeSky, kWideCentre}) {
            const QString name = stem + QStringLiteral(".jpg");
            QVERIFY2(composition.rows.count(name), qPrintable(name));
            QCOMPARE(composition.rows.at(name).value(1), QStringLiteral("640"));
            QCOMPARE(composition.rows.at(name).value(2), QStringLiteral("640"));
        }
        checkLabelsMatchComposition(out, composition);
        if (QTest::currentTestFailed())
            return;
        QCOMPARE(readTable(out + QStringLiteral("/errors.csv")).header,
                 (QStringList{QStringLiteral("image"), QStringLiteral("category"), QStringLiteral("message")}));
        QCOMPARE(readTable(out + QStringLiteral("/errors.csv")).rowCount, 0);

        std::map<QString, cv::Mat> labels;
        for (const QString &stem : {kStreetCentre, kTreeSky, kWideCentre}) {
            labels[stem] = readLabels(out + QStringLiteral("/labels/") + stem + QStringLiteral(".png"));
            // A street scene: not a constant map, at least four classes over 1% each.
            const auto all = histogram(labels[stem], cv::Rect(0, 0, 640, 640));
            QVERIFY2(std::count_if(all.begin(), all.end(), [](int n) { return n > 640 * 640 / 100; }) >= 4,
                     qPrintable(stem + QStringLiteral(": ") + describe(all)));
        }

        // What the photos show. Street-centre: the road fills the bottom of the picture,
        // and no sky is down there; its top shows no road.
        {
            const cv::Mat &m = labels[kStreetCentre];
            const auto bottom = histogram(m, cv::Rect(0, 640 - 96, 640, 96));
            QVERIFY2(mostFrequent(bottom) == Road, qPrintable(QStringLiteral("bottom 15%: ") + describe(bottom)));
            QVERIFY2(bottom[Road] > 96 * 640 / 2, qPrintable(QStringLiteral("bottom 15%: ") + describe(bottom)));
            QVERIFY2(bottom[Sky] == 0, qPrintable(QStringLiteral("bottom 15%: ") + describe(bottom)));
            const auto top = histogram(m, cv::Rect(0, 0, 640, 64));
            QVERIFY2(top[Road] == 0, qPrintable(QStringLiteral("top 10%: ") + describe(top)));
        }
        // Tree-sky-buildings: its top rows are the big tree and buildings (its patch of sky,
        // top left, the model calls void), never road; the tree stands left of centre; the
        // bottom rows are road, never sky.
        {
            const cv::Mat &m = labels[kTreeSky];
            const auto top = histogram(m, cv::Rect(0, 0, 640, 64));
            QVERIFY2(top[Road] == 0 && top[Sidewalk] == 0 && top[Car] == 0, qPrintable(QStringLiteral("top 10%: ") + describe(top)));
            QVERIFY2(top[Sky] + top[Vegetation] + top[Building] >= 64 * 640 * 2 / 3, qPrintable(QStringLiteral("top 10%: ") + describe(top)));
            const auto tree = histogram(m, cv::Rect(160, 0, 160, 64));
            QVERIFY2(mostFrequent(tree) == Vegetation, qPrintable(QStringLiteral("top, second quarter: ") + describe(tree)));
            const auto bottom = histogram(m, cv::Rect(0, 640 - 96, 640, 96));
            QVERIFY2(mostFrequent(bottom) == Road && bottom[Sky] == 0, qPrintable(QStringLiteral("bottom 15%: ") + describe(bottom)));
        }
        // Wide-centre: sky between the houses at the top centre, none in the lower half;
        // the bottom rows are the camera car's bonnet, which Cityscapes labels void.
        {
            const cv::Mat &m = labels[kWideCentre];
            const auto topCentre = histogram(m, cv::Rect(160, 0, 320, 64));
            QVERIFY2(mostFrequent(topCentre) == Sky, qPrintable(QStringLiteral("top centre: ") + describe(topCentre)));
            const auto lowerHalf = histogram(m, cv::Rect(0, 320, 640, 320));
            QVERIFY2(lowerHalf[Sky] == 0 && mostFrequent(lowerHalf) == Road, qPrintable(QStringLiteral("lower half: ") + describe(lowerHalf)));
            const auto bonnet = histogram(m, cv::Rect(0, 640 - 64, 640, 64));
            QVERIFY2(mostFrequent(bonnet) == Void, qPrintable(QStringLiteral("bottom 10%: ") + describe(bonnet)));
        }

        // Overlays: 640x640 JPEGs that are the photo blended 50% with the label colours.
        const QJsonArray palette = m_card[QStringLiteral("palette")].toArray();
        for (const QString &stem : {kStreetCentre, kTreeSky, kWideCentre}) {
            const QString path = out + QStringLiteral("/overlays/") + stem + QStringLiteral(".jpg");
            QFile f(path);
            QVERIFY2(f.open(QIODevice::ReadOnly), qPrintable(path));
            QVERIFY(f.read(3) == QByteArray("\xFF\xD8\xFF", 3));
            const cv::Mat overlay = cv::imread(QFile::encodeName(path).toStdString(), cv::IMREAD_COLOR);
            const cv::Mat original = cv::imread(QFile::encodeName(photo(stem)).toStdString(), cv::IMREAD_COLOR);
            QCOMPARE(overlay.cols, 640);
            QCOMPARE(overlay.rows, 640);
            QVERIFY(original.size() == overlay.size());
            const cv::Mat &m = labels[stem];
            double diff = 0;
            for (int y = 0; y < 640; ++y)
                for (int x = 0; x < 640; ++x) {
                    const QJsonArray rgb = palette[m.at<uchar>(y, x)].toArray();
                    const cv::Vec3b p = original.at<cv::Vec3b>(y, x);
                    const cv::Vec3b o = overlay.at<cv::Vec3b>(y, x);
                    for (int c = 0; c < 3; ++c)
                        diff += qAbs((p[c] + rgb[2 - c].toInt() + 1) / 2 - int(o[c]));
                }
            diff /= 640.0 * 640.0 * 3.0;
            QVERIFY2(diff < 6.0, qPrintable(QStringLiteral("%1: overlay differs from photo+palette by %2 on average").arg(stem).arg(diff)));
        }
        QCOMPARE(QDir(out + QStringLiteral("/labels")).entryList(QDir::Files).size(), 3);
        QCOMPARE(QDir(out + QStringLiteral("/overlays")).entryList(QDir::Files).size(), 3);

        // run.json names the model and says the run is complete.
        const QJsonObject run = readJson(out + QStringLiteral("/run.json"));
        QCOMPARE(run[QStringLiteral("model")][QStringLiteral("name")].toString(), QStringLiteral("espnet-cityscapes"));
        QCOMPARE(run[QStringLiteral("model")][QStringLiteral("untrained")].toBool(true), false);
        QCOMPARE(run[QStringLiteral("complete")].toBool(false), true);
        QCOMPARE(run[QStringLiteral("images")].toInt(), 3);
        QCOMPARE(run[QStringLiteral("done")].toInt(), 3);
        QCOMPARE(run[QStringLiteral("failed")].toInt(-1), 0);
        QCOMPARE(run[QStringLiteral("settings")][QStringLiteral("base_size")].toInt(), 512);
        QCOMPARE(run[QStringLiteral("settings")][QStringLiteral("scales")].toArray(), (QJsonArray{0.75, 1.0}));

        // Statistics: windows batched, memory measured, queues within their bounds.
        const QJsonObject stats = readJson(statsPath);
        QCOMPARE(stats[QStringLiteral("mode")].toString(), QStringLiteral("pipelined"));
        QCOMPARE(stats[QStringLiteral("images_done")].toInt(), 3);
        QCOMPARE(stats[QStringLiteral("images_failed")].toInt(-1), 0);
        QCOMPARE(stats[QStringLiteral("windows")].toInt(), 6);
        QVERIFY2(stats[QStringLiteral("windows_per_forward")].toDouble() > 1.0, QJsonDocument(stats).toJson().constData());
        QVERIFY(stats[QStringLiteral("forward_passes")].toInt() < 6);
        QVERIFY(stats[QStringLiteral("peak_rss_kib")].toInteger() > 0);
        const QJsonObject queues = stats[QStringLiteral("queues")].toObject();
        QVERIFY(!queues.isEmpty());
        for (auto it = queues.begin(); it != queues.end(); ++it) {
            const QJsonObject q = it.value().toObject();
            QVERIFY2(q[QStringLiteral("capacity")].toInt() > 0, qPrintable(it.key()));
            QVERIFY2(q[QStringLiteral("high_water")].toInt(-1) >= 0, qPrintable(it.key()));
            QVERIFY2(q[QStringLiteral("high_water")].toInt() <= q[QStringLiteral("capacity")].toInt(), qPrintable(it.key()));
        }
    }

    void badInputFolder()
    {
        const QString in = tmp(QStringLiteral("bad/in"));
        const QList<SegScale::Tests::BadInput> inputs = BadInputs::write(in, BadInputs::sampleJpeg());
        const cv::Mat good = BadInputs::decode(BadInputs::sampleJpeg());
        QVERIFY(!good.empty());
        QSet<QString> goodNames, badNames;
        for (const auto &i : inputs)
            (i.expected ? badNames : goodNames).insert(i.fileName);
        const QStringList small{QStringLiteral("--scales"), QStringLiteral("1"), QStringLiteral("--base-size"), QStringLiteral("256"),
                                QStringLiteral("--crop"), QStringLiteral("256"), QStringLiteral("--no-flip")};

        for (const bool acceptDamaged : {false, true}) {
            const QString out = tmp(acceptDamaged ? QStringLiteral("bad/out-accept") : QStringLiteral("bad/out"));
            QStringList args = modelArgs() + small + QStringList{QStringLiteral("--out"), out, in};
            if (acceptDamaged)
                args << QStringLiteral("--accept-damaged");
            const Run r = segment(args);
            QVERIFY2(r.finished, qPrintable(r.err));
            QVERIFY2(r.exitCode == 3, qPrintable(QStringLiteral("exit %1\n%2").arg(r.exitCode).arg(r.err)));

            QSet<QString> expectDone = goodNames;
            if (acceptDamaged)
                expectDone << QStringLiteral("truncated.jpg");
            const Table errors = readTable(out + QStringLiteral("/errors.csv"));
            const Table composition = readTable(out + QStringLiteral("/composition.csv"));
            QSet<QString> failedNames, doneNames;
            for (const auto &[name, row] : errors.rows)
                failedNames << name;
            for (const auto &[name, row] : composition.rows)
                doneNames << name;
            QCOMPARE(errors.rowCount, int(failedNames.size()));  // nobody twice
            QCOMPARE(composition.rowCount, int(doneNames.size()));
            QVERIFY2(!failedNames.intersects(doneNames), qPrintable(QStringList(failedNames.values()).join(QLatin1Char(' '))));

            QSet<QString> expectFailed = badNames - expectDone;
            if (acceptDamaged) {
                // Other damaged files the decoder can partly read may be segmented too; the
                // rest must still fail with their category.
                for (const QString &name : {QStringLiteral("garbled.jpg"), QStringLiteral("truncated-idat.png"), QStringLiteral("bad-crc.png")})
                    if (doneNames.contains(name)) {
                        expectFailed.remove(name);
                        expectDone << name;
                    }
                QStringList done = expectDone.values();
                done.sort();
                qInfo("with --accept-damaged done: %s", qPrintable(done.join(QLatin1Char(' '))));
            }
            QCOMPARE(doneNames, expectDone);
            QCOMPARE(failedNames, expectFailed);
            for (const auto &i : inputs) {
                if (!expectFailed.contains(i.fileName))
                    continue;
                const QStringList &row = errors.rows.at(i.fileName);
                QCOMPARE(row.size(), 3);
                QVERIFY2(row[1] == SegScale::categoryName(*i.expected),
                         qPrintable(QStringLiteral("%1: %2, expected %3 (%4)").arg(i.fileName, row[1], SegScale::categoryName(*i.expected), row[2])));
                QVERIFY2(row[2].contains(i.fileName), qPrintable(QStringLiteral("%1: the message does not name the file: %2").arg(i.fileName, row[2])));
            }
            // Labels for exactly the images done; good.jpg and good.png share a stem, so
            // both are kept under distinct names.
            checkLabelsMatchComposition(out, composition);
            if (QTest::currentTestFailed())
                return;
            const QStringList labelFiles = QDir(out + QStringLiteral("/labels")).entryList(QDir::Files);
            QCOMPARE(labelFiles.size(), int(expectDone.size()));
            QCOMPARE(composition.rows.at(QStringLiteral("good.jpg"))[1].toInt(), good.cols);
            QCOMPARE(composition.rows.at(QStringLiteral("good.png"))[2].toInt(), good.rows);
            const QJsonObject run = readJson(out + QStringLiteral("/run.json"));
            QCOMPARE(run[QStringLiteral("complete")].toBool(false), true);
            QCOMPARE(run[QStringLiteral("done")].toInt(), int(expectDone.size()));
            QCOMPARE(run[QStringLiteral("failed")].toInt(), int(expectFailed.size()));
            QVERIFY2(r.err.contains(QStringLiteral("%1 done, %2 failed").arg(expectDone.size()).arg(expectFailed.size())), qPrintable(r.err));
        }
    }

    void unusableModel()
    {
        const QStringList small{QStringLiteral("--scales"), QStringLiteral("1"), QStringLiteral("--base-size"), QStringLiteral("256"),
                                QStringLiteral("--crop"), QStringLiteral("256"), QStringLiteral("--no-flip")};
        const QString input = photo(kStreetCentre);
        auto expectRefused = [&](const QString &what, const QStringList &args, const QStringList &inStderr) {
            const QString out = tmp(QStringLiteral("refused-") + what);
            const Run r = segment(args + QStringList{QStringLiteral("--out"), out, input});
            QVERIFY2(r.finished, qPrintable(what + QStringLiteral(": ") + r.err));
            QVERIFY2(r.exitCode == 2, qPrintable(QStringLiteral("%1: exit %2\n%3").arg(what).arg(r.exitCode).arg(r.err)));
            for (const QString &text : inStderr)
                QVERIFY2(r.err.contains(text), qPrintable(QStringLiteral("%1: stderr lacks \"%2\":\n%3").arg(what, text, r.err)));
            QVERIFY2(!QFileInfo::exists(out), qPrintable(what + QStringLiteral(": the output folder was created")));
        };

        // (a) no such model folder
        const QString nowhere = tmp(QStringLiteral("no-such-model"));
        expectRefused(QStringLiteral("missing"), QStringList{QStringLiteral("--model"), nowhere} + small, {nowhere});
        if (QTest::currentTestFailed())
            return;
        // (b) a card that is not JSON
        const QString broken = tmp(QStringLiteral("broken-card"));
        QDir().mkpath(broken);
        {
            QFile f(broken + QStringLiteral("/model.json"));
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write("{ \"name\": \"espnet-cityscapes\", \"architecture\": \"torchscript\", \"file\": ");
        }
        expectRefused(QStringLiteral("broken"), QStringList{QStringLiteral("--model"), broken} + small,
                      {QStringLiteral("does not parse"), broken + QStringLiteral("/model.json")});
        if (QTest::currentTestFailed())
            return;
        // (c) the real weights behind a card that claims 19 classes
        QJsonObject card19 = m_card;
        QJsonArray classes = card19[QStringLiteral("classes")].toArray();
        QJsonArray palette = card19[QStringLiteral("palette")].toArray();
        classes.removeLast();
        palette.removeLast();
        card19[QStringLiteral("classes")] = classes;
        card19[QStringLiteral("palette")] = palette;
        card19[QStringLiteral("num_classes")] = 19;
        card19[QStringLiteral("file")] = QString(m_model + QStringLiteral("/model.pt"));
        const QString dir19 = writeCard(QStringLiteral("card-19"), card19);
        expectRefused(QStringLiteral("19classes"), QStringList{QStringLiteral("--model"), dir19} + small,
                      {QStringLiteral("outputs 20 classes"), QStringLiteral("num_classes = 19")});
        if (QTest::currentTestFailed())
            return;
        // ... and the same through a symlink next to the card: the check is the probe's.
        card19[QStringLiteral("file")] = QStringLiteral("model.pt");
        const QString link19 = writeCard(QStringLiteral("card-19-link"), card19);
        QVERIFY(QFile::link(m_model + QStringLiteral("/model.pt"), link19 + QStringLiteral("/model.pt")));
        expectRefused(QStringLiteral("19classes-link"), QStringList{QStringLiteral("--model"), link19} + small,
                      {QStringLiteral("outputs 20 classes"), QStringLiteral("num_classes = 19")});
        if (QTest::currentTestFailed())
            return;

        // (d) bad usage
        {
            const Run r = segment(modelArgs() + small + QStringList{input});
            QVERIFY(r.finished);
            QVERIFY2(r.exitCode == 2, qPrintable(r.err));
            QVERIFY2(r.err.contains(QStringLiteral("--out")), qPrintable(r.err));
        }
        expectRefused(QStringLiteral("mode"), modelArgs() + small + QStringList{QStringLiteral("--mode"), QStringLiteral("fastest")},
                      {QStringLiteral("--mode"), QStringLiteral("fastest")});
        expectRefused(QStringLiteral("scales"), modelArgs() + QStringList{QStringLiteral("--scales"), QStringLiteral("abc")},
                      {QStringLiteral("--scales"), QStringLiteral("abc")});
        expectRefused(QStringLiteral("scales-zero"), modelArgs() + QStringList{QStringLiteral("--scales"), QStringLiteral("1,0")},
                      {QStringLiteral("--scales")});
        expectRefused(QStringLiteral("crop"), modelArgs() + small + QStringList{QStringLiteral("--crop"), QStringLiteral("0")},
                      {QStringLiteral("--crop")});
        expectRefused(QStringLiteral("flips"), modelArgs() + QStringList{QStringLiteral("--flip"), QStringLiteral("--no-flip")},
                      {QStringLiteral("--flip")});
        expectRefused(QStringLiteral("unknown-option"), modelArgs() + small + QStringList{QStringLiteral("--colour")},
                      {QStringLiteral("colour")});
        expectRefused(QStringLiteral("precision"), modelArgs() + small + QStringList{QStringLiteral("--precision"), QStringLiteral("fp8")},
                      {QStringLiteral("--precision"), QStringLiteral("fp8")});
        expectRefused(QStringLiteral("fp16-on-cpu"), modelArgs() + small + QStringList{QStringLiteral("--precision"), QStringLiteral("fp16")},
                      {QStringLiteral("fp16"), QStringLiteral("--device cuda")});
        expectRefused(QStringLiteral("graph"), modelArgs() + small + QStringList{QStringLiteral("--graph"), QStringLiteral("jit")},
                      {QStringLiteral("--graph"), QStringLiteral("jit")});
        expectRefused(QStringLiteral("combine"), modelArgs() + small + QStringList{QStringLiteral("--combine"), QStringLiteral("gpu")},
                      {QStringLiteral("--combine"), QStringLiteral("gpu")});
        expectRefused(QStringLiteral("device"), modelArgs() + small + QStringList{QStringLiteral("--device"), QStringLiteral("tpu")},
                      {QStringLiteral("tpu")});
        if (!qEnvironmentVariableIsSet("SEGSCALE_EXPECT_CUDA"))  // the CPU-only LibTorch says so plainly
            expectRefused(QStringLiteral("cuda"), modelArgs() + small + QStringList{QStringLiteral("--device"), QStringLiteral("cuda")},
                          {QStringLiteral("cuda"), QStringLiteral("no usable CUDA")});
        {
            const QString out = tmp(QStringLiteral("refused-noinput"));
            const Run r = segment(modelArgs() + small + QStringList{QStringLiteral("--out"), out, tmp(QStringLiteral("no-such-photo.jpg"))});
            QVERIFY(r.finished);
            QVERIFY2(r.exitCode == 2, qPrintable(r.err));
            QVERIFY2(r.err.contains(QStringLiteral("no-such-photo.jpg")), qPrintable(r.err));
            QVERIFY(!QFileInfo::exists(out));
        }
    }

    // --memory-budget reaches the engine: a picture that needs more than the whole budget
    // fails alone as too-large, with the numbers, and the other is segmented. With this
    // model (20 classes) at scale 1, base size 256: the 640x640 photo needs about 15 MiB,
    // the same photo enlarged to 1600x1200 about 45 MiB (mostly its pixels).
    void memoryBudget()
    {
        const QStringList small{QStringLiteral("--scales"), QStringLiteral("1"), QStringLiteral("--base-size"), QStringLiteral("256"),
                                QStringLiteral("--crop"), QStringLiteral("256"), QStringLiteral("--no-flip")};
        const QString in = tmp(QStringLiteral("budget/in"));
        QVERIFY(QDir().mkpath(in));
        QVERIFY(QFile::copy(photo(kStreetCentre), in + QStringLiteral("/small.jpg")));
        cv::Mat big;
        cv::resize(cv::imread(photo(kStreetCentre).toStdString()), big, cv::Size(1600, 1200), 0, 0, cv::INTER_LINEAR);
        QVERIFY(cv::imwrite(QString(in + QStringLiteral("/big.png")).toStdString(), big));

        const QString out = tmp(QStringLiteral("budget/out"));
        const Run r = segment(modelArgs() + small + QStringList{QStringLiteral("--memory-budget"), QStringLiteral("25M"), QStringLiteral("--out"), out, in});
        QVERIFY2(r.finished, qPrintable(r.err));
        QVERIFY2(r.exitCode == 3, qPrintable(QStringLiteral("exit %1\n%2").arg(r.exitCode).arg(r.err)));
        const Table errors = readTable(out + QStringLiteral("/errors.csv"));
        const Table composition = readTable(out + QStringLiteral("/composition.csv"));
        QCOMPARE(errors.rowCount, 1);
        QCOMPARE(composition.rowCount, 1);
        QVERIFY(composition.rows.count(QStringLiteral("small.jpg")));
        const QStringList &row = errors.rows.at(QStringLiteral("big.png"));
        QCOMPARE(row[1], QStringLiteral("too-large"));
        QVERIFY2(row[2].contains(QStringLiteral("1600x1200")) && row[2].contains(QStringLiteral("memory budget of 25 MiB")), qPrintable(row[2]));

        const Run bad = segment(modelArgs() + small + QStringList{QStringLiteral("--memory-budget"), QStringLiteral("lots"), QStringLiteral("--out"),
                                                                  tmp(QStringLiteral("budget/refused")), in});
        QVERIFY(bad.finished);
        QVERIFY2(bad.exitCode == 2 && bad.err.contains(QStringLiteral("--memory-budget")), qPrintable(bad.err));
    }

    void sequentialEqualsPipelined_data()
    {
        // Small windows keep this affordable on a CPU while still covering what differs
        // between the schedules: overlapping windows, padding (levels smaller than the
        // crop), several levels and flips in one batch.
        QTest::addColumn<QString>("scales");
        QTest::addColumn<QString>("baseSize");
        QTest::addColumn<QString>("flip");
        QTest::addColumn<int>("windows");  // per 640 x 640 image
        QTest::newRow("1 scale") << QStringLiteral("1") << QStringLiteral("384") << QStringLiteral("--no-flip") << 4;
        // 160 and 240 pixels: padded; 320: 2 x 2 windows; 400: 2 x 2 windows.
        QTest::newRow("4 scales, flip") << QStringLiteral("0.5,0.75,1,1.25") << QStringLiteral("320") << QStringLiteral("--flip") << 1 + 1 + 4 + 4;
    }

    void sequentialEqualsPipelined()
    {
        QFETCH(QString, scales);
        QFETCH(QString, baseSize);
        QFETCH(QString, flip);
        QFETCH(int, windows);
        const QString tag = QString::fromLatin1(QTest::currentDataTag()).replace(QLatin1Char(' '), QLatin1Char('-')).remove(QLatin1Char(','));
        const QStringList common = modelArgs() + QStringList{QStringLiteral("--scales"), scales, QStringLiteral("--base-size"), baseSize,
                                                             QStringLiteral("--crop"), QStringLiteral("256"), flip};
        const QStringList inputs{photo(kStreetCentre), photo(kTreeSky)};
        const QString seqOut = tmp(QStringLiteral("seq-") + tag);
        const QString pipOut = tmp(QStringLiteral("pip-") + tag);
        // The optimised graph on both sides: only the schedule differs here (the original
        // graph, the sequential default, is compared in originalGraphAgrees).
        const Run seq = segment(common + QStringList{QStringLiteral("--mode"), QStringLiteral("sequential"), QStringLiteral("--graph"),
                                                     QStringLiteral("optimized"), QStringLiteral("--stats-json"),
                                                     seqOut + QStringLiteral("-stats.json"), QStringLiteral("--out"), seqOut} + inputs);
        QVERIFY2(seq.finished && seq.exitCode == 0, qPrintable(seq.err));
        // Default batch on the CPU (one window and its flip per forward pass, as the reference
        // does): oneDNN picks batch-size-dependent kernels, so larger batches may move a
        // near-tie pixel; with the default the schedules must agree bit for bit.
        const Run pip = segment(common + QStringList{QStringLiteral("--mode"), QStringLiteral("pipelined"),
                                                     QStringLiteral("--stats-json"), pipOut + QStringLiteral("-stats.json"), QStringLiteral("--out"), pipOut} + inputs);
        QVERIFY2(pip.finished && pip.exitCode == 0, qPrintable(pip.err));

        const QJsonObject seqStats = readJson(seqOut + QStringLiteral("-stats.json"));
        const QJsonObject pipStats = readJson(pipOut + QStringLiteral("-stats.json"));
        QCOMPARE(seqStats[QStringLiteral("mode")].toString(), QStringLiteral("sequential"));
        QCOMPARE(pipStats[QStringLiteral("mode")].toString(), QStringLiteral("pipelined"));
        QCOMPARE(seqStats[QStringLiteral("windows")].toInt(), pipStats[QStringLiteral("windows")].toInt());
        QCOMPARE(seqStats[QStringLiteral("windows")].toInt(), 2 * windows);
        QCOMPARE(seqStats[QStringLiteral("forward_passes")].toInt(), seqStats[QStringLiteral("windows")].toInt());

        const QStringList seqLabels = QDir(seqOut + QStringLiteral("/labels")).entryList(QDir::Files, QDir::Name);
        QCOMPARE(seqLabels.size(), 2);
        QCOMPARE(QDir(pipOut + QStringLiteral("/labels")).entryList(QDir::Files, QDir::Name), seqLabels);
        // The issue asks for identical labels, not DESIGN.md's "a handful of near-tie
        // pixels": every difference is listed before the test fails.
        QStringList differences;
        for (const QString &file : seqLabels) {
            const cv::Mat a = readLabels(seqOut + QStringLiteral("/labels/") + file);
            const cv::Mat b = readLabels(pipOut + QStringLiteral("/labels/") + file);
            QVERIFY(!a.empty() && !b.empty());
            QCOMPARE(a.type(), b.type());
            QVERIFY(a.size() == b.size());
            const int differ = cv::countNonZero(a != b);
            if (differ == 0)
                continue;
            QStringList where;
            for (int y = 0; y < a.rows && where.size() < 5; ++y)
                for (int x = 0; x < a.cols && where.size() < 5; ++x)
                    if (a.at<uchar>(y, x) != b.at<uchar>(y, x))
                        where << QStringLiteral("(%1,%2) %3 vs %4").arg(x).arg(y).arg(a.at<uchar>(y, x)).arg(b.at<uchar>(y, x));
            differences << QStringLiteral("%1: %2 of %3 pixels differ (sequential vs pipelined class at x,y: %4)")
                               .arg(file).arg(differ).arg(a.total()).arg(where.join(QStringLiteral(", ")));
        }
        auto rows = [](const QString &path) {
            QFile f(path);
            QSet<QByteArray> set;
            if (f.open(QIODevice::ReadOnly))
                for (const QByteArray &line : f.readAll().split('\n'))
                    if (!line.trimmed().isEmpty())
                        set << line.trimmed();  // CR LF or LF
            return set;
        };
        const QSet<QByteArray> seqRows = rows(seqOut + QStringLiteral("/composition.csv"));
        QCOMPARE(seqRows.size(), 3);  // header + 2
        const QSet<QByteArray> pipRows = rows(pipOut + QStringLiteral("/composition.csv"));
        QCOMPARE(pipRows.size(), 3);
        for (const QByteArray &row : pipRows - seqRows)
            differences << QStringLiteral("composition.csv: pipelined row %1 is not in the sequential run's").arg(QString::fromUtf8(row));
        QVERIFY2(differences.isEmpty(), qPrintable(differences.join(QLatin1Char('\n'))));
    }

    // The two things that may move near-tie pixels, each against the default pipelined
    // run: the sequential mode's original (unfrozen) graph, and the combine done with
    // LibTorch tensors (the CUDA path's arithmetic, run here on the CPU). Tolerance:
    // at most 0.01% of each image's pixels, DESIGN.md's "a handful of near-tie pixels".
    void originalGraphAndTensorCombineAgree()
    {
        const QStringList common = modelArgs() + QStringList{QStringLiteral("--scales"), QStringLiteral("0.5,1"), QStringLiteral("--base-size"),
                                                             QStringLiteral("320"), QStringLiteral("--crop"), QStringLiteral("256"),
                                                             QStringLiteral("--flip")};
        const QStringList inputs{photo(kStreetCentre), photo(kTreeSky)};
        struct Variant {
            QString name;
            QStringList args;
            QString settings;  // what the "settings:" line must say
        };
        const QList<Variant> variants{
            {QStringLiteral("pipelined"), {}, QStringLiteral("optimized graph, host combine")},
            {QStringLiteral("original"), {QStringLiteral("--mode"), QStringLiteral("sequential")}, QStringLiteral("original graph, host combine")},
            {QStringLiteral("tensor"), {QStringLiteral("--combine"), QStringLiteral("tensor")}, QStringLiteral("optimized graph, tensor combine")},
        };
        for (const Variant &v : variants) {
            const Run r = segment(common + v.args + QStringList{QStringLiteral("--out"), tmp(QStringLiteral("agree-") + v.name)} + inputs);
            QVERIFY2(r.finished && r.exitCode == 0, qPrintable(r.err));
            QVERIFY2(r.err.contains(v.settings), qPrintable(v.name + QStringLiteral(": ") + r.err));
        }
        const QStringList files = QDir(tmp(QStringLiteral("agree-pipelined")) + QStringLiteral("/labels")).entryList(QDir::Files, QDir::Name);
        QCOMPARE(files.size(), 2);
        for (const QString &other : {QStringLiteral("original"), QStringLiteral("tensor")}) {
            for (const QString &file : files) {
                const cv::Mat a = readLabels(tmp(QStringLiteral("agree-pipelined")) + QStringLiteral("/labels/") + file);
                const cv::Mat b = readLabels(tmp(QStringLiteral("agree-") + other) + QStringLiteral("/labels/") + file);
                QVERIFY(!a.empty() && !b.empty() && a.size() == b.size() && a.type() == b.type());
                const int differ = cv::countNonZero(a != b);
                qInfo("%s vs pipelined, %s: %d of %d pixels differ", qPrintable(other), qPrintable(file), differ, static_cast<int>(a.total()));
                QVERIFY2(differ <= static_cast<int>(a.total() / 10000),
                         qPrintable(QStringLiteral("%1: %2 pixels differ").arg(other).arg(differ)));
            }
        }
    }

    void cancellation_data()
    {
        QTest::addColumn<int>("interrupts");
        QTest::newRow("Ctrl-C once") << 1;
        QTest::newRow("Ctrl-C twice") << 2;
    }

    void cancellation()
    {
        QFETCH(int, interrupts);
        // More images than the engine holds in flight after a first Ctrl-C (fetch threads,
        // decoded queue, images in flight), so the interruption must show.
        const int total = 24;
        const QString tag = QString::number(interrupts);
        const QString in = tmp(QStringLiteral("cancel-in-") + tag);
        const QString out = tmp(QStringLiteral("cancel-out-") + tag);
        QVERIFY(QDir().mkpath(in));
        const QStringList crops = QDir(m_streets).entryList({QStringLiteral("crop640_*.jpg")}, QDir::Files, QDir::Name);
        QVERIFY(crops.size() >= 3);
        for (int i = 0; i < total; ++i)
            QVERIFY(QFile::copy(m_streets + QLatin1Char('/') + crops[i % crops.size()], in + QStringLiteral("/photo-%1.jpg").arg(i, 2, 10, QLatin1Char('0'))));

        QProcess p;
        prepare(p);
        p.start(m_cli, QStringList{QStringLiteral("segment")} + modelArgs() +
                           QStringList{QStringLiteral("--scales"), QStringLiteral("1"), QStringLiteral("--base-size"), QStringLiteral("320"),
                                       QStringLiteral("--crop"), QStringLiteral("320"), QStringLiteral("--no-flip"), QStringLiteral("--out"), out, in});
        QVERIFY(p.waitForStarted(20000));
        QString err;
        // Wait (hang guard only) until two images are done, then interrupt.
        QElapsedTimer guard;
        guard.start();
        int rowsAtSignal = 0;
        while ((rowsAtSignal = dataRows(out + QStringLiteral("/composition.csv"))) < 2) {
            QVERIFY2(!p.waitForFinished(50), qPrintable(QStringLiteral("finished before it could be interrupted:\n") + err +
                                                        QString::fromUtf8(p.readAllStandardError())));
            err += QString::fromUtf8(p.readAllStandardError());
            QVERIFY2(guard.elapsed() < 180000, qPrintable(QStringLiteral("no image done after 180 s:\n") + err));
        }
        QVERIFY2(rowsAtSignal < total, "every image was done before the signal");
        QCOMPARE(::kill(pid_t(p.processId()), SIGINT), 0);
        if (interrupts == 2) {
            // Two signals sent back to back may merge into one pending signal: send the
            // second once the first has been seen.
            while (!err.contains(QStringLiteral("interrupted"))) {
                QVERIFY2(!p.waitForFinished(20), qPrintable(err));
                err += QString::fromUtf8(p.readAllStandardError());
                QVERIFY2(guard.elapsed() < 240000, qPrintable(err));
            }
            QCOMPARE(::kill(pid_t(p.processId()), SIGINT), 0);
        }
        const bool ended = p.waitForFinished(120000);  // hang guard
        if (!ended) {
            p.kill();
            p.waitForFinished();
        }
        err += QString::fromUtf8(p.readAllStandardError());
        QVERIFY2(ended, qPrintable(QStringLiteral("still running after the interrupt:\n") + err));
        QVERIFY2(p.exitStatus() == QProcess::NormalExit, qPrintable(err));
        QVERIFY2(p.exitCode() == 130, qPrintable(QStringLiteral("exit %1\n%2").arg(p.exitCode()).arg(err)));
        QVERIFY2(err.contains(QStringLiteral("interrupted")), qPrintable(err));

        // Every row has its complete label map, every label map its row, and nothing else.
        const Table composition = readTable(out + QStringLiteral("/composition.csv"));
        qInfo("%d rows when interrupted, %d at the end, of %d images", rowsAtSignal, composition.rowCount, total);
        QVERIFY(composition.rowCount >= rowsAtSignal);
        QVERIFY2(composition.rowCount < total, "the interrupt did not stop the run early");
        checkLabelsMatchComposition(out, composition);
        if (QTest::currentTestFailed())
            return;
        QStringList expected{QStringLiteral("composition.csv"), QStringLiteral("errors.csv"), QStringLiteral("run.json")};
        for (const auto &[name, row] : composition.rows)
            expected << QStringLiteral("labels/") + QFileInfo(name).completeBaseName() + QStringLiteral(".png");
        expected.sort();
        QCOMPARE(filesUnder(out), expected);  // no temporaries, no label without its row
        QCOMPARE(readTable(out + QStringLiteral("/errors.csv")).rowCount, 0);  // interrupted is not failed

        const QJsonObject run = readJson(out + QStringLiteral("/run.json"));
        QCOMPARE(run[QStringLiteral("complete")].toBool(true), false);
        QCOMPARE(run[QStringLiteral("images")].toInt(), total);
        QCOMPARE(run[QStringLiteral("done")].toInt(), composition.rowCount);
        QCOMPARE(run[QStringLiteral("failed")].toInt(-1), 0);
    }

    void progress()
    {
        const QString in = tmp(QStringLiteral("progress-in"));
        const QString out = tmp(QStringLiteral("progress-out"));
        QVERIFY(QDir().mkpath(in));
        QVERIFY(QFile::copy(photo(kStreetCentre), in + QStringLiteral("/a.jpg")));
        QVERIFY(QFile::copy(photo(kTreeSky), in + QStringLiteral("/b.jpg")));
        {
            QFile f(in + QStringLiteral("/c.jpg"));
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write("not a photo\n");
        }
        const Run r = segment(modelArgs() + QStringList{QStringLiteral("--scales"), QStringLiteral("1"), QStringLiteral("--base-size"),
                                                        QStringLiteral("256"), QStringLiteral("--crop"), QStringLiteral("256"),
                                                        QStringLiteral("--no-flip"), QStringLiteral("--out"), out, in});
        QVERIFY(r.finished);
        QVERIFY2(r.exitCode == 3, qPrintable(r.err));
        QVERIFY2(r.out.isEmpty(), qPrintable(r.out));  // stdout stays clean for scripts

        const QStringList lines = r.err.split(QLatin1Char('\n'), Qt::SkipEmptyParts);
        QVERIFY2(lines.contains(QStringLiteral("images: 3")), qPrintable(r.err));
        static const QRegularExpression progressLine(QStringLiteral("^\\[(\\d+)/(\\d+)\\] "));
        int last = -1;
        QString lastLine;
        for (const QString &line : lines) {
            const auto m = progressLine.match(line);
            if (!m.hasMatch())
                continue;
            QCOMPARE(m.captured(2).toInt(), 3);
            QVERIFY2(m.captured(1).toInt() >= last && m.captured(1).toInt() <= 3, qPrintable(r.err));
            last = m.captured(1).toInt();
            lastLine = line;
        }
        QVERIFY2(last == 3, qPrintable(r.err));
        QVERIFY2(lastLine.contains(QStringLiteral("1 failed")), qPrintable(lastLine));
        static const QRegularExpression summary(QStringLiteral("^2 done, 1 failed in [0-9.]+ s \\([0-9.]+ images/s\\); results in (.+)$"));
        const auto done = std::find_if(lines.begin(), lines.end(), [](const QString &l) { return summary.match(l).hasMatch(); });
        QVERIFY2(done != lines.end(), qPrintable(r.err));
        QCOMPARE(QFileInfo(summary.match(*done).captured(1)).canonicalFilePath(), QFileInfo(out).canonicalFilePath());
        QVERIFY2(r.err.contains(QStringLiteral("failures are listed in")) && r.err.contains(QStringLiteral("errors.csv")), qPrintable(r.err));
    }
};

QTEST_GUILESS_MAIN(TestSegmentCli)
#include "tst_segmentcli.moc"

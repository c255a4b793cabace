// Hostile and damaged inputs through the real CLI ($SEGSCALE_CLI): what `model import`
// and `segment` guarantee (README, "Hostile files"). A checkpoint nesting 300,000 lists
// is refused with exit 2 naming the limit (it crashed before); weights changed after
// import are refused with exit 2 naming both hashes; damaged images fail alone with
// their category and a printable message in errors.csv. Uses generated files, plus the
// originals in ../shared/hostile and the real ESPNet model when ../shared is present
// (each test says when it skips).

#include "base/csv.h"
#include "common/badinputs.h"
#include "common/clirun.h"
#include "common/picklewriter.h"
#include "common/printablecheck.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

using namespace SegScale;
using SegScale::Testing::CliRun;
using SegScale::Testing::runCli;
using SegScale::Tests::BadInputs;
using SegScale::Tests::PickleWriter;

namespace {

constexpr int kExitUsage = 2;

QString sharedDir()
{
    return qEnvironmentVariable("SEGSCALE_SHARED_DIR");
}

CliRun cli(const QStringList &args, int timeoutMs = 300000)
{
    return runCli(qEnvironmentVariable("SEGSCALE_CLI"), args, timeoutMs);
}

bool writeFile(const QString &path, const QByteArray &bytes)
{
    QFile f(path);
    return f.open(QIODevice::WriteOnly | QIODevice::Truncate) && f.write(bytes) == bytes.size();
}

QByteArray readFile(const QString &path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

// The legacy checkpoint of ../shared/hostile/nested-300k-lists.pth.gz: magic, protocol
// 1001, sys info, then PROTO 2, `depth` + 1 EMPTY_LIST, `depth` APPEND, STOP.
QByteArray nestedListsCheckpoint(int depth)
{
    PickleWriter w;
    w.legacyPreamble();
    w.proto();
    w.op('}');
    w.stop();
    w.proto();
    w.bytes.append(QByteArray(depth + 1, ']'));
    w.bytes.append(QByteArray(depth, 'a'));
    w.stop();
    return w.bytes;
}

using SegScale::Tests::printable;

} // namespace

class TestHostileInputs : public QObject {
    Q_OBJECT

    QTemporaryDir m_tmp;

    QString espnetDir() const { return sharedDir() + QStringLiteral("/models/espnet-cityscapes"); }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_tmp.isValid());
        QVERIFY2(QFileInfo::exists(qEnvironmentVariable("SEGSCALE_CLI")), "SEGSCALE_CLI is not set");
    }

    void nestedCheckpointIsRefusedByImport()
    {
        QStringList files;
        const QString generated = m_tmp.filePath(QStringLiteral("nested-300k-lists.pth"));
        QVERIFY(writeFile(generated, nestedListsCheckpoint(300000)));
        files << generated;
        const QString gz = sharedDir() + QStringLiteral("/hostile/nested-300k-lists.pth.gz");
        if (QFileInfo::exists(gz)) {
            QProcess gunzip;
            gunzip.start(QStringLiteral("gzip"), {QStringLiteral("-dc"), gz});
            QVERIFY(gunzip.waitForFinished(60000));
            const QString original = m_tmp.filePath(QStringLiteral("shared-nested-300k-lists.pth"));
            QVERIFY(writeFile(original, gunzip.readAllStandardOutput()));
            files << original;
        } else {
            qInfo("%s is absent: only the generated equivalent is imported", qPrintable(gz));
        }
        for (const QString &file : files) {
            const QString out = m_tmp.filePath(QStringLiteral("x-") + QFileInfo(file).baseName());
            const CliRun r = cli({QStringLiteral("model"), QStringLiteral("import"), file, QStringLiteral("--arch"),
                                  QStringLiteral("espnet"), QStringLiteral("--classes"), QStringLiteral("cityscapes"),
                                  QStringLiteral("--out"), out});
            QVERIFY2(r.code == kExitUsage, qPrintable(QStringLiteral("exit %1: %2").arg(r.code).arg(r.err)));
            QVERIFY2(r.err.contains(QStringLiteral("nesting depth limit of 1000")), qPrintable(r.err));
            QVERIFY(!QFileInfo::exists(out));
        }
    }

    // `model import` records the weights' SHA-256 in the card; `segment` checks it on
    // every load: one flipped bit is refused (exit 2) with both hashes named.
    void weightsChangedAfterImportAreRefused()
    {
        const QString pth = espnetDir() + QStringLiteral("/espnet_p_2_q_8.pth");
        if (!QFileInfo::exists(pth))
            QSKIP("SEGSCALE_SHARED_DIR/models/espnet-cityscapes/espnet_p_2_q_8.pth is absent: no checkpoint to import");
        const QString model = m_tmp.filePath(QStringLiteral("imported"));
        const CliRun imported = cli({QStringLiteral("model"), QStringLiteral("import"), pth, QStringLiteral("--arch"),
                                     QStringLiteral("espnet"), QStringLiteral("--classes"), QStringLiteral("cityscapes"),
                                     QStringLiteral("--out"), model});
        QVERIFY2(imported.code == 0, qPrintable(imported.err));
        const QJsonObject card = QJsonDocument::fromJson(readFile(model + QStringLiteral("/model.json"))).object();
        const QString weights = model + QLatin1Char('/') + card[QStringLiteral("file")].toString();
        const QByteArray original = readFile(weights);
        const QString recorded = card[QStringLiteral("weights_sha256")].toString();
        QCOMPARE(recorded, QString::fromLatin1(QCryptographicHash::hash(original, QCryptographicHash::Sha256).toHex()));

        const QString image = m_tmp.filePath(QStringLiteral("street.jpg"));
        QVERIFY(writeFile(image, BadInputs::syntheticJpeg(160, 120)));
        const QStringList segment{QStringLiteral("segment"), QStringLiteral("--model"), model, QStringLiteral("--base-size"),
                                  QStringLiteral("128"), QStringLiteral("--crop"), QStringLiteral("128"), QStringLiteral("--no-flip"),
                                  QStringLiteral("--out"), m_tmp.filePath(QStringLiteral("out-ok")), image};
        const CliRun ok = cli(segment);
        QVERIFY2(ok.code == 0, qPrintable(ok.err));
        QVERIFY2(ok.err.contains(QStringLiteral("SHA-256 verified")), qPrintable(ok.err));

        QByteArray flipped = original;
        flipped[flipped.size() - 100] = static_cast<char>(flipped[flipped.size() - 100] ^ 0x10);  // a weight's bit
        QVERIFY(writeFile(weights, flipped));
        const QString actual = QString::fromLatin1(QCryptographicHash::hash(flipped, QCryptographicHash::Sha256).toHex());
        QStringList tampered = segment;
        tampered[tampered.indexOf(m_tmp.filePath(QStringLiteral("out-ok")))] = m_tmp.filePath(QStringLiteral("out-bad"));
        const CliRun refused = cli(tampered);
        QVERIFY2(refused.code == kExitUsage, qPrintable(QStringLiteral("exit %1: %2").arg(refused.code).arg(refused.err)));
        QVERIFY2(refused.err.contains(recorded) && refused.err.contains(actual), qPrintable(refused.err));
        const CliRun info = cli({QStringLiteral("model"), QStringLiteral("info"), model});
        QVERIFY2(info.code == 0 && info.out.contains(QStringLiteral("MISMATCH")), qPrintable(info.out + info.err));
    }

    // The shared TorchScript card records no hash: it still loads, and segment says the
    // weights are unverified.
    void cardWithoutHashLoadsUnverified()
    {
        if (!QFileInfo::exists(espnetDir() + QStringLiteral("/model.json")))
            QSKIP("SEGSCALE_SHARED_DIR/models/espnet-cityscapes is absent: no TorchScript model");
        const QString image = m_tmp.filePath(QStringLiteral("small.jpg"));
        QVERIFY(writeFile(image, BadInputs::syntheticJpeg(160, 120)));
        const CliRun r = cli({QStringLiteral("segment"), QStringLiteral("--model"), espnetDir(), QStringLiteral("--base-size"),
                              QStringLiteral("128"), QStringLiteral("--crop"), QStringLiteral("128"), QStringLiteral("--no-flip"),
                              QStringLiteral("--out"), m_tmp.filePath(QStringLiteral("out-unverified")), image});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QVERIFY2(r.err.contains(QStringLiteral("unverified")), qPrintable(r.err));
    }

    // Damaged images through `segment --accept-damaged`: each fails alone with its
    // category and a printable message, or is done; nothing crashes, nothing takes long.
    void hostileImagesFailAlone()
    {
        if (!QFileInfo::exists(espnetDir() + QStringLiteral("/model.json")))
            QSKIP("SEGSCALE_SHARED_DIR/models/espnet-cityscapes is absent: no model to segment with");
        const QString in = m_tmp.filePath(QStringLiteral("hostile-in"));
        QVERIFY(QDir().mkpath(in));
        const QByteArray small = BadInputs::syntheticJpeg(64, 48);
        const QByteArray jpeg = BadInputs::syntheticJpeg(160, 120);
        std::map<QString, QString> expected{
            {QStringLiteral("gen-header-10954.jpg"), QStringLiteral("corrupt")},
            {QStringLiteral("gen-duplicated-scan.jpg"), QString()},
            {QStringLiteral("gen-unknown-critical.png"), QStringLiteral("unsupported")},
            {QStringLiteral("gen-65535-wide.jpg"), QStringLiteral("too-large")},
            // A control byte in a file name: errors.csv keeps the name (it is the key)
            // but the message shows it escaped.
            {QStringLiteral("gen-\x1b[31mred.jpg"), QStringLiteral("unsupported")},
        };
        QVERIFY(writeFile(in + QStringLiteral("/gen-header-10954.jpg"), BadInputs::resizedHeaderJpeg(small, 10954, 10954)));
        QVERIFY(writeFile(in + QStringLiteral("/gen-duplicated-scan.jpg"), BadInputs::duplicatedScanJpeg(jpeg)));
        QVERIFY(writeFile(in + QStringLiteral("/gen-unknown-critical.png"),
                          BadInputs::unknownCriticalChunkPng(BadInputs::encode(BadInputs::decode(jpeg), ".png"))));
        QVERIFY(writeFile(in + QStringLiteral("/gen-65535-wide.jpg"), BadInputs::resizedHeaderJpeg(small, 65535, 8)));
        QVERIFY(writeFile(in + QStringLiteral("/gen-\x1b[31mred.jpg"), QByteArrayLiteral("<html><body>404</body></html>\n")));
        const QDir hostile(sharedDir() + QStringLiteral("/hostile"));
        if (hostile.exists()) {
            const std::map<QString, QString> shared{{QStringLiteral("jpeg-header-10954x10954.jpg"), QStringLiteral("corrupt")},
                                                    {QStringLiteral("jpeg-duplicated-scan.jpg"), QString()},
                                                    {QStringLiteral("png-unknown-critical-chunk.png"), QStringLiteral("unsupported")},
                                                    {QStringLiteral("jpeg-65535-wide.jpg"), QStringLiteral("too-large")}};
            for (const auto &[name, category] : shared) {
                QVERIFY(QFile::copy(hostile.filePath(name), in + QLatin1Char('/') + name));
                expected[name] = category;
            }
        } else {
            qInfo("SEGSCALE_SHARED_DIR/hostile is absent: only generated equivalents are segmented");
        }
        const QString out = m_tmp.filePath(QStringLiteral("hostile-out"));
        QElapsedTimer timer;
        timer.start();
        const CliRun r = cli({QStringLiteral("segment"), QStringLiteral("--model"), espnetDir(), QStringLiteral("--base-size"),
                              QStringLiteral("128"), QStringLiteral("--crop"), QStringLiteral("128"), QStringLiteral("--no-flip"),
                              QStringLiteral("--accept-damaged"), QStringLiteral("--include"), QStringLiteral("*"),
                              QStringLiteral("--out"), out, in});
        qInfo("segment over %d hostile files: exit %d in %lld ms", int(expected.size()), r.code, timer.elapsed());
        QVERIFY2(r.code == 3, qPrintable(QStringLiteral("exit %1: %2").arg(r.code).arg(r.err)));
        QVERIFY2(printable(r.err.split(QLatin1Char('\n')).join(QLatin1Char(' '))), qPrintable(r.err));
        const std::vector<QStringList> errors = Csv::parse(readFile(out + QStringLiteral("/errors.csv")));
        std::map<QString, QStringList> byName;
        for (size_t i = 1; i < errors.size(); ++i)
            byName[QFileInfo(errors[i].value(0)).fileName()] = errors[i];
        const QString composition = QString::fromUtf8(readFile(out + QStringLiteral("/composition.csv")));
        for (const auto &[name, category] : expected) {
            if (category.isEmpty()) {
                QVERIFY2(!byName.count(name) && composition.contains(name), qPrintable(name));
                continue;
            }
            QVERIFY2(byName.count(name), qPrintable(name + QStringLiteral(" is not in errors.csv")));
            QCOMPARE(byName[name].value(1), category);
            QVERIFY2(printable(byName[name].value(2)), qPrintable(byName[name].value(2)));
        }
    }
};

QTEST_GUILESS_MAIN(TestHostileInputs)
#include "tst_hostileinputs.moc"

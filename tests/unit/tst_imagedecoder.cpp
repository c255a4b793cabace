// ImageDecoder: every bad input fails with its category and a message naming the file,
// damage is never repaired in silence, good files decode exactly as cv::imdecode does,
// bombs are refused from the header, nothing reaches stderr, and threads do not interfere.

#include "common/badinputs.h"
#include "pipeline/imagedecoder.h"
#include "pipeline/jpegreader.h"
#include "pipeline/pngreader.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QFile>
#include <QTemporaryDir>
#include <QThreadPool>
#include <QtConcurrent/QtConcurrentMap>
#include <QtEndian>
#include <QtTest>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <cstdio>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace SegScale;
using namespace SegScale::Pipeline;
using SegScale::Tests::BadInput;
using SegScale::Tests::BadInputs;

Q_DECLARE_METATYPE(std::optional<SegScale::ErrorCategory>)

namespace {

bool identical(const cv::Mat &a, const cv::Mat &b)
{
    return a.size() == b.size() && a.type() == b.type() && !a.empty() && cv::norm(a, b, cv::NORM_INF) == 0;
}

QString describe(const Result<DecodedImage> &r)
{
    return r.ok() ? QStringLiteral("ok (damaged=%1)").arg(r->damaged) : r.error().toString();
}

// Sends file descriptor 2 into a file while alive; text() says what was written.
class StderrCapture {
public:
    StderrCapture()
    {
        std::fflush(stderr);
        m_saved = ::dup(2);
        m_file = std::tmpfile();
        ::dup2(::fileno(m_file), 2);
    }
    ~StderrCapture() { restore(); }
    QByteArray text()
    {
        restore();
        std::rewind(m_file);
        QByteArray out;
        char buf[4096];
        std::size_t n;
        while ((n = std::fread(buf, 1, sizeof buf, m_file)) > 0)
            out.append(buf, qsizetype(n));
        return out;
    }

private:
    void restore()
    {
        if (m_saved < 0)
            return;
        std::fflush(stderr);
        ::dup2(m_saved, 2);
        ::close(m_saved);
        m_saved = -1;
    }
    int m_saved = -1;
    std::FILE *m_file = nullptr;
};

// An APP1 EXIF segment with only the orientation tag, big-endian TIFF.
QByteArray withExifOrientation(const QByteArray &jpeg, int orientation)
{
    QByteArray tiff = QByteArrayLiteral("MM\x00\x2A\x00\x00\x00\x08"   // header, IFD0 at 8
                                        "\x00\x01"                     // one entry
                                        "\x01\x12\x00\x03\x00\x00\x00\x01" // orientation, SHORT, 1
                                        "\x00\x00\x00\x00"             // value (set below)
                                        "\x00\x00\x00\x00");           // no next IFD
    tiff[8 + 2 + 8 + 1] = char(orientation);
    const QByteArray payload = QByteArrayLiteral("Exif\x00\x00") + tiff;
    QByteArray segment = QByteArrayLiteral("\xFF\xE1\x00\x00") + payload;
    qToBigEndian(quint16(payload.size() + 2), segment.data() + 2);
    return jpeg.left(2) + segment + jpeg.mid(2);
}

QStringList sharedStreetJpegs()
{
    const QByteArray shared = qgetenv("SEGSCALE_SHARED_DIR");
    if (shared.isEmpty())
        return {};
    const QDir dir(QString::fromLocal8Bit(shared) + QStringLiteral("/samples/streets"));
    QStringList paths;
    for (const QString &f : dir.entryList({QStringLiteral("*.jpg")}, QDir::Files, QDir::Name))
        paths << dir.filePath(f);
    return paths;
}

qint64 peakRssKb()
{
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss;
}

} // namespace

class TestImageDecoder : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void bombIsRefusedFromTheHeader();
    void badInputs_data();
    void badInputs();
    void nothingReachesStderr();
    void openCvRepairsSilently();
    void truncatedJpegWithAcceptDamaged();
    void garbledJpegNamesTheDamage();
    void sharedPhotosMatchOpenCv();
    void pngVariantsMatchOpenCv_data();
    void pngVariantsMatchOpenCv();
    void pngDamage();
    void ownJpegDecodeMatchesOpenCv_data();
    void ownJpegDecodeMatchesOpenCv();
    void otherFormats();
    void foreignAndShortContent();
    void readFileChecks();
    void permissionDenied();
    void concurrentDecodesAgree();
    void timings();
    void hostileFiles_data();
    void hostileFiles();
    void sharedHostileFiles_data();
    void sharedHostileFiles();

private:
    QString path(const QString &name) const { return m_dir.filePath(QStringLiteral("bad/") + name); }

    QTemporaryDir m_dir;
    QByteArray m_goodJpeg;
    QList<BadInput> m_inputs;
};

void TestImageDecoder::initTestCase()
{
    QVERIFY(m_dir.isValid());
    m_goodJpeg = BadInputs::sampleJpeg();
    QVERIFY(!m_goodJpeg.isEmpty());
    if (qEnvironmentVariableIsEmpty("SEGSCALE_SHARED_DIR"))
        qInfo("SEGSCALE_SHARED_DIR is not set: bad inputs are made from a synthetic JPEG");
    m_inputs = BadInputs::write(m_dir.filePath(QStringLiteral("bad")), m_goodJpeg);
    QCOMPARE(m_inputs.size(), 11);
}

// First, while the process is small: a 100000 x 100000 PNG (30 GB of pixels) must be
// refused at once, without the memory ever being touched.
void TestImageDecoder::bombIsRefusedFromTheHeader()
{
    const qint64 rssBefore = peakRssKb();
    QElapsedTimer timer;
    timer.start();
    const auto r = ImageDecoder::load(path(QStringLiteral("bomb.png")), {});
    const qint64 ms = timer.elapsed();
    QVERIFY2(!r.ok(), qPrintable(describe(r)));
    QCOMPARE(r.error().category, ErrorCategory::TooLarge);
    QVERIFY2(r.error().message.contains(QStringLiteral("100000 x 100000")), qPrintable(r.error().message));
    QVERIFY2(ms < 100, qPrintable(QStringLiteral("took %1 ms").arg(ms)));
    QVERIFY2(peakRssKb() - rssBefore < 32 * 1024, qPrintable(QStringLiteral("peak RSS grew by %1 kB").arg(peakRssKb() - rssBefore)));

    // The same for a JPEG whose frame header claims 60000 x 60000.
    QByteArray jpegBomb = m_goodJpeg;
    for (qsizetype i = 2; i + 9 < jpegBomb.size();) {
        const quint8 marker = quint8(jpegBomb[i + 1]);
        if (marker == 0xC0 || marker == 0xC1 || marker == 0xC2) {
            qToBigEndian(quint16(60000), jpegBomb.data() + i + 5);
            qToBigEndian(quint16(60000), jpegBomb.data() + i + 7);
            break;
        }
        i += 2 + qFromBigEndian<quint16>(jpegBomb.constData() + i + 2);
    }
    timer.restart();
    const auto j = ImageDecoder::decode(jpegBomb, QStringLiteral("bomb.jpg"), {});
    QVERIFY2(!j.ok(), qPrintable(describe(j)));
    QCOMPARE(j.error().category, ErrorCategory::TooLarge);
    QVERIFY(timer.elapsed() < 100);

    // And a limit of our own choosing on a good file.
    DecodeOptions small;
    small.maxPixels = 1000;
    const auto s = ImageDecoder::load(path(QStringLiteral("good.jpg")), small);
    QVERIFY(!s.ok());
    QCOMPARE(s.error().category, ErrorCategory::TooLarge);
    const auto p = ImageDecoder::load(path(QStringLiteral("good.png")), small);
    QVERIFY(!p.ok());
    QCOMPARE(p.error().category, ErrorCategory::TooLarge);
}

void TestImageDecoder::badInputs_data()
{
    QTest::addColumn<QString>("fileName");
    QTest::addColumn<std::optional<ErrorCategory>>("expected");
    for (const BadInput &in : std::as_const(m_inputs))
        QTest::newRow(qPrintable(in.fileName)) << in.fileName << in.expected;
}

void TestImageDecoder::badInputs()
{
    QFETCH(QString, fileName);
    QFETCH(std::optional<ErrorCategory>, expected);
    const auto r = ImageDecoder::load(path(fileName), {});
    if (!expected) {
        QVERIFY2(r.ok(), qPrintable(describe(r)));
        QVERIFY(!r->damaged);
        QFile f(path(fileName));
        QVERIFY(f.open(QIODevice::ReadOnly));
        QVERIFY(identical(r->bgr, BadInputs::decode(f.readAll())));
        return;
    }
    QVERIFY2(!r.ok(), qPrintable(QStringLiteral("%1 decoded").arg(fileName)));
    QVERIFY2(r.error().category == *expected,
             qPrintable(QStringLiteral("%1: got %2, expected %3").arg(fileName, r.error().toString(), categoryName(*expected))));
    QVERIFY2(r.error().message.contains(fileName), qPrintable(r.error().message));
    // Accepting damage must not make a non-image, a bomb or a missing file decode.
    DecodeOptions accept;
    accept.acceptDamaged = true;
    const auto a = ImageDecoder::load(path(fileName), accept);
    if (fileName == QStringLiteral("truncated.jpg") || fileName == QStringLiteral("garbled.jpg")
        || fileName == QStringLiteral("bad-crc.png")) {
        // Damaged but decodable (the bad-CRC PNG only if its flipped byte still inflates).
        if (a.ok())
            QVERIFY(a->damaged && !a->warning.isEmpty());
    } else {
        QVERIFY2(!a.ok(), qPrintable(describe(a)));
        QCOMPARE(a.error().category, *expected);
    }
}

void TestImageDecoder::nothingReachesStderr()
{
    DecodeOptions accept;
    accept.acceptDamaged = true;
    QStringList outcomes;
    QByteArray printed;
    {
        StderrCapture capture;
        for (const BadInput &in : std::as_const(m_inputs)) {
            outcomes << describe(ImageDecoder::load(path(in.fileName), {}));
            outcomes << describe(ImageDecoder::load(path(in.fileName), accept));
        }
        printed = capture.text();
    }
    QVERIFY2(printed.isEmpty(), printed.constData());
    QCOMPARE(outcomes.size(), 2 * m_inputs.size());

    // The capture does see what is written to stderr, from C stdio as from a raw write.
    StderrCapture capture;
    std::fprintf(stderr, "from stdio\n");
    QCOMPARE(::write(2, "from write\n", 11), ssize_t(11));
    QCOMPARE(capture.text(), QByteArrayLiteral("from stdio\nfrom write\n"));
}

// Why this class exists: OpenCV returns the truncated photo as a whole picture.
void TestImageDecoder::openCvRepairsSilently()
{
    QFile f(path(QStringLiteral("truncated.jpg")));
    QVERIFY(f.open(QIODevice::ReadOnly));
    const cv::Mat repaired = BadInputs::decode(f.readAll());
    QVERIFY2(!repaired.empty(), "OpenCV no longer returns a truncated JPEG as a picture: the issue is moot");
    QCOMPARE(repaired.size(), BadInputs::decode(m_goodJpeg).size());
}

void TestImageDecoder::truncatedJpegWithAcceptDamaged()
{
    const auto strict = ImageDecoder::load(path(QStringLiteral("truncated.jpg")), {});
    QVERIFY(!strict.ok());
    QCOMPARE(strict.error().category, ErrorCategory::Corrupt);
    QVERIFY2(strict.error().message.contains(QStringLiteral("Premature end of JPEG file")), qPrintable(strict.error().message));

    DecodeOptions accept;
    accept.acceptDamaged = true;
    const auto r = ImageDecoder::load(path(QStringLiteral("truncated.jpg")), accept);
    QVERIFY2(r.ok(), qPrintable(describe(r)));
    QVERIFY(r->damaged);
    QVERIFY2(r->warning.contains(QStringLiteral("Premature end of JPEG file")), qPrintable(r->warning));
    const cv::Mat good = BadInputs::decode(m_goodJpeg);
    QCOMPARE(r->bgr.type(), CV_8UC3);
    QCOMPARE(r->bgr.rows, good.rows);
    QCOMPARE(r->bgr.cols, good.cols);
    // The part that was there decodes as in the whole file; the rest does not.
    const int top = good.rows / 5;
    QVERIFY(identical(r->bgr.rowRange(0, top), good.rowRange(0, top)));
    QVERIFY(cv::norm(r->bgr.rowRange(good.rows - top, good.rows), good.rowRange(good.rows - top, good.rows), cv::NORM_INF) > 0);
}

void TestImageDecoder::garbledJpegNamesTheDamage()
{
    const auto r = ImageDecoder::load(path(QStringLiteral("garbled.jpg")), {});
    QVERIFY(!r.ok());
    QCOMPARE(r.error().category, ErrorCategory::Corrupt);
    QVERIFY2(r.error().message.contains(QStringLiteral("Corrupt JPEG data")), qPrintable(r.error().message));

    // The checker alone, on a clean file: no warnings.
    const auto clean = JpegReader::check(m_goodJpeg, QStringLiteral("good.jpg"), 1'000'000'000);
    QVERIFY2(clean.ok(), qPrintable(clean.ok() ? QString() : clean.error().message));
    QCOMPARE(clean->warningCount, 0);
}

void TestImageDecoder::sharedPhotosMatchOpenCv()
{
    const QStringList photos = sharedStreetJpegs();
    if (photos.isEmpty())
        QSKIP("SEGSCALE_SHARED_DIR/samples/streets is not available: no real photos to compare");
    for (const QString &photo : photos) {
        const auto r = ImageDecoder::load(photo, {});
        QVERIFY2(r.ok(), qPrintable(describe(r)));
        QVERIFY(!r->damaged);
        const cv::Mat expected = cv::imread(photo.toStdString(), cv::IMREAD_COLOR);
        QVERIFY2(identical(r->bgr, expected), qPrintable(photo));
        // Our quiet decoder (used for damaged files) agrees as well.
        QFile f(photo);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const auto own = JpegReader::decode(f.readAll(), photo, 1'000'000'000);
        QVERIFY(own.ok());
        QVERIFY2(identical(*own, expected), qPrintable(photo));
    }
}

void TestImageDecoder::pngVariantsMatchOpenCv_data()
{
    QTest::addColumn<QByteArray>("png");
    const cv::Mat bgr = BadInputs::decode(m_goodJpeg);
    cv::Mat grey, grey16, bgr16, bgra, bgra16, bilevel;
    cv::cvtColor(bgr, grey, cv::COLOR_BGR2GRAY);
    grey.convertTo(grey16, CV_16U, 257.0, 3.0);
    bgr.convertTo(bgr16, CV_16U, 250.0, 17.0);
    cv::cvtColor(bgr, bgra, cv::COLOR_BGR2BGRA);
    for (int y = 0; y < bgra.rows; ++y)
        for (int x = 0; x < bgra.cols; ++x)
            bgra.at<cv::Vec4b>(y, x)[3] = uchar((x + y) & 0xFF);
    bgra.convertTo(bgra16, CV_16U, 256.0);
    QTest::newRow("rgb8") << BadInputs::encode(bgr, ".png");
    QTest::newRow("grey8") << BadInputs::encode(grey, ".png");
    QTest::newRow("grey16") << BadInputs::encode(grey16, ".png");
    QTest::newRow("rgb16") << BadInputs::encode(bgr16, ".png");
    QTest::newRow("rgba8") << BadInputs::encode(bgra, ".png");
    QTest::newRow("rgba16") << BadInputs::encode(bgra16, ".png");
    QTest::newRow("grey1") << BadInputs::encode(grey > 128, ".png", {cv::IMWRITE_PNG_BILEVEL, 1});
    QTest::newRow("rgb8-fast") << BadInputs::encode(bgr, ".png", {cv::IMWRITE_PNG_COMPRESSION, 1});

    // Palette with transparency, written by hand: cv::imwrite cannot.
    const int w = 37, h = 23;
    QByteArray ihdr(13, '\0');
    qToBigEndian(quint32(w), ihdr.data());
    qToBigEndian(quint32(h), ihdr.data() + 4);
    ihdr[8] = 8;
    ihdr[9] = 3;
    QByteArray plte, trns, raw;
    for (int i = 0; i < 16; ++i) {
        plte += char(i * 16);
        plte += char(255 - i * 16);
        plte += char(i * 7);
        trns += char(i * 17);
    }
    for (int y = 0; y < h; ++y) {
        raw += '\0'; // filter: none
        for (int x = 0; x < w; ++x)
            raw += char((x * 3 + y) % 16);
    }
    QTest::newRow("palette+tRNS") << QByteArrayLiteral("\x89PNG\r\n\x1A\n") + BadInputs::pngChunk("IHDR", ihdr)
            + BadInputs::pngChunk("PLTE", plte) + BadInputs::pngChunk("tRNS", trns)
            + BadInputs::pngChunk("IDAT", qCompress(raw).mid(4)) + BadInputs::pngChunk("IEND", {});
}

void TestImageDecoder::pngVariantsMatchOpenCv()
{
    QFETCH(QByteArray, png);
    QVERIFY(!png.isEmpty());
    const cv::Mat expected = BadInputs::decode(png);
    QVERIFY(!expected.empty());
    const auto r = ImageDecoder::decode(png, QStringLiteral("variant.png"), {});
    QVERIFY2(r.ok(), qPrintable(describe(r)));
    QVERIFY(!r->damaged);
    QVERIFY(identical(r->bgr, expected));
}

void TestImageDecoder::pngDamage()
{
    const QByteArray good = BadInputs::encode(BadInputs::decode(m_goodJpeg), ".png");
    const cv::Mat expected = BadInputs::decode(good);
    DecodeOptions accept;
    accept.acceptDamaged = true;

    // A text chunk (ancillary) with a wrong CRC, inserted after IHDR.
    QByteArray text = BadInputs::pngChunk("tEXt", QByteArrayLiteral("Comment\0street survey"));
    text[text.size() - 1] = char(text[text.size() - 1] ^ 0x55);
    const QByteArray badAncillary = good.left(33) + text + good.mid(33);
    auto r = ImageDecoder::decode(badAncillary, QStringLiteral("ancillary.png"), {});
    QVERIFY(!r.ok());
    QCOMPARE(r.error().category, ErrorCategory::Corrupt);
    QVERIFY2(r.error().message.contains(QStringLiteral("CRC error in the tEXt chunk")), qPrintable(r.error().message));
    QVERIFY(r.error().message.contains(QStringLiteral("ancillary.png")));
    r = ImageDecoder::decode(badAncillary, QStringLiteral("ancillary.png"), accept);
    QVERIFY2(r.ok(), qPrintable(describe(r)));
    QVERIFY(r->damaged);
    QVERIFY(identical(r->bgr, expected));

    // No IEND: every pixel is there, but the file was cut short.
    const QByteArray noIend = good.left(good.size() - 12);
    r = ImageDecoder::decode(noIend, QStringLiteral("noiend.png"), {});
    QVERIFY(!r.ok());
    QCOMPARE(r.error().category, ErrorCategory::Corrupt);
    QVERIFY2(r.error().message.contains(QStringLiteral("IEND")), qPrintable(r.error().message));
    r = ImageDecoder::decode(noIend, QStringLiteral("noiend.png"), accept);
    QVERIFY2(r.ok(), qPrintable(describe(r)));
    QVERIFY(r->damaged);
    QVERIFY(identical(r->bgr, expected));

    // Image data cut short: Corrupt even when damage is accepted.
    const QByteArray cut = BadInputs::truncatedIdatPng(good);
    r = ImageDecoder::decode(cut, QStringLiteral("cut.png"), accept);
    QVERIFY(!r.ok());
    QCOMPARE(r.error().category, ErrorCategory::Corrupt);
    QVERIFY2(r.error().message.contains(QStringLiteral("IDAT")), qPrintable(r.error().message));

    // A bad CRC on IHDR: the size itself cannot be trusted.
    QByteArray badIhdr = good;
    badIhdr[29] = char(badIhdr[29] ^ 1);
    r = ImageDecoder::decode(badIhdr, QStringLiteral("ihdr.png"), accept);
    QVERIFY(!r.ok());
    QCOMPARE(r.error().category, ErrorCategory::Corrupt);

    // Trailing bytes after IEND are not damage (libpng never reads them).
    r = ImageDecoder::decode(good + QByteArrayLiteral("trailing junk"), QStringLiteral("trailing.png"), {});
    QVERIFY2(r.ok(), qPrintable(describe(r)));
    QVERIFY(identical(r->bgr, expected));
}

void TestImageDecoder::ownJpegDecodeMatchesOpenCv_data()
{
    QTest::addColumn<QByteArray>("jpeg");
    for (int o = 1; o <= 8; ++o)
        QTest::newRow(qPrintable(QStringLiteral("exif-orientation-%1").arg(o))) << withExifOrientation(m_goodJpeg, o);
    const cv::Mat bgr = BadInputs::decode(m_goodJpeg);
    cv::Mat grey;
    cv::cvtColor(bgr, grey, cv::COLOR_BGR2GRAY);
    QTest::newRow("grey") << BadInputs::encode(grey, ".jpg");
    QTest::newRow("progressive") << BadInputs::encode(bgr, ".jpg", {cv::IMWRITE_JPEG_PROGRESSIVE, 1});
    QTest::newRow("restart-intervals") << BadInputs::encode(bgr, ".jpg", {cv::IMWRITE_JPEG_RST_INTERVAL, 4});
    QTest::newRow("odd-size") << BadInputs::syntheticJpeg(333, 171);
}

// JpegReader::decode stands in for cv::imdecode on damaged files; on good ones it must
// give the same pixels, orientation included. ImageDecoder must too (through OpenCV).
void TestImageDecoder::ownJpegDecodeMatchesOpenCv()
{
    QFETCH(QByteArray, jpeg);
    const cv::Mat expected = BadInputs::decode(jpeg);
    QVERIFY(!expected.empty());
    JpegReport report;
    const auto own = JpegReader::decode(jpeg, QStringLiteral("x.jpg"), 1'000'000'000, &report);
    QVERIFY2(own.ok(), qPrintable(own.ok() ? QString() : own.error().message));
    QCOMPARE(report.warningCount, 0);
    QVERIFY(identical(*own, expected));
    const auto r = ImageDecoder::decode(jpeg, QStringLiteral("x.jpg"), {});
    QVERIFY2(r.ok(), qPrintable(describe(r)));
    QVERIFY(identical(r->bgr, expected));
}

void TestImageDecoder::otherFormats()
{
    const cv::Mat bgr = BadInputs::decode(m_goodJpeg);
    for (const char *ext : {".bmp", ".tiff", ".webp"}) {
        const QByteArray bytes = BadInputs::encode(bgr, ext);
        if (bytes.isEmpty()) {
            qInfo("OpenCV here cannot write %s; not tested", ext);
            continue;
        }
        const auto r = ImageDecoder::decode(bytes, QStringLiteral("x") + QLatin1String(ext), {});
        QVERIFY2(r.ok(), qPrintable(describe(r)));
        QVERIFY2(identical(r->bgr, BadInputs::decode(bytes)), ext);
        DecodeOptions small;
        small.maxPixels = qint64(bgr.cols) * bgr.rows - 1;
        const auto s = ImageDecoder::decode(bytes, QStringLiteral("x") + QLatin1String(ext), small);
        QVERIFY2(!s.ok() && s.error().category == ErrorCategory::TooLarge, ext);
    }
    // A BMP header claiming 100000 x 100000.
    QByteArray bmp = BadInputs::encode(bgr, ".bmp");
    qToLittleEndian(qint32(100000), bmp.data() + 18);
    qToLittleEndian(qint32(100000), bmp.data() + 22);
    const auto b = ImageDecoder::decode(bmp, QStringLiteral("bomb.bmp"), {});
    QVERIFY(!b.ok());
    QCOMPARE(b.error().category, ErrorCategory::TooLarge);
}

void TestImageDecoder::foreignAndShortContent()
{
    auto category = [](const QByteArray &bytes) {
        const auto r = ImageDecoder::decode(bytes, QStringLiteral("x.jpg"), {});
        return r.ok() ? std::optional<ErrorCategory>() : std::optional<ErrorCategory>(r.error().category);
    };
    QCOMPARE(category(QByteArrayLiteral("\xFF\xD8")), ErrorCategory::Corrupt); // cut inside the signature
    QCOMPARE(category(QByteArrayLiteral("\x89PNG\r")), ErrorCategory::Corrupt);
    QCOMPARE(category(QByteArrayLiteral("\xFF\xD8\xFF\xE0\x00\x10JFIF")), ErrorCategory::Corrupt); // header cut
    QCOMPARE(category(QByteArrayLiteral("\x89PNG\r\n\x1A\n\x00\x00")), ErrorCategory::Corrupt);
    QCOMPARE(category(QByteArrayLiteral("GIF89a\x01\x00\x01\x00")), ErrorCategory::Unsupported);
    QCOMPARE(category(QByteArrayLiteral("BMW owners' list\n")), ErrorCategory::Unsupported);
    QCOMPARE(category(QByteArray(1000, '\x01')), ErrorCategory::Unsupported);
    const auto html = ImageDecoder::decode(QByteArrayLiteral("  <html><body>Forbidden</body></html>"), QStringLiteral("p.jpg"), {});
    QVERIFY(!html.ok());
    QVERIFY2(html.error().message.contains(QStringLiteral("HTML")), qPrintable(html.error().message));
    const auto empty = ImageDecoder::decode({}, QStringLiteral("e.jpg"), {});
    QVERIFY(!empty.ok());
    QCOMPARE(empty.error().category, ErrorCategory::Corrupt);
    QVERIFY(empty.error().message.contains(QStringLiteral("empty")));
}

void TestImageDecoder::readFileChecks()
{
    const QString dir = m_dir.filePath(QStringLiteral("files"));
    QVERIFY(QDir().mkpath(dir));
    auto category = [](const Result<QByteArray> &r) {
        return r.ok() ? std::optional<ErrorCategory>() : std::optional<ErrorCategory>(r.error().category);
    };
    const QString missing = dir + QStringLiteral("/missing.jpg");
    const auto m = ImageDecoder::readFile(missing, {});
    QCOMPARE(category(m), ErrorCategory::Missing);
    QVERIFY(m.error().message.contains(missing));
    const auto dangling = ImageDecoder::readFile(path(QStringLiteral("dangling.jpg")), {});
    QCOMPARE(category(dangling), ErrorCategory::Missing);
    QVERIFY2(dangling.error().message.contains(QStringLiteral("dangling")), qPrintable(dangling.error().message));
    QCOMPARE(category(ImageDecoder::readFile(dir, {})), ErrorCategory::Unreadable);
    const QString fifo = dir + QStringLiteral("/fifo.jpg");
    QCOMPARE(::mkfifo(QFile::encodeName(fifo).constData(), 0600), 0);
    QCOMPARE(category(ImageDecoder::readFile(fifo, {})), ErrorCategory::Unreadable); // and does not block
    QCOMPARE(category(ImageDecoder::readFile(path(QStringLiteral("empty.jpg")), {})), ErrorCategory::Corrupt);

    DecodeOptions small;
    small.maxFileBytes = 1000;
    const auto big = ImageDecoder::readFile(path(QStringLiteral("good.jpg")), small);
    QCOMPARE(category(big), ErrorCategory::TooLarge);
    QVERIFY(big.error().message.contains(QStringLiteral("good.jpg")));
    const auto ok = ImageDecoder::readFile(path(QStringLiteral("good.jpg")), {});
    QVERIFY(ok.ok());
    QCOMPARE(ok->size(), m_goodJpeg.size());
    // A symlink to a good file is fine.
    const QString link = dir + QStringLiteral("/link.jpg");
    QVERIFY(QFile::link(path(QStringLiteral("good.jpg")), link));
    QVERIFY(ImageDecoder::load(link, {}).ok());
}

void TestImageDecoder::permissionDenied()
{
    if (::geteuid() == 0)
        QSKIP("running as root: file permissions do not stop root from reading");
    const QString locked = m_dir.filePath(QStringLiteral("locked.jpg"));
    QVERIFY(QFile::copy(path(QStringLiteral("good.jpg")), locked));
    QVERIFY(QFile::setPermissions(locked, QFileDevice::Permissions()));
    const auto r = ImageDecoder::readFile(locked, {});
    QVERIFY(!r.ok());
    QCOMPARE(r.error().category, ErrorCategory::Unreadable);
    QVERIFY(r.error().message.contains(locked));
}

void TestImageDecoder::concurrentDecodesAgree()
{
    struct Outcome {
        QString summary;
        cv::Mat bgr;
    };
    DecodeOptions accept;
    accept.acceptDamaged = true;
    QList<QPair<QString, bool>> work; // file, accept damaged
    for (int round = 0; round < 6; ++round) {
        for (const BadInput &in : std::as_const(m_inputs))
            work.append({in.fileName, round % 2 == 1});
    }
    auto run = [&](const QPair<QString, bool> &job) {
        const auto r = ImageDecoder::load(path(job.first), job.second ? accept : DecodeOptions{});
        return Outcome{describe(r), r.ok() ? r->bgr : cv::Mat()};
    };
    QList<Outcome> sequential;
    for (const auto &job : std::as_const(work))
        sequential.append(run(job));

    QThreadPool pool;
    pool.setMaxThreadCount(4);
    const QList<Outcome> parallel = QtConcurrent::blockingMapped(&pool, work, run);
    QCOMPARE(parallel.size(), sequential.size());
    for (qsizetype i = 0; i < work.size(); ++i) {
        QCOMPARE(parallel[i].summary, sequential[i].summary);
        QCOMPARE(parallel[i].bgr.empty(), sequential[i].bgr.empty());
        if (!sequential[i].bgr.empty())
            QVERIFY2(identical(parallel[i].bgr, sequential[i].bgr), qPrintable(work[i].first));
    }
}

// Not a pass/fail check: what the extra validation pass costs, for the report.
void TestImageDecoder::timings()
{
    const QStringList photos = sharedStreetJpegs();
    QList<QPair<QString, QByteArray>> files;
    for (const QString &p : photos) {
        QFile f(p);
        if (f.open(QIODevice::ReadOnly) && (p.contains(QStringLiteral("crop640_frankfurt294_x0000")) || p.contains(QStringLiteral("leftImg8bit"))))
            files.append({QFileInfo(p).fileName(), f.readAll()});
    }
    if (files.isEmpty())
        files.append({QStringLiteral("synthetic"), m_goodJpeg});
    for (const auto &[name, bytes] : std::as_const(files)) {
        constexpr int N = 20;
        QElapsedTimer t;
        t.start();
        for (int i = 0; i < N; ++i)
            QVERIFY(!BadInputs::decode(bytes).empty());
        const double imdecodeMs = double(t.nsecsElapsed()) / 1e6 / N;
        t.restart();
        for (int i = 0; i < N; ++i)
            QVERIFY(JpegReader::check(bytes, name, 1'000'000'000).ok());
        const double checkMs = double(t.nsecsElapsed()) / 1e6 / N;
        t.restart();
        for (int i = 0; i < N; ++i)
            QVERIFY(ImageDecoder::decode(bytes, name, {}).ok());
        const double decodeMs = double(t.nsecsElapsed()) / 1e6 / N;
        qInfo("%s: cv::imdecode %.2f ms, JpegReader::check %.2f ms, ImageDecoder::decode %.2f ms",
              qPrintable(name), imdecodeMs, checkMs, decodeMs);
    }
}


// The hostile-inputs issue, on small generated equivalents of ../shared/hostile: what
// each gives strictly and with --accept-damaged. "decoded" rows must come back whole.
namespace {
struct HostileCase {
    std::optional<ErrorCategory> strict;
    std::optional<ErrorCategory> accepting;  // empty: decodes (marked damaged)
    QString says;
};
} // namespace
Q_DECLARE_METATYPE(HostileCase)

void TestImageDecoder::hostileFiles_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<HostileCase>("expected");
    const QByteArray small = BadInputs::syntheticJpeg(64, 48);
    const QByteArray jpeg = BadInputs::syntheticJpeg();
    QTest::newRow("header promises 10954 x 10954")
        << BadInputs::resizedHeaderJpeg(small, 10954, 10954)
        << HostileCase{ErrorCategory::Corrupt, ErrorCategory::Corrupt, QStringLiteral("most of the picture is missing")};
    QTest::newRow("duplicated scan")
        << BadInputs::duplicatedScanJpeg(jpeg)
        << HostileCase{ErrorCategory::Corrupt, std::nullopt, QStringLiteral("Didn't expect more than one scan")};
    QTest::newRow("unknown critical PNG chunk")
        << BadInputs::unknownCriticalChunkPng(BadInputs::encode(BadInputs::decode(jpeg), ".png"))
        << HostileCase{ErrorCategory::Unsupported, ErrorCategory::Unsupported, QStringLiteral("unknown critical chunk ABCD")};
    QTest::newRow("65535 wide")
        << BadInputs::resizedHeaderJpeg(small, 65535, 8)
        << HostileCase{ErrorCategory::TooLarge, ErrorCategory::TooLarge, QStringLiteral("limit of 65500 pixels")};
}

void TestImageDecoder::hostileFiles()
{
    QFETCH(QByteArray, bytes);
    QFETCH(HostileCase, expected);
    QVERIFY(!bytes.isEmpty());
    const auto strict = ImageDecoder::decode(bytes, QStringLiteral("hostile"), {});
    QVERIFY(!strict.ok());
    QCOMPARE(strict.error().category, *expected.strict);
    QVERIFY2(strict.error().message.contains(expected.says), qPrintable(strict.error().message));

    DecodeOptions accept;
    accept.acceptDamaged = true;
    QElapsedTimer timer;
    timer.start();
    const qint64 rssBefore = peakRssKb();
    const auto r = ImageDecoder::decode(bytes, QStringLiteral("hostile"), accept);
    qInfo("with --accept-damaged: %s in %lld ms, peak RSS grew by %lld MB", r.ok() ? "decoded" : qPrintable(r.error().toString()),
          timer.elapsed(), (peakRssKb() - rssBefore) / 1024);
    if (expected.accepting) {
        QVERIFY(!r.ok());
        QCOMPARE(r.error().category, *expected.accepting);
        return;
    }
    QVERIFY2(r.ok(), qPrintable(describe(r)));
    QVERIFY(r->damaged);
    QVERIFY2(r->warning.contains(expected.says), qPrintable(r->warning));
    QVERIFY(identical(r->bgr, BadInputs::decode(BadInputs::syntheticJpeg())));
}

void TestImageDecoder::sharedHostileFiles_data()
{
    QTest::addColumn<QString>("file");
    QTest::addColumn<HostileCase>("expected");
    const QByteArray shared = qgetenv("SEGSCALE_SHARED_DIR");
    const QDir dir(QString::fromLocal8Bit(shared) + QStringLiteral("/hostile"));
    if (shared.isEmpty() || !dir.exists()) {
        qInfo("SEGSCALE_SHARED_DIR/hostile is absent: only the generated equivalents are tested (hostileFiles)");
        return;
    }
    auto row = [&](const char *name, HostileCase c) { QTest::newRow(name) << dir.filePath(QLatin1StringView(name)) << c; };
    row("jpeg-header-10954x10954.jpg", {ErrorCategory::Corrupt, ErrorCategory::Corrupt, QStringLiteral("most of the picture is missing")});
    row("jpeg-duplicated-scan.jpg", {ErrorCategory::Corrupt, std::nullopt, QStringLiteral("Didn't expect more than one scan")});
    row("png-unknown-critical-chunk.png", {ErrorCategory::Unsupported, ErrorCategory::Unsupported, QStringLiteral("ABCD")});
    row("jpeg-65535-wide.jpg", {ErrorCategory::TooLarge, ErrorCategory::TooLarge, QStringLiteral("65500")});
}

void TestImageDecoder::sharedHostileFiles()
{
    QFETCH(QString, file);
    QFETCH(HostileCase, expected);
    if (!QFileInfo::exists(file))
        QSKIP(qPrintable(QStringLiteral("%1 is absent").arg(file)));
    const auto strict = ImageDecoder::load(file, {});
    QVERIFY(!strict.ok());
    QCOMPARE(strict.error().category, *expected.strict);
    QVERIFY2(strict.error().message.contains(expected.says), qPrintable(strict.error().message));
    DecodeOptions accept;
    accept.acceptDamaged = true;
    QElapsedTimer timer;
    timer.start();
    const auto r = ImageDecoder::load(file, accept);
    qInfo("%s with --accept-damaged: %s in %lld ms", qPrintable(QFileInfo(file).fileName()),
          r.ok() ? "decoded" : qPrintable(r.error().toString()), timer.elapsed());
    if (expected.accepting) {
        QVERIFY(!r.ok());
        QCOMPARE(r.error().category, *expected.accepting);
    } else {
        QVERIFY2(r.ok(), qPrintable(describe(r)));
        QVERIFY(r->damaged);
    }
}

QTEST_GUILESS_MAIN(TestImageDecoder)
#include "tst_imagedecoder.moc"

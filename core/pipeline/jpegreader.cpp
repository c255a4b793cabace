#include "pipeline/jpegreader.h"

#include <opencv2/core.hpp>

#include <csetjmp>
#include <cstdio> // jpeglib.h needs FILE
#include <cstring>

#include <jpeglib.h>
#include <jerror.h>

namespace SegScale::Pipeline {

namespace {

// libjpeg-turbo's own tools stop at 500 scans; a real progressive photo has about ten.
// Without a limit a small crafted file keeps a decoder busy for minutes.
constexpr int MaxScans = 500;

struct ErrorManager {
    jpeg_error_mgr pub; // first member: libjpeg hands our callbacks a pointer to it
    std::jmp_buf jump;
    int warnings;
    int fatalCode; // libjpeg's message code of the fatal error (JERR_...), 0 when none
    char firstWarning[JMSG_LENGTH_MAX];
    char fatal[JMSG_LENGTH_MAX];
};

ErrorManager *managerOf(j_common_ptr cinfo)
{
    return reinterpret_cast<ErrorManager *>(cinfo->err);
}

void onErrorExit(j_common_ptr cinfo)
{
    ErrorManager *err = managerOf(cinfo);
    err->fatalCode = cinfo->err->msg_code;
    (*cinfo->err->format_message)(cinfo, err->fatal);
    std::longjmp(err->jump, 1);
}

// Level -1 is a warning: corrupt data libjpeg worked around. The default handler prints
// the first one to stderr and forgets it; we keep it for the caller instead.
void onEmitMessage(j_common_ptr cinfo, int level)
{
    if (level >= 0)
        return; // trace messages
    ErrorManager *err = managerOf(cinfo);
    if (err->warnings == 0)
        (*cinfo->err->format_message)(cinfo, err->firstWarning);
    ++err->warnings;
    ++cinfo->err->num_warnings;
}

void onOutputMessage(j_common_ptr)
{
    // Never print: everything worth saying goes into the Error or the report.
}

void onProgress(j_common_ptr cinfo)
{
    const auto *dinfo = reinterpret_cast<j_decompress_ptr>(cinfo);
    if (dinfo->input_scan_number > MaxScans) {
        ErrorManager *err = managerOf(cinfo);
        std::snprintf(err->fatal, sizeof err->fatal, "more than %d progressive scans (a crafted file?)", MaxScans);
        std::longjmp(err->jump, 1);
    }
}

// All libjpeg state of one call. Plain data only, and the functions that call setjmp
// below hold no C++ object with a destructor: a longjmp would skip it.
struct Session {
    jpeg_decompress_struct cinfo;
    ErrorManager err;
    jpeg_progress_mgr progress;
    bool rowsDone;

    Session()
    {
        std::memset(static_cast<void *>(this), 0, sizeof *this);
        cinfo.err = jpeg_std_error(&err.pub);
        err.pub.error_exit = onErrorExit;
        err.pub.emit_message = onEmitMessage;
        err.pub.output_message = onOutputMessage;
        progress.progress_monitor = onProgress;
    }
    ~Session() { jpeg_destroy_decompress(&cinfo); } // safe on a struct never created: mem is null
    Session(const Session &) = delete;
    Session &operator=(const Session &) = delete;

    // libjpeg formats its messages itself; a marker code or a number is all they quote.
    QString fatalText() const { return QString::fromLatin1(err.fatal); }
    QString warningText() const { return QString::fromLatin1(err.firstWarning); }
};

bool readHeader(Session &s, const QByteArray &bytes, bool keepExif)
{
    if (setjmp(s.err.jump))
        return false;
    jpeg_create_decompress(&s.cinfo);
    s.cinfo.progress = &s.progress;
    jpeg_mem_src(&s.cinfo, reinterpret_cast<const unsigned char *>(bytes.constData()),
                 static_cast<unsigned long>(bytes.size()));
    if (keepExif)
        jpeg_save_markers(&s.cinfo, JPEG_APP0 + 1, 0xFFFF);
    jpeg_read_header(&s.cinfo, TRUE); // TRUE: a tables-only stream is an error, not an image
    return true;
}

bool scanAll(Session &s)
{
    if (setjmp(s.err.jump))
        return false;
    s.cinfo.scale_num = 1;
    s.cinfo.scale_denom = 8;
    s.cinfo.dct_method = JDCT_IFAST;
    s.cinfo.do_fancy_upsampling = FALSE;
    s.cinfo.do_block_smoothing = FALSE;
    jpeg_start_decompress(&s.cinfo);
    JSAMPARRAY row = (*s.cinfo.mem->alloc_sarray)(reinterpret_cast<j_common_ptr>(&s.cinfo), JPOOL_IMAGE,
                                                  s.cinfo.output_width * JDIMENSION(s.cinfo.output_components), 1);
    while (s.cinfo.output_scanline < s.cinfo.output_height) {
        if (jpeg_read_scanlines(&s.cinfo, row, 1) != 1)
            break; // the memory source never suspends; this guards against looping forever
    }
    s.rowsDone = true;
    jpeg_finish_decompress(&s.cinfo);
    return true;
}

bool decodeRows(Session &s, unsigned char *data, std::size_t step)
{
    if (setjmp(s.err.jump))
        return false;
    jpeg_start_decompress(&s.cinfo);
    while (s.cinfo.output_scanline < s.cinfo.output_height) {
        JSAMPROW rows[1] = {data + std::size_t(s.cinfo.output_scanline) * step};
        if (jpeg_read_scanlines(&s.cinfo, rows, 1) != 1)
            break;
    }
    s.rowsDone = true;
    jpeg_finish_decompress(&s.cinfo);
    return true;
}

// EXIF orientation the way OpenCV reads it (grfmt_jpeg + exif.cpp): the first APP1
// marker, a TIFF header six bytes in, tag 0x0112 in the first directory.
int exifOrientation(const unsigned char *app1, std::size_t size)
{
    if (size < 6 + 8)
        return 1;
    const unsigned char *tiff = app1 + 6;
    const std::size_t n = size - 6;
    bool little;
    if (tiff[0] == 'I' && tiff[1] == 'I')
        little = true;
    else if (tiff[0] == 'M' && tiff[1] == 'M')
        little = false;
    else
        return 1;
    auto u16 = [&](std::size_t at) -> unsigned {
        return little ? unsigned(tiff[at]) | unsigned(tiff[at + 1]) << 8 : unsigned(tiff[at]) << 8 | unsigned(tiff[at + 1]);
    };
    auto u32 = [&](std::size_t at) -> std::size_t { return little ? u16(at) | std::size_t(u16(at + 2)) << 16 : std::size_t(u16(at)) << 16 | u16(at + 2); };
    const std::size_t ifd = u32(4);
    if (ifd + 2 > n)
        return 1;
    const std::size_t entries = u16(ifd);
    for (std::size_t i = 0; i < entries; ++i) {
        const std::size_t entry = ifd + 2 + i * 12;
        if (entry + 12 > n)
            break;
        if (u16(entry) == 0x0112)
            return int(u16(entry + 8));
    }
    return 1;
}

// The same flips and transposes as OpenCV's ApplyExifOrientation.
void applyOrientation(int orientation, cv::Mat &img)
{
    switch (orientation) {
    case 2: cv::flip(img, img, 1); break;
    case 3: cv::flip(img, img, -1); break;
    case 4: cv::flip(img, img, 0); break;
    case 5: cv::transpose(img, img); break;
    case 6: cv::transpose(img, img); cv::flip(img, img, 1); break;
    case 7: cv::transpose(img, img); cv::flip(img, img, -1); break;
    case 8: cv::transpose(img, img); cv::flip(img, img, 0); break;
    default: break;
    }
}

// OpenCV's CMYK to BGR (icvCvt_CMYK2BGR_8u_C4C3R), kept bit-for-bit.
cv::Mat cmykToBgr(const cv::Mat &cmyk)
{
    cv::Mat bgr(cmyk.rows, cmyk.cols, CV_8UC3);
    for (int y = 0; y < cmyk.rows; ++y) {
        const unsigned char *in = cmyk.ptr<unsigned char>(y);
        unsigned char *out = bgr.ptr<unsigned char>(y);
        for (int x = 0; x < cmyk.cols; ++x, in += 4, out += 3) {
            const int k = in[3];
            out[2] = static_cast<unsigned char>(k - ((255 - in[0]) * k >> 8));
            out[1] = static_cast<unsigned char>(k - ((255 - in[1]) * k >> 8));
            out[0] = static_cast<unsigned char>(k - ((255 - in[2]) * k >> 8));
        }
    }
    return bgr;
}

Error corruptError(const QString &name, const QString &why)
{
    return Error{ErrorCategory::Corrupt, QStringLiteral("%1: unreadable JPEG: %2").arg(name, why)};
}

Error tooLargeError(const QString &name, qint64 width, qint64 height, qint64 maxPixels)
{
    return Error{ErrorCategory::TooLarge,
                 QStringLiteral("%1: %2 x %3 pixels is over the limit of %4 pixels (a decompression bomb?)")
                     .arg(name).arg(width).arg(height).arg(maxPixels)};
}

// A header libjpeg refused. Its side limit (JPEG_MAX_DIMENSION, 65500) is a limit of the
// decoder, not damage: TooLarge says so.
Error headerError(const Session &s, const QString &name)
{
    if (s.err.fatalCode == JERR_IMAGE_TOO_BIG)
        return Error{ErrorCategory::TooLarge,
                     QStringLiteral("%1: %2 x %3 pixels: a side is over the JPEG decoder's limit of %4 pixels")
                         .arg(name).arg(s.cinfo.image_width).arg(s.cinfo.image_height).arg(JPEG_MAX_DIMENSION)};
    return corruptError(name, s.fatalText());
}

// Whether the file can hold the pixels its header promises. In a Huffman-coded JPEG
// every 8x8 block of every component codes at least its DC difference, and a Huffman
// code is at least one bit long: a complete image needs at least one bit per block.
// A file shorter than that is missing most of its picture (a real photo spends 30-200
// bits per block), whatever the header says; decoding it would invent grey for almost
// all of it at full cost — a 6 KB file claiming 10954 x 10954 pixels took 22 s and
// 10 GB through the pipeline. So it is refused as corrupt, with --accept-damaged too.
// Arithmetic coding can spend less than a bit per block: no bound is claimed for it.
// Needs the header read (the component sizes are known from the first scan header on).
Result<void> checkPlausibleSize(const Session &s, const QByteArray &bytes, const QString &name)
{
    if (s.cinfo.arith_code)
        return {};
    qint64 blocks = 0;
    for (int c = 0; c < s.cinfo.num_components; ++c)
        blocks += qint64(s.cinfo.comp_info[c].width_in_blocks) * qint64(s.cinfo.comp_info[c].height_in_blocks);
    const qint64 minimumBytes = (blocks + 7) / 8;
    if (bytes.size() >= minimumBytes)
        return {};
    return corruptError(name, QStringLiteral("its header promises %1 x %2 pixels, which need at least %3 bytes of image data, "
                                             "but the file has %4 bytes: most of the picture is missing (truncated or "
                                             "crafted); refused even when damaged images are accepted")
                                  .arg(s.cinfo.image_width).arg(s.cinfo.image_height).arg(minimumBytes).arg(bytes.size()));
}

} // namespace

Result<JpegReport> JpegReader::check(const QByteArray &bytes, const QString &name, qint64 maxPixels)
{
    Session s;
    if (!readHeader(s, bytes, false))
        return headerError(s, name);
    JpegReport report;
    report.width = int(s.cinfo.image_width);
    report.height = int(s.cinfo.image_height);
    if (qint64(report.width) * report.height > maxPixels)
        return tooLargeError(name, report.width, report.height, maxPixels);
    if (Result<void> plausible = checkPlausibleSize(s, bytes, name); !plausible)
        return plausible.error();
    const bool scanned = scanAll(s);
    if (!scanned && !s.rowsDone)
        return corruptError(name, s.fatalText());
    report.warningCount = s.err.warnings;
    if (report.warningCount > 0)
        report.warning = s.warningText();
    if (!scanned) {
        // Every row decoded; what follows them is broken (a scan repeated after the
        // image, say: "Didn't expect more than one scan"). Damage, not a lost picture:
        // --accept-damaged decodes it as decode() does.
        const QString after = QStringLiteral("after the last row: %1").arg(s.fatalText());
        report.warning = report.warningCount == 0 ? after : report.warning;
        ++report.warningCount;
    }
    return report;
}

Result<cv::Mat> JpegReader::decode(const QByteArray &bytes, const QString &name, qint64 maxPixels, JpegReport *report)
{
    Session s;
    if (!readHeader(s, bytes, true))
        return headerError(s, name);
    const int width = int(s.cinfo.image_width), height = int(s.cinfo.image_height);
    if (qint64(width) * height > maxPixels)
        return tooLargeError(name, width, height, maxPixels);
    if (Result<void> plausible = checkPlausibleSize(s, bytes, name); !plausible)
        return plausible.error();

    int orientation = 1;
    for (jpeg_saved_marker_ptr m = s.cinfo.marker_list; m; m = m->next) {
        if (m->marker == JPEG_APP0 + 1) {
            orientation = exifOrientation(m->data, m->data_length);
            break;
        }
    }

    const bool cmyk = s.cinfo.num_components == 4;
    s.cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_EXT_BGR;
    s.cinfo.out_color_components = cmyk ? 4 : 3;
    // Zeroed so that rows libjpeg never delivered (it gave up early) are black, not noise.
    cv::Mat pixels = cv::Mat::zeros(height, width, cmyk ? CV_8UC4 : CV_8UC3);
    // OpenCV keeps an image whose rows were all read even if finishing fails; so do we,
    // as a warning.
    if (!decodeRows(s, pixels.data, pixels.step) && !s.rowsDone)
        return corruptError(name, s.fatalText());
    if (s.cinfo.output_width != JDIMENSION(width) || s.cinfo.output_height != JDIMENSION(height))
        return corruptError(name, QStringLiteral("decoded size differs from the header"));

    if (report) {
        report->width = width;
        report->height = height;
        report->warningCount = s.err.warnings;
        report->warning = s.err.warnings > 0 ? s.warningText() : s.fatalText();
        if (s.err.warnings == 0 && s.err.fatal[0])
            report->warningCount = 1;
    }
    cv::Mat bgr = cmyk ? cmykToBgr(pixels) : pixels;
    applyOrientation(orientation, bgr);
    return bgr;
}

} // namespace SegScale::Pipeline

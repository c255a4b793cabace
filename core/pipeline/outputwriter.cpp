#include "pipeline/outputwriter.h"

#include "storage/storage.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <QDir>
#include <QFileInfo>
#include <QSaveFile>

namespace SegScale::Pipeline {

OutputWriter::OutputWriter(QString outputDir, std::vector<Model::Rgb> palette, bool overlays, bool untrained,
                           std::shared_ptr<Storage::Storage> remote)
    : m_dir(std::move(outputDir)), m_palette(std::move(palette)), m_overlays(overlays), m_untrained(untrained),
      m_remote(std::move(remote))
{
}

Result<void> OutputWriter::prepare() const
{
    if (m_remote)
        return {};  // Storage::write creates the folders it needs
    QDir dir(m_dir);
    if (!dir.mkpath(QStringLiteral("labels")) || (m_overlays && !dir.mkpath(QStringLiteral("overlays"))))
        return Error{ErrorCategory::Usage, QStringLiteral("cannot create the output folder %1").arg(m_dir)};
    return {};
}

Result<void> OutputWriter::saveAtomically(const QString &relativePath, const std::vector<unsigned char> &bytes) const
{
    const QString path = QDir(m_dir).filePath(relativePath);
    if (m_remote) {
        auto written = m_remote->write(path, QByteArray(reinterpret_cast<const char *>(bytes.data()), static_cast<qsizetype>(bytes.size())));
        if (!written)
            return written.error();
        return {};
    }
    QDir().mkpath(QFileInfo(path).absolutePath());
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly))
        return Error{ErrorCategory::Unreadable, QStringLiteral("cannot write %1: %2").arg(path, file.errorString())};
    file.write(reinterpret_cast<const char *>(bytes.data()), static_cast<qint64>(bytes.size()));
    if (!file.commit())
        return Error{ErrorCategory::Unreadable, QStringLiteral("cannot write %1: %2").arg(path, file.errorString())};
    return {};
}

cv::Mat OutputWriter::renderOverlay(const cv::Mat &labels, const cv::Mat &bgrImage, const std::vector<Model::Rgb> &palette,
                                    bool untrained)
{
    cv::Mat out(bgrImage.size(), CV_8UC3);
    for (int y = 0; y < labels.rows; ++y) {
        const auto *photo = bgrImage.ptr<cv::Vec3b>(y);
        auto *dst = out.ptr<cv::Vec3b>(y);
        for (int x = 0; x < labels.cols; ++x) {
            const int k = labels.depth() == CV_16U ? labels.ptr<std::uint16_t>(y)[x] : labels.ptr<std::uint8_t>(y)[x];
            const Model::Rgb c = static_cast<size_t>(k) < palette.size() ? palette[static_cast<size_t>(k)] : Model::Rgb{};
            // 50% opacity, rounded: (photo + colour + 1) / 2, channels in BGR order.
            dst[x][0] = static_cast<std::uint8_t>((photo[x][0] + c.b + 1) / 2);
            dst[x][1] = static_cast<std::uint8_t>((photo[x][1] + c.g + 1) / 2);
            dst[x][2] = static_cast<std::uint8_t>((photo[x][2] + c.r + 1) / 2);
        }
    }
    if (untrained) {
        const double scale = std::max(0.5, out.cols / 640.0);
        cv::putText(out, "UNTRAINED MODEL", cv::Point(10, static_cast<int>(40 * scale)), cv::FONT_HERSHEY_SIMPLEX, scale,
                    cv::Scalar(0, 0, 255), std::max(1, static_cast<int>(2 * scale)));
    }
    return out;
}

Result<WrittenFiles> OutputWriter::write(const QString &stem, const cv::Mat &labels, const cv::Mat &bgrImage) const
{
    WrittenFiles files;
    std::vector<unsigned char> png;
    // Fast, still lossless: label maps compress well even at the lowest level.
    if (!cv::imencode(".png", labels, png, {cv::IMWRITE_PNG_COMPRESSION, 1}))
        return Error{ErrorCategory::Internal, QStringLiteral("cannot encode the label map of %1").arg(stem)};
    files.labels = QStringLiteral("labels/") + stem + QStringLiteral(".png");
    if (auto r = saveAtomically(files.labels, png); !r)
        return r.error();
    if (m_overlays) {
        std::vector<unsigned char> jpeg;
        if (!cv::imencode(".jpg", renderOverlay(labels, bgrImage, m_palette, m_untrained), jpeg, {cv::IMWRITE_JPEG_QUALITY, 90}))
            return Error{ErrorCategory::Internal, QStringLiteral("cannot encode the overlay of %1").arg(stem)};
        files.overlay = QStringLiteral("overlays/") + stem + QStringLiteral(".jpg");
        if (auto r = saveAtomically(files.overlay, jpeg); !r)
            return r.error();
    }
    return files;
}

} // namespace SegScale::Pipeline

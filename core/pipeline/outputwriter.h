#pragma once
// OutputWriter: the files of the report stage — labels/<stem>.png (8-bit class index,
// 16-bit above 255 classes) and, when asked, overlays/<stem>.jpg (the palette over the
// photo at 50% opacity). Each file appears whole or not at all (QSaveFile: write to a
// temporary, then rename), so a killed run never leaves a half-written label map.
// The files may go to a remote storage instead (label maps written straight to the
// storage server over SFTP); Storage::write is atomic there too.
// Thread-safe: holds only read-only settings (a Storage is thread-safe by contract).

#include "base/result.h"
#include "model/modelcard.h"

#include <opencv2/core/mat.hpp>

#include <QString>

#include <memory>

namespace SegScale::Storage {
class Storage;
}

namespace SegScale::Pipeline {

struct WrittenFiles {
    QString labels;   // relative to the output folder
    QString overlay;  // empty when overlays are off
};

class OutputWriter {
public:
    // remote: when set, outputDir is a folder on that storage (an absolute path there).
    OutputWriter(QString outputDir, std::vector<Model::Rgb> palette, bool overlays, bool untrained,
                 std::shared_ptr<Storage::Storage> remote = {});

    Result<void> prepare() const;
    Result<WrittenFiles> write(const QString &stem, const cv::Mat &labels, const cv::Mat &bgrImage) const;
    static cv::Mat renderOverlay(const cv::Mat &labels, const cv::Mat &bgrImage, const std::vector<Model::Rgb> &palette,
                                 bool untrained);
    const QString &outputDir() const { return m_dir; }

private:
    Result<void> saveAtomically(const QString &relativePath, const std::vector<unsigned char> &bytes) const;

    QString m_dir;
    std::vector<Model::Rgb> m_palette;
    bool m_overlays;
    bool m_untrained;
    std::shared_ptr<Storage::Storage> m_remote;
};

} // namespace SegScale::Pipeline

#pragma once
// Engine test fixtures: an ImageSource over in-memory encoded images (task ids 0..n-1,
// names and output stems img<i>) and a ResultSink that keeps compositions and errors.

#include "pipeline/imagetask.h"

#include <opencv2/imgcodecs.hpp>

#include <QByteArray>

#include <map>
#include <vector>

namespace SegScale::Testing {

class VectorSource final : public Pipeline::ImageSource {
public:
    explicit VectorSource(std::vector<QByteArray> images) : m_images(std::move(images)) {}
    std::optional<Pipeline::ImageTask> next() override
    {
        if (m_next >= m_images.size())
            return std::nullopt;
        Pipeline::ImageTask t;
        t.id = qint64(m_next);
        t.name = QStringLiteral("img%1").arg(m_next);
        t.outputStem = t.name;
        t.fetch = [bytes = m_images[m_next]]() -> Result<QByteArray> { return bytes; };
        ++m_next;
        return t;
    }

private:
    std::vector<QByteArray> m_images;
    size_t m_next = 0;
};

class CollectSink final : public Pipeline::ResultSink {
public:
    void imageDone(const Pipeline::ImageResult &r) override { done[r.task.id] = r.composition; }
    void imageFailed(const Pipeline::ImageTask &t, const Error &e) override { failed.emplace(t.id, e); }
    std::map<qint64, std::vector<double>> done;
    std::map<qint64, Error> failed;
};

inline QByteArray png(const cv::Mat &m)
{
    std::vector<uchar> buf;
    cv::imencode(".png", m, buf);
    return QByteArray(reinterpret_cast<const char *>(buf.data()), qsizetype(buf.size()));
}

} // namespace SegScale::Testing

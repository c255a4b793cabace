#include "pipeline/imagecombiner.h"

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <cassert>
#include <stdexcept>

namespace SegScale::Pipeline {

ImageCombiner::ImageCombiner(ImagePlan plan, int numClasses)
    : m_plan(std::move(plan)), m_classes(numClasses)
{
    const size_t levels = m_plan.scales.size();
    m_accumulators.resize(levels);
    m_counts.resize(levels);
    m_nextWindow.assign(levels, 0);
    m_resized.resize(levels);
}

size_t ImageCombiner::estimateBytes(const ImagePlan &plan, int numClasses)
{
    size_t bytes = static_cast<size_t>(plan.width) * plan.height * numClasses * sizeof(float);
    for (const auto &s : plan.scales)
        bytes += static_cast<size_t>(s.paddedWidth) * s.paddedHeight * numClasses * sizeof(float);
    return bytes;
}

void ImageCombiner::addWindow(int level, int window, const float *probs)
{
    const ScalePlan &s = m_plan.scales.at(static_cast<size_t>(level));
    if (window != m_nextWindow[static_cast<size_t>(level)])
        throw std::logic_error("ImageCombiner: windows of a level must arrive in order");
    cv::Mat &acc = m_accumulators[static_cast<size_t>(level)];
    cv::Mat &count = m_counts[static_cast<size_t>(level)];
    if (acc.empty()) {
        acc.create(s.paddedHeight, s.paddedWidth, CV_32FC(m_classes));
        acc.setTo(0);
        count = cv::Mat::zeros(s.paddedHeight, s.paddedWidth, CV_32F);
    }
    const Window &w = s.windows.at(static_cast<size_t>(window));
    const cv::Rect roi(w.x, w.y, s.crop, s.crop);
    const cv::Mat probMat(s.crop, s.crop, CV_32FC(m_classes), const_cast<float *>(probs));
    cv::Mat target = acc(roi);
    cv::add(target, probMat, target);
    cv::Mat countRoi = count(roi);
    countRoi += 1.0f;
    ++m_nextWindow[static_cast<size_t>(level)];
}

bool ImageCombiner::levelComplete(int level) const
{
    return m_nextWindow.at(static_cast<size_t>(level)) ==
           static_cast<int>(m_plan.scales.at(static_cast<size_t>(level)).windows.size());
}

void ImageCombiner::finishLevel(int level)
{
    const ScalePlan &s = m_plan.scales.at(static_cast<size_t>(level));
    if (!levelComplete(level))
        throw std::logic_error("ImageCombiner: level finished before all its windows arrived");
    cv::Mat &acc = m_accumulators[static_cast<size_t>(level)];
    const cv::Mat &count = m_counts[static_cast<size_t>(level)];
    // Only the un-padded region survives, so only it is divided.
    cv::Mat region(s.scaledHeight, s.scaledWidth, CV_32FC(m_classes));
    for (int y = 0; y < s.scaledHeight; ++y) {
        const float *src = acc.ptr<float>(y + s.padTop) + static_cast<size_t>(s.padLeft) * m_classes;
        const float *cnt = count.ptr<float>(y + s.padTop) + s.padLeft;
        float *dst = region.ptr<float>(y);
        for (int x = 0; x < s.scaledWidth; ++x) {
            const float c = cnt[x];
            for (int k = 0; k < m_classes; ++k)
                dst[static_cast<size_t>(x) * m_classes + k] = src[static_cast<size_t>(x) * m_classes + k] / c;
        }
    }
    acc.release();
    m_counts[static_cast<size_t>(level)].release();
    cv::Mat resized;
    cv::resize(region, resized, cv::Size(m_plan.width, m_plan.height), 0, 0, cv::INTER_LINEAR);
    m_resized[static_cast<size_t>(level)] = resized;
}

Segmentation ImageCombiner::finish()
{
    cv::Mat total;
    for (size_t i = 0; i < m_resized.size(); ++i) {
        if (m_resized[i].empty())
            finishLevel(static_cast<int>(i));
        if (total.empty())
            total = m_resized[i];
        else
            cv::add(total, m_resized[i], total);
        m_resized[i].release();
    }
    // Dividing by the number of levels cannot change the argmax except where it rounds
    // two values to one; the reference divides, so do we.
    if (m_plan.scales.size() > 1)
        total /= static_cast<double>(m_plan.scales.size());
    return argmax(total, m_classes);
}

Segmentation ImageCombiner::argmax(const cv::Mat &probabilities, int numClasses)
{
    Segmentation out;
    const int h = probabilities.rows, w = probabilities.cols;
    const bool wide = numClasses > 255;
    out.labels.create(h, w, wide ? CV_16U : CV_8U);
    std::vector<long long> counts(static_cast<size_t>(numClasses), 0);
    for (int y = 0; y < h; ++y) {
        const float *p = probabilities.ptr<float>(y);
        for (int x = 0; x < w; ++x, p += numClasses) {
            int best = 0;
            float bestValue = p[0];
            for (int k = 1; k < numClasses; ++k)
                if (p[k] > bestValue) {  // strict: ties keep the lowest index, as np.argmax
                    bestValue = p[k];
                    best = k;
                }
            if (wide)
                out.labels.ptr<std::uint16_t>(y)[x] = static_cast<std::uint16_t>(best);
            else
                out.labels.ptr<std::uint8_t>(y)[x] = static_cast<std::uint8_t>(best);
            ++counts[static_cast<size_t>(best)];
        }
    }
    const double total = static_cast<double>(h) * w;
    out.composition.resize(static_cast<size_t>(numClasses));
    for (int k = 0; k < numClasses; ++k)
        out.composition[static_cast<size_t>(k)] = total > 0 ? static_cast<double>(counts[static_cast<size_t>(k)]) / total : 0.0;
    return out;
}

} // namespace SegScale::Pipeline

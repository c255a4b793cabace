#include "pipeline/imagecombiner.h"

#include "pipeline/bandcombine.h"

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
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
    m_levels.resize(levels);
}

size_t ImageCombiner::estimateBytes(const ImagePlan &plan, int numClasses, int workers)
{
    const auto classes = static_cast<size_t>(numClasses);
    // The label map, 16-bit at most.
    size_t bytes = static_cast<size_t>(plan.width) * static_cast<size_t>(plan.height) * 2;
    // Every level's accumulator (which becomes its divided map) and count.
    for (const auto &s : plan.scales)
        bytes += static_cast<size_t>(s.paddedWidth) * static_cast<size_t>(s.paddedHeight) * (classes + 1) * sizeof(float);
    return bytes + static_cast<size_t>(std::max(1, workers)) *
                       BandCombine::scratchBytes(static_cast<int>(plan.scales.size()), plan.width, numClasses);
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
    // Only the un-padded region survives, so only it is divided, in place.
    cv::Mat region = acc(cv::Rect(s.padLeft, s.padTop, s.scaledWidth, s.scaledHeight));
    for (int y = 0; y < s.scaledHeight; ++y) {
        const float *cnt = count.ptr<float>(y + s.padTop) + s.padLeft;
        float *p = region.ptr<float>(y);
        for (int x = 0; x < s.scaledWidth; ++x) {
            const float c = cnt[x];
            for (int k = 0; k < m_classes; ++k)
                p[static_cast<size_t>(x) * m_classes + k] /= c;
        }
    }
    // A padded level keeps a compact copy, so its padding's memory goes now: a small level
    // padded up to the crop is mostly padding (a 2:1 panorama at base 512, crop 473, 4
    // scales: 0.55 of 0.99 megapixels of level maps, 330 MB at 150 classes).
    const bool padded = s.paddedWidth != s.scaledWidth || s.paddedHeight != s.scaledHeight;
    m_levels[static_cast<size_t>(level)] = padded ? region.clone() : region;
    acc.release();  // unpadded: the view keeps the memory
    m_counts[static_cast<size_t>(level)].release();
}

Segmentation ImageCombiner::finish()
{
    for (size_t i = 0; i < m_levels.size(); ++i)
        if (m_levels[i].empty())
            finishLevel(static_cast<int>(i));
    Segmentation out = BandCombine::run(m_levels, cv::Size(m_plan.width, m_plan.height), m_classes, m_bandRows);
    m_levels.clear();
    return out;
}

Segmentation ImageCombiner::finishFullMap()
{
    cv::Mat total;
    for (size_t i = 0; i < m_levels.size(); ++i) {
        if (m_levels[i].empty())
            finishLevel(static_cast<int>(i));
        cv::Mat resized;
        cv::resize(m_levels[i], resized, cv::Size(m_plan.width, m_plan.height), 0, 0, cv::INTER_LINEAR);
        m_levels[i].release();
        if (total.empty())
            total = resized;
        else
            cv::add(total, resized, total);
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

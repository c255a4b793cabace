#include "procedure/devicecombiner.h"

#include "procedure/lineartaps.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace SegScale::Procedure {

namespace {

// LinearTaps on the device, for index_select and broadcasting multiplies.
struct DeviceTaps {
    at::Tensor first, second;  // int64 source indices
    at::Tensor w0, w1;         // float32 weights
};

DeviceTaps deviceTaps(int64_t in, int64_t out, LinearTaps::Axis axis, c10::Device device)
{
    LinearTaps t = LinearTaps::compute(in, out, axis);
    const auto toDevice = [&](auto &v, c10::ScalarType type) {
        // from_blob does not own the vector: clone before the (asynchronous) upload.
        return torch::from_blob(v.data(), {out}, torch::TensorOptions().dtype(type)).clone().to(device, /*non_blocking=*/true);
    };
    return DeviceTaps{toDevice(t.first, torch::kLong), toDevice(t.second, torch::kLong), toDevice(t.w0, torch::kFloat),
                      toDevice(t.w1, torch::kFloat)};
}

// Rows [rowBegin, rowEnd) of the resize of chw to outHeight x outWidth, given the
// column taps and the row taps of the whole output. Only the source rows that the band's
// taps name go through the horizontal pass; every output value is computed as the whole
// resize computes it.
at::Tensor resizeRows(const at::Tensor &chw, int64_t outHeight, int64_t outWidth, const DeviceTaps &x,
                      const DeviceTaps &y, const std::vector<int64_t> &yFirst, const std::vector<int64_t> &ySecond,
                      int64_t rowBegin, int64_t rowEnd)
{
    const int64_t h = chw.size(1), w = chw.size(2);
    const int64_t rows = rowEnd - rowBegin;
    if (h == outHeight && w == outWidth)
        return chw.narrow(1, rowBegin, rows);
    if (LinearTaps::halfSize(h, w, outHeight, outWidth)) {
        // cv::resize turns INTER_LINEAR at exactly half size into INTER_AREA's fast path:
        // the sum over the 2x2 block, row by row, times 0.25.
        const at::Tensor band = chw.narrow(1, 2 * rowBegin, 2 * rows);
        const auto tap = [&](int64_t dy, int64_t dx) { return band.slice(1, dy, 2 * rows, 2).slice(2, dx, w, 2); };
        at::Tensor sum = tap(0, 0) + tap(0, 1);
        sum.add_(tap(1, 0)).add_(tap(1, 1));
        return sum.mul_(0.25f);
    }
    // The taps are monotone: the band needs source rows [first of its first row, second
    // of its last row].
    const int64_t sourceBegin = yFirst[static_cast<size_t>(rowBegin)];
    const int64_t sourceEnd = ySecond[static_cast<size_t>(rowEnd - 1)] + 1;
    const at::Tensor source = chw.narrow(1, sourceBegin, sourceEnd - sourceBegin);
    // Horizontal pass over the needed source rows, then the vertical pass (OpenCV's
    // order); separate multiply and add kernels, so nothing is fused into an FMA.
    at::Tensor horizontal = source.index_select(2, x.first).mul_(x.w0);
    horizontal.add_(source.index_select(2, x.second).mul_(x.w1));
    const at::Tensor first = y.first.narrow(0, rowBegin, rows) - sourceBegin;
    const at::Tensor second = y.second.narrow(0, rowBegin, rows) - sourceBegin;
    at::Tensor out = horizontal.index_select(1, first).mul_(y.w0.narrow(0, rowBegin, rows).view({rows, 1}));
    out.add_(horizontal.index_select(1, second).mul_(y.w1.narrow(0, rowBegin, rows).view({rows, 1})));
    return out;
}

} // namespace

DeviceCombiner::DeviceCombiner(ImagePlan plan, int numClasses, c10::Device device)
    : m_plan(std::move(plan)), m_classes(numClasses), m_device(device)
{
    if (numClasses < 1 || numClasses > 32767)
        throw std::invalid_argument("DeviceCombiner: the number of classes must be 1 .. 32767");
    if (m_plan.scales.empty() || m_plan.width < 1 || m_plan.height < 1)
        throw std::invalid_argument("DeviceCombiner: the plan has no levels or no pixels");
    const size_t levels = m_plan.scales.size();
    m_accumulators.resize(levels);
    m_counts.resize(levels);
    m_nextWindow.assign(levels, 0);
    m_regions.resize(levels);
}

int DeviceCombiner::automaticBandRows(int width, int numClasses)
{
    const std::size_t row = static_cast<std::size_t>(std::max(1, width)) * static_cast<std::size_t>(std::max(1, numClasses)) * sizeof(float);
    return static_cast<int>(std::clamp<std::size_t>((std::size_t{32} << 20) / row, 1, 1 << 20));
}

std::size_t DeviceCombiner::estimateBytes(const ImagePlan &plan, int numClasses, int bandRows)
{
    const auto classes = static_cast<std::size_t>(numClasses);
    const auto width = static_cast<std::size_t>(plan.width);
    const auto rows = static_cast<std::size_t>(std::min(plan.height, bandRows > 0 ? bandRows : automaticBandRows(plan.width, numClasses)));
    // The label map (int16 at most) and the class counts.
    std::size_t bytes = width * static_cast<std::size_t>(plan.height) * 2 + classes * 8;
    std::size_t sourceRows = 0;
    for (const auto &s : plan.scales) {
        const std::size_t padded = static_cast<std::size_t>(s.paddedWidth) * static_cast<std::size_t>(s.paddedHeight);
        // Accumulator and count; the divided map is a view into the accumulator.
        bytes += padded * (classes + 1) * sizeof(float);
        // A band's source rows: as many as the band's rows when shrinking, two more at most
        // when enlarging.
        const double ratio = static_cast<double>(s.scaledHeight) / std::max(1, plan.height);
        sourceRows = std::max(sourceRows, static_cast<std::size_t>(std::ceil(static_cast<double>(rows) * ratio)) + 2);
    }
    // One band: the running sum, one level's resize (horizontal pass over its source rows,
    // its two vertical taps and their sum), the argmax (int64).
    const std::size_t band = rows * width * classes * sizeof(float);
    bytes += 4 * band + sourceRows * width * classes * sizeof(float) + rows * width * 8;
    return bytes;
}

void DeviceCombiner::addWindow(int level, int window, const at::Tensor &probs)
{
    c10::InferenceMode guard;
    const ScalePlan &s = m_plan.scales.at(static_cast<size_t>(level));
    const auto l = static_cast<size_t>(level);
    if (window != m_nextWindow[l] || levelComplete(level))
        throw std::logic_error("DeviceCombiner: windows of a level must arrive in order, before the level is finished");
    TORCH_CHECK(probs.dim() == 3 && probs.size(0) == m_classes && probs.size(1) == s.crop && probs.size(2) == s.crop,
                "DeviceCombiner: expected ", m_classes, " x ", s.crop, " x ", s.crop, " probabilities, got ", probs.sizes());
    // A device named without an index ("cuda") matches the tensors made on it.
    const bool sameDevice = probs.device().type() == m_device.type() &&
                            (!m_device.has_index() || probs.device().index() == m_device.index());
    TORCH_CHECK(probs.scalar_type() == torch::kFloat && sameDevice,
                "DeviceCombiner: probabilities must be float32 on ", m_device, ", got ", probs.scalar_type(), " on ",
                probs.device());
    at::Tensor &acc = m_accumulators[l];
    at::Tensor &count = m_counts[l];
    if (!acc.defined()) {
        const auto options = torch::TensorOptions().dtype(torch::kFloat).device(m_device);
        acc = torch::zeros({m_classes, s.paddedHeight, s.paddedWidth}, options);
        count = torch::zeros({s.paddedHeight, s.paddedWidth}, options);
    }
    const Window &w = s.windows.at(static_cast<size_t>(window));
    acc.narrow(1, w.y, s.crop).narrow(2, w.x, s.crop).add_(probs);
    count.narrow(0, w.y, s.crop).narrow(1, w.x, s.crop).add_(1.0f);
    ++m_nextWindow[l];
}

bool DeviceCombiner::levelComplete(int level) const
{
    return m_nextWindow.at(static_cast<size_t>(level)) ==
           static_cast<int>(m_plan.scales.at(static_cast<size_t>(level)).windows.size());
}

void DeviceCombiner::finishLevel(int level)
{
    c10::InferenceMode guard;
    const auto l = static_cast<size_t>(level);
    const ScalePlan &s = m_plan.scales.at(l);
    if (!levelComplete(level))
        throw std::logic_error("DeviceCombiner: level finished before all its windows arrived");
    if (!m_accumulators[l].defined())
        throw std::logic_error("DeviceCombiner: level finished twice");
    // Only the un-padded region survives, so only it is divided, in place.
    m_regions[l] = m_accumulators[l].narrow(1, s.padTop, s.scaledHeight).narrow(2, s.padLeft, s.scaledWidth);
    m_regions[l].div_(m_counts[l].narrow(0, s.padTop, s.scaledHeight).narrow(1, s.padLeft, s.scaledWidth));
    // A padded level keeps a compact copy, so the padding's memory goes now (as ImageCombiner).
    if (s.paddedWidth != s.scaledWidth || s.paddedHeight != s.scaledHeight)
        m_regions[l] = m_regions[l].clone(at::MemoryFormat::Contiguous);
    m_accumulators[l] = at::Tensor();
    m_counts[l] = at::Tensor();
}

DeviceCombiner::Output DeviceCombiner::finish()
{
    c10::InferenceMode guard;
    if (m_done)
        throw std::logic_error("DeviceCombiner: finish() called twice");
    for (size_t i = 0; i < m_plan.scales.size(); ++i)
        if (m_accumulators[i].defined() || !levelComplete(static_cast<int>(i)))
            finishLevel(static_cast<int>(i));  // throws if windows are missing
    m_done = true;
    const int64_t height = m_plan.height, width = m_plan.width;
    const size_t levels = m_regions.size();
    // The taps of the whole output, once per level; bands take slices of the row taps.
    std::vector<DeviceTaps> xTaps, yTaps;
    std::vector<LinearTaps> yHost;
    for (const at::Tensor &r : m_regions) {
        xTaps.push_back(deviceTaps(r.size(2), width, LinearTaps::Axis::Columns, m_device));
        yTaps.push_back(deviceTaps(r.size(1), height, LinearTaps::Axis::Rows, m_device));
        yHost.push_back(LinearTaps::compute(r.size(1), height, LinearTaps::Axis::Rows));
    }
    const auto options = torch::TensorOptions().device(m_device);
    at::Tensor labels = torch::empty({height, width}, options.dtype(m_classes > 255 ? torch::kShort : torch::kByte));
    at::Tensor counts = torch::zeros({m_classes}, options.dtype(torch::kLong));
    // As ImageCombiner: OpenCV's `mat /= n` multiplies by the float 1/n.
    const float inverse = static_cast<float>(1.0 / static_cast<double>(levels));
    const int64_t bandRows = std::clamp<int64_t>(m_bandRows > 0 ? m_bandRows : automaticBandRows(m_plan.width, m_classes), 1, height);
    for (int64_t y0 = 0; y0 < height; y0 += bandRows) {
        const int64_t y1 = std::min(height, y0 + bandRows);
        // Levels summed in scale order, as the whole-image combine sums them.
        at::Tensor total;
        for (size_t l = 0; l < levels; ++l) {
            const at::Tensor &region = m_regions[l];
            at::Tensor r = resizeRows(region, height, width, xTaps[l], yTaps[l], yHost[l].first, yHost[l].second, y0, y1);
            const bool view = region.size(1) == height && region.size(2) == width;  // a view of the level's map
            if (!total.defined())
                total = view && levels > 1 ? r.clone() : r;
            else
                total.add_(r);
        }
        if (levels > 1)
            total.mul_(inverse);
        // argmax returns the first maximal index: ties go to the lowest class, as np.argmax.
        const at::Tensor best = total.argmax(0);
        counts.add_(torch::bincount(best.reshape({-1}), {}, m_classes));
        labels.narrow(0, y0, y1 - y0).copy_(best);
    }
    m_regions.clear();
    const at::Tensor hostCounts = counts.to(torch::kCPU);
    Output out;
    out.labels = labels.to(torch::kCPU);
    const double pixels = static_cast<double>(m_plan.width) * static_cast<double>(m_plan.height);
    out.composition.resize(static_cast<size_t>(m_classes));
    const auto c = hostCounts.accessor<int64_t, 1>();
    for (int k = 0; k < m_classes; ++k)
        out.composition[static_cast<size_t>(k)] = static_cast<double>(c[k]) / pixels;
    return out;
}

at::Tensor DeviceCombiner::resizeLinear(const at::Tensor &chw, int64_t outHeight, int64_t outWidth)
{
    return resizeLinearRows(chw, outHeight, outWidth, 0, outHeight);
}

at::Tensor DeviceCombiner::resizeLinearRows(const at::Tensor &chw, int64_t outHeight, int64_t outWidth, int64_t rowBegin,
                                            int64_t rowEnd)
{
    c10::InferenceMode guard;
    TORCH_CHECK(chw.dim() == 3 && chw.scalar_type() == torch::kFloat, "resizeLinear: expected C x h x w float32, got ",
                chw.sizes(), " ", chw.scalar_type());
    TORCH_CHECK(outHeight > 0 && outWidth > 0, "resizeLinear: empty output size");
    TORCH_CHECK(0 <= rowBegin && rowBegin < rowEnd && rowEnd <= outHeight, "resizeLinear: rows ", rowBegin, "..", rowEnd,
                " outside 0..", outHeight);
    const c10::Device device = chw.device();
    const DeviceTaps x = deviceTaps(chw.size(2), outWidth, LinearTaps::Axis::Columns, device);
    const LinearTaps yHost = LinearTaps::compute(chw.size(1), outHeight, LinearTaps::Axis::Rows);
    const DeviceTaps y = deviceTaps(chw.size(1), outHeight, LinearTaps::Axis::Rows, device);
    return resizeRows(chw, outHeight, outWidth, x, y, yHost.first, yHost.second, rowBegin, rowEnd);
}

} // namespace SegScale::Procedure

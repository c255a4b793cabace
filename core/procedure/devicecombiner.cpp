#include "procedure/devicecombiner.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace SegScale::Procedure {

namespace {

// One axis of OpenCV's INTER_LINEAR (imgproc/src/resize.cpp, resizeGeneric): for every
// output position, two source taps and their float32 weights.
struct Taps {
    at::Tensor first, second;  // int64 source indices
    at::Tensor w0, w1;         // float32 weights
};

Taps linearTaps(int64_t in, int64_t out, bool clampWeights, c10::Device device)
{
    std::vector<int64_t> i0(static_cast<size_t>(out)), i1(static_cast<size_t>(out));
    std::vector<float> w0(static_cast<size_t>(out)), w1(static_cast<size_t>(out));
    // cv::resize: inv_scale = dsize / ssize, scale = 1 / inv_scale, both in double.
    const double scale = 1.0 / (static_cast<double>(out) / static_cast<double>(in));
    for (int64_t d = 0; d < out; ++d) {
        float f = static_cast<float>((static_cast<double>(d) + 0.5) * scale - 0.5);
        auto s = static_cast<int64_t>(std::floor(f));
        f -= static_cast<float>(s);
        if (clampWeights) {
            // Columns: a tap off either border becomes the border pixel with weight 1.
            if (s < 0) {
                f = 0.f;
                s = 0;
            }
            if (s >= in - 1) {
                f = 0.f;
                s = in - 1;
            }
        }
        // Rows keep their weights; both taps are clipped into the image.
        const auto u = static_cast<size_t>(d);
        i0[u] = std::clamp<int64_t>(s, 0, in - 1);
        i1[u] = std::clamp<int64_t>(s + 1, 0, in - 1);
        w0[u] = 1.f - f;
        w1[u] = f;
    }
    const auto toDevice = [&](auto &v, c10::ScalarType type) {
        // from_blob does not own the vector: clone before the (asynchronous) upload.
        return torch::from_blob(v.data(), {out}, torch::TensorOptions().dtype(type)).clone().to(device, /*non_blocking=*/true);
    };
    return Taps{toDevice(i0, torch::kLong), toDevice(i1, torch::kLong), toDevice(w0, torch::kFloat), toDevice(w1, torch::kFloat)};
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
    m_resized.resize(levels);
    m_finished = std::make_unique<bool[]>(levels);  // all false
}

std::size_t DeviceCombiner::estimateBytes(const ImagePlan &plan, int numClasses)
{
    const auto classes = static_cast<std::size_t>(numClasses);
    const std::size_t image = static_cast<std::size_t>(plan.width) * static_cast<std::size_t>(plan.height);
    // The running sum, and the vertical pass's output and second tap of one level.
    std::size_t bytes = 3 * image * classes * sizeof(float);
    std::size_t intermediate = 0;
    for (const auto &s : plan.scales) {
        const std::size_t padded = static_cast<std::size_t>(s.paddedWidth) * static_cast<std::size_t>(s.paddedHeight);
        bytes += padded * (classes + 1) * sizeof(float);
        // The horizontal pass: scaled height x image width.
        intermediate = std::max(intermediate, static_cast<std::size_t>(s.scaledHeight) *
                                                  static_cast<std::size_t>(plan.width) * classes * sizeof(float));
    }
    return bytes + intermediate;
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
    // Only the un-padded region survives, so only it is divided.
    const at::Tensor region = m_accumulators[l].narrow(1, s.padTop, s.scaledHeight).narrow(2, s.padLeft, s.scaledWidth) /
                              m_counts[l].narrow(0, s.padTop, s.scaledHeight).narrow(1, s.padLeft, s.scaledWidth);
    m_accumulators[l] = at::Tensor();
    m_counts[l] = at::Tensor();
    at::Tensor resized = resizeLinear(region, m_plan.height, m_plan.width);
    const std::lock_guard lock(m_sumMutex);
    m_resized[l] = std::move(resized);
    m_finished[l] = true;
    foldFinishedLevels();
}

void DeviceCombiner::foldFinishedLevels()
{
    // The sum is made in scale order whatever order the levels finish in, so results do
    // not depend on the schedule (as ImageCombiner's). Called with m_sumMutex held.
    while (m_summed < m_resized.size() && m_finished[m_summed]) {
        at::Tensor &r = m_resized[m_summed];
        if (!m_total.defined())
            m_total = r;  // our own tensor: summed into in place from here on
        else
            m_total.add_(r);
        r = at::Tensor();
        ++m_summed;
    }
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
    at::Tensor total = std::move(m_total);
    m_total = at::Tensor();
    // As ImageCombiner: OpenCV's `mat /= n` multiplies by the float 1/n.
    if (m_plan.scales.size() > 1)
        total.mul_(static_cast<float>(1.0 / static_cast<double>(m_plan.scales.size())));
    // argmax returns the first maximal index: ties go to the lowest class, as np.argmax.
    const at::Tensor best = total.argmax(0);
    total = at::Tensor();
    const at::Tensor counts = torch::bincount(best.reshape({-1}), {}, m_classes).to(torch::kCPU);
    Output out;
    out.labels = best.to(m_classes > 255 ? torch::kShort : torch::kByte).to(torch::kCPU);
    const double pixels = static_cast<double>(m_plan.width) * static_cast<double>(m_plan.height);
    out.composition.resize(static_cast<size_t>(m_classes));
    const auto c = counts.accessor<int64_t, 1>();
    for (int k = 0; k < m_classes; ++k)
        out.composition[static_cast<size_t>(k)] = static_cast<double>(c[k]) / pixels;
    return out;
}

at::Tensor DeviceCombiner::resizeLinear(const at::Tensor &chw, int64_t outHeight, int64_t outWidth)
{
    c10::InferenceMode guard;
    TORCH_CHECK(chw.dim() == 3 && chw.scalar_type() == torch::kFloat, "resizeLinear: expected C x h x w float32, got ",
                chw.sizes(), " ", chw.scalar_type());
    TORCH_CHECK(outHeight > 0 && outWidth > 0, "resizeLinear: empty output size");
    const int64_t h = chw.size(1), w = chw.size(2);
    if (h == outHeight && w == outWidth)
        return chw;
    if (h == 2 * outHeight && w == 2 * outWidth) {
        // cv::resize turns INTER_LINEAR at exactly half size into INTER_AREA's fast path:
        // the sum over the 2x2 block, row by row, times 0.25.
        const auto tap = [&](int64_t dy, int64_t dx) {
            return chw.slice(1, dy, h, 2).slice(2, dx, w, 2);
        };
        at::Tensor sum = tap(0, 0) + tap(0, 1);
        sum.add_(tap(1, 0)).add_(tap(1, 1));
        return sum.mul_(0.25f);
    }
    const c10::Device device = chw.device();
    const Taps x = linearTaps(w, outWidth, /*clampWeights=*/true, device);
    const Taps y = linearTaps(h, outHeight, /*clampWeights=*/false, device);
    // Horizontal pass over every source row, then the vertical pass (OpenCV's order);
    // separate multiply and add kernels, so nothing is fused into an FMA.
    at::Tensor horizontal = chw.index_select(2, x.first).mul_(x.w0);
    horizontal.add_(chw.index_select(2, x.second).mul_(x.w1));
    at::Tensor out = horizontal.index_select(1, y.first).mul_(y.w0.view({outHeight, 1}));
    out.add_(horizontal.index_select(1, y.second).mul_(y.w1.view({outHeight, 1})));
    return out;
}

} // namespace SegScale::Procedure

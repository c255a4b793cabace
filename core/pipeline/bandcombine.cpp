#include "pipeline/bandcombine.h"

#include "procedure/lineartaps.h"

#include <opencv2/core.hpp>
#include <opencv2/core/hal/intrin.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <mutex>
#include <stdexcept>

namespace SegScale::Pipeline {

namespace {

using Procedure::LinearTaps;

// How cv::resize makes one level's image-sized map.
enum class Kind { Copy, Half, Linear };

// One level's map and its taps for the whole output (the bands take their rows).
struct Level {
    const cv::Mat *map = nullptr;
    Kind kind = Kind::Linear;
    std::vector<int> xFirst, xSecond;  // element offsets in a source row: tap * classes
    std::vector<float> xw0, xw1;
    std::vector<int> yFirst, ySecond;
    std::vector<float> yw0, yw1;
};

Level levelFor(const cv::Mat &map, cv::Size size, int classes)
{
    Level l;
    l.map = &map;
    if (map.rows == size.height && map.cols == size.width) {
        l.kind = Kind::Copy;
        return l;
    }
    if (LinearTaps::halfSize(map.rows, map.cols, size.height, size.width)) {
        l.kind = Kind::Half;
        return l;
    }
    const LinearTaps x = LinearTaps::compute(map.cols, size.width, LinearTaps::Axis::Columns);
    const LinearTaps y = LinearTaps::compute(map.rows, size.height, LinearTaps::Axis::Rows);
    for (size_t i = 0; i < x.first.size(); ++i) {
        l.xFirst.push_back(static_cast<int>(x.first[i]) * classes);
        l.xSecond.push_back(static_cast<int>(x.second[i]) * classes);
    }
    l.xw0 = x.w0;
    l.xw1 = x.w1;
    l.yFirst.assign(y.first.begin(), y.first.end());
    l.ySecond.assign(y.second.begin(), y.second.end());
    l.yw0 = y.w0;
    l.yw1 = y.w1;
    return l;
}

// d[i] = a[i] * wa + b[i] * wb for n floats: cv::resize's two-tap step, two roundings
// (the build has -ffp-contract=off for this file, so nothing is fused into an FMA).
inline void twoTaps(const float *a, float wa, const float *b, float wb, float *d, int n)
{
    int i = 0;
#if CV_SIMD
    const cv::v_float32 va = cv::vx_setall_f32(wa), vb = cv::vx_setall_f32(wb);
    for (; i + cv::v_float32::nlanes <= n; i += cv::v_float32::nlanes)
        cv::v_store(d + i, cv::vx_load(a + i) * va + cv::vx_load(b + i) * vb);
#endif
    for (; i < n; ++i)
        d[i] = a[i] * wa + b[i] * wb;
}

// t[i] = t[i] + (a[i] * wa + b[i] * wb): the vertical step summed into the running total.
inline void twoTapsAdd(const float *a, float wa, const float *b, float wb, float *t, int n)
{
    int i = 0;
#if CV_SIMD
    const cv::v_float32 va = cv::vx_setall_f32(wa), vb = cv::vx_setall_f32(wb);
    for (; i + cv::v_float32::nlanes <= n; i += cv::v_float32::nlanes)
        cv::v_store(t + i, cv::vx_load(t + i) + (cv::vx_load(a + i) * va + cv::vx_load(b + i) * vb));
#endif
    for (; i < n; ++i)
        t[i] = t[i] + (a[i] * wa + b[i] * wb);
}

inline void addInto(const float *a, float *t, int n)
{
    int i = 0;
#if CV_SIMD
    for (; i + cv::v_float32::nlanes <= n; i += cv::v_float32::nlanes)
        cv::v_store(t + i, cv::vx_load(t + i) + cv::vx_load(a + i));
#endif
    for (; i < n; ++i)
        t[i] = t[i] + a[i];
}

inline void scale(float *t, float s, int n)
{
    int i = 0;
#if CV_SIMD
    const cv::v_float32 vs = cv::vx_setall_f32(s);
    for (; i + cv::v_float32::nlanes <= n; i += cv::v_float32::nlanes)
        cv::v_store(t + i, cv::vx_load(t + i) * vs);
#endif
    for (; i < n; ++i)
        t[i] = t[i] * s;
}

// The first index of the largest value, as a strict `>` scan from index 0 gives it
// (np.argmax; NaNs are never chosen unless p[0] is one). The maximum is found with
// vector max first, then its first occurrence; a NaN that hides it falls back to the scan.
inline int argmaxOf(const float *p, int n)
{
    float best = p[0];
    int i = 0;
#if CV_SIMD
    if (n >= cv::v_float32::nlanes) {
        cv::v_float32 m = cv::vx_setall_f32(-INFINITY);
        for (; i + cv::v_float32::nlanes <= n; i += cv::v_float32::nlanes)
            m = cv::v_max(cv::vx_load(p + i), m);
        best = cv::v_reduce_max(m);
    }
#endif
    for (; i < n; ++i)
        if (p[i] > best)
            best = p[i];
    if (p[0] == p[0]) {  // p[0] not NaN: the answer is the first occurrence of the maximum
        int k = 0;
#if CV_SIMD
        const cv::v_float32 vbest = cv::vx_setall_f32(best);
        for (; k + cv::v_float32::nlanes <= n; k += cv::v_float32::nlanes)
            if (cv::v_check_any(cv::vx_load(p + k) == vbest))
                break;
#endif
        for (; k < n; ++k)
            if (p[k] == best)
                return k;
    }
    int index = 0;
    float value = p[0];
    for (int k = 1; k < n; ++k)
        if (p[k] > value) {
            value = p[k];
            index = k;
        }
    return index;
}

// The horizontally resized source rows of one level that the current output row needs.
// The row taps only grow, so two slots suffice, as in cv::resize's own row buffer.
class RowCache {
public:
    void reset(size_t elements)
    {
        for (int s = 0; s < 2; ++s) {
            m_rows[s].resize(elements);
            m_ids[s] = -1;
        }
    }
    void rows(const Level &level, int width, int classes, int r0, int r1, const float *&p0, const float *&p1)
    {
        int s0 = slotOf(r0);
        if (s0 < 0) {
            const int s1 = slotOf(r1);
            s0 = s1 >= 0 ? 1 - s1 : (m_ids[0] <= m_ids[1] ? 0 : 1);
            fill(level, width, classes, s0, r0);
        }
        int s1 = slotOf(r1);
        if (s1 < 0) {
            s1 = 1 - s0;
            fill(level, width, classes, s1, r1);
        }
        p0 = m_rows[s0].data();
        p1 = m_rows[s1].data();
    }

private:
    int slotOf(int r) const { return m_ids[0] == r ? 0 : (m_ids[1] == r ? 1 : -1); }
    void fill(const Level &level, int width, int classes, int slot, int sourceRow)
    {
        const float *s = level.map->ptr<float>(sourceRow);
        float *d = m_rows[slot].data();
        for (int x = 0; x < width; ++x, d += classes)
            twoTaps(s + level.xFirst[static_cast<size_t>(x)], level.xw0[static_cast<size_t>(x)],
                    s + level.xSecond[static_cast<size_t>(x)], level.xw1[static_cast<size_t>(x)], d, classes);
        m_ids[slot] = sourceRow;
    }

    std::vector<float> m_rows[2];
    int m_ids[2] = {-1, -1};
};

// Output row y, pixels [x0, x1), of one level written to (first) or summed into t.
void levelRow(const Level &level, RowCache &cache, int width, int classes, int y, int x0, int x1, float *t, bool first)
{
    const int n = (x1 - x0) * classes;
    const size_t e0 = static_cast<size_t>(x0) * static_cast<size_t>(classes);
    switch (level.kind) {
    case Kind::Copy: {
        const float *s = level.map->ptr<float>(y) + e0;
        if (first)
            std::copy(s, s + n, t);
        else
            addInto(s, t, n);
        return;
    }
    case Kind::Half: {
        // INTER_AREA's fast 2x path: ((a00 + a01) + a10) + a11, times 0.25f.
        const float *r0 = level.map->ptr<float>(2 * y);
        const float *r1 = level.map->ptr<float>(2 * y + 1);
        for (int x = x0; x < x1; ++x) {
            const size_t a = static_cast<size_t>(2 * x) * static_cast<size_t>(classes);
            const size_t b = a + static_cast<size_t>(classes);
            float *d = t + static_cast<size_t>(x - x0) * static_cast<size_t>(classes);
            for (int k = 0; k < classes; ++k) {
                const float v = (((r0[a + k] + r0[b + k]) + r1[a + k]) + r1[b + k]) * 0.25f;
                d[k] = first ? v : d[k] + v;
            }
        }
        return;
    }
    case Kind::Linear: {
        const auto yy = static_cast<size_t>(y);
        const float *h0 = nullptr, *h1 = nullptr;
        cache.rows(level, width, classes, level.yFirst[yy], level.ySecond[yy], h0, h1);
        if (first)
            twoTaps(h0 + e0, level.yw0[yy], h1 + e0, level.yw1[yy], t, n);
        else
            twoTapsAdd(h0 + e0, level.yw0[yy], h1 + e0, level.yw1[yy], t, n);
        return;
    }
    }
}

// Pixels per step of a row: one step's sums stay in the first-level cache.
int chunkPixels(int classes)
{
    return std::max(1, 4096 / std::max(1, classes));
}

} // namespace

std::size_t BandCombine::scratchBytes(int levels, int width, int numClasses)
{
    const auto row = static_cast<std::size_t>(width) * static_cast<std::size_t>(numClasses) * sizeof(float);
    return static_cast<std::size_t>(levels) * 2 * row + static_cast<std::size_t>(chunkPixels(numClasses)) *
                                                           static_cast<std::size_t>(numClasses) * sizeof(float) +
           static_cast<std::size_t>(numClasses) * sizeof(long long);
}

Segmentation BandCombine::run(const std::vector<cv::Mat> &levels, cv::Size size, int numClasses, int bandRows)
{
    if (levels.empty() || size.width < 1 || size.height < 1 || numClasses < 1)
        throw std::invalid_argument("BandCombine: no levels, no pixels or no classes");
    for (const cv::Mat &m : levels)
        if (m.type() != CV_32FC(numClasses) || m.empty())
            throw std::invalid_argument("BandCombine: every level must be a non-empty float map with one channel per class");
    std::vector<Level> geometry;
    for (const cv::Mat &m : levels)
        geometry.push_back(levelFor(m, size, numClasses));

    Segmentation out;
    const bool wide = numClasses > 255;
    out.labels.create(size, wide ? CV_16U : CV_8U);
    std::vector<long long> counts(static_cast<size_t>(numClasses), 0);
    std::mutex countsMutex;
    const int rows = std::max(1, bandRows > 0 ? bandRows : kDefaultBandRows);
    const int bands = (size.height + rows - 1) / rows;
    const bool several = levels.size() > 1;
    // As the whole-image combine: OpenCV's `mat /= n` multiplies by the float 1/n.
    const float inverse = static_cast<float>(1.0 / static_cast<double>(levels.size()));
    const int chunk = chunkPixels(numClasses);

    cv::parallel_for_(cv::Range(0, bands), [&](const cv::Range &range) {
        std::vector<RowCache> caches(geometry.size());
        std::vector<float> total(static_cast<size_t>(chunk) * static_cast<size_t>(numClasses));
        std::vector<long long> local(static_cast<size_t>(numClasses), 0);
        for (int band = range.start; band < range.end; ++band) {
            // A band starts from nothing: what it computes does not depend on the bands
            // before it, so the band size and the threads change no value.
            for (auto &c : caches)
                c.reset(static_cast<size_t>(size.width) * static_cast<size_t>(numClasses));
            const int y1 = std::min(size.height, (band + 1) * rows);
            for (int y = band * rows; y < y1; ++y) {
                for (int x0 = 0; x0 < size.width; x0 += chunk) {
                    const int x1 = std::min(size.width, x0 + chunk);
                    for (size_t l = 0; l < geometry.size(); ++l)
                        levelRow(geometry[l], caches[l], size.width, numClasses, y, x0, x1, total.data(), l == 0);
                    if (several)
                        scale(total.data(), inverse, (x1 - x0) * numClasses);
                    const float *p = total.data();
                    for (int x = x0; x < x1; ++x, p += numClasses) {
                        const int best = argmaxOf(p, numClasses);
                        if (wide)
                            out.labels.ptr<std::uint16_t>(y)[x] = static_cast<std::uint16_t>(best);
                        else
                            out.labels.ptr<std::uint8_t>(y)[x] = static_cast<std::uint8_t>(best);
                        ++local[static_cast<size_t>(best)];
                    }
                }
            }
        }
        const std::lock_guard lock(countsMutex);
        for (size_t k = 0; k < counts.size(); ++k)
            counts[k] += local[k];
    });

    const double pixels = static_cast<double>(size.width) * static_cast<double>(size.height);
    out.composition.resize(static_cast<size_t>(numClasses));
    for (size_t k = 0; k < counts.size(); ++k)
        out.composition[k] = static_cast<double>(counts[k]) / pixels;
    return out;
}

void BandCombine::resizeRows(const cv::Mat &src, cv::Size size, int rowBegin, int rowEnd, cv::Mat &dst)
{
    if (src.depth() != CV_32F || src.empty() || size.width < 1 || rowBegin < 0 || rowBegin >= rowEnd || rowEnd > size.height)
        throw std::invalid_argument("BandCombine::resizeRows: a float image and rows inside the output are needed");
    const int channels = src.channels();
    const Level level = levelFor(src, size, channels);
    dst.create(rowEnd - rowBegin, size.width, src.type());
    RowCache cache;
    cache.reset(static_cast<size_t>(size.width) * static_cast<size_t>(channels));
    for (int y = rowBegin; y < rowEnd; ++y)
        levelRow(level, cache, size.width, channels, y, 0, size.width, dst.ptr<float>(y - rowBegin), true);
}

} // namespace SegScale::Pipeline

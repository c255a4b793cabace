#include "procedure/lineartaps.h"

#include <algorithm>
#include <cmath>

namespace SegScale::Procedure {

LinearTaps LinearTaps::compute(int64_t in, int64_t out, Axis axis)
{
    LinearTaps t;
    const auto n = static_cast<size_t>(std::max<int64_t>(out, 0));
    t.first.resize(n);
    t.second.resize(n);
    t.w0.resize(n);
    t.w1.resize(n);
    // cv::resize: inv_scale = dsize / ssize, scale = 1 / inv_scale, both in double.
    const double scale = 1.0 / (static_cast<double>(out) / static_cast<double>(in));
    for (int64_t d = 0; d < out; ++d) {
        float f = static_cast<float>((static_cast<double>(d) + 0.5) * scale - 0.5);
        auto s = static_cast<int64_t>(std::floor(f));
        f -= static_cast<float>(s);
        if (axis == Axis::Columns) {
            // A tap off either border becomes the border pixel with weight 1.
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
        t.first[u] = std::clamp<int64_t>(s, 0, in - 1);
        t.second[u] = std::clamp<int64_t>(s + 1, 0, in - 1);
        t.w0[u] = 1.f - f;
        t.w1[u] = f;
    }
    return t;
}

} // namespace SegScale::Procedure

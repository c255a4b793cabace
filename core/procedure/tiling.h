#pragma once
// Tiling: the geometry of the reference procedure (PSPNet tool/test.py) for one image —
// the scale pyramid (long side = round(s * base_size), the other side in proportion),
// the mean-colour padding up to the crop size (pad/2 top-left, the rest bottom-right)
// and the sliding crop windows (stride ceil(crop * stride_rate), grid
// ceil((H - crop) / stride) + 1, start = min(i * stride + crop, H) - crop).
// Pure arithmetic, no pixels: both engines, the device combine and the tests share it.
// Like all of core/procedure, it needs neither Qt nor OpenCV (tests/bench/gpu builds it
// with LibTorch alone).

#include <vector>

namespace SegScale::Procedure {

struct TilingParams {
    std::vector<double> scales{1.0};
    int baseSize = 512;
    int crop = 473;
    double strideRate = 2.0 / 3.0;
};

struct Window {
    int x = 0;
    int y = 0;
    friend bool operator==(const Window &, const Window &) = default;
};

struct ScalePlan {
    double scale = 1.0;
    int scaledWidth = 0, scaledHeight = 0;  // after the resize, before padding
    int padTop = 0, padBottom = 0, padLeft = 0, padRight = 0;
    int paddedWidth = 0, paddedHeight = 0;
    int crop = 0;
    int strideX = 0, strideY = 0;
    int gridX = 0, gridY = 0;
    std::vector<Window> windows;  // row-major, the reference's loop order
};

struct ImagePlan {
    int width = 0, height = 0;
    std::vector<ScalePlan> scales;
    int windowCount() const;
};

class Tiling {
public:
    static ImagePlan plan(int width, int height, const TilingParams &params);
    // Python 3's round(): halves go to the even neighbour (round(2.5) == 2). The
    // reference computes sizes with it, so we must too.
    static long long pythonRound(double value);
};

} // namespace SegScale::Procedure

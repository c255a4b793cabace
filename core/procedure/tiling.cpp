#include "procedure/tiling.h"

#include <algorithm>
#include <cmath>

namespace SegScale::Procedure {

int ImagePlan::windowCount() const
{
    int n = 0;
    for (const auto &s : scales)
        n += static_cast<int>(s.windows.size());
    return n;
}

long long Tiling::pythonRound(double value)
{
    const double floor = std::floor(value);
    const double diff = value - floor;
    if (diff > 0.5)
        return static_cast<long long>(floor) + 1;
    if (diff < 0.5)
        return static_cast<long long>(floor);
    const auto f = static_cast<long long>(floor);
    return (f % 2 == 0) ? f : f + 1;
}

ImagePlan Tiling::plan(int width, int height, const TilingParams &params)
{
    ImagePlan plan;
    plan.width = width;
    plan.height = height;
    for (double scale : params.scales) {
        ScalePlan s;
        s.scale = scale;
        const long long longSize = pythonRound(scale * params.baseSize);
        long long newH = longSize, newW = longSize;
        // As test.py: the long side gets long_size; a square image takes the else branch.
        if (height > width)
            newW = pythonRound(static_cast<double>(longSize) / static_cast<double>(height) * width);
        else
            newH = pythonRound(static_cast<double>(longSize) / static_cast<double>(width) * height);
        s.scaledWidth = static_cast<int>(std::max(1LL, newW));
        s.scaledHeight = static_cast<int>(std::max(1LL, newH));
        s.crop = params.crop;
        const int padH = std::max(params.crop - s.scaledHeight, 0);
        const int padW = std::max(params.crop - s.scaledWidth, 0);
        s.padTop = padH / 2;
        s.padBottom = padH - s.padTop;
        s.padLeft = padW / 2;
        s.padRight = padW - s.padLeft;
        s.paddedHeight = s.scaledHeight + padH;
        s.paddedWidth = s.scaledWidth + padW;
        s.strideY = static_cast<int>(std::ceil(params.crop * params.strideRate));
        s.strideX = s.strideY;
        s.gridY = static_cast<int>(std::ceil(static_cast<double>(s.paddedHeight - params.crop) / s.strideY)) + 1;
        s.gridX = static_cast<int>(std::ceil(static_cast<double>(s.paddedWidth - params.crop) / s.strideX)) + 1;
        s.windows.reserve(static_cast<size_t>(s.gridX) * static_cast<size_t>(s.gridY));
        for (int iy = 0; iy < s.gridY; ++iy) {
            const int y = std::min(iy * s.strideY + params.crop, s.paddedHeight) - params.crop;
            for (int ix = 0; ix < s.gridX; ++ix) {
                const int x = std::min(ix * s.strideX + params.crop, s.paddedWidth) - params.crop;
                s.windows.push_back(Window{x, y});
            }
        }
        plan.scales.push_back(std::move(s));
    }
    return plan;
}

} // namespace SegScale::Procedure

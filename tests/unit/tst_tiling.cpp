// Tiling geometry against cases computed by hand from PSPNet's tool/test.py.
#include "pipeline/tiling.h"

#include <QtTest>

using namespace SegScale::Pipeline;

class TilingTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void pythonRound()
    {
        QCOMPARE(Tiling::pythonRound(2.5), 2LL);
        QCOMPARE(Tiling::pythonRound(3.5), 4LL);
        QCOMPARE(Tiling::pythonRound(341.333), 341LL);
        QCOMPARE(Tiling::pythonRound(341.5), 342LL);
        QCOMPARE(Tiling::pythonRound(0.5), 0LL);
        QCOMPARE(Tiling::pythonRound(-0.5), 0LL);
        QCOMPARE(Tiling::pythonRound(7.0), 7LL);
    }

    void landscapeWiderThanCrop()
    {
        // 300x200 at scale 1, base 512, crop 473: long side 512, short round(341.33)=341.
        const ImagePlan p = Tiling::plan(300, 200, TilingParams{{1.0}, 512, 473, 2.0 / 3.0});
        QCOMPARE(p.scales.size(), size_t(1));
        const ScalePlan &s = p.scales[0];
        QCOMPARE(s.scaledWidth, 512);
        QCOMPARE(s.scaledHeight, 341);
        QCOMPARE(s.padTop, 66);
        QCOMPARE(s.padBottom, 66);
        QCOMPARE(s.padLeft, 0);
        QCOMPARE(s.padRight, 0);
        QCOMPARE(s.paddedWidth, 512);
        QCOMPARE(s.paddedHeight, 473);
        QCOMPARE(s.strideX, 316);  // ceil(473 * 2/3) = ceil(315.33)
        QCOMPARE(s.gridX, 2);
        QCOMPARE(s.gridY, 1);
        QCOMPARE(s.windows, (std::vector<Window>{{0, 0}, {39, 0}}));
    }

    void smallerThanCropBothWays()
    {
        // 100x80 at 0.5 of base 100 -> 50x40, crop 65: pad 25 rows (12 top, 13 bottom),
        // 15 columns (7 left, 8 right); one window.
        const ImagePlan p = Tiling::plan(100, 80, TilingParams{{0.5}, 100, 65, 2.0 / 3.0});
        const ScalePlan &s = p.scales[0];
        QCOMPARE(s.scaledWidth, 50);
        QCOMPARE(s.scaledHeight, 40);
        QCOMPARE(s.padTop, 12);
        QCOMPARE(s.padBottom, 13);
        QCOMPARE(s.padLeft, 7);
        QCOMPARE(s.padRight, 8);
        QCOMPARE(s.paddedWidth, 65);
        QCOMPARE(s.paddedHeight, 65);
        QCOMPARE(s.windows, (std::vector<Window>{{0, 0}}));
    }

    void notDivisibleByStride()
    {
        // 1000x700, crop 300, stride 200: x grid ceil(700/200)+1 = 5, the last window
        // clamped to end at the border (700); y grid ceil(400/200)+1 = 3.
        const ImagePlan p = Tiling::plan(1000, 700, TilingParams{{1.0}, 1000, 300, 2.0 / 3.0});
        const ScalePlan &s = p.scales[0];
        QCOMPARE(s.scaledWidth, 1000);
        QCOMPARE(s.scaledHeight, 700);
        QCOMPARE(s.strideX, 200);
        QCOMPARE(s.gridX, 5);
        QCOMPARE(s.gridY, 3);
        std::vector<Window> expected;
        for (int y : {0, 200, 400})
            for (int x : {0, 200, 400, 600, 700})
                expected.push_back({x, y});
        QCOMPARE(s.windows, expected);
    }

    void portraitAndPyramid()
    {
        // Portrait 200x300: the height is the long side. Four scales of base 512.
        const ImagePlan p = Tiling::plan(200, 300, TilingParams{{0.5, 0.75, 1.0, 1.25}, 512, 473, 2.0 / 3.0});
        QCOMPARE(p.scales.size(), size_t(4));
        const int longSides[] = {256, 384, 512, 640};
        const int shortSides[] = {171, 256, 341, 427};  // round(L/300*200)
        for (int i = 0; i < 4; ++i) {
            QCOMPARE(p.scales[size_t(i)].scaledHeight, longSides[i]);
            QCOMPARE(p.scales[size_t(i)].scaledWidth, shortSides[i]);
        }
        // 1.25: 427x640 -> padded 473 wide (23 left, 23 right), 640 high; 1 x 2 windows.
        const ScalePlan &s = p.scales[3];
        QCOMPARE(s.padLeft, 23);
        QCOMPARE(s.padRight, 23);
        QCOMPARE(s.windows, (std::vector<Window>{{0, 0}, {0, 167}}));
        // 1.0: 341x512 padded to 473x512 -> ceil(39/316)+1 = 2 rows of windows.
        QCOMPARE(p.scales[2].windows, (std::vector<Window>{{0, 0}, {0, 39}}));
        QCOMPARE(p.windowCount(), 1 + 1 + 2 + 2);
    }

    void squareTakesTheElseBranch()
    {
        // h == w: test.py's `if h > w` is false, so new_h = round(L / w * h) = L.
        const ImagePlan p = Tiling::plan(640, 640, TilingParams{{1.0}, 1024, 512, 2.0 / 3.0});
        QCOMPARE(p.scales[0].scaledWidth, 1024);
        QCOMPARE(p.scales[0].scaledHeight, 1024);
        QCOMPARE(p.scales[0].strideX, 342);  // ceil(341.33)
        QCOMPARE(p.scales[0].gridX, 3);      // ceil(512/342)+1
        QCOMPARE(p.scales[0].windows.back(), (Window{512, 512}));
    }
};

QTEST_GUILESS_MAIN(TilingTest)
#include "tst_tiling.moc"

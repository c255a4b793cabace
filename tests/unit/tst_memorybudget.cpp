// The in-flight limit in bytes: MemoryBudget on its own (blocks until there is room,
// serves requests in order, wakes on abort) and in the engine — an image that cannot fit
// even alone fails alone as too-large with the numbers in its message while the others
// finish (pipelined and sequential); a budget that holds one image at a time makes the
// images wait for each other, never changes a label, and is never exceeded.

#include "common/enginefixtures.h"
#include "common/syntheticphoto.h"
#include "common/testnetworks.h"
#include "pipeline/engine.h"
#include "pipeline/memorybudget.h"

#include <opencv2/imgcodecs.hpp>

#include <QtTest>

#include <atomic>
#include <map>
#include <thread>

using namespace SegScale;
using namespace SegScale::Pipeline;

namespace {

using Testing::CollectSink;
using Testing::png;
using Testing::VectorSource;

SegmentOptions smallOptions(EngineMode mode)
{
    SegmentOptions o;
    o.scales = {0.5, 1.0};
    o.baseSize = 64;
    o.crop = 33;
    o.mode = mode;
    o.imagesInFlight = 4;
    return o;
}

} // namespace

class MemoryBudgetTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { torch::set_num_threads(1); }

    void reservesAndWaitsForRoom()
    {
        MemoryBudget budget(100);
        QVERIFY(budget.fits(100));
        QVERIFY(!budget.fits(101));
        auto a = budget.reserve(60);
        QCOMPARE(a.bytes(), size_t(60));
        std::atomic<bool> gotB{false};
        std::thread waiter([&] {
            auto b = budget.reserve(50);  // 60 + 50 > 100: waits for a
            gotB = b.bytes() == 50;
        });
        QTRY_COMPARE(budget.waiting(), size_t(1));
        QTest::qWait(50);
        QVERIFY(!gotB);
        a.reset();
        waiter.join();
        QVERIFY(gotB);
        QCOMPARE(budget.reserved(), size_t(0));
        QCOMPARE(budget.highWater(), size_t(60));
        QCOMPARE(budget.reserve(101).bytes(), size_t(0));  // can never fit: refused at once
    }

    // A large request is not overtaken by smaller ones asked for after it.
    void servesInOrder()
    {
        MemoryBudget budget(100);
        auto held = budget.reserve(50);
        std::vector<int> order;
        std::mutex orderMutex;
        std::thread large([&] {
            auto r = budget.reserve(95);  // 95 + 10 > 100: the 10 cannot slip in beside it
            {
                const std::lock_guard lock(orderMutex);
                order.push_back(95);
            }
            r.reset();
        });
        QTRY_COMPARE(budget.waiting(), size_t(1));  // the 95 has asked
        std::thread small([&] {
            auto r = budget.reserve(10);  // would fit now, but the 95 asked first
            const std::lock_guard lock(orderMutex);
            order.push_back(10);
        });
        QTRY_COMPARE(budget.waiting(), size_t(2));  // the 10 has asked too, and waits
        QTest::qWait(50);
        {
            const std::lock_guard lock(orderMutex);
            QVERIFY(order.empty());
        }
        held.reset();
        large.join();
        small.join();
        QCOMPARE(order, (std::vector<int>{95, 10}));
    }

    void abortWakesWaiters()
    {
        MemoryBudget budget(10);
        auto held = budget.reserve(10);
        std::atomic<bool> returned{false};
        std::thread waiter([&] {
            auto r = budget.reserve(5);
            returned = r.bytes() == 0;
        });
        QTRY_COMPARE(budget.waiting(), size_t(1));
        budget.abort();
        waiter.join();
        QVERIFY(returned);
    }

    void machineDefaultIsHalfTheLimit()
    {
        const auto limit = MemoryBudget::processMemoryLimit();
        QVERIFY(limit > 0);
        QCOMPARE(static_cast<std::uint64_t>(MemoryBudget::machineDefault()), limit / 2);
    }

    void tooLargeImageFailsAlone_data()
    {
        QTest::addColumn<bool>("sequential");
        QTest::newRow("pipelined") << false;
        QTest::newRow("sequential") << true;
    }
    void tooLargeImageFailsAlone()
    {
        QFETCH(bool, sequential);
        auto net = std::make_shared<Test::TinyNetwork>(5, true);
        SegmentOptions o = smallOptions(sequential ? EngineMode::Sequential : EngineMode::Pipelined);
        const std::size_t small = Engine::bytesInFlight(80, 60, 5, o);
        const std::size_t large = Engine::bytesInFlight(640, 480, 5, o);
        QVERIFY(large > 3 * small);
        o.memoryBudget = static_cast<qint64>(3 * small);
        std::vector<QByteArray> images{png(Testing::syntheticPhoto(80, 60, 1)), png(Testing::syntheticPhoto(640, 480, 2)),
                                       png(Testing::syntheticPhoto(60, 80, 3)), png(Testing::syntheticPhoto(80, 60, 4))};
        VectorSource source(images);
        CollectSink sink;
        Engine engine(net, o, nullptr);
        const RunStats stats = engine.run(source, sink);
        QCOMPARE(stats.imagesDone, 3);
        QCOMPARE(stats.imagesFailed, 1);
        QCOMPARE(sink.failed.size(), size_t(1));
        QVERIFY(sink.failed.count(1));
        const Error &e = sink.failed.at(1);
        QCOMPARE(e.category, ErrorCategory::TooLarge);
        qInfo("%s", qPrintable(e.message));
        QVERIFY(e.message.contains(QStringLiteral("img1")));
        QVERIFY(e.message.contains(QStringLiteral("640x480")));
        QVERIFY(e.message.contains(QStringLiteral("%1 MiB").arg(static_cast<double>(large) / (1 << 20), 0, 'f', 0)));
        QVERIFY(e.message.contains(QStringLiteral("--memory-budget")));
        QCOMPARE(sink.done.size(), size_t(3));
    }

    // Room for one image at a time: they wait for each other and label as without a limit.
    void imagesWaitForRoom()
    {
        auto net = std::make_shared<Test::TinyNetwork>(5, true);
        SegmentOptions o = smallOptions(EngineMode::Pipelined);
        std::vector<QByteArray> images;
        for (int i = 0; i < 5; ++i)
            images.push_back(png(Testing::syntheticPhoto(160, 120, 10 + i)));
        const std::size_t one = Engine::bytesInFlight(160, 120, 5, o);

        CollectSink unlimited;
        {
            VectorSource source(images);
            Engine(net, o, nullptr).run(source, unlimited);
        }
        o.memoryBudget = static_cast<qint64>(one + one / 2);
        VectorSource source(images);
        CollectSink tight;
        const RunStats stats = Engine(net, o, nullptr).run(source, tight);
        QCOMPARE(stats.imagesDone, 5);
        QCOMPARE(stats.memoryBudgetBytes, one + one / 2);
        QCOMPARE(stats.memoryReservedHighWater, one);  // never two at once
        QCOMPARE(tight.done, unlimited.done);
    }
};

QTEST_GUILESS_MAIN(MemoryBudgetTest)
#include "tst_memorybudget.moc"

// BoundedQueue: capacity respected under a slow consumer (back-pressure), close drains,
// abort wakes blocked producers.
#include "pipeline/boundedqueue.h"

#include <QtTest>

#include <atomic>
#include <thread>

using namespace SegScale::Pipeline;

class BoundedQueueTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void slowConsumerStallsProducer()
    {
        BoundedQueue<int> q(3);
        std::atomic<int> pushed{0};
        std::thread producer([&] {
            for (int i = 0; i < 50; ++i) {
                QVERIFY(q.push(i));
                ++pushed;
            }
            q.close();
        });
        // The producer cannot run ahead of a consumer that has not started.
        QTest::qWait(100);
        QCOMPARE(pushed.load(), 3);
        int expected = 0;
        while (auto v = q.pop()) {
            QCOMPARE(*v, expected++);
            if (expected % 10 == 0)
                QTest::qWait(5);  // slow consumer
            QVERIFY(pushed.load() - expected <= 3 + 1);
        }
        producer.join();
        QCOMPARE(expected, 50);
        QCOMPARE(q.highWater(), size_t(3));
    }

    void abortWakesBlockedProducer()
    {
        BoundedQueue<int> q(1);
        QVERIFY(q.push(1));
        std::atomic<bool> returned{false};
        bool result = true;
        std::thread producer([&] {
            result = q.push(2);
            returned = true;
        });
        QTest::qWait(50);
        QVERIFY(!returned.load());
        q.abort();
        producer.join();
        QVERIFY(!result);
        QVERIFY(!q.pop().has_value());
    }
};

QTEST_GUILESS_MAIN(BoundedQueueTest)
#include "tst_boundedqueue.moc"

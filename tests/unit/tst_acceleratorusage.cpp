// AcceleratorUsage, the heartbeat's "accelerator" object: a CPU agent reports nothing
// (the Workers view then shows "—", never a made-up number); a CUDA device is read from
// the driver's NVML when the machine has one, and reports nothing when it has none.

#include "agent/acceleratorusage.h"

#include <QLibrary>
#include <QTest>

using SegScale::Agent::AcceleratorUsage;

class TestAcceleratorUsage : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void cpuReportsNothing()
    {
        for (const QString &device : {QStringLiteral("cpu"), QStringLiteral("cuda:x"), QStringLiteral("cuda:-1"), QString()}) {
            AcceleratorUsage usage(device);
            QVERIFY2(!usage.sample().has_value(), qPrintable(device));
        }
    }

    void cudaReadsTheDriverWhenThereIsOne()
    {
        QLibrary nvml;
        nvml.setFileNameAndVersion(QStringLiteral("nvidia-ml"), 1);
        const bool driver = nvml.load();
        AcceleratorUsage usage(QStringLiteral("cuda"));
        const auto sample = usage.sample();
        if (!driver) {
            // No NVIDIA driver here: nothing, rather than a guess.
            QVERIFY(!sample.has_value());
            QVERIFY(!usage.sample().has_value());  // asked once, not retried on every heartbeat
            return;
        }
        QVERIFY(sample.has_value());
        QCOMPARE(sample->value(QStringLiteral("device")).toString(), QStringLiteral("cuda:0"));
        QVERIFY(sample->value(QStringLiteral("memory_total_mib")).toDouble() > 0);
        QVERIFY(sample->value(QStringLiteral("memory_used_mib")).toDouble() <= sample->value(QStringLiteral("memory_total_mib")).toDouble());
    }
};

QTEST_MAIN(TestAcceleratorUsage)
#include "tst_acceleratorusage.moc"

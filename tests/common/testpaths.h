#pragma once
// Where integration tests find the segscale executable and the shared models, and a
// random-init PSPNet-50 card (no weights file: a real network, bf16-capable on the CPU,
// seconds per image at base size 64) for tests that need a second architecture.

#include <QDir>
#include <QFile>
#include <QString>

namespace SegScale::Testing {

inline QString cliPath()
{
    return qEnvironmentVariable("SEGSCALE_CLI");
}

inline QString sharedModel(const QString &name = QStringLiteral("espnet-cityscapes"))
{
    return qEnvironmentVariable("SEGSCALE_SHARED_DIR") + QStringLiteral("/models/") + name;
}

// Writes DIR/model.json for a 4-class random-init PSPNet-50 (base 64, crop 49, one scale);
// false when the folder or file cannot be written.
inline bool writeRandomPspCard(const QString &dir)
{
    if (!QDir().mkpath(dir))
        return false;
    QFile f(dir + QStringLiteral("/model.json"));
    if (!f.open(QIODevice::WriteOnly))
        return false;
    f.write(R"({"name": "psp50-random", "architecture": "pspnet", "random_init": true, "num_classes": 4,
                "classes": ["road", "building", "sky", "tree"],
                "input": {"color_order": "RGB", "mean": [123.675, 116.28, 103.53], "std": [58.395, 57.12, 57.375]},
                "defaults": {"scales": [1.0], "base_size": 64, "crop": 49, "flip": false},
                "pspnet": {"layers": 50, "bins": [1, 2, 3, 6], "zoom_factor": 8}})");
    return f.error() == QFile::NoError;
}

} // namespace SegScale::Testing

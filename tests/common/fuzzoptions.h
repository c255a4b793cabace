#pragma once
// The command line and environment of the bounded fuzzers (fuzz_checkpointreader,
// fuzz_protocol): how long to run (SEGSCALE_FUZZ_SECONDS or --seconds), when one input
// counts as a hang (SEGSCALE_FUZZ_SLOW_SECONDS), the seed and an iteration cap.

#include <QByteArray>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace SegScale::Testing {

struct FuzzOptions {
    double seconds = 30;
    double slowSeconds = 5;
    std::uint64_t seed = 0;
    std::uint64_t maxIterations = ~std::uint64_t(0);
};

inline double fuzzEnvSeconds(const char *name, double fallback)
{
    const QByteArray v = qgetenv(name);
    bool ok = false;
    const double d = v.toDouble(&ok);
    return ok && d > 0 ? d : fallback;
}

inline FuzzOptions parseFuzzOptions(int argc, char **argv, double defaultSlowSeconds)
{
    FuzzOptions o;
    o.seconds = fuzzEnvSeconds("SEGSCALE_FUZZ_SECONDS", 30);
    o.slowSeconds = fuzzEnvSeconds("SEGSCALE_FUZZ_SLOW_SECONDS", defaultSlowSeconds);
    o.seed = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string option = argv[i];
        if (option == "--seconds")
            o.seconds = std::atof(argv[i + 1]);
        else if (option == "--seed")
            o.seed = std::strtoull(argv[i + 1], nullptr, 10);
        else if (option == "--iterations")
            o.maxIterations = std::strtoull(argv[i + 1], nullptr, 10);
    }
    return o;
}

} // namespace SegScale::Testing

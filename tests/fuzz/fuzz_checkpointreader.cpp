// Fuzz target for the checkpoint reader (CheckpointReader, PickleUnpickler, ZipDirectory):
// everything `segscale model import` and a model load read from a hostile file.
//
// Default build: a bounded mutation loop (no coverage feedback) that CTest runs for
// SEGSCALE_FUZZ_SECONDS (label "fuzz"): it mutates small checkpoints written here — legacy
// format, zip format (raw, so CRCs mostly break, and re-zipped, so mutated pickles reach
// the unpickler with valid CRCs) and bare pickles — and feeds each to the reader. A crash
// kills the test (the input is saved as fuzz-crash.bin first); an input that takes
// longer than SEGSCALE_FUZZ_SLOW_SECONDS (default 10) fails it. Prints the seed:
// `fuzz_checkpointreader --seed S --iterations N` replays a run.
//
// With -DSEGSCALE_LIBFUZZER (clang, -fsanitize=fuzzer,address) the same file is a
// libFuzzer target: LLVMFuzzerTestOneInput reads one input as a checkpoint.

#include "common/fuzzoptions.h"
#include "model/checkpointreader.h"
#include "model/pickleunpickler.h"

#include "common/picklewriter.h"

#include <caffe2/serialize/inline_container.h>
#include <torch/torch.h>

#include <QByteArray>
#include <QElapsedTimer>
#include <QFile>
#include <QString>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <random>
#include <unistd.h>

using namespace SegScale;
using namespace SegScale::Model;
using SegScale::Tests::PickleWriter;

#ifdef SEGSCALE_LIBFUZZER

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    // The result does not matter; only that it comes back, fast, without a crash.
    (void)CheckpointReader::readStateDict(QByteArray::fromRawData(reinterpret_cast<const char *>(data), static_cast<qsizetype>(size)),
                                          QStringLiteral("fuzz-input"));
    return 0;
}

#else

namespace {

struct Storage {
    std::string key;
    const char *type;
    at::Tensor data;
};

void writeTensor(PickleWriter &w, const Storage &s, const std::vector<std::int64_t> &sizes, const std::vector<std::int64_t> &strides,
                 bool legacy)
{
    w.tensor(s.key, s.type, s.data.numel(), 0, sizes, strides, legacy);
}

const std::vector<Storage> &storages()
{
    static const std::vector<Storage> s{
        {"0", "FloatStorage", torch::arange(6, torch::kFloat)},
        {"1", "LongStorage", torch::arange(3, torch::kLong)},
        {"2", "HalfStorage", torch::ones({4}, torch::kHalf)},
    };
    return s;
}

// {"epoch": 3, "state_dict": OrderedDict(w, b, h), "optimizer": {"lr": [0.1]}}
QByteArray mainPickle(bool legacy)
{
    PickleWriter w;
    w.proto();
    w.op('}');
    w.put(0);
    w.mark();
    w.str("epoch");
    w.integer(3);
    w.str("state_dict");
    w.orderedDict();
    w.put(1);
    w.mark();
    w.str("conv.weight");
    writeTensor(w, storages()[0], {2, 3}, {3, 1}, legacy);
    w.str("conv.index");
    writeTensor(w, storages()[1], {3}, {1}, legacy);
    w.str("bn.half");
    writeTensor(w, storages()[2], {2, 2}, {1, 2}, legacy);
    w.op('u');
    w.str("optimizer");
    w.op('}');
    w.str("lr");
    w.op(']');
    w.binfloat(0.1);
    w.op('a');
    w.op('s');
    w.op('u');
    w.stop();
    return w.bytes;
}

QByteArray legacyCheckpoint(const QByteArray &pickle)
{
    PickleWriter h;
    h.legacyPreamble();
    h.proto();
    h.op('}');
    h.str("little_endian");
    h.op('\x88');
    h.op('s');
    h.stop();
    QByteArray out = h.bytes + pickle;
    PickleWriter keys;
    keys.proto();
    keys.op(']');
    keys.mark();
    for (const auto &s : storages())
        keys.str(s.key);
    keys.op('e');
    keys.stop();
    out += keys.bytes;
    for (const auto &s : storages()) {
        const std::int64_t n = s.data.numel();
        out.append(reinterpret_cast<const char *>(&n), 8);
        out.append(static_cast<const char *>(s.data.data_ptr()), static_cast<qsizetype>(s.data.nbytes()));
    }
    return out;
}

// A torch.save zip archive in memory, with correct CRCs for whatever pickle it gets.
QByteArray zipCheckpoint(const QByteArray &pickle)
{
    QByteArray out;
    caffe2::serialize::PyTorchStreamWriter writer([&out](const void *data, std::size_t n) {
        out.append(static_cast<const char *>(data), static_cast<qsizetype>(n));
        return n;
    });
    writer.writeRecord("data.pkl", pickle.constData(), static_cast<std::size_t>(pickle.size()));
    writer.writeRecord("byteorder", "little", 6);
    for (const auto &s : storages())
        writer.writeRecord("data/" + s.key, s.data.data_ptr(), s.data.nbytes());
    writer.writeEndOfFile();
    return out;
}

// Opcodes that build, nest and reference: inserting them makes deep and odd structures.
constexpr char kOpcodes[] = "]a)t(\x85\x86\x87}su2h\x94q0.NKRbe\x8c\x93lQ";
constexpr std::uint32_t kInteresting[] = {0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0xffff, 0x7fffffff, 0x80000000u, 0xffffffffu, 1000001};

class Mutator {
public:
    explicit Mutator(std::uint64_t seed) : m_random(seed) {}

    std::size_t below(std::size_t n) { return n == 0 ? 0 : std::uniform_int_distribution<std::size_t>(0, n - 1)(m_random); }

    QByteArray mutate(QByteArray b)
    {
        const std::size_t rounds = 1 + below(8);
        for (std::size_t r = 0; r < rounds; ++r) {
            const auto size = static_cast<std::size_t>(b.size());
            const auto at = static_cast<qsizetype>(below(size + 1));
            switch (below(9)) {
            case 0: // flip a bit
                if (size)
                    b[at % b.size()] = static_cast<char>(b[at % b.size()] ^ (1 << below(8)));
                break;
            case 1: // a random byte
                if (size)
                    b[at % b.size()] = static_cast<char>(below(256));
                break;
            case 2: // an opcode inserted
                b.insert(at, kOpcodes[below(sizeof kOpcodes - 1)]);
                break;
            case 3: // a little-endian length or count overwritten
                if (size >= 4) {
                    const std::uint32_t v = kInteresting[below(std::size(kInteresting))];
                    const auto pos = static_cast<qsizetype>(below(size - 3));
                    std::memcpy(b.data() + pos, &v, 4);
                }
                break;
            case 4: // a range removed
                if (size)
                    b.remove(at % b.size(), static_cast<qsizetype>(1 + below(16)));
                break;
            case 5: // a range repeated many times: deep nesting, long containers
                if (size) {
                    const qsizetype from = at % b.size();
                    const QByteArray piece = b.mid(from, static_cast<qsizetype>(1 + below(4)));
                    const auto times = static_cast<qsizetype>(1 + below(below(2) ? 20 : 20000));
                    if (b.size() + piece.size() * times < (1 << 20))
                        b.insert(from, piece.repeated(times));
                }
                break;
            case 6: // truncated
                b.truncate(at);
                break;
            case 7: // a range copied elsewhere
                if (size) {
                    const QByteArray piece = b.mid(static_cast<qsizetype>(below(size)), static_cast<qsizetype>(1 + below(64)));
                    b.insert(at, piece);
                }
                break;
            default: // one opcode run: N x the same opcode
                b.insert(at, QByteArray(static_cast<qsizetype>(1 + below(3000)), kOpcodes[below(sizeof kOpcodes - 1)]));
                break;
            }
        }
        return b;
    }

private:
    std::mt19937_64 m_random;
};

// Saved for a crash: the input being read, written from the signal handler.
const QByteArray *g_current = nullptr;
int g_crashFile = -1;

extern "C" void onCrash(int signal)
{
    if (g_current && g_crashFile >= 0) {
        const ssize_t written = ::write(g_crashFile, g_current->constData(), static_cast<std::size_t>(g_current->size()));
        (void)written;
    }
    static const char message[] = "fuzz_checkpointreader: CRASH; the input is in fuzz-crash.bin\n";
    const ssize_t said = ::write(2, message, sizeof message - 1);
    (void)said;
    std::signal(signal, SIG_DFL);
    std::raise(signal);
}

} // namespace

int main(int argc, char **argv)
{
    const SegScale::Testing::FuzzOptions options = SegScale::Testing::parseFuzzOptions(argc, argv, 10);
    const double seconds = options.seconds;
    const double slowSeconds = options.slowSeconds;
    const std::uint64_t seed = options.seed;
    const std::uint64_t maxIterations = options.maxIterations;
    at::set_num_threads(1);
    g_crashFile = ::open("fuzz-crash.bin", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::signal(SIGSEGV, onCrash);
    std::signal(SIGABRT, onCrash);
    std::signal(SIGBUS, onCrash);
    std::signal(SIGFPE, onCrash);

    const QByteArray legacyPickle = mainPickle(true);
    const QByteArray zipPickle = mainPickle(false);
    const QByteArray legacy = legacyCheckpoint(legacyPickle);
    const QByteArray zip = zipCheckpoint(zipPickle);
    // The seeds must read, or the loop fuzzes nothing but the first refusal.
    for (const QByteArray *s : {&legacy, &zip}) {
        auto sd = CheckpointReader::readStateDict(*s, QStringLiteral("seed"));
        if (!sd || sd->size() != 3) {
            std::fprintf(stderr, "fuzz_checkpointreader: a seed does not read: %s\n",
                         sd ? "wrong tensor count" : qPrintable(sd.error().message));
            return 1;
        }
    }

    std::printf("fuzz_checkpointreader: seed %llu, %.0f s\n", static_cast<unsigned long long>(seed), seconds);
    std::fflush(stdout);
    Mutator mutator(seed);
    QElapsedTimer total;
    total.start();
    std::uint64_t iterations = 0, accepted = 0;
    double slowest = 0;
    int slowestMode = -1;
    const std::int64_t budgetMs = static_cast<std::int64_t>(seconds * 1000);
    while (total.elapsed() < budgetMs && iterations < maxIterations) {
        const int mode = static_cast<int>(mutator.below(4));
        QByteArray input;
        switch (mode) {
        case 0: input = mutator.mutate(legacy); break;
        case 1: input = mutator.mutate(zip); break;
        case 2: input = zipCheckpoint(mutator.mutate(zipPickle)); break;
        default: input = legacyCheckpoint(mutator.mutate(legacyPickle)); break;
        }
        g_current = &input;
        QElapsedTimer one;
        one.start();
        auto sd = CheckpointReader::readStateDict(input, QStringLiteral("fuzz-input"));
        const double took = static_cast<double>(one.nsecsElapsed()) / 1e9;
        g_current = nullptr;
        accepted += sd.ok();
        if (took > slowest) {
            slowest = took;
            slowestMode = mode;
        }
        if (took > slowSeconds) {
            QFile out(QStringLiteral("fuzz-slow.bin"));
            if (out.open(QIODevice::WriteOnly))
                out.write(input);
            std::fprintf(stderr, "fuzz_checkpointreader: one input took %.1f s (limit %.0f s); saved as fuzz-slow.bin\n", took,
                         slowSeconds);
            return 1;
        }
        ++iterations;
    }
    std::printf("fuzz_checkpointreader: %llu inputs in %.1f s, %llu read as checkpoints, the rest refused; "
                "slowest %.3f s (mode %d); no crash\n",
                static_cast<unsigned long long>(iterations), static_cast<double>(total.elapsed()) / 1000.0,
                static_cast<unsigned long long>(accepted), slowest, slowestMode);
    ::close(g_crashFile);
    ::unlink("fuzz-crash.bin");
    return 0;
}

#endif

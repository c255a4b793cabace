// segscale-gpubench: the whole multi-scale procedure on one device, timed — PSPNet with
// random weights on synthetic images: upload, pyramid and windows (DevicePyramid),
// batched network step (windowProbabilities), combine (DeviceCombiner), labels back to
// the host. Prints images per second per scale set and precision, and how often a
// reduced precision's labels agree with float32's on the same images.
//
// Built from core/procedure and the native PSPNet's four Qt-free sources with LibTorch
// alone (no Qt, no OpenCV), so that it builds on a GPU machine with nothing but a CUDA
// LibTorch: see tests/bench/gpu.sh (one go on such a machine) and
// tests/bench/gpu/CMakeLists.txt. The main build also builds it, and tst_gpubench_cpu
// runs it on the CPU at toy sizes.

#include "model/pspnetmodule.h"
#include "procedure/devicecombiner.h"
#include "procedure/devicepyramid.h"
#include "procedure/tiling.h"
#include "procedure/windowstep.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/cuda.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace {

using namespace SegScale;

constexpr int usageError = 2;

struct UsageError {
    std::string message;
};

struct Precision {
    std::string name;         // fp32, tf32, fp16, bf16
    c10::ScalarType dtype;
    bool tf32 = false;
};

struct ScaleSet {
    std::string name;
    std::vector<double> scales;
};

struct Options {
    c10::Device device{c10::kCPU};
    int layers = 50;
    int classes = 150;
    int size = 640;
    int images = 0;      // 0: the device's default
    std::vector<ScaleSet> scaleSets;
    int baseSize = 512;
    int crop = 473;
    bool flip = true;
    std::vector<Precision> precisions;
    int batch = 0;       // 0: the device's default
    int inFlight = 8;
    int warmup = -1;     // -1: the device's default
    int threads = 0;     // 0: LibTorch's default
};

const char *const helpText = R"(segscale-gpubench: the whole PSPNet multi-scale procedure on one device, timed.

PSPNet with random weights (seed 0, batch norms folded) on synthetic square images;
per image: upload (pinned, asynchronous on CUDA), pyramid and windows on the device,
batches of windows across images and levels through the network, the combine on the
device, labels back to the host. Prints images/s per scale set and precision, then how
often each reduced precision's labels agree with float32's on the same images.

Options:
  --device cpu|cuda[:N]      default: cuda when available, else cpu
  --layers 50|101|152        PSPNet depth (default 50)
  --classes N                default 150
  --size N                   square synthetic images of N x N pixels (default 640)
  --images N                 images per measurement (default 32 on cuda, 2 on cpu)
  --scale-sets "A;B"         scale sets, ';' between sets, ',' within (default "1;0.5,0.75,1,1.25")
  --base-size N              default 512
  --crop N                   default 473
  --no-flip                  no horizontal-flip averaging (default: flip)
  --precisions LIST          fp32, tf32 (float32 with TF32 convolutions, CUDA only),
                             fp16 (CUDA only), bf16 (default fp32,fp16 on cuda, fp32 on cpu)
  --batch N                  windows per network call (default 16 on cuda, 2 on cpu)
  --in-flight N              images in flight at once (default 8)
  --warmup N                 untimed images before each measurement (default 4 on cuda, 0 on cpu)
  --threads N                LibTorch's CPU threads (default: LibTorch's choice)
  --help                     this text
Exit status: 0 done, 2 bad usage, 1 other failure.
)";

int parseInt(const std::string &option, const std::string &value, int min, int max)
{
    std::size_t used = 0;
    long v = 0;
    try {
        v = std::stol(value, &used);
    } catch (const std::exception &) {
        used = 0;
    }
    if (used != value.size() || value.empty() || v < min || v > max)
        throw UsageError{option + " wants a whole number from " + std::to_string(min) + " to " + std::to_string(max) +
                         ", not '" + value + "'"};
    return static_cast<int>(v);
}

std::vector<std::string> split(const std::string &text, char separator)
{
    std::vector<std::string> parts;
    std::string part;
    std::istringstream in(text);
    while (std::getline(in, part, separator))
        parts.push_back(part);
    if (!text.empty() && text.back() == separator)
        parts.emplace_back();
    return parts;
}

std::vector<ScaleSet> parseScaleSets(const std::string &text)
{
    std::vector<ScaleSet> sets;
    for (const std::string &set : split(text, ';')) {
        ScaleSet s;
        s.name = set;
        for (const std::string &item : split(set, ',')) {
            std::size_t used = 0;
            double v = 0;
            try {
                v = std::stod(item, &used);
            } catch (const std::exception &) {
                used = 0;
            }
            if (item.empty() || used != item.size() || !std::isfinite(v) || v <= 0 || v > 16)
                throw UsageError{"--scale-sets: '" + item + "' in '" + set + "' is not a scale (a number above 0, at most 16)"};
            s.scales.push_back(v);
        }
        if (s.scales.empty())
            throw UsageError{"--scale-sets: an empty scale set in '" + text + "'"};
        sets.push_back(std::move(s));
    }
    if (sets.empty())
        throw UsageError{"--scale-sets: no scale set given"};
    return sets;
}

c10::Device parseDevice(const std::string &text)
{
    if (text == "cpu")
        return c10::Device(c10::kCPU);
    if (text != "cuda" && text.rfind("cuda:", 0) != 0)
        throw UsageError{"--device wants cpu, cuda or cuda:N, not '" + text + "'"};
    if (!torch::cuda::is_available())
        throw UsageError{"--device " + text + ": CUDA is not available (a CPU-only LibTorch, or no usable GPU)"};
    const int count = static_cast<int>(torch::cuda::device_count());
    const int index = text == "cuda" ? 0 : parseInt("--device cuda:N", text.substr(5), 0, count - 1);
    return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(index));
}

std::vector<Precision> parsePrecisions(const std::string &text, const c10::Device &device)
{
    std::vector<Precision> out;
    for (const std::string &name : split(text, ',')) {
        Precision p{name, torch::kFloat, false};
        if (name == "fp32") {
        } else if (name == "tf32") {
            p.tf32 = true;
        } else if (name == "fp16") {
            p.dtype = torch::kHalf;
        } else if (name == "bf16") {
            p.dtype = torch::kBFloat16;
        } else {
            throw UsageError{"--precisions: '" + name + "' is not one of fp32, tf32, fp16, bf16"};
        }
        if (device.is_cpu() && name == "fp16")
            throw UsageError{"--precisions fp16 needs --device cuda: LibTorch's CPU convolutions do not run in float16 "
                             "(bf16 runs on the CPU)"};
        if (device.is_cpu() && name == "tf32")
            throw UsageError{"--precisions tf32 needs --device cuda: TF32 is a cuDNN setting"};
        for (const Precision &q : out)
            if (q.name == name)
                throw UsageError{"--precisions: " + name + " given twice"};
        out.push_back(p);
    }
    if (out.empty())
        throw UsageError{"--precisions: none given"};
    return out;
}

Options parseOptions(int argc, char **argv)
{
    Options o;
    std::optional<std::string> device, scaleSets, precisions;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        const auto value = [&]() -> std::string {
            if (i + 1 >= argc)
                throw UsageError{arg + " needs a value"};
            return argv[++i];
        };
        if (arg == "--help" || arg == "-h") {
            std::cout << helpText;
            std::exit(0);
        } else if (arg == "--device") {
            device = value();
        } else if (arg == "--layers") {
            o.layers = parseInt(arg, value(), 50, 152);
            if (o.layers != 50 && o.layers != 101 && o.layers != 152)
                throw UsageError{"--layers wants 50, 101 or 152"};
        } else if (arg == "--classes") {
            o.classes = parseInt(arg, value(), 2, 32767);
        } else if (arg == "--size") {
            o.size = parseInt(arg, value(), 8, 16384);
        } else if (arg == "--images") {
            o.images = parseInt(arg, value(), 1, 100000);
        } else if (arg == "--scale-sets") {
            scaleSets = value();
        } else if (arg == "--base-size") {
            o.baseSize = parseInt(arg, value(), 8, 16384);
        } else if (arg == "--crop") {
            o.crop = parseInt(arg, value(), 17, 4096);
        } else if (arg == "--no-flip") {
            o.flip = false;
        } else if (arg == "--flip") {
            o.flip = true;
        } else if (arg == "--precisions") {
            precisions = value();
        } else if (arg == "--batch") {
            o.batch = parseInt(arg, value(), 1, 1024);
        } else if (arg == "--in-flight") {
            o.inFlight = parseInt(arg, value(), 1, 1024);
        } else if (arg == "--warmup") {
            o.warmup = parseInt(arg, value(), 0, 100000);
        } else if (arg == "--threads") {
            o.threads = parseInt(arg, value(), 1, 1024);
        } else {
            throw UsageError{"unknown argument '" + arg + "'"};
        }
    }
    o.device = device ? parseDevice(*device)
                      : (torch::cuda::is_available() ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU));
    const bool cuda = o.device.is_cuda();
    o.scaleSets = parseScaleSets(scaleSets.value_or("1;0.5,0.75,1,1.25"));
    o.precisions = parsePrecisions(precisions.value_or(cuda ? "fp32,fp16" : "fp32"), o.device);
    if (o.images == 0)
        o.images = cuda ? 32 : 2;
    if (o.batch == 0)
        o.batch = cuda ? 16 : 2;
    if (o.warmup < 0)
        o.warmup = cuda ? 4 : 0;
    return o;
}

// Deterministic, photo-like structure at several scales (gradients, waves, discs, a
// little noise) rather than pure noise, so that the labels have regions and borders.
at::Tensor syntheticImage(int size, int index)
{
    at::Generator gen = at::detail::createCPUGenerator(static_cast<std::uint64_t>(1000 + index));
    const auto f = torch::TensorOptions().dtype(torch::kFloat);
    const at::Tensor y = torch::arange(size, f).view({size, 1}) / size;
    const at::Tensor x = torch::arange(size, f).view({1, size}) / size;
    const at::Tensor phase = torch::rand({3, 4}, gen, f) * 6.2832;
    std::vector<at::Tensor> channels;
    for (int c = 0; c < 3; ++c) {
        const auto p = [&](int k) { return phase[c][k].item<float>(); };
        at::Tensor v = 110 + 70 * torch::sin(x * (3.0 + c) * 3.1416 + p(0)) * torch::cos(y * (2.0 + index % 3) * 3.1416 + p(1)) +
                       40 * torch::sin((x + y) * 9.0 + p(2)) + 30 * (x - y);
        channels.push_back(v);
    }
    at::Tensor img = torch::stack(channels, 2);  // H x W x 3
    const at::Tensor discs = torch::rand({8, 6}, gen, f);
    for (int i = 0; i < 8; ++i) {
        const float cx = discs[i][0].item<float>(), cy = discs[i][1].item<float>();
        const float r = 0.05f + 0.2f * discs[i][2].item<float>();
        const at::Tensor inside = ((x - cx).pow(2) + (y - cy).pow(2) < r * r).unsqueeze(2);
        const at::Tensor colour = discs[i].slice(0, 3, 6) * 255;
        img = torch::where(inside, colour.view({1, 1, 3}).expand_as(img), img);
    }
    img = img + torch::randn(img.sizes(), gen, f) * 6;
    return img.round().clamp(0, 255).to(torch::kByte).contiguous();
}

Model::PspNetModule buildNetwork(const Options &o, const Precision &p)
{
    Model::PspNetModule net(o.layers, o.classes);
    net->randomInit(0);
    net->eval();
    // On the CPU in float32 (the fold itself works in double), before any cast: every
    // precision starts from the same folded weights.
    net->foldBatchNorms();
    net->to(o.device, p.dtype);
    torch::NoGradGuard noGrad;
    // Folding gave the convolutions bias tensors that are not registered parameters, so
    // Module::to() left them behind.
    for (const auto &module : net->modules(/*include_self=*/false))
        if (auto *conv = module->as<torch::nn::Conv2d>())
            if (conv->bias.defined())
                conv->bias = conv->bias.to(o.device, p.dtype);
    if (o.device.is_cuda())
        for (auto &parameter : net->parameters())
            if (parameter.dim() == 4)
                parameter.set_data(parameter.contiguous(at::MemoryFormat::ChannelsLast));
    return net;
}

void synchronize(const c10::Device &device)
{
    if (device.is_cuda())
        torch::cuda::synchronize(device.index());
}

struct RunResult {
    double seconds = 0;
    std::vector<at::Tensor> labels;  // per image, H x W on the CPU
};

// Runs images [0, count) through the whole procedure with up to o.inFlight images in
// flight; batches are filled across images and levels in arrival order.
RunResult runImages(const Options &o, const Procedure::ImagePlan &plan, const std::vector<at::Tensor> &hostImages, int count,
                    const Procedure::ForwardFn &forward, c10::ScalarType dtype)
{
    // ImageNet statistics on the 0..255 scale, as PSPNet's cards.
    const std::array<float, 3> mean{123.675f, 116.28f, 103.53f}, std{58.395f, 57.12f, 57.375f};
    struct Slot {
        std::unique_ptr<Procedure::DeviceCombiner> combiner;
        std::vector<at::Tensor> windows;  // per level: K x 3 x crop x crop
        int windowsLeft = 0;
    };
    struct Pending {
        int image, level, window;
    };
    std::map<int, Slot> active;
    std::deque<Pending> pending;
    RunResult result;
    result.labels.resize(static_cast<size_t>(count));
    const bool cuda = o.device.is_cuda();

    synchronize(o.device);
    const auto start = std::chrono::steady_clock::now();
    int next = 0, done = 0;
    while (done < count) {
        while (static_cast<int>(active.size()) < o.inFlight && next < count) {
            Slot &slot = active[next];
            slot.combiner = std::make_unique<Procedure::DeviceCombiner>(plan, o.classes, o.device);
            const at::Tensor image = hostImages[static_cast<size_t>(next) % hostImages.size()].to(o.device, /*non_blocking=*/true);
            for (size_t l = 0; l < plan.scales.size(); ++l) {
                const auto &s = plan.scales[l];
                slot.windows.push_back(
                    Procedure::DevicePyramid::windows(Procedure::DevicePyramid::level(image, s, mean), s, mean, std, dtype));
                for (size_t k = 0; k < s.windows.size(); ++k)
                    pending.push_back(Pending{next, static_cast<int>(l), static_cast<int>(k)});
                slot.windowsLeft += static_cast<int>(s.windows.size());
            }
            ++next;
        }
        std::vector<Pending> batch;
        std::vector<at::Tensor> inputs;
        while (static_cast<int>(batch.size()) < o.batch && !pending.empty()) {
            const Pending p = pending.front();
            pending.pop_front();
            batch.push_back(p);
            inputs.push_back(active.at(p.image).windows[static_cast<size_t>(p.level)][p.window]);
        }
        at::Tensor input = torch::stack(inputs, 0);
        // On CUDA a short last batch is padded to the full size: a new batch shape would
        // make cuDNN time its algorithms again, inside the measurement.
        if (cuda && static_cast<int>(batch.size()) < o.batch)
            input = torch::cat({input, torch::zeros({o.batch - input.size(0), 3, o.crop, o.crop}, input.options())}, 0);
        const at::Tensor probs = Procedure::windowProbabilities(forward, input, o.flip);
        for (size_t i = 0; i < batch.size(); ++i) {
            const Pending &p = batch[i];
            Slot &slot = active.at(p.image);
            slot.combiner->addWindow(p.level, p.window, probs[static_cast<int64_t>(i)]);
            if (slot.combiner->levelComplete(p.level)) {
                slot.combiner->finishLevel(p.level);
                slot.windows[static_cast<size_t>(p.level)] = at::Tensor();
            }
            if (--slot.windowsLeft == 0) {
                result.labels[static_cast<size_t>(p.image)] = slot.combiner->finish().labels;
                active.erase(p.image);
                ++done;
            }
        }
    }
    synchronize(o.device);
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result;
}

void setTf32(const Options &o, bool on)
{
    if (!o.device.is_cuda())
        return;
    try {
        at::globalContext().setAllowTF32CuDNN(on);
    } catch (const c10::Error &e) {
        std::cerr << "note: could not set cuDNN TF32 " << (on ? "on" : "off") << ": " << e.what_without_backtrace() << "\n";
    }
}

int run(const Options &o)
{
    const bool cuda = o.device.is_cuda();
    if (o.threads > 0)
        at::set_num_threads(o.threads);
    std::printf("segscale-gpubench: LibTorch %s, device %s", TORCH_VERSION, o.device.str().c_str());
    if (cuda)
        std::printf(" (%llu CUDA device(s) visible, cuDNN %s)", static_cast<unsigned long long>(torch::cuda::device_count()),
                    torch::cuda::cudnn_is_available() ? "available" : "NOT available");
    else
        std::printf(" (CUDA %s, %d CPU threads)", torch::cuda::is_available() ? "available but not used" : "not available",
                    at::get_num_threads());
    std::printf("\nPSPNet-%d, %d classes, random init (seed 0), batch norms folded%s; %dx%d synthetic images, base size %d, "
                "crop %d, flip %s\nbatch %d windows (%d network inputs with flip), %d images in flight, %d warm-up image(s) "
                "before each measurement\n",
                o.layers, o.classes, cuda ? ", channels-last, cuDNN benchmark mode" : "", o.size, o.size, o.baseSize, o.crop,
                o.flip ? "on" : "off", o.batch, o.flip ? 2 * o.batch : o.batch, o.inFlight, o.warmup);
    if (cuda) {
        try {
            at::globalContext().setBenchmarkCuDNN(true);
        } catch (const c10::Error &e) {
            std::cerr << "note: could not turn on cuDNN benchmark mode: " << e.what_without_backtrace() << "\n";
        }
    }

    // Host images, pinned on CUDA so that the upload is asynchronous.
    std::vector<at::Tensor> hostImages;
    const int distinct = std::max(o.images, o.warmup);
    for (int i = 0; i < distinct; ++i) {
        at::Tensor img = syntheticImage(o.size, i);
        hostImages.push_back(cuda ? img.pin_memory() : img);
    }

    std::printf("\n%-24s %-9s %7s %14s %10s %10s\n", "scale set", "precision", "images", "windows/image", "images/s",
                "s/image");
    std::fflush(stdout);
    // labels[scale set][precision]
    std::vector<std::map<std::string, std::vector<at::Tensor>>> labels(o.scaleSets.size());
    for (const Precision &p : o.precisions) {
        setTf32(o, p.tf32);
        Model::PspNetModule net = buildNetwork(o, p);
        const Procedure::ForwardFn forward = [module = net.ptr(), cuda](const at::Tensor &x) {
            return module->forward(cuda ? x.contiguous(at::MemoryFormat::ChannelsLast) : x);
        };
        for (size_t si = 0; si < o.scaleSets.size(); ++si) {
            const ScaleSet &set = o.scaleSets[si];
            const Procedure::ImagePlan plan = Procedure::Tiling::plan(
                o.size, o.size, Procedure::TilingParams{set.scales, o.baseSize, o.crop, 2.0 / 3.0});
            if (o.warmup > 0)
                runImages(o, plan, hostImages, o.warmup, forward, p.dtype);
            RunResult r = runImages(o, plan, hostImages, o.images, forward, p.dtype);
            std::printf("%-24s %-9s %7d %14d %10.3f %10.4f\n", set.name.c_str(), p.name.c_str(), o.images, plan.windowCount(),
                        o.images / r.seconds, r.seconds / o.images);
            std::fflush(stdout);
            labels[si][p.name] = std::move(r.labels);
        }
    }

    std::printf("\nlabel agreement with fp32 (same images, fraction of pixels with the same label):\n");
    bool any = false;
    for (size_t si = 0; si < o.scaleSets.size(); ++si) {
        const auto reference = labels[si].find("fp32");
        for (const Precision &p : o.precisions) {
            if (p.name == "fp32")
                continue;
            any = true;
            if (reference == labels[si].end()) {
                std::printf("agreement  %-24s %-5s vs fp32: not measured (fp32 is not in --precisions)\n",
                            o.scaleSets[si].name.c_str(), p.name.c_str());
                continue;
            }
            const auto &mine = labels[si].at(p.name);
            std::int64_t equal = 0, total = 0;
            double worst = 1.0;
            for (size_t i = 0; i < mine.size(); ++i) {
                const std::int64_t same = mine[i].eq(reference->second[i]).sum().item<std::int64_t>();
                equal += same;
                total += mine[i].numel();
                worst = std::min(worst, static_cast<double>(same) / static_cast<double>(mine[i].numel()));
            }
            std::printf("agreement  %-24s %-5s vs fp32: %.6f of %lld pixels (worst image %.6f)\n",
                        o.scaleSets[si].name.c_str(), p.name.c_str(), static_cast<double>(equal) / static_cast<double>(total),
                        static_cast<long long>(total), worst);
        }
    }
    if (!any)
        std::printf("(only fp32 measured)\n");
    return 0;
}

} // namespace

int main(int argc, char **argv)
{
    Options options;
    try {
        options = parseOptions(argc, argv);
    } catch (const UsageError &e) {
        std::cerr << "segscale-gpubench: " << e.message << "\nTry 'segscale-gpubench --help'.\n";
        return usageError;
    }
    try {
        return run(options);
    } catch (const c10::Error &e) {
        std::cerr << "segscale-gpubench: " << e.what_without_backtrace() << "\n";
    } catch (const std::exception &e) {
        std::cerr << "segscale-gpubench: " << e.what() << "\n";
    }
    return 1;
}

#!/usr/bin/env bash
# shellcheck disable=SC2054  # commas inside arguments (-Wl,..., scale sets) are meant
# One go of the GPU benchmark on a machine with an NVIDIA GPU and python3 with a CUDA
# build of PyTorch (its LibTorch is used; no Qt, no OpenCV, no network needed): builds
# segscale-gpubench with the standalone tests/bench/gpu/CMakeLists.txt into build-gpu/
# (falling back to a direct g++ build against the same LibTorch when CMake cannot
# configure or build), then measures PSPNet-50 (random weights) on 640x640 synthetic
# images, scale sets "1" and "0.5,0.75,1,1.25", flip on, in fp32, tf32, fp16 and bf16,
# and prints the table and the label agreement with fp32. Everything, the build
# included, fits in 10 minutes; the run is cut off by `timeout` before that.
#
#   tests/bench/gpu.sh                 # on the GPU machine, from anywhere
#   tests/bench/gpu.sh --cpu-smoke     # here: the standalone CMake project against the
#                                      # Debian LibTorch (CPU), toy sizes, into /tmp
#   tests/bench/gpu.sh -- ARGS...      # GPU run with other segscale-gpubench arguments
#
# Environment: PYTHON (default python3), GPUBENCH_BUDGET_S (default 570, seconds for the
# whole script), GPUBENCH_FORCE_DIRECT=1 (skip CMake, build with g++ directly), CXX.
# When $OUT is set (the device runner's output folder), the output is also written to
# $OUT/gpubench.txt.
set -uo pipefail

start=$SECONDS
budget=${GPUBENCH_BUDGET_S:-570}   # seconds for the whole script
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
ncpu=$(nproc 2>/dev/null || echo 4)

log() { printf '== %s\n' "$*" >&2; }
die() { printf 'gpu.sh: %s\n' "$*" >&2; exit 1; }

mode=gpu
bench_args=()
case "${1:-}" in
    --cpu-smoke) mode=cpu-smoke; shift ;;
    --) shift; bench_args=("$@") ;;
    -h|--help) sed -n '3,20p' "$0"; exit 0 ;;
    "") ;;
    *) die "unknown argument '$1' (see --help)" ;;
esac

if [[ $mode == cpu-smoke ]]; then
    build=${GPUBENCH_SMOKE_DIR:-/tmp/segscale-gpubench-smoke}
    torch_dir=${Torch_DIR:-/usr/lib/x86_64-linux-gnu/cmake/Torch}
    gen=(); command -v ninja >/dev/null && gen=(-G Ninja)
    log "standalone CMake project against $torch_dir into $build"
    cmake -S "$here/gpu" -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DTorch_DIR="$torch_dir" \
        || die "CMake configure failed"
    cmake --build "$build" -j "${GPUBENCH_JOBS:-2}" || die "build failed"
    exe="$build/segscale-gpubench"
    "$exe" --help >/dev/null || die "$exe --help failed"
    log "tiny CPU run"
    exec "$exe" --device cpu --size 81 --crop 49 --base-size 81 --classes 5 --images 2 --batch 8 --in-flight 2 \
        --warmup 1 --precisions fp32,bf16 --scale-sets "1;0.5,1"
fi

# ---- GPU machine ----
copy=/dev/null
[[ -n ${OUT:-} && -d ${OUT:-} ]] && copy=$OUT/gpubench.txt
exec > >(tee "$copy") 2>&1
log "GPUs"
nvidia-smi -L || log "nvidia-smi -L failed"
python=${PYTHON:-python3}
"$python" - <<'PY' || die "python3 cannot import torch"
import torch
print("PyTorch", torch.__version__, "CUDA", torch.version.cuda, "cuDNN", torch.backends.cudnn.version(),
      "GPU available:", torch.cuda.is_available(),
      torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")
PY
prefix=$("$python" -c 'import torch; print(torch.utils.cmake_prefix_path)') || die "no torch.utils.cmake_prefix_path"
nvcc=$(command -v nvcc || true)
for candidate in /usr/local/cuda/bin/nvcc /usr/local/cuda-13*/bin/nvcc; do
    [[ -z $nvcc && -x $candidate ]] && nvcc=$candidate
done
log "LibTorch CMake prefix: $prefix; nvcc: ${nvcc:-none}"
build=$root/build-gpu
mkdir -p "$build"
exe=""

cmake_args=(-S "$here/gpu" -B "$build/cmake" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix"
            -DCMAKE_CUDA_ARCHITECTURES=90)
command -v ninja >/dev/null && cmake_args+=(-G Ninja)
if [[ -n $nvcc ]]; then
    cmake_args+=(-DCMAKE_CUDA_COMPILER="$nvcc" -DCUDAToolkit_ROOT="$(dirname "$(dirname "$nvcc")")")
fi
log "build path 1: CMake (tests/bench/gpu/CMakeLists.txt)"
if [[ ${GPUBENCH_FORCE_DIRECT:-0} != 1 ]] \
   && TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0} timeout 300 cmake "${cmake_args[@]}" > "$build/cmake.log" 2>&1 \
   && timeout 300 cmake --build "$build/cmake" -j "$ncpu" >> "$build/cmake.log" 2>&1; then
    exe=$build/cmake/segscale-gpubench
    log "built with CMake: $exe"
else
    if [[ ${GPUBENCH_FORCE_DIRECT:-0} == 1 ]]; then
        log "GPUBENCH_FORCE_DIRECT=1: CMake skipped"
    else
        log "CMake configure/build failed; its last lines:"
        tail -n 25 "$build/cmake.log" >&2
    fi
    log "build path 2: direct g++ against the same LibTorch"
    torch_includes=() torch_libdirs=() torch_abi=1
    eval "$("$python" - <<'PY'
import shlex, torch
from torch.utils import cpp_extension
print("torch_includes=(%s)" % " ".join(shlex.quote(p) for p in cpp_extension.include_paths()))
print("torch_libdirs=(%s)" % " ".join(shlex.quote(p) for p in cpp_extension.library_paths()))
print("torch_abi=%d" % int(torch._C._GLIBCXX_USE_CXX11_ABI))
PY
    )" || die "cannot ask torch.utils.cpp_extension for its paths"
    cxx=${CXX:-g++}
    flags=(-std=c++20 -O2 -DNDEBUG -fPIC -D_GLIBCXX_USE_CXX11_ABI="$torch_abi" -I"$root/core" -I"$root")
    for p in "${torch_includes[@]}"; do flags+=(-isystem "$p"); done
    mkdir -p "$build/direct"
    sources=("$here/gpu/gpubench.cpp" "$root"/core/procedure/*.cpp "$root"/core/model/pspnet{module,bottleneck,ppm,convbn}.cpp)
    objects=()
    failed=0
    for src in "${sources[@]}"; do
        obj="$build/direct/$(basename "$src" .cpp).o"
        objects+=("$obj")
        # At most $ncpu compilers at once.
        while (( $(jobs -rp | wc -l) >= ncpu )); do wait -n || failed=1; done
        "$cxx" "${flags[@]}" -c "$src" -o "$obj" &
    done
    while (( $(jobs -rp | wc -l) > 0 )); do wait -n || failed=1; done
    [[ $failed == 0 ]] || die "direct g++ compile failed"
    link=()
    cuda_libs=()
    for d in "${torch_libdirs[@]}"; do
        link+=(-L"$d" -Wl,-rpath,"$d")
        [[ -e $d/libtorch_cuda.so ]] && cuda_libs=(-ltorch_cuda -lc10_cuda)
    done
    (( ${#cuda_libs[@]} )) || log "no libtorch_cuda.so next to libtorch: linking a CPU-only binary"
    # torch_cuda registers the CUDA kernels from static initialisers: nothing refers to it
    # by name, so --as-needed would drop it.
    "$cxx" "${objects[@]}" -o "$build/direct/segscale-gpubench" "${link[@]}" \
        -Wl,--no-as-needed "${cuda_libs[@]}" -ltorch -ltorch_cpu -lc10 -Wl,--as-needed -lpthread \
        || die "direct g++ link failed"
    exe=$build/direct/segscale-gpubench
    log "built with g++ directly: $exe"
fi
log "build took $((SECONDS - start)) s"

left=$((budget - (SECONDS - start)))
(( left > 30 )) || die "no time left to run (${left} s)"
if [[ ${#bench_args[@]} -eq 0 ]]; then
    bench_args=(--device cuda --layers 50 --classes 150 --size 640 --base-size 512 --crop 473
                --scale-sets "1;0.5,0.75,1,1.25" --precisions fp32,tf32,fp16,bf16)
fi
log "running (at most $left s): segscale-gpubench ${bench_args[*]}"
timeout --signal=TERM --kill-after=10 "$left" "$exe" "${bench_args[@]}"
rc=$?
(( rc == 124 )) && log "cut off after $left s: the rows printed above are complete measurements"
log "total $((SECONDS - start)) s, exit status $rc"
exit $rc

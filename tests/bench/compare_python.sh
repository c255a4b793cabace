#!/usr/bin/env bash
# SegScale against the standard Python implementation of the same procedure (issue "Speed", CPU).
#
# On the same images, with the same settings and thread count, times end to end (wall clock,
# model load included) and per image without the load:
#   (a) tests/bench/python_reference.py  (the classic PSPNet test loop, numpy float64)
#   (a') the same with --freeze          (the network optimised as SegScale loads it; PY_FREEZE=0 skips)
#   (b) segscale segment --mode sequential  (the original loop: the model as loaded, not frozen)
#   (b') the same with --graph optimized     (isolates the schedule; SEQ_OPT=0 skips)
#   (c) segscale segment --mode pipelined (default batch)
#   (d) segscale bench (network-only time: the limit), same settings
#   (e) segscale segment --mode pipelined --threads 1 (thread split; THREAD_SPLIT=0 skips)
#   (f) with SEMSEG_SRC set: the unmodified official code itself
#       (../shared/tools/official_semseg_run.py; flip only), for label agreement (its time
#       includes the model load)
# Runs are interleaved (python, segscale, ..., python, segscale) REPEAT times; the best is kept.
# Prints a table and the label agreement of pipelined vs python (fraction of identical pixels).
#
# Usage: tests/bench/compare_python.sh [IMAGE...]
# Environment (all optional):
#   SHARED      shared folder (default: the repo's ../shared)
#   MODEL       model folder (default: $SHARED/models/espnet-cityscapes)
#   SCALES      default 0.5,0.75,1,1.25     BASE_SIZE default 512     CROP default 512
#   FLIP        --flip (default) or --no-flip
#   THREADS     default 2                   NIMAGES   default 4 (when no IMAGE is given)
#   REPEAT      default 1                   BENCH     1 (default) runs segscale bench, 0 skips
#   SEGSCALE    default build/app/segscale  PYTHON    default /usr/bin/python3 (Debian's, with
#               python3-torch python3-opencv python3-numpy)
#   WORK        output folder (default: a new mktemp -d)
#   SEMSEG_SRC  an extracted snapshot of github:hszhao/semseg (git archive HEAD | tar -x);
#               needs python3-pil too (scripts/setup --bench installs it)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
SHARED=${SHARED:-$repo/../shared}
MODEL=${MODEL:-$SHARED/models/espnet-cityscapes}
SCALES=${SCALES:-0.5,0.75,1,1.25}
BASE_SIZE=${BASE_SIZE:-512}
CROP=${CROP:-512}
FLIP=${FLIP:---flip}
THREADS=${THREADS:-2}
NIMAGES=${NIMAGES:-4}
REPEAT=${REPEAT:-1}
BENCH=${BENCH:-1}
PY_FREEZE=${PY_FREEZE:-1}
SEQ_OPT=${SEQ_OPT:-1}
THREAD_SPLIT=${THREAD_SPLIT:-1}
SEMSEG_SRC=${SEMSEG_SRC:-}
SEGSCALE=${SEGSCALE:-$repo/build/app/segscale}
PYTHON=${PYTHON:-/usr/bin/python3}
WORK=${WORK:-$(mktemp -d /tmp/compare_python.XXXXXX)}

case "$FLIP" in --flip|--no-flip) ;; *) echo "FLIP must be --flip or --no-flip" >&2; exit 2 ;; esac
[[ -x "$SEGSCALE" ]] || { echo "no segscale binary at $SEGSCALE (build it, or set SEGSCALE)" >&2; exit 2; }
[[ -f "$MODEL/model.json" ]] || { echo "no model.json in $MODEL" >&2; exit 2; }
"$PYTHON" -c 'import torch, cv2, numpy' 2>/dev/null || {
    echo "$PYTHON lacks torch/cv2/numpy: apt-get install python3-torch python3-opencv python3-numpy" >&2; exit 2; }

images=("$@")
if [[ ${#images[@]} -eq 0 ]]; then
    mapfile -t images < <(ls "$SHARED"/samples/streets/crop640_*.jpg 2>/dev/null | sort | head -n "$NIMAGES")
fi
[[ ${#images[@]} -gt 0 ]] || { echo "no images (give some, or set SHARED)" >&2; exit 2; }
# Stems must be unique: both tools name labels/<stem>.png.
dups=$(for f in "${images[@]}"; do b=$(basename "$f"); echo "${b%.*}"; done | sort | uniq -d)
[[ -z "$dups" ]] || { echo "images with the same name: $dups" >&2; exit 2; }

mkdir -p "$WORK"
times="$WORK/times.tsv"       # run  repeat  wall_seconds(end to end)  stats-json|python-json
: >"$times"
loadlog="$WORK/uptime.log"
: >"$loadlog"
settings=(--model "$MODEL" --scales "$SCALES" --base-size "$BASE_SIZE" --crop "$CROP" "$FLIP")

echo "compare_python: ${#images[@]} images, scales $SCALES, base size $BASE_SIZE, crop $CROP, $FLIP, threads $THREADS, repeat $REPEAT" >&2
echo "work folder: $WORK" >&2

now() { date +%s.%N; }
note_load() { echo "$1: $(uptime)" >>"$loadlog"; }

# run NAME REP JSONFILE CMD...: time CMD end to end, log its output.
run() {
    local name=$1 rep=$2 json=$3
    shift 3
    note_load "before $name #$rep"
    echo "  $name #$rep ..." >&2
    local t0 t1
    t0=$(now)
    if ! "$@" >"$WORK/$name.$rep.log" 2>&1; then
        echo "$name #$rep failed; see $WORK/$name.$rep.log" >&2
        tail -5 "$WORK/$name.$rep.log" >&2
        exit 1
    fi
    t1=$(now)
    note_load "after $name #$rep"
    printf '%s\t%s\t%s\t%s\n' "$name" "$rep" "$(echo "$t1 - $t0" | bc -l)" "$json" >>"$times"
}

for ((r = 1; r <= REPEAT; r++)); do
    d="$WORK/r$r"
    run python "$r" "$d/python.json" \
        "$PYTHON" "$here/python_reference.py" "${settings[@]}" --threads "$THREADS" --json "$d/python.json" --out "$d/python" "${images[@]}"
    run sequential "$r" "$d/sequential.json" \
        "$SEGSCALE" segment "${settings[@]}" --threads "$THREADS" --mode sequential --stats-json "$d/sequential.json" --out "$d/sequential" "${images[@]}"
    if [[ "$SEQ_OPT" == 1 ]]; then
        run sequential_opt "$r" "$d/sequential_opt.json" \
            "$SEGSCALE" segment "${settings[@]}" --threads "$THREADS" --mode sequential --graph optimized --stats-json "$d/sequential_opt.json" --out "$d/sequential_opt" "${images[@]}"
    fi
    if [[ "$PY_FREEZE" == 1 ]]; then
        run python_freeze "$r" "$d/python_freeze.json" \
            "$PYTHON" "$here/python_reference.py" "${settings[@]}" --freeze --threads "$THREADS" --json "$d/python_freeze.json" --out "$d/python_freeze" "${images[@]}"
    fi
    run pipelined "$r" "$d/pipelined.json" \
        "$SEGSCALE" segment "${settings[@]}" --threads "$THREADS" --mode pipelined --stats-json "$d/pipelined.json" --out "$d/pipelined" "${images[@]}"
    if [[ -n "$SEMSEG_SRC" && "$FLIP" == --flip ]]; then
        run official "$r" "" \
            "$PYTHON" "$SHARED/tools/official_semseg_run.py" "$SEMSEG_SRC" "$MODEL" "$d/official/labels" \
            --scales "$SCALES" --base-size "$BASE_SIZE" --crop "$CROP" --threads "$THREADS" "${images[@]}"
    fi
    if [[ "$THREAD_SPLIT" == 1 ]]; then
        run pipelined_t1 "$r" "$d/pipelined_t1.json" \
            "$SEGSCALE" segment "${settings[@]}" --threads 1 --mode pipelined --stats-json "$d/pipelined_t1.json" --out "$d/pipelined_t1" "${images[@]}"
    fi
done

if [[ "$BENCH" == 1 ]]; then
    inputs=()
    for f in "${images[@]}"; do inputs+=(--inputs "$f"); done
    run bench 1 "$WORK/bench.json" \
        "$SEGSCALE" bench "${settings[@]}" --threads "$THREADS" --images "${#images[@]}" "${inputs[@]}" --repeat "$REPEAT" --json "$WORK/bench.json"
fi

"$PYTHON" - "$WORK" "${#images[@]}" <<'EOF'
import glob, json, os, sys
import cv2
import numpy as np

work, n = sys.argv[1], int(sys.argv[2])
rows = {}
for line in open(os.path.join(work, "times.tsv")):
    name, rep, wall, js = line.rstrip("\n").split("\t")
    rows.setdefault(name, []).append((float(wall), js))

def per_image(name):
    """best end-to-end s/img (load included) and best s/img without the load."""
    if name not in rows:
        return None
    e2e, noload = [], []
    for wall, js in rows[name]:
        e2e.append(wall / n)
        if not js:  # no timings of its own: wall clock only
            noload.append(wall / n)
            continue
        d = json.load(open(js))
        if name.startswith("python"):
            noload.append(d["seconds_per_image"])
        else:
            noload.append(d["wall_seconds"] / max(1, d["images_done"]))
    return min(e2e), min(noload), noload

res = {k: per_image(k) for k in ("python", "python_freeze", "sequential", "sequential_opt", "pipelined", "pipelined_t1",
                                  "official")}
net = None
bench = os.path.join(work, "bench.json")
if os.path.exists(bench):
    b = json.load(open(bench))["scale_sets"][0]
    net = b["network_only"]["seconds_per_image"]
    res["bench sequential"] = (None, b["sequential"]["seconds_per_image"], [])
    res["bench pipelined"] = (None, b["pipelined"]["seconds_per_image"], [])
    res["network-only"] = (None, net, [])

print("\nseconds per image (best of repeats; 'e2e' = wall clock of the whole command incl. model load / n)")
print(f"{'run':<18}{'e2e s/img':>12}{'s/img (no load)':>18}{'images/s':>10}   all no-load values")
for k, v in res.items():
    if v is None:
        continue
    e2e, nl, alls = v
    print(f"{k:<18}{'' if e2e is None else f'{e2e:.3f}':>12}{nl:>18.3f}{1 / nl:>10.4f}   {' '.join(f'{x:.3f}' for x in alls)}")

def ratio(a, b):
    if res.get(a) is None or res.get(b) is None:
        return "n/a"
    return f"{res[a][1] / res[b][1]:.3f}"

print("\nratios (no-load s/img)")
print(f"  pipelined / python          {ratio('pipelined', 'python')}")
print(f"  pipelined / python --freeze {ratio('pipelined', 'python_freeze')}")
print(f"  sequential / python         {ratio('sequential', 'python')}")
print(f"  pipelined / sequential      {ratio('pipelined', 'sequential')}")
print(f"  pipelined / seq. optimized  {ratio('pipelined', 'sequential_opt')}  (the schedule alone)")
if net is not None:
    print(f"  network-only / pipelined    {net / res['pipelined'][1]:.3f}  (fraction of the limit, pipelined from segment)")
    print(f"  network-only / bench pipel. {net / res['bench pipelined'][1]:.3f}  (same process as the network-only time)")
if res.get("pipelined_t1"):
    print(f"  thread split: pipelined --threads 1: {1 / res['pipelined_t1'][1]:.4f} images/s, "
          f"--threads 2: {1 / res['pipelined'][1]:.4f} images/s (x{res['pipelined_t1'][1] / res['pipelined'][1]:.2f})")

def agreement(a, b):
    da, db = os.path.join(work, "r1", a, "labels"), os.path.join(work, "r1", b, "labels")
    if not (os.path.isdir(da) and os.path.isdir(db)):
        return None
    same = total = 0
    worst = []
    for fa in sorted(glob.glob(os.path.join(da, "*.png"))):
        fb = os.path.join(db, os.path.basename(fa))
        la = cv2.imread(fa, cv2.IMREAD_UNCHANGED)
        lb = cv2.imread(fb, cv2.IMREAD_UNCHANGED)
        if lb is None or la.shape != lb.shape:
            print(f"  {os.path.basename(fa)}: missing or different size in {b}")
            total += la.size
            continue
        s = int((la == lb).sum())
        same += s
        total += la.size
        worst.append((la.size - s, os.path.basename(fa)))
    return same, total, max(worst) if worst else None

print("\nlabel agreement (identical pixels over all images, repeat 1)")
for a, b in (("pipelined", "official"), ("python", "official"), ("pipelined", "python"), ("sequential", "python"), ("pipelined", "sequential"), ("pipelined", "sequential_opt"),
             ("python_freeze", "python"), ("pipelined", "python_freeze"), ("pipelined_t1", "pipelined")):
    r = agreement(a, b)
    if r is None:
        continue
    same, total, worst = r
    flag = "" if same >= 0.999 * total else "   <-- below 99.9%"
    print(f"  {a:>14} vs {b:<14} {100 * same / total:9.4f}%  ({total - same} of {total} px differ; "
          f"most in {worst[1]}: {worst[0]}){flag}")
EOF

echo
echo "machine load during the runs ($WORK/uptime.log):"
sed 's/^/  /' "$loadlog"

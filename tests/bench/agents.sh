#!/usr/bin/env bash
# Images per second of one study with 1 agent vs 2 agents on this machine, through the
# real coordinator (`segscale serve --launch-local N`), on the light model (ESPNet,
# ../shared). One agent gets every core; two agents share them. Prints both rates, their
# ratio and the load average before and after: quote it only from an idle machine.
#   tests/bench/agents.sh [build/app/segscale] [images]
set -euo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
cli="${1:-$here/build/app/segscale}"
count="${2:-32}"
model="$here/../shared/models/espnet-cityscapes"
photos="$here/../shared/samples/streets"
[[ -x "$cli" ]] || { echo "agents.sh: build segscale first ($cli)" >&2; exit 2; }
[[ -f "$model/model.json" && -d "$photos" ]] || { echo "agents.sh: needs ../shared (model and photos)" >&2; exit 2; }
cores=$(nproc)
work=$(mktemp -d /tmp/segscale-agents-XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/images"
i=0
while ((i < count)); do
  for f in "$photos"/*.jpg; do
    ((i < count)) || break
    cp "$f" "$work/images/$(printf '%03d' "$i").jpg"
    i=$((i + 1))
  done
done
head -c 24 /dev/urandom | base64 > "$work/token"
"$cli" model info "$model" >/dev/null 2>&1 || true

run() {  # agents threads-per-agent -> seconds
  local agents=$1 threads=$2 db="$work/study-$1.db"
  "$cli" study create "$db" --model "$model" --scales 1 --base-size 512 --crop 512 --no-flip >/dev/null 2>&1
  "$cli" study add "$db" "$work/images" >/dev/null 2>&1
  local start end
  start=$(date +%s.%N)
  "$cli" serve "$db" --listen 127.0.0.1:0 --token-file "$work/token" --launch-local "$agents" \
      --agent-arg=--threads --agent-arg="$threads" --agent-arg=--model-cache --agent-arg="$work/cache" \
      --out "$work/out-$agents" 2> "$work/serve-$agents.log" &
  local pid=$!
  until grep -q "pending   0" <("$cli" study status "$db" 2>/dev/null) && grep -q "leased    0" <("$cli" study status "$db" 2>/dev/null); do
    sleep 0.5
    kill -0 $pid 2>/dev/null || { echo "serve died:"; cat "$work/serve-$agents.log"; exit 1; }
  done
  end=$(date +%s.%N)
  kill -TERM $pid; wait $pid || true
  echo "$end - $start" | bc -l
}

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)   cores: $cores   images: $count (ESPNet, scale 1, 512, no flip)"
# A warm-up fills the model cache and the page cache, so both runs start alike.
run 1 "$cores" >/dev/null
rm -f "$work"/study-1.db*
one=$(run 1 "$cores")
two=$(run 2 $((cores > 1 ? cores / 2 : 1)))
printf '1 agent  x %d threads: %6.1f s  %5.2f images/s\n' "$cores" "$one" "$(echo "$count / $one" | bc -l)"
printf '2 agents x %d threads: %6.1f s  %5.2f images/s\n' $((cores > 1 ? cores / 2 : 1)) "$two" "$(echo "$count / $two" | bc -l)"
printf 'ratio (2 agents / 1 agent): %.2f\n' "$(echo "$one / $two" | bc -l)"
echo "load after:  $(cut -d' ' -f1-3 /proc/loadavg)"

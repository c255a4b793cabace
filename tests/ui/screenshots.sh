#!/usr/bin/env bash
# Screenshots of SegScale Studio's Progress, Workers, Errors and Results tabs, for people to look at (the
# README, a review). Builds nothing: uses BUILD/app/segscale and segscale-studio
# (-DSEGSCALE_BUILD_GUI=ON). Makes a small study of the shared street photos plus one
# corrupt file and one text file named like a photo, serves it, lets one agent (--stay, so it is still listed) finish it, then
# attaches segscale-studio under xvfb-run and saves OUT/progress.png, workers.png,
# errors.png, results.png, audit.png, viewer.png (the first result in the image viewer) and
# the dialogs, and the same under --dark in OUT/dark/.
#   tests/ui/screenshots.sh [OUT]        (default OUT: $BUILD/screenshots)
#   SEGSCALE_BUILD_DIR=build-ci tests/ui/screenshots.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${SEGSCALE_BUILD_DIR:-build}
shared=${SEGSCALE_SHARED_DIR:-$PWD/../shared}
cli=$PWD/$build/app/segscale
studio=$PWD/$build/app/segscale-studio
out=$(realpath -m "${1:-$build/screenshots}")
for f in "$cli" "$studio"; do
    [[ -x $f ]] || { echo "screenshots.sh: $f is missing: build segscale and segscale-studio (-DSEGSCALE_BUILD_GUI=ON)" >&2; exit 2; }
done
command -v xvfb-run >/dev/null || { echo "screenshots.sh: xvfb-run is not installed" >&2; exit 2; }

work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/images" "$out"
cp "$shared"/samples/streets/crop640_*.jpg "$shared"/samples/streets/frankfurt_*.jpg "$work/images/"   # streets only: the ADE20K room is not what a street study sees
head -c 3000 /dev/urandom > "$work/images/broken-upload.jpg"   # one file every real study has
printf 'camera 3 notes: lens fogged from 14:00, ignore\n' > "$work/images/camera3-notes.jpg"  # and one more
"$cli" study create "$work/study.db" --model "$shared/models/espnet-cityscapes" \
    --scales 1 --base-size 256 --crop 256 --no-flip >/dev/null
"$cli" study add "$work/study.db" "$work/images" >/dev/null
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$work/agent.token"
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$work/admin.token"

"$cli" serve "$work/study.db" --token-file "$work/agent.token" --admin-token-file "$work/admin.token" \
    --listen 127.0.0.1:0 --lease-seconds 8 2> "$work/serve.log" &   # heartbeats (with rates) every 2 s
pids+=($!)
url=
for _ in $(seq 1 300); do
    url=$(grep -o 'ws://127\.0\.0\.1:[0-9]*' "$work/serve.log" | head -1 || true)
    [[ -n $url ]] && break
    sleep 0.1
done
[[ -n $url ]] || { cat "$work/serve.log" >&2; echo "screenshots.sh: serve did not start" >&2; exit 1; }
"$cli" agent --connect "$url" --token-file "$work/agent.token" --name "$(hostname -s)-cpu-1" --threads 1 \
    --model-cache "$work/cache" --stay 2> "$work/agent.log" &
pids+=($!)
for _ in $(seq 1 600); do
    status=$("$cli" study status "$work/study.db")
    if grep -Eq '^ +pending +0 ' <<<"$status" && grep -Eq '^ +leased +0 ' <<<"$status"; then
        break
    fi
    sleep 0.5
done
grep -Eq '^ +pending +0 ' <<<"$status" || { echo "$status" >&2; echo "screenshots.sh: the study did not finish" >&2; exit 1; }
sleep 3  # one more heartbeat: the agent's rate and RSS reach the coordinator

# A settings file of its own: the window opens at its default size, whatever a user saved.
SEGSCALE_SCREENSHOT_MODEL="$shared/models/espnet-cityscapes" XDG_CONFIG_HOME="$work/config" xvfb-run -a -s "-screen 0 1280x800x24" \
    "$studio" --connect "$url" --admin-token-file "$work/admin.token" --screenshot "$out"
# The same views in the dark (a dark palette forced, as a desktop's dark theme would give).
SEGSCALE_SCREENSHOT_MODEL="$shared/models/espnet-cityscapes" XDG_CONFIG_HOME="$work/config-dark" xvfb-run -a -s "-screen 0 1280x800x24" \
    "$studio" --dark --connect "$url" --admin-token-file "$work/admin.token" --screenshot "$out/dark"
ls -l "$out"/progress.png "$out"/workers.png "$out"/errors.png "$out"/results.png "$out"/viewer.png "$out"/dark/progress.png

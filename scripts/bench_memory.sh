#!/usr/bin/env bash
# Peak memory of the pipeline on a short, a long and a 4K video.
#   scripts/bench_memory.sh [LONG_FRAMES] [K4_FRAMES]     (defaults 3300 and 30)
# Runs tests/au_pipeline_run (the pipeline through au.h, one process per
# video, peak RSS from getrusage ru_maxrss) on:
#   short: changeLighting.wmv (88 frames, 640x480)
#   long:  default.wmv looped to LONG_FRAMES frames (640x480)
#   4K:    default.wmv upscaled to 3840x2160, K4_FRAMES frames
# The long and 4K videos are made in a temporary folder with libavcodec
# (tests/au_mkvideo) and deleted afterwards. For the long video the heap in
# use (glibc mallinfo2) is also sampled after frame 3100, i.e. after OpenFace's
# descriptor store (HOG + geometry of the first 3000 successful frames) is
# full, and after the last frame: what still grows per frame past that is the
# AU history the post-processing needs. Uses the Release build (scripts/build.sh).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
long=${1:-3300}
k4=${2:-30}
data=${AU_DATA_DIR:-$repo/data}
export AU_DATA_DIR=$data
videos=$data/openface/videos
[ -f "$videos/default.wmv" ] || { echo "bench_memory.sh: no $videos/default.wmv (run scripts/setup.sh)" >&2; exit 1; }
"$repo/scripts/build.sh" release >/dev/null
bin=$repo/build/tests
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "making $long-frame and $k4-frame 4K videos in $tmp" >&2
"$bin/au_mkvideo" "$tmp/long.avi" --from "$videos/default.wmv" 0 0 "$long" 5
"$bin/au_mkvideo" "$tmp/4k.avi" --from "$videos/default.wmv" 3840 2160 "$k4" 5

row() { # name video [args]
  local name=$1 video=$2; shift 2
  local out
  out=$("$bin/au_pipeline_run" "$@" "$video")
  printf '%-6s %s\n' "$name" "$out"
}
echo "cmd: $bin/au_pipeline_run [--heap-at K] VIDEO   (maxrss_kb: peak RSS of the process)"
row short "$videos/changeLighting.wmv"
row long "$tmp/long.avi" --heap-at 3100
row 4K "$tmp/4k.avi"

#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (build-fuzz/, ASan + UBSan + coverage)
# and runs every target for SECONDS each (default 60), JOBS at once (default 2).
#   scripts/fuzz.sh [SECONDS] [TARGET...]       e.g. scripts/fuzz.sh 600 fuzz_ccnf
# Environment: AU_DATA_DIR (real files for seeds), AU_FUZZ_JOBS, AU_FUZZ_BUILD.
# See tests/fuzz/run.sh for the corpora and where crashes go.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-60}
[ $# -gt 0 ] && shift
dir=${AU_FUZZ_BUILD:-$repo/build-fuzz}
command -v clang >/dev/null || { echo "fuzz.sh: clang is needed (scripts/setup.sh installs it)" >&2; exit 2; }
flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DAU_FUZZ=ON)
[ -n "${AU_DATA_DIR:-}" ] && flags+=("-DAU_DATA_DIR=$AU_DATA_DIR")
CC=clang cmake -S "$repo" -B "$dir" "${flags[@]}" >/dev/null
cmake --build "$dir" -j "$(nproc)" --target fuzz_all au_mkvideo
exec "$repo/tests/fuzz/run.sh" -b "$dir" -t "$secs" -j "${AU_FUZZ_JOBS:-2}" "$@"

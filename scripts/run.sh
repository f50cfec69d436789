#!/usr/bin/env bash
# The main job: set-up, Release build, then `auharness --all-variants` on the
# default data (datasets/default.manifest): every variant on every item, in
# one worker process per core, into results/auharness.sqlite; the per-variant table
# and the gate's verdicts on stdout; the report with its plots in
# reports/<run>/report.html. Extra arguments go to auharness (e.g. --resume).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
"$repo/scripts/setup.sh"
"$repo/scripts/build.sh" release
cd "$repo"
jobs=$(nproc)
# With AUHARNESS_OPENFACE (a FeatureExtraction binary, scripts/build_openface.sh)
# OpenFace C++ is timed in the same run, and the ratios are measured side by side.
openface=()
if [ -n "${AUHARNESS_OPENFACE:-}" ]; then
    openface=(--openface "$AUHARNESS_OPENFACE")
fi
exec "$repo/build/harness/auharness" --all-variants -j "$jobs" --report reports "${openface[@]}" "$@"

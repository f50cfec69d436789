#!/usr/bin/env bash
# The main job: set-up, Release build, then auharness on the default data.
# Until the variant runner exists (auharness --all-variants), this runs the
# furthest-along real steps on the default data: loading the whole OpenFace
# model set (timed), extracting every default video with the baseline pipeline
# into reports/extract/, and comparing each CSV with OpenFace C++'s output.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
"$repo/scripts/setup.sh"
"$repo/scripts/build.sh" release
data=${AU_DATA_DIR:-$repo/data}
bin="$repo/build/harness/auharness"
out="$repo/reports/extract"
"$bin" bench-load -n 10
"$bin" extract -f "$data/openface/videos/default.wmv" -f "$data/openface/videos/changeLighting.wmv" -out_dir "$out"
for v in default changeLighting; do
  "$bin" compare "$out/$v.csv" --labels "$data/openface/reference/$v.csv"
done

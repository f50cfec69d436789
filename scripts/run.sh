#!/usr/bin/env bash
# The main job: set-up, Release build, then auharness on the default data.
# Until the variant runner exists (auharness --all-variants), this runs the
# furthest-along real steps on the default data: loading the whole OpenFace model
# set (timed) and decoding every default video and image folder.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
"$repo/scripts/setup.sh"
"$repo/scripts/build.sh" release
data=${AU_DATA_DIR:-$repo/data}
bin="$repo/build/harness/auharness"
"$bin" bench-load -n 10
"$bin" probe -f "$data/openface/videos/default.wmv" -f "$data/openface/videos/changeLighting.wmv" \
             -f "$data/openface/videos/multi_face.avi" -f "$data/openface/videos/image_sequence"

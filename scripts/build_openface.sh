#!/usr/bin/env bash
# Builds OpenFace C++'s FeatureExtraction from an OpenFace 2.2 source tree, so
# that the harness times it side by side with the variants (the "x OpenFace"
# ratios then come from one run on one machine, instead of from the reference
# FPS measured once on a quiet machine):
#
#   scripts/build_openface.sh SRC [OUT]
#   AUHARNESS_OPENFACE=OUT/bin/FeatureExtraction scripts/run.sh
#
# SRC is an unpatched OpenFace 2.2 checkout, e.g.
#   git clone --depth 1 https://github.com/TadasBaltrusaitis/OpenFace SRC
# (the reference outputs came from master after the 2.2.0 tag; see
# data/openface/reference/README.md). Nothing of it is kept in this repository.
# OUT (default build/openface) gets the CMake build and bin/ with the binary
# next to model/ and AU_predictors/ linked from data/openface/models, the
# layout FeatureExtraction expects. Debian 12 packages as the reference build:
# OpenCV 4.6, dlib 19.24, OpenBLAS, Boost.Filesystem, TBB.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
if [ $# -lt 1 ] || [ ! -f "$1/CMakeLists.txt" ] || [ ! -d "$1/exe/FeatureExtraction" ]; then
    echo "usage: scripts/build_openface.sh OPENFACE_SOURCE [OUT]  (a folder with CMakeLists.txt and exe/FeatureExtraction)" >&2
    exit 2
fi
src=$(cd "$1" && pwd)
out=${2:-"$repo/build/openface"}
models="$repo/data/openface/models"
if [ ! -f "$models/model/main_clnf_general.txt" ] || [ ! -d "$models/AU_predictors" ]; then
    echo "build_openface: $models has no OpenFace models; run scripts/setup.sh first" >&2
    exit 1
fi
pkgs="cmake g++ make libopencv-dev libdlib-dev libboost-filesystem-dev libboost-system-dev libopenblas-dev libtbb-dev"
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    sudo_cmd=""
    [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get install -y --no-install-recommends $missing
fi
mkdir -p "$out/build" "$out/bin"
cmake -S "$src" -B "$out/build" -DCMAKE_BUILD_TYPE=Release >"$out/cmake.log" 2>&1 ||
    { echo "build_openface: cmake failed, see $out/cmake.log" >&2; exit 1; }
cmake --build "$out/build" --target FeatureExtraction -j "$(nproc)" >"$out/build.log" 2>&1 ||
    { echo "build_openface: build failed, see $out/build.log" >&2; exit 1; }
cp "$out/build/bin/FeatureExtraction" "$out/bin/FeatureExtraction"
ln -sfn "$models/model" "$out/bin/model"
ln -sfn "$models/AU_predictors" "$out/bin/AU_predictors"
# a check on the shorter reference video: the CSV must be OpenFace's own
check=$(mktemp -d)
(cd "$out/bin" && OPENBLAS_NUM_THREADS=1 OPENCV_FOR_THREADS_NUM=1 ./FeatureExtraction \
    -f "$repo/data/openface/videos/changeLighting.wmv" -out_dir "$check" -mloc model/main_clnf_general.txt \
    -2Dfp -3Dfp -pdmparams -pose -aus -gaze >"$out/check.log" 2>&1) ||
    { echo "build_openface: FeatureExtraction failed on changeLighting.wmv, see $out/check.log" >&2; exit 1; }
if cmp -s "$check/changeLighting.csv" "$repo/data/openface/reference/changeLighting.csv"; then
    echo "build_openface: $out/bin/FeatureExtraction reproduces the reference CSV of changeLighting.wmv byte for byte"
else
    echo "build_openface: warning: $out/bin/FeatureExtraction's CSV of changeLighting.wmv differs from the reference" >&2
fi
rm -rf "$check"
echo "AUHARNESS_OPENFACE=$out/bin/FeatureExtraction scripts/run.sh   # times OpenFace C++ side by side"

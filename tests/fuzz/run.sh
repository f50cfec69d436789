#!/usr/bin/env bash
# Runs the libFuzzer targets (built by scripts/fuzz.sh, or by CMake with
# CC=clang -DAU_FUZZ=ON) for a given time each, a few at once.
#
#   tests/fuzz/run.sh -b BUILD_DIR [-t SECONDS] [-j JOBS] [-d DATA_DIR] [-w WORK_DIR] [TARGET...]
#
# Corpus of each target (in WORK_DIR/corpus/<target>, kept between runs so
# later runs start from what earlier ones found):
#   - synthetic seeds written now (nothing of them is committed): tiny valid
#     instances of each format by make_seeds.py, and 3-frame 32x24 videos in
#     AVI, MKV and MP4 by the test tool au_mkvideo (built by scripts/fuzz.sh);
#   - seeds built now from the data folder when it is there: copies and cuts
#     of OpenFace's real model files, CSVs, .pts files and videos (never
#     committed: they carry their own licences), the multi-file loaders'
#     files packed into bundles (see fuzz_common.h).
# Crashes, leaks, UB, timeouts and out-of-memory inputs are saved in
# WORK_DIR/artifacts/<target>/; the script ends non-zero when any target
# found one. Prints executions per target.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=""
secs=60
jobs=2
data=${AU_DATA_DIR:-$repo/data}
work=""
while getopts "b:t:j:d:w:" o; do
  case "$o" in
    b) build=$OPTARG ;;
    t) secs=$OPTARG ;;
    j) jobs=$OPTARG ;;
    d) data=$OPTARG ;;
    w) work=$OPTARG ;;
    *) echo "usage: $0 -b BUILD_DIR [-t SECONDS] [-j JOBS] [-d DATA_DIR] [-w WORK_DIR] [TARGET...]" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ -n "$build" ] || { echo "run.sh: -b BUILD_DIR is needed (a build with AU_FUZZ=ON)" >&2; exit 2; }
bin=$build/tests/fuzz
work=${work:-$build/fuzz-work}
all_targets=$(cd "$here" && ls fuzz_*.c | sed 's/\.c$//')
targets=${*:-$all_targets}
for t in $targets; do
  [ -x "$bin/$t" ] || { echo "run.sh: $bin/$t is not built" >&2; exit 2; }
done
models=$data/openface/models
have_data=0
[ -d "$models/model" ] && have_data=1
[ "$have_data" = 1 ] || echo "run.sh: no data folder at $data: committed seeds only"

SEP='@@AUFUZZ@@'
# bundle OUT FILE...: the files joined by the separator (part 0 first)
bundle() {
  local out=$1; shift
  local first=1
  : > "$out"
  for f in "$@"; do
    [ $first = 1 ] || printf '%s' "$SEP" >> "$out"
    first=0
    cat "$f" >> "$out"
  done
}
# cut SRC OUT BYTES: the first BYTES bytes of SRC
cut_file() { head -c "$3" "$1" > "$2"; }
# prefixed OUT BYTES... FILE: FILE with the given bytes before it (fuzz_cnn's header)
prefixed() {
  local out=$1 file=${!#}
  local n=$(($# - 2)) i
  : > "$out"
  for ((i = 2; i < 2 + n; i++)); do printf "\\x$(printf %02x "${!i}")" >> "$out"; done
  cat "$file" >> "$out"
}

# Seeds from the data folder, per target, into directory $2.
data_seeds() {
  local t=$1 d=$2 tmp
  tmp=$(mktemp -d)
  case "$t" in
    fuzz_pdm)
      cp "$models/model/model_eye/pdms/pdm_28_eye_3D_closed.txt" "$d/real_eye_pdm.txt"
      cp "$models/model/pdms/In-the-wild_aligned_PDM_68.txt" "$d/real_pdm68.txt" ;;
    fuzz_tris)
      cp "$models/model/tris_68.txt" "$d/real_tris_68.txt"
      cp "$models/AU_predictors/tris_68_full.txt" "$d/real_tris_68_full.txt" ;;
    fuzz_ccnf)
      cp "$models/model/model_eye/patch_experts/ccnf_patches_1.00_synth_lid_.txt" "$d/real_eye_ccnf.bin"
      cut_file "$models/model/patch_experts/ccnf_patches_0.25_general.txt" "$d/real_general_ccnf_cut.bin" 65536 ;;
    fuzz_cnn)
      prefixed "$d/real_pnet.bin" 0 2 "$models/model/mtcnn_detector/PNet.dat"
      head -c 65536 "$models/model/mtcnn_detector/RNet.dat" > "$tmp/rnet"
      prefixed "$d/real_rnet_cut.bin" 2 2 "$tmp/rnet" ;;
    fuzz_validator)
      cut_file "$models/model/detection_validation/validator_cnn.txt" "$d/real_validator_cut.bin" 65536 ;;
    fuzz_mtcnn_model)
      printf 'PNet 1\nRNet 2\nONet 3\n' > "$tmp/0"
      head -c 4096 "$models/model/mtcnn_detector/RNet.dat" > "$tmp/2"
      head -c 4096 "$models/model/mtcnn_detector/ONet.dat" > "$tmp/3"
      bundle "$d/real_mtcnn_cut.bundle" "$tmp/0" "$models/model/mtcnn_detector/PNet.dat" "$tmp/2" "$tmp/3" ;;
    fuzz_clnf_model)
      printf 'LandmarkDetector 1\n' > "$tmp/0"
      printf 'PDM 2\nPatchesCCNF 3\nPatchesCCNF 4\n' > "$tmp/1"
      bundle "$d/real_eye_clnf.bundle" "$tmp/0" "$tmp/1" "$models/model/model_eye/pdms/pdm_28_l_eye_3D_closed.txt" \
        "$models/model/model_eye/patch_experts/left_ccnf_patches_1.00_synth_lid_.txt" \
        "$models/model/model_eye/patch_experts/left_ccnf_patches_1.50_synth_lid_.txt" ;;
    fuzz_au_models)
      printf 'AUPredictor 1\nPDM 2\nTriangulation 3\n' > "$tmp/0"
      printf '4 AU01\n5 AU12\n6 AU15\n' > "$tmp/1"
      bundle "$d/real_au.bundle" "$tmp/0" "$tmp/1" "$models/AU_predictors/In-the-wild_aligned_PDM_68.txt" \
        "$models/AU_predictors/tris_68_full.txt" \
        "$models/AU_predictors/svr_combined/AU_1_dynamic_intensity_comb.dat" \
        "$models/AU_predictors/svr_combined/AU_12_static_intensity_comb.dat" \
        "$models/AU_predictors/svm_combined/AU_15_dynamic.dat" ;;
    fuzz_openface_csv)
      for f in "$data"/openface/reference/changeLighting.csv "$data"/openface/reference/default.csv; do
        [ -f "$f" ] && head -n 4 "$f" > "$d/real_$(basename "$f" .csv)_head.csv"
      done ;;
    fuzz_pts)
      # sed, not head: head leaves early, sort may then die of SIGPIPE, and
      # with pipefail that ends the script
      find "$data/datasets" -name '*.pts' 2>/dev/null | sort | sed -n '1,3p' | while read -r f; do
        cp "$f" "$d/real_$(basename "$f")"
      done ;;
    fuzz_manifest)
      cp "$repo/datasets/default.manifest" "$d/default.manifest" ;;
    fuzz_video)
      for v in changeLighting.wmv default.wmv multi_face.avi; do
        f=$data/openface/videos/$v
        [ -f "$f" ] || continue
        cut_file "$f" "$d/real_${v}_32k" 32768
      done
      f=$(ls "$data"/openface/videos/image_sequence/*.jpg 2>/dev/null | head -n 1 || true)
      [ -n "$f" ] && cut_file "$f" "$d/real_jpg_16k" 16384 ;;
  esac
  rm -rf "$tmp"
}

# Per-target input size cap: large enough for every seed, small enough to keep
# executions fast.
max_len() {
  case "$1" in
    fuzz_clnf_model|fuzz_au_models|fuzz_mtcnn_model) echo 300000 ;;
    fuzz_ccnf|fuzz_cnn|fuzz_validator|fuzz_pdm) echo 131072 ;;
    fuzz_video) echo 65536 ;;
    *) echo 32768 ;;
  esac
}

mkdir -p "$work/corpus" "$work/artifacts" "$work/logs"
seeds=$work/seeds
rm -rf "$seeds"
python3 "$here/make_seeds.py" "$seeds" >/dev/null
mkdir -p "$seeds/fuzz_video"
for ext in avi mkv mp4; do
  "$build/tests/au_mkvideo" "$seeds/fuzz_video/synthetic_32x24_3f.$ext" --synthetic 32 24 3 10 >/dev/null
done
for t in $targets; do
  c=$work/corpus/$t
  mkdir -p "$c" "$work/artifacts/$t"
  [ -d "$seeds/$t" ] && cp "$seeds/$t"/* "$c/"
  [ "$have_data" = 1 ] && data_seeds "$t" "$c"
done

run_one() {
  local t=$1
  local log=$work/logs/$t.log rc=0
  # -timeout: one input taking longer is a hang; -rss_limit_mb: memory per process;
  # leaks are checked at the end of every input that allocated (detect_leaks=1).
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  "$bin/$t" -max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 -max_len="$(max_len "$t")" \
    -print_final_stats=1 -artifact_prefix="$work/artifacts/$t/" "$work/corpus/$t" > "$log" 2>&1 || rc=$?
  echo "$rc" > "$work/logs/$t.rc"
}

fail=0
running=0
for t in $targets; do
  rm -f "$work/logs/$t.rc"
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
  run_one "$t" &
  running=$((running + 1))
done
wait || true

printf '%-20s %12s %10s %8s  %s\n' target executions exec/s corpus result
for t in $targets; do
  log=$work/logs/$t.log
  rc=$(cat "$work/logs/$t.rc" 2>/dev/null || echo missing)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  corpus=$(ls "$work/corpus/$t" | wc -l)
  if [ "$rc" = 0 ]; then
    res=ok
  else
    res="FAILED ($rc): $(grep -m1 -E 'ERROR: |runtime error|fuzz: ' "$log" || echo 'see log') (log $log)"
    fail=1
  fi
  printf '%-20s %12s %10s %8s  %s\n' "$t" "${execs:-?}" "${speed:-?}" "$corpus" "$res"
done
if [ "$fail" = 1 ]; then
  echo "run.sh: crashing inputs are in $work/artifacts/" >&2
  exit 1
fi

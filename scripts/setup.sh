#!/usr/bin/env bash
# Set-up for a fresh Debian 12 machine; safe to rerun.
#  1. installs the Debian packages the build needs, when missing;
#  2. fills the git-ignored data folder ($AU_DATA_DIR, default ./data) with OpenFace's
#     model files, sample videos, reference outputs and the labelled image sets:
#     copied from a local mirror ($AUHARNESS_MIRROR, laid out like shared/: openface/
#     and datasets/), otherwise downloaded from OpenFace's upstream repository
#     (models and videos only; the reference outputs and 300-W images have no public
#     download of this layout, which is said clearly).
# Nothing here is committed: the models and data carry their own licences.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
data=${AU_DATA_DIR:-$repo/data}
mirror=${AUHARNESS_MIRROR:-}

log() { printf 'setup: %s\n' "$*"; }

# ---- 1. Debian packages -------------------------------------------------------
pkgs=(cmake pkg-config gcc make libavformat-dev libavcodec-dev libswscale-dev libavutil-dev libjpeg-dev
      libopenblas-dev liblapacke-dev libsqlite3-dev libcmocka-dev gnuplot-nox fonts-dejavu-core
      # memory checks (tests/test_valgrind.c) and fuzzing (scripts/fuzz.sh: clang + libFuzzer)
      valgrind clang libclang-rt-dev python3)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  log "Debian packages present"
fi

# ---- 2. models and data -------------------------------------------------------
mkdir -p "$data/openface" "$data/datasets"

copy_dir() { # src dst: mirror copy that only rewrites changed files
  mkdir -p "$2"
  cp -a -u "$1/." "$2/"
}

if [ -n "$mirror" ]; then
  [ -d "$mirror/openface/models" ] || { echo "setup: AUHARNESS_MIRROR=$mirror has no openface/models folder" >&2; exit 1; }
  log "copying models, videos and references from mirror $mirror"
  for d in models videos reference LICENSES; do
    [ -d "$mirror/openface/$d" ] && copy_dir "$mirror/openface/$d" "$data/openface/$d"
  done
  if [ -d "$mirror/datasets" ]; then
    log "copying labelled image sets from mirror $mirror/datasets"
    copy_dir "$mirror/datasets" "$data/datasets"
  fi
else
  # OpenFace upstream: models live under lib/local/{LandmarkDetector/model,FaceAnalyser/AU_predictors},
  # sample videos under samples/. The file list mirrors what OpenFace's CLNF pipeline opens.
  base=${OPENFACE_UPSTREAM:-https://raw.githubusercontent.com/TadasBaltrusaitis/OpenFace/master}
  command -v curl >/dev/null || { echo "setup: curl is needed to download models (or set AUHARNESS_MIRROR)" >&2; exit 1; }
  log "no AUHARNESS_MIRROR: downloading OpenFace models and sample videos from $base"
  while read -r dst src; do
    [ -z "$dst" ] && continue
    case "$dst" in \#*) continue ;; esac
    out="$data/openface/$dst"
    [ -s "$out" ] && continue
    mkdir -p "$(dirname "$out")"
    curl -fsSL --retry 3 -o "$out.part" "$base/$src" || { echo "setup: download failed: $base/$src" >&2; rm -f "$out.part"; exit 1; }
    mv "$out.part" "$out"
  done < "$repo/scripts/upstream_files.txt"
  if [ ! -d "$data/openface/reference" ]; then
    log "NOTE: OpenFace C++ reference outputs (openface/reference/) have no public download;"
    log "      produce them with OpenFace's FeatureExtraction (see README) or use a mirror."
  fi
  if [ ! -d "$data/datasets/300w_lfpw_test_crops" ]; then
    log "NOTE: the 300-W LFPW test images are research-only and not downloadable without"
    log "      agreeing to their terms at https://ibug.doc.ic.ac.uk/resources/300-W/ ;"
    log "      put them under $data/datasets/ or use a mirror."
  fi
fi

for f in models/model/main_clnf_general.txt models/AU_predictors/main_dynamic_svms.txt videos/default.wmv; do
  [ -f "$data/openface/$f" ] || { echo "setup: expected $data/openface/$f after set-up" >&2; exit 1; }
done
log "data ready in $data"

#!/usr/bin/env bash
# Configures and builds. Usage: scripts/build.sh [release|asan]  (default release)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
kind=${1:-release}
case "$kind" in
  release) dir=$repo/build; flags=(-DCMAKE_BUILD_TYPE=Release) ;;
  asan)    dir=$repo/build-asan; flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DAU_SANITIZE=ON) ;;
  *) echo "build.sh: unknown build kind '$kind' (release|asan)" >&2; exit 2 ;;
esac
[ -n "${AU_DATA_DIR:-}" ] && flags+=("-DAU_DATA_DIR=$AU_DATA_DIR")
cmake -S "$repo" -B "$dir" "${flags[@]}" -DCMAKE_C_FLAGS="${AU_EXTRA_CFLAGS:-} -Werror" >/dev/null
cmake --build "$dir" -j "$(nproc)"

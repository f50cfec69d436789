#!/usr/bin/env bash
# Runs every test: set-up (packages, models, data), then the Release build's tests,
# then the same tests built with AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
"$repo/scripts/setup.sh"
echo "== release build and tests"
"$repo/scripts/build.sh" release
(cd "$repo/build" && ctest --output-on-failure -j "$(nproc)")
echo "== ASan+UBSan build and tests"
"$repo/scripts/build.sh" asan
(cd "$repo/build-asan" && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
   ctest --output-on-failure -j "$(nproc)")
# Fuzz smoke: every libFuzzer target (tests/fuzz/) for AU_FUZZ_SECONDS each
# (default 60: a minute per target), two at once; 0 skips it. Longer runs: scripts/fuzz.sh SECONDS.
fuzz_secs=${AU_FUZZ_SECONDS:-60}
if [ "$fuzz_secs" != 0 ]; then
  echo "== fuzz smoke: ${fuzz_secs} s per target"
  "$repo/scripts/fuzz.sh" "$fuzz_secs"
fi

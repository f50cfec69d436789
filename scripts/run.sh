#!/usr/bin/env bash
# The main job: set-up, Release build, then auharness on the default data.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
"$repo/scripts/setup.sh"
"$repo/scripts/build.sh" release
exec "$repo/build/harness/auharness" --all-variants "$@"

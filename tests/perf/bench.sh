#!/usr/bin/env bash
# Runs the benchmark with the chronik_server built alongside it. Relative paths given to it
# (a scenario file) mean the directory bazel was run from.
set -euo pipefail
here="${RUNFILES_DIR:-$0.runfiles}/chronik"
[[ -d "$here" ]] || here="$(cd "$(dirname "$0")/../.." && pwd)"
bench="$here/tests/perf/bench_bin"
broker="$here/chronik_server/chronik_server"
args=()
for a in "$@"; do
  if [[ -n "${BUILD_WORKING_DIRECTORY:-}" && -f "$BUILD_WORKING_DIRECTORY/$a" ]]; then
    args+=("$BUILD_WORKING_DIRECTORY/$a")
  elif [[ -f "$here/$a" ]]; then
    args+=("$here/$a")
  else
    args+=("$a")
  fi
done
exec "$bench" --broker "$broker" "${args[@]}"

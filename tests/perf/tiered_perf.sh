#!/usr/bin/env bash
# Runs tiered_perf.py with Debian's interpreter, from the runfiles Bazel built it with.
set -euo pipefail
here="${RUNFILES_DIR:-$0.runfiles}/chronik"
[[ -d "$here" ]] || here="$(cd "$(dirname "$0")/../.." && pwd)"
exec /usr/bin/python3 "$here/tests/perf/tiered_perf.py" "$@"

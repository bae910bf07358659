#!/usr/bin/env bash
# Bazel test wrapper: runs an end-to-end Python test with Debian's interpreter (the one that has
# confluent-kafka and kafka-python) against the chronik_server binary given as $1.
set -euo pipefail
export CHRONIK_SERVER="$1"
shift
exec /usr/bin/python3 "$@"

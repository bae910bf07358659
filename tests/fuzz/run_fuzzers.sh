#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (AddressSanitizer + UndefinedBehaviorSanitizer) and runs
# each for a bounded time, seeded with the golden frames captured from real clients.
#   tests/fuzz/run_fuzzers.sh [SECONDS_PER_TARGET]   (default 60)
# Bazel builds with gcc, so the fuzz build happens here, from the same sources and the Bazel-
# generated message code. Exit status is non-zero if a target crashes; the crashing input is
# left in the work directory, whose path is printed.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-60}"

bazel build //chronik_protocol:messages >/dev/null
gen="$(bazel info bazel-bin 2>/dev/null)"
work="$(mktemp -d "${TMPDIR:-/tmp}/chronik-fuzz.XXXXXX")"
echo "fuzz work directory: $work"

absl_libs="-labsl_status -labsl_statusor -labsl_strings -labsl_strings_internal -labsl_str_format_internal \
  -labsl_cord -labsl_cordz_info -labsl_cord_internal -labsl_cordz_functions -labsl_cordz_handle \
  -labsl_hash -labsl_city -labsl_low_level_hash -labsl_raw_hash_set -labsl_synchronization \
  -labsl_graphcycles_internal -labsl_stacktrace -labsl_symbolize -labsl_debugging_internal \
  -labsl_demangle_internal -labsl_malloc_internal -labsl_time -labsl_civil_time -labsl_time_zone \
  -labsl_int128 -labsl_throw_delegate -labsl_base -labsl_spinlock_wait -labsl_raw_logging_internal \
  -labsl_log_severity -labsl_exponential_biased -labsl_bad_optional_access -labsl_bad_variant_access \
  -labsl_strerror"
flags="-std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I. -I$gen"

build() {  # build NAME SOURCES...
  local name="$1"
  shift
  clang++ $flags "$@" -o "$work/$name" $absl_libs -lz -lzstd -llz4 -lsnappy
}

run() {  # run NAME SEED_DIR
  local name="$1" seeds="$2"
  mkdir -p "$work/$name.corpus"
  echo "fuzzing $name for ${seconds}s"
  (cd "$work" && "./$name" -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
    "$name.corpus" "$OLDPWD/$seeds" 2>"$name.log") || {
    echo "FAILED: $name crashed; see $work/$name.log"
    tail -n 40 "$work/$name.log"
    return 1
  }
  grep -E "stat::number_of_executed_units|stat::new_units_added" "$work/$name.log" | sed "s/^/  $name /"
}

protocol_srcs=(chronik_protocol/wire.cc chronik_protocol/header.cc chronik_protocol/apis.cc "$gen"/chronik_protocol/messages/*.cc)
protocol_srcs=("${protocol_srcs[@]/*_fill.cc/}")
build request_fuzzer chronik_protocol/fuzz/request_fuzzer.cc "${protocol_srcs[@]}"
run request_fuzzer chronik_protocol/testdata/golden

records_srcs=(chronik_protocol/records/*.cc)
records_srcs=("${records_srcs[@]/*_test.cc/}")
records_srcs=("${records_srcs[@]/*_bench.cc/}")
build records_fuzzer chronik_protocol/fuzz/records_fuzzer.cc "${records_srcs[@]}"
run records_fuzzer chronik_protocol/fuzz/records_seeds
# The search index's JSON reader and date parser, each against another implementation.
build json_fuzzer chronik_search/fuzz/json_fuzzer.cc chronik_search/document.cc
run json_fuzzer chronik_search/fuzz/json_seeds
echo "fuzzing passed"

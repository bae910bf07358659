#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine: installs what is missing, builds everything,
# runs every test (unit, round-trip, golden bytes, end-to-end with real Kafka clients; every C++
# test also built for arm64 and run under qemu-aarch64), builds and checks the release archives,
# then fuzzes each libFuzzer target for a bounded time (CHRONIK_FUZZ_SECONDS, default 45).
set -uo pipefail
cd "$(dirname "$0")/.."

# --arm64: the suite also builds every C++ test for arm64 and runs it under qemu-aarch64.
./third_party/install_deps.sh --test --arm64 || exit 1
# kafkajs for the JavaScript end-to-end test, from the committed lock file.
if [[ ! -d tests/e2e/js/node_modules/kafkajs || tests/e2e/js/package-lock.json -nt tests/e2e/js/node_modules ]]; then
  (cd tests/e2e/js && npm ci --no-audit --no-fund --loglevel=error) || exit 1
fi

# Python clients from PyPI (pinned in requirements*.txt) as binary wheels for Debian's interpreter,
# which runs the end-to-end tests; reinstalled when the pins change. Elasticsearch's 8.x client has
# a directory of its own, so that the search test can also run Debian's 7.17 client.
pip_target() {
  local requirements=$1 target=$2
  if [[ ! -f $target/.installed || $requirements -nt $target/.installed ]]; then
    local pyver arch
    pyver=$(/usr/bin/python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    arch=$(uname -m)
    rm -rf "$target"
    python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --target "$target" \
      --only-binary=:all: --implementation cp --python-version "$pyver" --abi "cp${pyver/./}" \
      --platform "manylinux_2_28_$arch" --platform "manylinux_2_17_$arch" --platform "manylinux2014_$arch" \
      -r "$requirements" || return 1
    touch "$target/.installed"
  fi
}
pip_target tests/e2e/requirements.txt tests/e2e/pydeps || exit 1
pip_target tests/e2e/requirements-es8.txt tests/e2e/pydeps_es8 || exit 1

# The Java client (pinned in tests/java/pom.xml), rebuilt when its sources change.
java_jar=tests/java/target/java-clients-1.jar
if [[ ! -f $java_jar || -n "$(find tests/java/pom.xml tests/java/src -newer "$java_jar" -print -quit)" ]]; then
  (cd tests/java && mvn -q -B clean package) || exit 1
fi

# The Go clients (pinned in tests/go/go.mod and go.sum), rebuilt when their sources change.
for check in franzcheck saramacheck securitycheck; do
  bin=tests/go/bin/$check
  if [[ ! -f $bin || -n "$(find tests/go/go.mod tests/go/go.sum "tests/go/$check" -newer "$bin" -print -quit)" ]]; then
    (cd tests/go && go build -buildvcs=false -o "bin/$check" "./$check") || exit 1
  fi
done

# Object-store servers for chronik_storage/object_store's tests: Azurite (npm, from the committed
# lock file) and versitygw (built from the Go module proxy, pinned in tests/objstore/go.mod/go.sum).
if [[ ! -d tests/objstore/js/node_modules/azurite || tests/objstore/js/package-lock.json -nt tests/objstore/js/node_modules ]]; then
  (cd tests/objstore/js && npm ci --no-audit --no-fund --loglevel=error) || exit 1
fi
if [[ ! -f tests/objstore/bin/versitygw || -n "$(find tests/objstore/go.mod tests/objstore/go.sum -newer tests/objstore/bin/versitygw -print -quit)" ]]; then
  (cd tests/objstore && go build -buildvcs=false -o bin/versitygw github.com/versity/versitygw/cmd/versitygw) || exit 1
fi

log="$(mktemp)"
bazel test //... 2>&1 | tee "$log"
bazel_status=${PIPESTATUS[0]}

passed=$(grep -cE '^//[^ ]+ +(\(cached\) )?PASSED' "$log")
failed=$(grep -cE '^//[^ ]+ +(\(cached\) )?(FAILED|TIMEOUT|NO STATUS|FAILED TO BUILD)' "$log")
if [[ $bazel_status -ne 0 && $failed -eq 0 ]]; then
  failed=1  # the build itself failed
fi

# The release archives for amd64 and arm64 (release/make_release.sh), each unpacked into a root
# holding only Debian's base C and C++ runtime and started from there (tests/release).
dist="$(mktemp -d)"
if release/make_release.sh "$dist" >"$dist.log" 2>&1 &&
  /usr/bin/python3 tests/release/release_test.py "$(git rev-parse HEAD)" "$dist"; then
  grep -E '^built |bytes$' "$dist.log"
  passed=$((passed + 1))
else
  tail -n 60 "$dist.log"
  failed=$((failed + 1))
fi
rm -rf "$dist" "$dist.log"

if ./tests/fuzz/run_fuzzers.sh "${CHRONIK_FUZZ_SECONDS:-45}"; then
  passed=$((passed + 1))
else
  failed=$((failed + 1))
fi
rm -f "$log"

if [[ "${CI:-}" == "true" ]]; then
  bazel shutdown
fi
echo "${passed} passed, ${failed} failed"
[[ $failed -eq 0 ]]

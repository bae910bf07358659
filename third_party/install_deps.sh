#!/usr/bin/env bash
# Installs the Debian 12 packages Chronik needs, and only those that are missing, so it is fast
# when everything is there already. Run as root (or with sudo available).
#   third_party/install_deps.sh          what building and running the broker needs
#   third_party/install_deps.sh --test   plus the real Kafka clients and tools the tests use
set -euo pipefail

build_packages=(
  bazel-bootstrap g++ python3 pkg-config
  libabsl-dev libboost-dev libboost-system-dev libssl-dev libsasl2-dev libsasl2-modules sasl2-bin
  zlib1g-dev libzstd-dev liblz4-dev libsnappy-dev libsqlite3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libcli11-dev libtomlplusplus-dev libspdlog-dev libfmt-dev nlohmann-json3-dev
  libgrpc++-dev protobuf-compiler protobuf-compiler-grpc
)
test_packages=(
  kcat python3-confluent-kafka python3-kafka librdkafka-dev prometheus python3-elasticsearch
  clang libclang-rt-14-dev
)

packages=("${build_packages[@]}")
if [[ "${1:-}" == "--test" ]]; then
  packages+=("${test_packages[@]}")
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  sudo=(sudo)
fi
echo "installing: ${missing[*]}"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"

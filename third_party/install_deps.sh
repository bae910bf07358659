#!/usr/bin/env bash
# Installs the Debian 12 packages Chronik needs, and only those that are missing, so it is fast
# when everything is there already. Run as root (or with sudo available).
#   third_party/install_deps.sh          what building and running the broker needs
#   third_party/install_deps.sh --test   plus the real Kafka clients and tools the tests use
#   third_party/install_deps.sh --arm64  plus the cross build for arm64 (bazel --config=arm64):
#                                        Debian's cross compiler, the arm64 copies of the libraries
#                                        and qemu-user to run what it builds
# The flags combine.
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
  clang libclang-rt-14-dev systemd
)

# The libraries the arm64 build links, installed for arm64 beside the amd64 ones. A library that
# is Multi-Arch: same must be the same version for both architectures, so each is asked for under
# both names and apt moves the amd64 one up with it. libsasl2-dev cannot be installed twice: the
# arm64 build uses the (shared) headers of the amd64 one and links libsasl2-2's library.
arm64_libraries=(
  libabsl-dev libboost-dev libboost-system-dev libssl-dev libsasl2-2 libsasl2-modules
  zlib1g-dev libzstd-dev liblz4-dev libsnappy-dev libsqlite3-dev
  libgtest-dev libgmock-dev libbenchmark-dev libspdlog-dev libfmt-dev librdkafka-dev
)
arm64_tools=(g++-aarch64-linux-gnu qemu-user qemu-user-static)

packages=("${build_packages[@]}")
arm64=false
for flag in "$@"; do
  case "$flag" in
    --test) packages+=("${test_packages[@]}") ;;
    --arm64) arm64=true ;;
    *) echo "install_deps.sh: unknown flag $flag (use --test, --arm64)" >&2; exit 2 ;;
  esac
done

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  sudo=(sudo)
fi

if $arm64; then
  packages+=("${arm64_tools[@]}")
  for lib in "${arm64_libraries[@]}"; do
    packages+=("$lib:amd64" "$lib:arm64")
  done
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    "${sudo[@]}" dpkg --add-architecture arm64
    "${sudo[@]}" apt-get update -qq
  fi
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

echo "installing: ${missing[*]}"
"${sudo[@]}" apt-get update -qq
if ! DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"; then
  if $arm64; then
    echo "install_deps.sh: apt failed; the amd64 and arm64 copies of a library must be the same version," \
      "which a mirror in the middle of a sync may not offer: apt-get update and run this again" >&2
  fi
  exit 1
fi

#!/usr/bin/env bash
# Builds the release archives chronik-server-<version>-linux-{amd64,arm64}.tar.gz into OUT_DIR
# (default: dist/): the binary (--config=release, stamped with the commit; arm64 by the cross
# toolchain, --config=arm64), the archive README, LICENSE, the example config and the systemd unit;
# and SHA256SUMS beside them.
#   release/make_release.sh [OUT_DIR]
# Needs the cross build's packages: third_party/install_deps.sh --arm64.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-dist}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

version="$(sed -n 's/^inline constexpr std::string_view kChronikVersion = "\(.*\)";$/\1/p' chronik_config/build_info.h)"
[[ -n "$version" ]] || { echo "make_release.sh: no kChronikVersion in chronik_config/build_info.h" >&2; exit 1; }
commit="$(git rev-parse HEAD)"
if [[ -n "$(git status --porcelain --untracked-files=no)" ]]; then
  commit="$commit-dirty"
fi
# The archives' files carry the commit's time, so the same commit gives the same archives.
mtime="@$(git log -1 --format=%ct)"

for arch in amd64 arm64; do
  flags=(--config=release "--define=chronik_git_commit=$commit")
  strip=strip
  if [[ $arch == arm64 ]]; then
    flags+=(--config=arm64)
    strip=aarch64-linux-gnu-strip
  fi
  start=$SECONDS
  bazel build "${flags[@]}" //chronik_server
  bin="$(bazel info "${flags[@]}" bazel-bin 2>/dev/null)/chronik_server/chronik_server"
  echo "built linux-$arch in $((SECONDS - start)) s"

  name="chronik-server-$version-linux-$arch"
  stage="$(mktemp -d)"
  mkdir -p "$stage/$name/bin"
  "$strip" -o "$stage/$name/bin/chronik_server" "$bin"
  chmod 0755 "$stage/$name/bin/chronik_server"
  sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" release/ARCHIVE_README.md > "$stage/$name/README.md"
  cp LICENSE release/chronik.example.toml release/chronik-server.service "$stage/$name/"
  chmod 0644 "$stage/$name/README.md" "$stage/$name/LICENSE" "$stage/$name/chronik.example.toml" \
    "$stage/$name/chronik-server.service"
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="$mtime" -C "$stage" -cf - "$name" \
    | gzip -9n > "$out/$name.tar.gz"
  rm -rf "$stage"
  echo "$out/$name.tar.gz: $(stat -c %s "$out/$name.tar.gz") bytes"
done
(cd "$out" && sha256sum chronik-server-"$version"-linux-*.tar.gz > SHA256SUMS)

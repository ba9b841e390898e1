#!/usr/bin/env bash
# Builds the ecosystem's image from this checkout: `sim` compiled here, then a `FROM scratch`
# image holding /sim (the entrypoint), the shared libraries `ldd` lists for it (libc, libm,
# libgcc_s, the loader), /scenarios (the repository's scenarios/), /docker/ecosystem.in-compose.yaml
# and an empty /tmp. Nothing is pulled: it works without a registry.
#
#   docker/build-image.sh [release|debug] [TAG]     (defaults: release, sim-ecosystem:local)
#
# `debug` reuses the test build's binary (what CI does: no second, release compile). The binary
# is stripped of its debug sections in the image (target/ keeps the original). SIM_BIN=path
# takes a binary already built instead of running cargo.
set -euo pipefail
cd "$(dirname "$0")/.."

profile="${1:-release}"
tag="${2:-sim-ecosystem:local}"
case "$profile" in
  release) cargo_args=(--release); bin=target/release/sim ;;
  debug) cargo_args=(); bin=target/debug/sim ;;
  *) echo "usage: $0 [release|debug] [TAG]" >&2; exit 2 ;;
esac
if [ -n "${SIM_BIN:-}" ]; then
  bin="$SIM_BIN"
else
  cargo build "${cargo_args[@]}" -p sim --bin sim
fi
[ -x "$bin" ] || { echo "build-image.sh: no binary at $bin" >&2; exit 1; }

ctx="$(mktemp -d "${TMPDIR:-/tmp}/sim-image.XXXXXX")"
trap 'rm -rf "$ctx"' EXIT
root="$ctx/rootfs"
mkdir -p "$root/tmp" "$root/state" "$root/docker"
chmod 1777 "$root/tmp"
chmod 0777 "$root/state"

# The binary, without its debug sections when a strip is at hand (about a third of a debug build).
if command -v objcopy >/dev/null 2>&1; then
  objcopy --strip-debug "$bin" "$root/sim"
else
  cp "$bin" "$root/sim"
fi
chmod 0755 "$root/sim"

# Every shared library ldd resolves, at the path the loader looks for it (symlinks followed), and
# the loader itself at its absolute path (the ELF interpreter).
libs="$(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | sort -u)"
[ -n "$libs" ] || { echo "build-image.sh: ldd listed no libraries for $bin (static binary?)" >&2; }
for lib in $libs; do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done

cp -R scenarios "$root/scenarios"
cp docker/ecosystem.in-compose.yaml "$root/docker/"
cp docker/Dockerfile "$ctx/Dockerfile"

# A rebuild moves the tag: the image it leaves behind goes (unless a container still uses it).
old_id="$(docker image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)"
docker build --quiet -t "$tag" "$ctx" >/dev/null
new_id="$(docker image inspect --format '{{.Id}}' "$tag")"
if [ -n "$old_id" ] && [ "$old_id" != "$new_id" ]; then
  docker image rm "$old_id" >/dev/null 2>&1 || true
fi
size="$(docker image inspect --format '{{.Size}}' "$tag")"
echo "built $tag from $bin ($profile): $((size / 1000 / 1000)) MB"
echo "  libraries: $(echo $libs)"

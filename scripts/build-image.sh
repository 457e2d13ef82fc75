#!/usr/bin/env bash
# Builds the container image of deploy/container/Containerfile from a release binary:
# stages the binary and the shared libraries `ldd` names under target/image/rootfs, then
# `buildah bud` (or `podman build`). FROM scratch: nothing is pulled from a registry.
#
#   scripts/build-image.sh [BINARY]        # default target/release/lvsmon
#   LVSMON_IMAGE=localhost/lvsmon:dev scripts/build-image.sh
#
# Prints the image's name on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/release/lvsmon}
[ -x "$bin" ] || { echo "build-image: no binary at $bin (cargo build --release)" >&2; exit 1; }
version=$("$bin" --version | awk '{print $2}')
image=${LVSMON_IMAGE:-localhost/lvsmon:$version}
ctx=target/image
rm -rf "$ctx"
mkdir -p "$ctx/rootfs/usr/bin" "$ctx/rootfs/etc"
cp -L "$bin" "$ctx/rootfs/usr/bin/lvsmon"
strip --strip-debug "$ctx/rootfs/usr/bin/lvsmon" 2>/dev/null || true
# The dynamic loader and every library the binary needs, at the paths it asks for.
ldd "$bin" | awk '/=> \//{print $3} /^[ \t]*\//{print $1}' | while read -r lib; do
    mkdir -p "$ctx/rootfs$(dirname "$lib")"
    cp -L "$lib" "$ctx/rootfs$lib"
done
# Who is who, for the logs and for anything that looks a user up (no shell anywhere).
printf 'root:x:0:0:root:/:/nonexistent\nnobody:x:65534:65534:nobody:/:/nonexistent\n' > "$ctx/rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$ctx/rootfs/etc/group"
cp deploy/container/Containerfile "$ctx/Containerfile"
if command -v buildah >/dev/null; then
    buildah bud --quiet --layers=false -f "$ctx/Containerfile" -t "$image" "$ctx" >&2
elif command -v podman >/dev/null; then
    podman build --quiet -f "$ctx/Containerfile" -t "$image" "$ctx" >&2
else
    echo "build-image: neither buildah nor podman (apt-get install buildah)" >&2
    exit 1
fi
echo "$image"

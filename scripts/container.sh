#!/usr/bin/env bash
# Builds lvsmon's container image (Containerfile: FROM scratch, one static musl binary, no
# shell) with buildah, then checks it: the image holds exactly that binary (buildah mount),
# the binary is static and runs (`dump --demo` from the image's own copy), and, where the
# sandbox lets podman run a container, the image itself serves /metrics. Step `container`
# of scripts/test.sh. Needs root (buildah), musl-tools and the Rust musl target (installed
# by scripts/install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

triple=x86_64-unknown-linux-musl
rustup target list --installed | grep -qx "$triple" || rustup target add "$triple"
target=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
cargo build --release --locked --target "$triple"
bin="$target/$triple/release/lvsmon"
file "$bin" | grep -Eq 'static(-pie)? linked' || { echo "container: FAILED: $bin is not static: $(file "$bin")" >&2; exit 1; }

ctx=$(mktemp -d)
ctr=""
cleanup() {
    [ -z "$ctr" ] || buildah rm "$ctr" >/dev/null 2>&1 || true
    rm -rf "$ctx"
}
trap cleanup EXIT
cp "$bin" "$ctx/lvsmon"
image=localhost/lvsmon:test
buildah build --quiet --layers=false -f Containerfile -t "$image" "$ctx" >/dev/null
echo "container: built $image ($(buildah images --format '{{.Size}}' "$image"))"

# What the image holds: the one binary, byte for byte, and nothing else (no shell).
ctr=$(buildah from "$image")
mnt=$(buildah mount "$ctr")
files=$(cd "$mnt" && find . -type f | sort)
[ "$files" = "./usr/bin/lvsmon" ] || { echo "container: FAILED: image files: $files" >&2; exit 1; }
cmp "$mnt/usr/bin/lvsmon" "$bin"
[ ! -e "$mnt/bin/sh" ] || { echo "container: FAILED: the image has a shell" >&2; exit 1; }
cfg=$(buildah inspect --format '{{.OCIv1.Config.Entrypoint}} {{.OCIv1.Config.Cmd}} {{.OCIv1.Config.User}}' "$image")
echo "container: config $cfg"
# The image's own binary, run from the mounted image: static, so it needs nothing of the host.
page=$("$mnt/usr/bin/lvsmon" dump --demo)
grep -q '^ipvs_backend_connections_active' <<<"$page" || { echo "container: FAILED: no page from the image's binary" >&2; exit 1; }
echo "container: the image's binary ran (dump --demo: $(wc -l <<<"$page") lines)"
buildah umount "$ctr" >/dev/null

# Running the image needs what this sandbox may refuse (user namespaces, cgroups, network).
if out=$(timeout 60 podman run --rm --network none "$image" dump --demo 2>&1) && grep -q '^ipvs_' <<<"$out"; then
    echo "container: podman ran the image: $(wc -l <<<"$out") lines"
else
    echo "container: podman cannot run a container here (the sandbox refuses: $(tail -1 <<<"$out")); the binary it contains was run above"
fi

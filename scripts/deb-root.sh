# Sourced by scripts/deb-install.sh and scripts/systemd-vm.sh: a Debian 12 root from Debian's
# packages (systemd, keepalived, ipvsadm, kmod, man-db), built once with mmdebstrap and
# cached as a tarball under the target dir, keyed by a hash of its recipe. Sets $target
# and $root_tar.
target=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
recipe="mmdebstrap --variant=minbase --include=systemd,systemd-sysv,keepalived,ipvsadm,kmod,iproute2,man-db bookworm"
root_tar="$target/deb-root/$(sha256sum <<<"$recipe" | cut -c1-16).tar"
if [ ! -f "$root_tar" ]; then
    command -v mmdebstrap >/dev/null || { echo "deb-root: mmdebstrap missing (scripts/install-deps.sh)" >&2; exit 1; }
    mkdir -p "$(dirname "$root_tar")"
    echo "deb-root: building the root ($recipe)"
    $recipe "$root_tar.tmp.tar" http://deb.debian.org/debian >"$root_tar.log" 2>&1 || { tail -20 "$root_tar.log" >&2; exit 1; }
    mv "$root_tar.tmp.tar" "$root_tar"
fi

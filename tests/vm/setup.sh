#!/bin/sh
# Prepare the host for the real-kernel IPVS VM harness (idempotent).
# - installs qemu, cpio, kmod, busybox-static, ipvsadm, keepalived, iproute2,
#   socat (UDP/SCTP traffic: busybox nc has no -u), openssl (an SSL_GET server), nftables
#   (the kernel_errors scenario tracks connections)
# - downloads the current Debian kernel image package into tests/vm/cache/,
#   unpacks it and runs depmod.
# Works as root on Debian 12, non-interactively (CI=true, no stdin).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE="$HERE/cache"
mkdir -p "$CACHE"
export DEBIAN_FRONTEND=noninteractive

SUDO=
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi

need_pkgs=
for p in qemu-system-x86 cpio kmod busybox-static ipvsadm keepalived iproute2 socat openssl nftables; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        need_pkgs="$need_pkgs $p"
    fi
done
updated=
apt_update() {
    if [ -z "$updated" ]; then
        $SUDO apt-get update -qq </dev/null
        updated=1
    fi
}
if [ -n "$need_pkgs" ]; then
    echo "setup: installing$need_pkgs"
    apt_update
    # --no-install-recommends keeps qemu small (no GUI stack).
    $SUDO apt-get install -y -qq --no-install-recommends $need_pkgs </dev/null >/dev/null
fi

# Which kernel image package is current?  (linux-image-amd64 depends on it.)
kpkg_name() {
    apt-cache depends linux-image-amd64 2>/dev/null \
        | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n1
}
KPKG=${LVSMON_VM_KERNEL_PKG:-}
if [ -z "$KPKG" ]; then
    # Reuse an already unpacked kernel if we have one and the package lists are absent.
    KPKG=$(kpkg_name || true)
    if [ -z "$KPKG" ]; then
        apt_update
        KPKG=$(kpkg_name || true)
    fi
fi
if [ -z "$KPKG" ]; then
    if [ -f "$CACHE/kernel.pkg" ]; then
        KPKG=$(cat "$CACHE/kernel.pkg")
    else
        echo "setup: cannot determine kernel package (apt-cache depends linux-image-amd64)" >&2
        exit 1
    fi
fi

DEB=$(ls "$CACHE"/"${KPKG}"_*.deb 2>/dev/null | head -n1 || true)
if [ -z "$DEB" ]; then
    echo "setup: downloading $KPKG"
    ( cd "$CACHE" && apt-get download "$KPKG" </dev/null ) || {
        apt_update
        ( cd "$CACHE" && apt-get download "$KPKG" </dev/null )
    }
    DEB=$(ls "$CACHE"/"${KPKG}"_*.deb | head -n1)
fi

KDIR="$CACHE/kernel"
if [ ! -f "$KDIR/.unpacked-$(basename "$DEB")" ]; then
    echo "setup: unpacking $(basename "$DEB")"
    rm -rf "$KDIR"
    mkdir -p "$KDIR"
    dpkg -x "$DEB" "$KDIR"
    KVER=$(ls "$KDIR/lib/modules" | head -n1)
    depmod -b "$KDIR" "$KVER"
    touch "$KDIR/.unpacked-$(basename "$DEB")"
fi
KVER=$(ls "$KDIR/lib/modules" | head -n1)
echo "$KPKG" > "$CACHE/kernel.pkg"
echo "$KVER" > "$CACHE/kernel.version"
[ -f "$KDIR/boot/vmlinuz-$KVER" ] || { echo "setup: no vmlinuz in $DEB" >&2; exit 1; }
echo "setup: ok (kernel $KVER)"

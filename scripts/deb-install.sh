#!/usr/bin/env bash
# Installs lvsmon's .deb into a fresh Debian 12 root (mmdebstrap, from Debian's packages:
# systemd, keepalived, ipvsadm, man-db) with `dpkg -i` in a chroot, as an operator would,
# and checks what the maintainer scripts and the package left: the user, /run/lvsmon and
# its FIFO (owner, mode), the unit enabled, the conffile, `systemd-analyze verify` of the
# installed unit (its man page found by the installed man-db), the binary running as
# lvsmon, and a purge that leaves no file of the package. The root is cached as a tarball
# under the target dir, keyed by a hash of its recipe. Not a booted systemd: no unit is
# started (see README "Not done").
#   bash scripts/deb-install.sh PATH/TO/lvsmon.deb
set -euo pipefail
cd "$(dirname "$0")/.."
deb=$(realpath "$1")

source scripts/deb-root.sh

root=$(mktemp -d)
cleanup() {
    umount "$root/proc" 2>/dev/null || true
    rm -rf "$root"
}
trap cleanup EXIT
tar -C "$root" -xf "$root_tar"
mount -t proc proc "$root/proc"
cp "$deb" "$root/tmp/lvsmon.deb"
inroot() { chroot "$root" "$@"; }
fail() { echo "deb-install: FAILED: $*" >&2; exit 1; }

inroot dpkg -i /tmp/lvsmon.deb >"$root/tmp/dpkg.log" 2>&1 || { cat "$root/tmp/dpkg.log" >&2; fail "dpkg -i"; }
uid=$(inroot id -u lvsmon) || fail "no user lvsmon"
fifo=$(inroot stat -c '%F %U:%G %a' /run/lvsmon/keepalived.fifo) || fail "no FIFO"
[ "$fifo" = "fifo lvsmon:lvsmon 620" ] || fail "FIFO is $fifo"
[ -L "$root/etc/systemd/system/multi-user.target.wants/lvsmon.service" ] || fail "unit not enabled"
inroot dpkg-query -W -f='${Conffiles}\n' lvsmon | grep -q '/etc/lvsmon/lvsmon.toml' || fail "no conffile"
inroot man -w lvsmon >/dev/null || fail "man lvsmon"
out=$(inroot systemd-analyze verify /usr/lib/systemd/system/lvsmon.service 2>&1 | grep lvsmon.service || true)
[ -z "$out" ] || fail "systemd-analyze verify: $out"
ver=$(inroot setpriv --reuid=lvsmon --regid=lvsmon --init-groups /usr/bin/lvsmon --version) || fail "lvsmon does not run as lvsmon"
page=$(inroot setpriv --reuid=lvsmon --regid=lvsmon --init-groups /usr/bin/lvsmon dump --demo)
grep -q '^ipvs_backend_connections_active' <<<"$page" || fail "no page"
echo "deb-install: installed ($ver as uid $uid): user, FIFO ($fifo), unit enabled, conffile, man page, verify ok"

inroot dpkg --purge lvsmon >"$root/tmp/dpkg.log" 2>&1 || { cat "$root/tmp/dpkg.log" >&2; fail "dpkg --purge"; }
left=$(dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' | grep -v '/$' | while read -r f; do [ ! -e "$root$f" ] || echo "$f"; done)
[ -z "$left" ] || fail "left after purge: $left"
[ ! -L "$root/etc/systemd/system/multi-user.target.wants/lvsmon.service" ] || fail "still enabled after purge"
echo "deb-install: purged, nothing left"

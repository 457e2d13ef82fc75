#!/usr/bin/env bash
# Step `systemd-vm`: lvsmon's .deb under a real systemd. A Debian 12 root
# (scripts/deb-root.sh: systemd, keepalived, ipvsadm, from Debian's packages) with the
# package installed by dpkg, tests/vm's Debian kernel and its IPVS modules, keepalived's
# stock unit with tests/systemd-vm/keepalived.conf (a VRRP instance, a virtual server with a
# TCP checker, notify_fifo), booted as an initramfs under QEMU (TCG) with systemd as PID 1;
# tests/systemd-vm/vmtest.service prints /metrics and lvsmon's credentials, and this script
# checks them.   bash scripts/systemd-vm.sh PATH/TO/lvsmon.deb
set -euo pipefail
cd "$(dirname "$0")/.."
deb=$(realpath "$1")
bash tests/vm/setup.sh >/dev/null
source scripts/deb-root.sh
kver=$(cat tests/vm/cache/kernel.version 2>/dev/null || ls tests/vm/cache/kernel/lib/modules)
work="$target/systemd-vm"
rm -rf "$work"
mkdir -p "$work/root"
R="$work/root"
tar -C "$R" -xf "$root_tar"
# The kernel's networking modules only (IPVS, netfilter, dummy): the guest has no disks.
mkdir -p "$R/lib/modules/$kver/kernel/drivers/net"
cp -a "tests/vm/cache/kernel/lib/modules/$kver/kernel/net" "tests/vm/cache/kernel/lib/modules/$kver/kernel/lib" \
    "tests/vm/cache/kernel/lib/modules/$kver/kernel/crypto" "$R/lib/modules/$kver/kernel/"
cp "tests/vm/cache/kernel/lib/modules/$kver/kernel/drivers/net/dummy.ko" "$R/lib/modules/$kver/kernel/drivers/net/"
cp tests/vm/cache/kernel/lib/modules/"$kver"/modules.{order,builtin,builtin.modinfo} "$R/lib/modules/$kver/" 2>/dev/null || true
depmod -b "$R" "$kver"
cp "$deb" "$R/tmp/lvsmon.deb"
mount -t proc proc "$R/proc"
chroot "$R" dpkg -i /tmp/lvsmon.deb >"$work/dpkg.log" 2>&1 || { umount "$R/proc"; cat "$work/dpkg.log" >&2; exit 1; }
umount "$R/proc"
rm -f "$R/tmp/lvsmon.deb"
install -m 0644 tests/systemd-vm/keepalived.conf "$R/etc/keepalived/keepalived.conf"
install -m 0644 tests/systemd-vm/vmnet.service tests/systemd-vm/vmtest.service "$R/etc/systemd/system/"
install -m 0755 tests/systemd-vm/vmtest.sh "$R/usr/local/bin/vmtest.sh"
for u in vmnet vmtest; do ln -sf "/etc/systemd/system/$u.service" "$R/etc/systemd/system/multi-user.target.wants/"; done
(cd "$R" && find . -xdev | cpio -o -H newc --quiet | gzip -1 >"$work/root.cpio.gz")
rm -rf "$R"
t0=$SECONDS
timeout 900 qemu-system-x86_64 -accel tcg -m 2048 -smp 2 -nic none -nographic -monitor none \
    -no-reboot -serial "file:$work/console.log" \
    -kernel "tests/vm/cache/kernel/boot/vmlinuz-$kver" -initrd "$work/root.cpio.gz" \
    -append "console=ttyS0 rdinit=/sbin/init panic=-1" </dev/null >"$work/qemu.out" 2>&1
echo "systemd-vm: guest ran $((SECONDS - t0)) s"
# The console mixes systemd's status lines in: keep the report's own lines.
report=$(sed -n '/VMTEST-BEGIN/,/VMTEST-END/p' "$work/console.log" | tr -d '\r' | grep -v 'Job vmtest')
echo "$report"
fail() { echo "systemd-vm: FAILED: $*" >&2; exit 1; }
want() { grep -qE "$1" <<<"$report" || fail "no line matching $1"; }
want '^VMTEST-END'
want '^lvsmon_ipvs_source_info\{source="netlink"\} 1'
for c in ipvs keepalived keepalived_notify; do want "^lvsmon_collector_up\{collector=\"$c\"\} 1"; done
want '^keepalived_up 1'
# The VRRP state, from the FIFO alone (no dump: vrid is empty). On dummy0 it is FAULT (3).
want '^keepalived_vrrp_state\{iname="VI_1",vrid="",interface=""\} [123]'
want '^lvsmon_keepalived_notify_lines_total\{.*result="bad"\} 0'
want '^keepalived_real_server_up\{.*remote_address="10.99.0.11".*\} 0'
want '[0-9a-f]+\.state$'
want '^lvsmon_log_source_up\{source="journal"\} 1'
want '^lvsmon_log_source_up\{source="kmsg"\} 1'
want '^Groups:.*\b4\b'
want '^CapAmb:\s+0000000400001000'
want 'Overall exposure level for lvsmon.service: 2\.0'
echo "systemd-vm: ok"

#!/usr/bin/env bash
# Step `systemd-vm`: lvsmon's .deb under a real systemd. A Debian 12 root
# (scripts/deb-root.sh: systemd, keepalived, ipvsadm, from Debian's packages) with the
# package installed by dpkg, tests/vm's Debian kernel and its IPVS modules, keepalived's
# stock unit with tests/systemd-vm/keepalived.conf (a VRRP instance, a virtual server with a
# TCP checker, notify_fifo), booted as an initramfs under QEMU (TCG) with systemd as PID 1;
# tests/systemd-vm/vmtest.sh (its header says what) makes a real server fail and restarts
# lvsmon, prints /metrics, the incidents, line counts and lvsmon's credentials, and this
# script checks them.   bash scripts/systemd-vm.sh PATH/TO/lvsmon.deb
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
install -m 0644 tests/systemd-vm/vmnet.service tests/systemd-vm/vmtest.service tests/systemd-vm/rs.socket \
    tests/systemd-vm/rs@.service "$R/etc/systemd/system/"
mkdir -p "$R/etc/systemd/system/sockets.target.wants"
ln -sf /etc/systemd/system/rs.socket "$R/etc/systemd/system/sockets.target.wants/"
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
! grep -q '^TIMEOUT' <<<"$report" || fail "$(grep '^TIMEOUT' <<<"$report")"
# 1. Every collector up.
want '^lvsmon_ipvs_source_info\{source="netlink"\} 1'
for c in ipvs keepalived keepalived_notify; do want "^lvsmon_collector_up\{collector=\"$c\"\} 1"; done
want '^keepalived_up 1'
# The VRRP state, from the FIFO alone (no dump: vrid is empty). On dummy0 it is FAULT (3).
want '^keepalived_vrrp_state\{iname="VI_1",vrid="",interface=""\} [123]'
want '^lvsmon_keepalived_notify_lines_total\{.*result="bad"\} 0'
# Up from the start: keepalived said so (rs_init_notifies).
want '^keepalived_real_server_up\{.*remote_address="10.99.0.11".*\} 1'
want '[0-9a-f]+\.state$'
want '^lvsmon_log_source_up\{source="journal"\} 1'
want '^lvsmon_log_source_up\{source="kmsg"\} 1'
want '^Groups:.*\b4\b'
want '^CapAmb:\s+0000000400001000'
want 'Overall exposure level for lvsmon.service: 2\.0'
# 2. The real server fails: the FIFO's DOWN, keepalived's journal line, one open incident.
want '^failed: keepalived_real_server_up\{.*remote_address="10.99.0.11".*\} 0'
want '^failed: lvsmon_log_events_total\{.*kind="real_server_down".*remote_address="10.99.0.11".*\} 1'
ids_before=$(sed -n 's/^incidents_open_before //p' <<<"$report" | xargs)
[[ $ids_before =~ ^[0-9a-f]+$ ]] || fail "one open real_server_down incident before the restart, got '$ids_before'"
# 3. After a restart of lvsmon: the FIFO's state back at once from the state dir (no line
# read), the same incident open and never opened twice, and every log line counted once.
want '^restarted: keepalived_vrrp_state\{iname="VI_1"'
want '^restarted: keepalived_real_server_up\{.*remote_address="10.99.0.11".*\} 0'
want '^restarted: lvsmon_keepalived_notify_lines_total\{.*result="ok"\} 0'
[[ $(sed -n 's/^incidents_open_after //p' <<<"$report" | xargs) == "$ids_before" ]] || fail "the open incident changed across the restart"
[[ $(sed -n 's/^incidents_all_after //p' <<<"$report" | xargs) == "$ids_before" ]] || fail "the incident was opened twice"
for src in journal kmsg; do
    read -r before after expected < <(sed -n "s/^${src}_lines before=\([0-9]*\) after_restart=\([0-9]*\) expected=\([0-9]*\)$/\1 \2 \3/p" <<<"$report")
    [[ -n $expected && $before -gt 0 && $after -ge 10 && $after == "$expected" ]] ||
        fail "$src: $after lines read after the restart, $expected written after its saved position (before: $before)"
done
echo "systemd-vm: ok"

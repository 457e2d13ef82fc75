#!/bin/bash
# The guest's test (tests/systemd-vm): once lvsmon runs under its packaged unit and
# keepalived as root, waits (at most 3 min) for /metrics to show a VRRP state and a
# checker verdict, then prints what scripts/systemd-vm.sh checks between VMTEST markers
# on the console and powers off.
out=/dev/ttyS0
page() { exec 3<>/dev/tcp/127.0.0.1/9689 && printf 'GET /metrics HTTP/1.0\r\nHost: vm\r\n\r\n' >&3 && cat <&3; exec 3>&-; }
for i in $(seq 1 90); do
    p=$(page 2>/dev/null)
    grep -q '^keepalived_vrrp_state{' <<<"$p" && grep -q 'keepalived_real_server_up{' <<<"$p" && break
    sleep 2
done
{
echo "VMTEST-BEGIN"
grep -E '^(lvsmon_collector_up|lvsmon_ipvs_source|keepalived_up|keepalived_vrrp_state|keepalived_real_server_up|lvsmon_keepalived_notify|lvsmon_log_source_up|lvsmon_build_info|ipvs_backend_info)' <<<"$p"
echo "--- id"; grep -E '^(Uid|Gid|Groups|CapEff|CapAmb)' /proc/$(systemctl show -p MainPID --value lvsmon)/status
echo "--- state dir"; ls -la /var/lib/lvsmon
echo "--- lvsmon journal"; journalctl -u lvsmon --no-pager -o cat | tail -30
echo "--- security"; systemd-analyze security lvsmon.service --no-pager | tail -1
echo "VMTEST-END"
} > $out 2>&1
systemctl poweroff

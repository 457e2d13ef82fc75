#!/bin/bash
# The guest's test (tests/systemd-vm), run once lvsmon runs under its packaged unit and
# keepalived as root (each wait bounded). It prints what scripts/systemd-vm.sh checks
# between VMTEST markers on the console, then powers off:
#  1. every collector up: /metrics once keepalived's FIFO has told a VRRP state and the real
#     server 10.99.0.11:80 up (rs.socket accepts, so the TCP_CHECK passes);
#  2. a real server fails: rs.socket stops, keepalived's checker removes it; the FIFO's
#     DOWN, keepalived's "Removing service" line in the journal and the incident are seen;
#  3. lvsmon restarts while kernel and keepalived lines are written: the lines it counts
#     after the restart are exactly those after its saved positions (none twice, none lost),
#     and the FIFO's state and the open incident are back without keepalived saying more.
out=/dev/ttyS0
get() { exec 3<>/dev/tcp/127.0.0.1/9689 && printf 'GET %s HTTP/1.0\r\nHost: vm\r\n\r\n' "$1" >&3 && cat <&3; exec 3>&-; }
# Waits at most $2 s for a /metrics line matching the regex $1.
wait_metric() {
    for _ in $(seq 1 "$2"); do
        get /metrics 2>/dev/null | grep -qE "$1" && return 0
        sleep 1
    done
    echo "TIMEOUT waiting for $1" >>/tmp/vmtest.timeouts
}
# The value of one series of /metrics, as printed ($1).
value() { get /metrics 2>/dev/null | grep -F "$1 " | head -1 | awk '{print $NF}'; }
lines() { value "lvsmon_log_lines_total{source=\"$1\"}"; }
rs_up='keepalived_real_server_up\{[^}]*remote_address="10.99.0.11"[^}]*\}'
# A state-dir record: the kernel ring's position is "BOOT_ID SEQ", the journal's "s=…".
kmsg_seq() {
    local boot a b
    boot=$(cat /proc/sys/kernel/random/boot_id)
    for f in /var/lib/lvsmon/*.state; do
        read -r a b <"$f" && [[ $a == "$boot" ]] && echo "$b"
    done
}
journal_cursor() { grep -h '^s=' /var/lib/lvsmon/*.state; }
# lvsmon's journalctl's own arguments (its matches), to count what it should read.
journal_args() {
    for p in /proc/[0-9]*; do
        [[ $(cat "$p/comm" 2>/dev/null) == journalctl ]] && tr '\0' '\n' <"$p/cmdline" | grep -E '^(_TRANSPORT|SYSLOG_IDENTIFIER)=|^\+$' && return
    done
}
write_lines() { # $1: a word, $2: how many of each
    for i in $(seq 1 "$2"); do
        echo "<6>lvsmon-vmtest $1 $i" >/dev/kmsg
        logger -t Keepalived_healthcheckers "lvsmon-vmtest $1 $i"
    done
}
rs_down_ids() { get "/api/v1/incidents?state=$1" | grep -B1 '"kind": "real_server_down"' | grep -o '"id": "[0-9a-f]*"' | cut -d'"' -f4 | tr '\n' ' '; }

wait_metric '^keepalived_vrrp_state\{' 180
wait_metric "^$rs_up 1" 60
p1=$(get /metrics)

systemctl stop rs.socket
t0=$SECONDS
wait_metric "^$rs_up 0" 30
fifo_down_s=$((SECONDS - t0))
wait_metric '^lvsmon_log_events_total\{[^}]*kind="real_server_down"[^}]*remote_address="10.99.0.11"[^}]*\} 1' 30
ids_before=$(rs_down_ids open)
p_fail=$(get /metrics)

write_lines before 20
sleep 3
journal_before=$(lines journal) kmsg_before=$(lines kmsg)
systemctl stop lvsmon
cursor=$(journal_cursor) seq1=$(kmsg_seq)
write_lines stopped 10
systemctl start lvsmon
wait_metric '^lvsmon_log_source_up\{source="journal"\} 1' 60
p2=$(get /metrics)
sleep 5
journal_after=$(lines journal) kmsg_after=$(lines kmsg) seq2=$(kmsg_seq)
mapfile -t jargs < <(journal_args)
journal_expected=$(journalctl --after-cursor="$cursor" "${jargs[@]}" -o cat --no-pager | wc -l)

{
echo "VMTEST-BEGIN"
cat /tmp/vmtest.timeouts 2>/dev/null
grep -E '^(lvsmon_collector_up|lvsmon_ipvs_source|keepalived_up|keepalived_vrrp_state|keepalived_real_server_up|lvsmon_keepalived_notify|lvsmon_log_source_up|lvsmon_build_info|ipvs_backend_info)' <<<"$p1"
echo "--- failure"
echo "fifo_down_seconds $fifo_down_s"
grep -E '^(keepalived_real_server_up|ipvs_backend_info|lvsmon_log_events_total)' <<<"$p_fail" | sed 's/^/failed: /'
echo "incidents_open_before $ids_before"
echo "--- restart"
grep -E '^(keepalived_vrrp_state|keepalived_real_server_up|lvsmon_keepalived_notify_lines_total)' <<<"$p2" | sed 's/^/restarted: /'
echo "incidents_open_after $(rs_down_ids open)"
echo "incidents_all_after $(rs_down_ids all)"
echo "journal_lines before=$journal_before after_restart=$journal_after expected=$journal_expected"
echo "kmsg_lines before=$kmsg_before after_restart=$kmsg_after expected=$((seq2 - seq1))"
echo "--- id"; grep -E '^(Uid|Gid|Groups|CapEff|CapAmb)' /proc/$(systemctl show -p MainPID --value lvsmon)/status
echo "--- state dir"; ls -la /var/lib/lvsmon
echo "--- lvsmon journal"; journalctl -u lvsmon --no-pager -o cat | tail -30
echo "--- keepalived's VRRP lines"; journalctl -u keepalived --no-pager -o cat | grep -E 'VI_1|VRRP' | tail -8
echo "--- security"; systemd-analyze security lvsmon.service --no-pager | tail -1
echo "VMTEST-END"
} > $out 2>&1
systemctl poweroff

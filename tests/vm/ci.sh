#!/bin/sh
# Single entry point for CI: set up the host, boot the real kernel once,
# run every scenario into a temporary directory (the committed fixtures in
# tests/fixtures/kernel are left alone) and check the results.
#
# usage: tests/vm/ci.sh [--lvsmon PATH] [--keep-out DIR]
#   --lvsmon PATH   run `PATH dump` in the guest for every scenario and
#                   require a non-empty lvsmon.metrics from each
#   --keep-out DIR  write the captures to DIR instead of a temporary dir
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
LVSMON=
OUT=
while [ $# -gt 0 ]; do
    case "$1" in
        --lvsmon) LVSMON=$2; shift 2 ;;
        --lvsmon=*) LVSMON=${1#*=}; shift ;;
        --keep-out) OUT=$2; shift 2 ;;
        *) echo "ci.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
t0=$(date +%s)
"$HERE/setup.sh" </dev/null

CLEAN=
if [ -z "$OUT" ]; then OUT=$(mktemp -d "${TMPDIR:-/tmp}/lvsvm-ci.XXXXXX"); CLEAN=1; fi
trap '[ -n "$CLEAN" ] && rm -rf "$OUT"' EXIT INT TERM

if [ -n "$LVSMON" ]; then
    "$HERE/run.sh" --one-boot --out "$OUT" --lvsmon "$LVSMON" all </dev/null
else
    "$HERE/run.sh" --one-boot --out "$OUT" all </dev/null
fi

fail=0
bad() { echo "ci.sh: $1: $2" >&2; fail=$((fail + 1)); }
n=0
for s in $(cd "$HERE/scenarios" && ls *.sh | sed 's/\.sh$//'); do
    d="$OUT/$s"
    [ -d "$d" ] || { bad "$s" "no capture"; continue; }
    for f in proc/net/ip_vs proc/net/ip_vs_stats proc/net/ip_vs_stats_percpu \
             proc/net/ip_vs_conn proc/net/ip_vs_conn_sync meta.txt \
             ipvsadm/Ln.txt ipvsadm/stats.txt ipvsadm/rate.txt ipvsadm/persistent-conn.txt \
             ipvsadm/thresholds.txt ipvsadm/timeout.txt ipvsadm/daemon.txt ipvsadm/connection.txt; do
        [ -f "$d/$f" ] || bad "$s" "missing $f"
    done
    head -n1 "$d/proc/net/ip_vs" | grep -q '^IP Virtual Server version' || bad "$s" "proc/net/ip_vs has no header"
    if [ -n "$LVSMON" ]; then
        [ -s "$d/lvsmon.metrics" ] || bad "$s" "empty lvsmon.metrics ($(cat "$d/lvsmon.status" 2>/dev/null); $(head -c 300 "$d/lvsmon.stderr" 2>/dev/null))"
    fi
    # the harness's own sanity: each scenario shows what it is meant to show
    case "$s" in
        nat4|nat6)
            c=$(sed -n 3p "$d/proc/net/ip_vs_stats" | awk '{print $1}')
            [ "$c" != 0 ] || bad "$s" "no connections counted in ip_vs_stats" ;;
        broken_return)
            grep -q ' SYN_RECV ' "$d/proc/net/ip_vs_conn" || bad "$s" "no SYN_RECV connection"
            if [ -n "$LVSMON" ]; then
                # serve found the broken return path of rs2, and of rs2 alone
                j="$d/incidents.json"
                [ "$(grep -cE '"kind": ?"nat_return_path_broken"' "$j" 2>/dev/null)" = 1 ] \
                    && grep -qE '"real_server": ?"10.1.0.12:80"' "$j" \
                    && ! grep -qE '"real_server": ?"10.1.0.11:80"' "$j" \
                    || bad "$s" "serve's incidents are not rs2's broken return path alone: $(head -c 600 "$j" 2>/dev/null; tail -n 5 "$d/serve.stderr" 2>/dev/null)"
            fi ;;
        kernel_errors)
            e="$d/dmesg-errors.txt"
            grep -q 'IPVS: Unknown mcast interface: nosuch0' "$e" 2>/dev/null \
                || bad "$s" "the kernel did not refuse the sync daemon's interface"
            grep -q 'nf_conntrack: table full, dropping packet' "$e" 2>/dev/null \
                || bad "$s" "the conntrack table did not fill ($(grep 'conntrack entries' "$d/setup.log"))"
            if [ -n "$LVSMON" ]; then
                # serve, reading /dev/kmsg, opened both incidents
                j="$d/incidents.json"
                grep -qE '"kind": ?"conntrack_table_full"' "$j" 2>/dev/null \
                    && grep -qE '"kind": ?"ipvs_sync_errors"' "$j" \
                    || bad "$s" "serve --log.kmsg did not open conntrack_table_full and ipvs_sync_errors: $(head -c 600 "$j" 2>/dev/null; tail -n 5 "$d/serve.stderr" 2>/dev/null)"
            fi ;;
        syncd)
            grep -q ' SYNC ' "$d/proc/net/ip_vs_conn_sync" || bad "$s" "no SYNC connection"
            grep -q '^master' "$d/ipvsadm/daemon.txt" && grep -q '^backup' "$d/ipvsadm/daemon.txt" \
                || bad "$s" "daemon.txt does not show master and backup" ;;
        scale)
            [ "$(grep -c '^TCP ' "$d/proc/net/ip_vs")" -ge 1000 ] || bad "$s" "too few services"
            if [ -n "$LVSMON" ]; then
                grep -q '^bench round ' "$d/bench.txt" 2>/dev/null || bad "$s" "no netlink benchmark rounds"
            fi ;;
        wide)
            b=$(awk '$1 == "->" && NF >= 6 {print $6; exit}' "$d/ipvsadm/stats.txt")
            [ "${b:-0}" -gt 4294967296 ] || bad "$s" "fewer than 2^32 bytes through the service ($b)" ;;
        mixed)
            grep -q '^FWM ' "$d/proc/net/ip_vs" || bad "$s" "no FWM service" ;;
        keepalived_checkers)
            # every checker took its real server out and put it back (7 with SSL_GET)
            c=$d/keepalived/console.log
            for w in 'Removing service' 'Adding service'; do
                [ "$(grep -c "$w" "$c")" -ge 6 ] || bad "$s" "fewer than 6 x '$w' in keepalived/console.log"
            done
            grep -q 'SSL_GET' "$d/keepalived/keepalived.conf" \
                || bad "$s" "no SSL_GET (openssl missing from the initramfs?)" ;;
        keepalived_flap)
            [ "$(grep -c 'Removing service \[10.1.0.12\]:tcp:8090' "$d/keepalived/console.log" 2>/dev/null)" = 3 ] \
                && [ "$(grep -c 'Adding service \[10.1.0.12\]:tcp:8090' "$d/keepalived/console.log" 2>/dev/null)" = 3 ] \
                || bad "$s" "keepalived did not remove and add rs2 three times" ;;
        keepalived_check)
            grep -q 'alive = 0' "$d/keepalived/keepalived_check.data" \
                || bad "$s" "keepalived's checkers took no real server down"
            if [ -n "$LVSMON" ]; then
                grep -q '^keepalived_up 1' "$d/lvsmon-keepalived.metrics" \
                    || bad "$s" "lvsmon in the guest did not read keepalived"
            fi ;;
    esac
    n=$((n + 1))
done
if [ "$fail" != 0 ]; then
    echo "VM suite: $fail problem(s) in $n scenarios ($(( $(date +%s) - t0 )) s)" >&2
    exit 1
fi
if [ -n "$LVSMON" ]; then "$HERE/bench-report.sh" "$OUT"; fi
echo "VM suite: $n scenarios ok ($(( $(date +%s) - t0 )) s)"

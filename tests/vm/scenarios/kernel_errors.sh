# kernel_errors: the kernel's own complaints that lvsmon makes incidents of, caused for real:
#   - a connection sync daemon asked for an interface that does not exist, twice: ip_vs_sync.c
#     says "IPVS: Unknown mcast interface: nosuch0" (ipvs_sync_errors);
#   - a full conntrack table: an nftables rule makes this namespace track connections,
#     nf_conntrack_max (global: set from the first namespace, restored after) is cut to 8,
#     and the client holds 12 idle TCP connections open to a local httpd: once 8 are
#     established (assured: not early-dropped), new ones are dropped with
#     "nf_conntrack: nf_conntrack: table full, dropping packet" (conntrack_table_full).
# The kernel's lines of this scenario are kept as dmesg-errors.txt. With lvsmon in the
# initramfs, `lvsmon serve --log.kmsg` runs through it and its /api/v1/incidents answer is
# kept as incidents.json: both kinds must be open (tests/vm/ci.sh; the capture is
# tests/fixtures/kernel/kernel_errors, read by tests/kernel_incidents.rs).
nat_topology 4
run ipvsadm -A -t 10.0.0.100:80 -s rr
run ipvsadm -a -t 10.0.0.100:80 -r 10.1.0.11:80 -m -w 1
KMSG_FROM=$(dmesg | wc -l)
SERVE_PID=
if [ -x /lvsmon/lvsmon ]; then
    /lvsmon/lvsmon serve --web.listen-address 127.0.0.1:9689 --no-collector.keepalived \
        --log.kmsg > "$CAP/serve.stderr" 2>&1 &
    SERVE_PID=$!
    sleep 2
fi

# Connection sync: the daemon cannot start (ipvsadm reports the error too).
run ipvsadm --start-daemon master --mcast-interface nosuch0 --syncid 9
run ipvsadm --start-daemon master --mcast-interface nosuch0 --syncid 9

# Conntrack: track this namespace's connections, then fill the (global) table.
CT_MAX=$(nsenter -t 1 -n cat /proc/sys/net/netfilter/nf_conntrack_max)
run nft add table ip lvsvm
run nft add chain ip lvsvm pre '{ type filter hook prerouting priority 0; }'
run nft add rule ip lvsvm pre ct state new counter
run nsenter -t 1 -n sysctl -w net.netfilter.nf_conntrack_max=8
httpd -p 8000 -h /www
nsx client sh -c '
    for i in $(seq 12); do
        (sleep 8 | nc -w 10 10.0.0.1 8000 > /dev/null 2>&1) &
        sleep 0.2
    done
    wait
' >> "$SETUP_LOG" 2>&1 &
CLIENTS=$!
sleep 4
echo "conntrack entries: $(cat /proc/sys/net/netfilter/nf_conntrack_count)" >> "$SETUP_LOG"
# Room again before anything else connects (lvsmon's API on lo is tracked too), and the
# clients still retrying their SYNs let go.
run nsenter -t 1 -n sysctl -w net.netfilter.nf_conntrack_max="$CT_MAX"
killall nc 2>/dev/null
wait "$CLIENTS"
if [ -n "$SERVE_PID" ]; then
    wget -q -O "$CAP/incidents.json" 'http://127.0.0.1:9689/api/v1/incidents?state=all' \
        2>> "$CAP/serve.stderr"
    kill "$SERVE_PID"; wait "$SERVE_PID" 2>/dev/null
fi
run nft delete table ip lvsvm
killall httpd 2>/dev/null
dmesg | tail -n +"$((KMSG_FROM + 1))" | grep -E 'IPVS|conntrack' > "$CAP/dmesg-errors.txt"
# The kernel's line from boot that says when the clock was set (rtc hctosys): what lets
# `analyze` date a plain dmesg's seconds since boot (tests/kernel_incidents.rs).
dmesg | grep -m1 'setting system clock to' > "$CAP/dmesg-clock.txt" || true

# broken_return: LVS-NAT where rs2's default route does not point back at
# the director (it points at 10.1.0.254, which does not exist): the client's
# SYNs reach rs2, its SYN-ACKs never come back through the director, so those
# connections stay SYN_RECV in /proc/net/ip_vs_conn with no outgoing packets.
# With lvsmon in the initramfs, `lvsmon serve` runs through the traffic (a look
# every second) and its /api/v1/incidents answer is kept as incidents.json: it
# must name rs2, and only rs2, as nat_return_path_broken (tests/vm/ci.sh).
nat_topology 4 10.1.0.254
run ipvsadm -A -t 10.0.0.100:80 -s rr
run ipvsadm -a -t 10.0.0.100:80 -r 10.1.0.11:80 -m -w 1
run ipvsadm -a -t 10.0.0.100:80 -r 10.1.0.12:80 -m -w 1
SERVE_PID=
if [ -x /lvsmon/lvsmon ]; then
    printf '[incidents]\nobserve-interval = 1\n' > /tmp/lvsmon-serve.toml
    /lvsmon/lvsmon serve --web.listen-address 127.0.0.1:9689 --config /tmp/lvsmon-serve.toml \
        --no-collector.keepalived > "$CAP/serve.stderr" 2>&1 &
    SERVE_PID=$!
    sleep 2
fi
# 10 connections in parallel (half of them hang until nc's -w 3 timeout)
nsx client sh -c '
    for i in $(seq 10); do
        (printf "GET / HTTP/1.0\r\n\r\n" | nc -w 3 10.0.0.100 80 > /tmp/tcp.$i 2>&1) &
    done
    wait
    echo "tcp: $(grep -l "hello from a real server" /tmp/tcp.* | wc -l)/10 answered (5 expected)"
' >> "$SETUP_LOG" 2>&1
if [ -n "$SERVE_PID" ]; then
    # two looks after the traffic confirm it
    sleep 3
    wget -q -O "$CAP/incidents.json" 'http://127.0.0.1:9689/api/v1/incidents?state=all' \
        2>> "$CAP/serve.stderr"
    kill "$SERVE_PID"; wait "$SERVE_PID" 2>/dev/null
fi

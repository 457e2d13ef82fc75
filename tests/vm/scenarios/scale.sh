# scale: `ipvsadm -R` of 2,000 TCP services x 5 masq backends (no traffic).
#   services 10.100.X.Y:80 (alternating rr / wlc), backends 10.200.X.Y:8080
NSVC=${SCALE_SERVICES:-2000}
NDST=${SCALE_DESTS:-5}
awk -v ns=$NSVC -v nd=$NDST 'BEGIN {
    for (i = 0; i < ns; i++) {
        vip = sprintf("10.100.%d.%d:80", int(i / 250), i % 250 + 1)
        printf "-A -t %s -s %s\n", vip, (i % 2) ? "wlc" : "rr"
        for (j = 0; j < nd; j++) {
            k = i * nd + j
            printf "-a -t %s -r 10.200.%d.%d:8080 -m -w %d\n", vip, int(k / 250), k % 250 + 1, j + 1
        }
    }
}' > /tmp/scale.rules
echo "restore file: $(wc -l < /tmp/scale.rules) lines" >> "$SETUP_LOG"
t0=$(cut -d' ' -f1 /proc/uptime)
run ipvsadm -R < /tmp/scale.rules
echo "ipvsadm -R took $t0 -> $(cut -d' ' -f1 /proc/uptime) s uptime" >> "$SETUP_LOG"
rm -f /tmp/scale.rules
SETTLE=1

# The netlink benchmark (docs/benchmarks.md): on this table, with lvsmon in the guest, time
# N rounds of `ipvsadm -Ln --stats --exact` against N full scrapes of a running
# `lvsmon serve` (netlink dump + encoding + HTTP), one after another, and lvsmon's RSS after
# every scrape (it must stay flat). Times from /proc/uptime (10 ms ticks), summed over the
# rounds. Lines: `bench KEY VALUE...` in $CAP/bench.txt; tests/vm/bench-report.sh reads them.
scenario_post_capture() {
    [ -x /lvsmon/lvsmon ] || return 0
    n=${SCALE_BENCH_ROUNDS:-5}
    up() { cut -d' ' -f1 /proc/uptime; }
    dt() { awk -v a="$1" -v b="$2" 'BEGIN {print b - a}'; }
    # socat, not busybox nc: nc stops at its stdin's end and cuts the streamed body short;
    # socat -t keeps reading until lvsmon closes the HTTP/1.0 connection.
    scrape() { printf 'GET %s HTTP/1.0\r\n\r\n' "$1" | socat -t 60 - TCP:127.0.0.1:9689; }
    B=$CAP/bench.txt
    echo "bench services $NSVC" > "$B"
    echo "bench backends $((NSVC * NDST))" >> "$B"
    echo "bench rounds $n" >> "$B"
    /lvsmon/lvsmon serve --web.listen-address 127.0.0.1:9689 2> "$CAP/bench-serve.stderr" &
    pid=$!
    i=0
    while [ $i -lt 100 ] && ! scrape / >/dev/null 2>&1; do
        usleep 100000; i=$((i + 1))
    done
    echo "bench idle_rss_kb $(awk '/^VmRSS/ {print $2}' /proc/$pid/status)" >> "$B"
    # one warm-up each, not counted
    ipvsadm -Ln --stats --exact > /dev/null
    scrape /metrics > /tmp/page
    echo "bench page_bytes $(wc -c < /tmp/page)" >> "$B"
    i=0
    while [ $i -lt "$n" ]; do
        t0=$(up)
        ipvsadm -Ln --stats --exact > /dev/null
        t1=$(up)
        scrape /metrics > /dev/null
        t2=$(up)
        /lvsmon/lvsmon dump > /dev/null 2>&1
        t3=$(up)
        echo "bench round $i ipvsadm_s $(dt "$t0" "$t1") lvsmon_s $(dt "$t1" "$t2") rss_kb $(awk '/^VmRSS/ {print $2}' /proc/$pid/status) hwm_kb $(awk '/^VmHWM/ {print $2}' /proc/$pid/status) dump_s $(dt "$t2" "$t3")" >> "$B"
        i=$((i + 1))
    done
    grep -c '^ipvs_backend_incoming_bytes_total{' /tmp/page | sed 's/^/bench page_backend_series /' >> "$B"
    kill $pid; wait $pid 2>/dev/null
    rm -f /tmp/page
}

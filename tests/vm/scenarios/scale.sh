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

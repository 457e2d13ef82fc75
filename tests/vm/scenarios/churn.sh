# churn: the table changes while lvsmon reads it. 300 TCP services x 2 backends; a loop
# keeps deleting and re-adding services (and real servers) while lvsmon dumps over netlink
# ten times. Each read must either see a consistent table (every backend under a service
# that exists, counts matching) or, after its bounded retries, report the collector down:
# never fail, hang or crash. Pages: $CAP/lvsmon-churn-N.metrics (tests/vm_netlink.rs).
awk 'BEGIN {
    for (i = 0; i < 300; i++) {
        vip = sprintf("10.50.%d.%d:80", int(i / 250), i % 250 + 1)
        printf "-A -t %s -s rr\n", vip
        printf "-a -t %s -r 10.60.%d.%d:80 -m -w 1\n", vip, int(i / 250), i % 250 + 1
        printf "-a -t %s -r 10.61.%d.%d:80 -m -w 1\n", vip, int(i / 250), i % 250 + 1
    }
}' > /tmp/churn.rules
run ipvsadm -R < /tmp/churn.rules
rm -f /tmp/churn.rules
if [ -x /lvsmon/lvsmon ]; then
    ( while :; do
        for i in 1 2 3 4 5 6 7 8; do
            ipvsadm -D -t 10.50.0.$i:80
            ipvsadm -A -t 10.50.0.$i:80 -s rr
            ipvsadm -a -t 10.50.0.$i:80 -r 10.60.0.$i:80 -m -w 1
            ipvsadm -d -t 10.50.0.10:80 -r 10.61.0.10:80
            ipvsadm -a -t 10.50.0.10:80 -r 10.61.0.10:80 -m -w 1
        done
    done ) > /dev/null 2>&1 &
    churner=$!
    n=0
    while [ $n -lt 10 ]; do
        /lvsmon/lvsmon dump --ipvs.source netlink > "$CAP/lvsmon-churn-$n.metrics" 2> "$CAP/lvsmon-churn-$n.stderr"
        echo "exit $?" > "$CAP/lvsmon-churn-$n.status"
        n=$((n + 1))
    done
    kill $churner
    wait $churner 2>/dev/null
    echo "churn: 10 lvsmon reads while the table changed" >> "$SETUP_LOG"
fi
SETTLE=1

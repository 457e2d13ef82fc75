# syncd: connection synchronisation daemons.
# The root namespace (the captured director) handles real NAT traffic
# (nat_topology 4) and runs BOTH daemons:
#   master on lo (syncid 7), backup on sync0 (syncid 8)
# sync0 is a veth to namespace "peer": another director (every network
# namespace has its own IPVS) with VIP 10.9.0.100 on its lo, real server
# namespace "prs" (10.7.0.2) behind it, locally generated client traffic,
# and a master daemon with syncid 8. Its connections show up in the root's
# /proc/net/ip_vs_conn_sync with Origin SYNC, next to the root's LOCAL ones.
nat_topology 4
# the master's multicast socket needs a route on lo (ENETUNREACH otherwise)
run $IP link set lo multicast on
run $IP route add 224.0.0.0/4 dev lo

mkns peer
run $IP link add sync0 type veth peer name sync-peer
run $IP link set sync-peer netns peer
run $IP addr add 10.8.0.1/24 dev sync0
run $IP link set sync0 up
run $IP -n peer addr add 10.8.0.2/24 dev sync-peer
run $IP -n peer link set sync-peer up
run $IP -n peer addr add 10.9.0.100/32 dev lo
run nsx peer sysctl -w net.ipv4.ip_forward=1
mkns prs
run $IP -n peer link add p-rs type veth peer name prs-eth
run $IP -n peer link set prs-eth netns prs
run $IP -n peer addr add 10.7.0.1/24 dev p-rs
run $IP -n peer link set p-rs up
run $IP -n prs addr add 10.7.0.2/24 dev prs-eth
run $IP -n prs link set prs-eth up
run $IP -n prs route add default via 10.7.0.1
run nsx prs httpd -p 80 -h /www

# the root (captured) director: its own service, plus the peer's as a backup
run ipvsadm -A -t 10.0.0.100:80 -s rr
run ipvsadm -a -t 10.0.0.100:80 -r 10.1.0.11:80 -m -w 1
run ipvsadm -a -t 10.0.0.100:80 -r 10.1.0.12:80 -m -w 1
run ipvsadm -A -t 10.9.0.100:80 -s rr
run ipvsadm -a -t 10.9.0.100:80 -r 10.7.0.2:80 -m -w 1
run nsx peer ipvsadm -A -t 10.9.0.100:80 -s rr
run nsx peer ipvsadm -a -t 10.9.0.100:80 -r 10.7.0.2:80 -m -w 1
# sync every connection from its first packet on
run nsx peer sysctl -w net.ipv4.vs.sync_threshold="1 10"
run sysctl -w net.ipv4.vs.sync_threshold="1 10"

run ipvsadm --start-daemon master --mcast-interface lo --syncid 7
run ipvsadm --start-daemon backup --mcast-interface sync0 --syncid 8
run nsx peer ipvsadm --start-daemon master --mcast-interface sync-peer --syncid 8
sleep 1

client_traffic 10.0.0.100 6 0
# the peer director's own (locally generated) traffic to its VIP
nsx peer sh -c '
    ok=0
    for i in $(seq 6); do
        r=$(printf "GET / HTTP/1.0\r\n\r\n" | nc -w 3 10.9.0.100 80 2>&1)
        case "$r" in *"hello from a real server"*) ok=$((ok+1)) ;; esac
    done
    echo "peer tcp: $ok/6 HTTP requests answered"
' >> "$SETUP_LOG" 2>&1
# the master flushes its sync buffer about every 2 s
SETTLE=4
scenario_post_capture() {
    mkdir -p "$CAP/peer"
    nsx peer cat /proc/net/ip_vs_conn_sync > "$CAP/peer/ip_vs_conn_sync" 2>&1
    nsx peer ipvsadm -L --daemon > "$CAP/peer/daemon.txt" 2>&1
    nsx peer ipvsadm -Ln --stats --exact > "$CAP/peer/stats.txt" 2>&1
    # lvsmon reading the peer's IPVS from here through --ipvs.netns (the process stays put)
    if [ -x /lvsmon/lvsmon ]; then
        /lvsmon/lvsmon dump --ipvs.netns /run/netns/peer \
            > "$CAP/peer/lvsmon.metrics" 2> "$CAP/peer/lvsmon.stderr"
        echo "exit $?" > "$CAP/peer/lvsmon.status"
    fi
}

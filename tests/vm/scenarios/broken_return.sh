# broken_return: LVS-NAT where rs2's default route does not point back at
# the director (it points at 10.1.0.254, which does not exist): the client's
# SYNs reach rs2, its SYN-ACKs never come back through the director, so those
# connections stay SYN_RECV in /proc/net/ip_vs_conn with no outgoing packets.
nat_topology 4 10.1.0.254
run ipvsadm -A -t 10.0.0.100:80 -s rr
run ipvsadm -a -t 10.0.0.100:80 -r 10.1.0.11:80 -m -w 1
run ipvsadm -a -t 10.0.0.100:80 -r 10.1.0.12:80 -m -w 1
# 10 connections in parallel (half of them hang until nc's -w 3 timeout)
nsx client sh -c '
    for i in $(seq 10); do
        (printf "GET / HTTP/1.0\r\n\r\n" | nc -w 3 10.0.0.100 80 > /tmp/tcp.$i 2>&1) &
    done
    wait
    echo "tcp: $(grep -l "hello from a real server" /tmp/tcp.* | wc -l)/10 answered (5 expected)"
' >> "$SETUP_LOG" 2>&1

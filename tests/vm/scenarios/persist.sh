# persist: persistence with real traffic, so that persistence templates
# (client port 0, state NONE) and the SIP persistence engine's PEName/PEData
# columns appear in /proc/net/ip_vs_conn.
#   TCP 10.0.0.100:80  rr -p 300                -> rs1, rs2 :80 (masq)
#   UDP 10.0.0.100:5060 rr -p 60 --pe sip       -> rs1, rs2 :5060 (masq)
#   UDP 10.0.0.100:53  rr -o (one-packet)       -> rs1, rs2 :53 (masq)
#   TCP 10.0.0.100:443 wrr -p 120 -M 255.255.255.0 (no traffic)
nat_topology 4
for n in 1 2; do
    nsx rs$n socat UDP4-RECVFROM:5060,fork EXEC:"/bin/echo SIP/2.0 200 OK rs$n" >/dev/null 2>&1 &
done
run ipvsadm -A -t 10.0.0.100:80 -s rr -p 300
run ipvsadm -a -t 10.0.0.100:80 -r 10.1.0.11:80 -m -w 1
run ipvsadm -a -t 10.0.0.100:80 -r 10.1.0.12:80 -m -w 1
run ipvsadm -A -u 10.0.0.100:5060 -s rr -p 60 --pe sip
run ipvsadm -a -u 10.0.0.100:5060 -r 10.1.0.11:5060 -m -w 1
run ipvsadm -a -u 10.0.0.100:5060 -r 10.1.0.12:5060 -m -w 1
run ipvsadm -A -u 10.0.0.100:53 -s rr -o
run ipvsadm -a -u 10.0.0.100:53 -r 10.1.0.11:53 -m -w 1
run ipvsadm -a -u 10.0.0.100:53 -r 10.1.0.12:53 -m -w 1
run ipvsadm -A -t 10.0.0.100:443 -s wrr -p 120 -M 255.255.255.0
run ipvsadm -a -t 10.0.0.100:443 -r 10.1.0.11:443 -m -w 3
# 8 HTTP requests (all land on one real server: persistence), 4 one-packet
# UDP datagrams, and SIP requests with two different Call-IDs
# (one-packet UDP in NAT: the connection is gone before the reply comes
# back, so replies are not translated and the client sees none: "0/4")
client_traffic 10.0.0.100 8 4
nsx client sh -c '
    for id in a84b4c76e66710@client 9f3c2d1e@client a84b4c76e66710@client; do
        r=$(printf "OPTIONS sip:lb@10.0.0.100 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.2:5060\r\nFrom: <sip:c@10.0.0.2>\r\nTo: <sip:lb@10.0.0.100>\r\nCall-ID: $id\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n" \
            | socat -t1 -T2 - UDP4:10.0.0.100:5060)
        echo "sip $id: $r"
    done
' >> "$SETUP_LOG" 2>&1

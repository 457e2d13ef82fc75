# dr: direct routing (-g) and IP-in-IP tunnelling (-i) with real traffic.
# The director only sees the client->server half of each connection, so
# connection states come from the input-only state table and outgoing
# packet counters stay 0.
#   one LAN (bridge br-lan, 10.4.0.0/24): director 10.4.0.1 with VIP
#   10.4.0.100, client 10.4.0.2, rs1 10.4.0.11 (DR), rs2 10.4.0.12 (ipip)
#   real servers hold the VIP on lo and do not answer ARP for it
#   TCP 10.4.0.100:80 wrr -> rs1 -g -w 1, rs2 -i -w 1
run $IP link add br-lan type bridge
run $IP addr add 10.4.0.1/24 dev br-lan
run $IP addr add 10.4.0.100/24 dev br-lan
run $IP link set br-lan up
for h in client:2 rs1:11 rs2:12; do
    ns=${h%:*}; a=${h#*:}
    mkns $ns
    run $IP link add $ns-br type veth peer name $ns-eth
    run $IP link set $ns-eth netns $ns
    run $IP link set $ns-br master br-lan
    run $IP link set $ns-br up
    run $IP -n $ns addr add 10.4.0.$a/24 dev $ns-eth
    run $IP -n $ns link set $ns-eth up
done
for ns in rs1 rs2; do
    run nsx $ns sysctl -w net.ipv4.conf.all.arp_ignore=1
    run nsx $ns sysctl -w net.ipv4.conf.all.arp_announce=2
    run nsx $ns sysctl -w net.ipv4.conf.all.rp_filter=0
    run $IP -n $ns addr add 10.4.0.100/32 dev lo
    run nsx $ns httpd -p 80 -h /www
done
run $IP -n rs2 link set tunl0 up
run nsx rs2 sysctl -w net.ipv4.conf.tunl0.rp_filter=0
sleep 1
run ipvsadm -A -t 10.4.0.100:80 -s wrr
run ipvsadm -a -t 10.4.0.100:80 -r 10.4.0.11 -g -w 1
run ipvsadm -a -t 10.4.0.100:80 -r 10.4.0.12 -i -w 1
client_traffic 10.4.0.100 10 0

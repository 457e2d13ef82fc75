# nat4: LVS-NAT over IPv4 with real TCP (HTTP) and UDP traffic.
#   client ns 10.0.0.2 --veth-- director (root ns) 10.0.0.1, VIP 10.0.0.100
#   director br-rs 10.1.0.1 --bridge-- rs1 10.1.0.11, rs2 10.1.0.12
#   real servers' default route -> 10.1.0.1 (the director)
#   TCP 10.0.0.100:80 rr -> rs1:80, rs2:80 (masq, busybox httpd)
#   UDP 10.0.0.100:53 rr -> rs1:53, rs2:53 (masq, socat echo)
nat_topology 4
run ipvsadm -A -t 10.0.0.100:80 -s rr
run ipvsadm -a -t 10.0.0.100:80 -r 10.1.0.11:80 -m -w 1
run ipvsadm -a -t 10.0.0.100:80 -r 10.1.0.12:80 -m -w 1
run ipvsadm -A -u 10.0.0.100:53 -s rr
run ipvsadm -a -u 10.0.0.100:53 -r 10.1.0.11:53 -m -w 1
run ipvsadm -a -u 10.0.0.100:53 -r 10.1.0.12:53 -m -w 1
client_traffic 10.0.0.100 20 10

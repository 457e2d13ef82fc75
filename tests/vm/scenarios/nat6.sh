# nat6: LVS-NAT over IPv6 with real TCP (HTTP) and UDP traffic.
#   client fd00:1::2 -- director fd00:1::1, VIP fd00:1::100
#   director br-rs fd00:2::1 -- rs1 fd00:2::11, rs2 fd00:2::12
#   TCP [fd00:1::100]:80 rr -> rs1, rs2 :80 (masq)
#   UDP [fd00:1::100]:53 rr -> rs1, rs2 :53 (masq), given in uncompressed form
#   an idle TCP service whose VIP/real server need no compression at all
nat_topology 6
run ipvsadm -A -t [fd00:1::100]:80 -s rr
run ipvsadm -a -t [fd00:1::100]:80 -r [fd00:2::11]:80 -m -w 1
run ipvsadm -a -t [fd00:1::100]:80 -r [fd00:2::12]:80 -m -w 1
run ipvsadm -A -u [fd00:0001:0000:0000:0000:0000:0000:0100]:53 -s rr
run ipvsadm -a -u [fd00:1::100]:53 -r [fd00:0002:0000:0000:0000:0000:0000:0011]:53 -m -w 1
run ipvsadm -a -u [fd00:1::100]:53 -r [fd00:2::12]:53 -m -w 1
run ipvsadm -A -t [2001:db8:1234:5678:9abc:def0:1234:5678]:443 -s wlc
run ipvsadm -a -t [2001:db8:1234:5678:9abc:def0:1234:5678]:443 -r [2001:db8:ffff:1:2:3:4:5]:8443 -m -w 1
client_traffic fd00:1::100 20 10

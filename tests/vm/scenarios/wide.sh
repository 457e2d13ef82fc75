# wide: more than 2^32 bytes through one NAT service, so the 64-bit counters (netlink
# STATS64, /proc's 16-digit hex) are seen past the point where the 32-bit STATS that other
# exporters read has wrapped. 4.5 GiB from the client namespace through the director to
# rs1 (socat to /dev/null), over veths with a 64 KB MTU to keep the packet count down.
nat_topology 4
for l in c-dir br-rs rs1-br; do run $IP link set $l mtu 65000; done
run $IP -n client link set c-cl mtu 65000
run $IP -n rs1 link set rs1-eth mtu 65000
run ipvsadm -A -t 10.0.0.100:9000 -s rr
run ipvsadm -a -t 10.0.0.100:9000 -r 10.1.0.11:9000 -m -w 1
nsx rs1 socat -u TCP-LISTEN:9000,reuseaddr OPEN:/dev/null >/dev/null 2>&1 &
sleep 1
t0=$(cut -d' ' -f1 /proc/uptime)
nsx client sh -c 'dd if=/dev/zero bs=1048576 count=4608 2>/dev/null | socat -u - TCP:10.0.0.100:9000' >> "$SETUP_LOG" 2>&1
echo "wide: 4608 MiB sent in $t0 -> $(cut -d' ' -f1 /proc/uptime) s uptime" >> "$SETUP_LOG"

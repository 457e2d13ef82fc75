# mixed: every forwarding method, protocol, flag and scheduler we could get
# the kernel to accept, on one director (configuration only, except the
# real traffic in nat4/nat6). Failures are recorded in setup.log ("! exit").
echo 1 > /proc/sys/net/ipv4/ip_forward
# VIPs on a dummy interface, so they are local like on a real director
run $IP link add vips type dummy
run $IP link set vips up
for a in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do run $IP addr add 10.2.0.$a/32 dev vips; done
run $IP addr add fd00:2::1/128 dev vips nodad
run $IP addr add 2001:db8::53/128 dev vips nodad
# networks where the real servers would live
run $IP link add rsnet type dummy
run $IP link set rsnet up
run $IP addr add 10.3.0.1/16 dev rsnet
run $IP addr add fd00:3::1/64 dev rsnet nodad

run ipvsadm --set 900 120 300

# DR (Route), wrr, one weight-0 backend
run ipvsadm -A -t 10.2.0.1:80 -s wrr
run ipvsadm -a -t 10.2.0.1:80 -r 10.3.1.1 -g -w 3
run ipvsadm -a -t 10.2.0.1:80 -r 10.3.1.2 -g -w 0
# tunnel (ipip), plus GUE and GRE tunnels
run ipvsadm -A -t 10.2.0.2:443 -s wlc
run ipvsadm -a -t 10.2.0.2:443 -r 10.3.2.1 -i -w 1
run ipvsadm -a -t 10.2.0.2:443 -r 10.3.2.2 -i -w 2 --tun-type gue --tun-port 6080
run ipvsadm -a -t 10.2.0.2:443 -r 10.3.2.3 -i -w 1 --tun-type gue --tun-port 6081 --tun-nocsum
run ipvsadm -a -t 10.2.0.2:443 -r 10.3.2.4 -i -w 1 --tun-type gre --tun-csum
# masq (NAT) with upper/lower connection thresholds, lc
run ipvsadm -A -t 10.2.0.3:8080 -s lc
run ipvsadm -a -t 10.2.0.3:8080 -r 10.3.3.1:80 -m -w 5 -x 100 -y 10
run ipvsadm -a -t 10.2.0.3:8080 -r 10.3.3.2:80 -m -w 5 -x 50
# UDP with one-packet scheduling (-o)
run ipvsadm -A -u 10.2.0.4:53 -s rr -o
run ipvsadm -a -u 10.2.0.4:53 -r 10.3.4.1:53 -m
run ipvsadm -a -u 10.2.0.4:53 -r 10.3.4.2:5353 -m -w 2
# SCTP
run ipvsadm -A --sctp-service 10.2.0.5:3868 -s rr
run ipvsadm -a --sctp-service 10.2.0.5:3868 -r 10.3.5.1:3868 -m
run ipvsadm -a --sctp-service 10.2.0.5:3868 -r 10.3.5.2:3868 -g
# firewall marks: 1, 4096, 0x10001000 (ipvsadm takes decimal only), and
# mark 7 twice: once IPv4, once IPv6 (/proc/net/ip_vs cannot tell them apart)
run ipvsadm -A -f 1 -s rr
run ipvsadm -a -f 1 -r 10.3.6.1 -g
run ipvsadm -a -f 1 -r 10.3.6.2 -g -w 2
run ipvsadm -A -f 4096 -s wrr -p 120
run ipvsadm -a -f 4096 -r 10.3.6.3:8443 -m
run ipvsadm -A -f 268439552 -s mh -b mh-fallback,mh-port
run ipvsadm -a -f 268439552 -r 10.3.6.4 -i
run ipvsadm -A -f 7 -s rr
run ipvsadm -a -f 7 -r 10.3.6.7 -g
run ipvsadm -A -f 7 -6 -s sh
run ipvsadm -a -f 7 -6 -r fd00:3::7 -g
# persistence with a netmask
run ipvsadm -A -t 10.2.0.6:443 -s rr -p 300 -M 255.255.255.0
run ipvsadm -a -t 10.2.0.6:443 -r 10.3.7.1 -g
run ipvsadm -a -t 10.2.0.6:443 -r 10.3.7.2 -g
# sh with its flags
run ipvsadm -A -t 10.2.0.7:80 -s sh -b sh-fallback,sh-port
run ipvsadm -a -t 10.2.0.7:80 -r 10.3.8.1:80 -m
run ipvsadm -a -t 10.2.0.7:80 -r 10.3.8.2:80 -m
# mh
run ipvsadm -A -t 10.2.0.8:80 -s mh
run ipvsadm -a -t 10.2.0.8:80 -r 10.3.9.1:80 -m
# no scheduler at all
run ipvsadm -A -t 10.2.0.9:80 -s none
run ipvsadm -a -t 10.2.0.9:80 -r 10.3.10.1:80 -m
# a service with no backends
run ipvsadm -A -u 10.2.0.10:123 -s wlc
# Local forwarding: the real server address is local to the director
run ipvsadm -A -t 10.2.0.11:22 -s rr
run ipvsadm -a -t 10.2.0.11:22 -r 10.2.0.11:22 -m
run ipvsadm -a -t 10.2.0.11:22 -r 127.0.0.1:22 -g
# more schedulers
run ipvsadm -A -t 10.2.0.12:80 -s sed
run ipvsadm -a -t 10.2.0.12:80 -r 10.3.12.1:80 -m
run ipvsadm -A -t 10.2.0.13:80 -s nq
run ipvsadm -a -t 10.2.0.13:80 -r 10.3.13.1:80 -m
run ipvsadm -A -t 10.2.0.14:80 -s dh
run ipvsadm -a -t 10.2.0.14:80 -r 10.3.14.1:80 -g
run ipvsadm -A -t 10.2.0.15:80 -s lblc
run ipvsadm -a -t 10.2.0.15:80 -r 10.3.15.1:80 -g
# SIP persistence engine on UDP
run ipvsadm -A -u 10.2.0.15:5060 -s rr -p 60 --pe sip
run ipvsadm -a -u 10.2.0.15:5060 -r 10.3.15.2:5060 -m
# port 0 (all ports) persistent service
run ipvsadm -A -t 10.2.0.14:0 -s rr -p
run ipvsadm -a -t 10.2.0.14:0 -r 10.3.14.2 -g
# IPv6: persistent with a /64 mask, one-packet UDP, compressible addresses
run ipvsadm -A -t [fd00:2::1]:443 -s wrr -p 600 -M 64
run ipvsadm -a -t [fd00:2::1]:443 -r [fd00:3::10]:443 -g -w 2
run ipvsadm -a -t [fd00:2::1]:443 -r [fd00:3:0:0:1:0:0:11]:443 -m -w 1
run ipvsadm -A -u [2001:db8::53]:53 -s rr -o
run ipvsadm -a -u [2001:db8::53]:53 -r [2001:db8:0:1::53]:53 -m
run ipvsadm -A --sctp-service [fd00:2::1]:3868 -s rr
run ipvsadm -a --sctp-service [fd00:2::1]:3868 -r [fd00:3::5]:3868 -i

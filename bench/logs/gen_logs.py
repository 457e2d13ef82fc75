#!/usr/bin/env python3
"""Writes N realistic keepalived/kernel syslog lines (RFC 3164) for bench/logs.sh.

The mix follows what a busy director logs: most lines are noise lvsmon does not count
(gratuitous ARPs, per-attempt check results, netlink chatter); the rest are state changes,
check failures, real servers going and coming back, quorum, adverts and kernel IPVS
messages. Times advance, pids, hosts, instance names and addresses vary. Seeded: the same
N gives the same file.

usage: gen_logs.py N OUT [HOSTS [SEED]]   (default: 4 directors, seed 42)
"""
import random
import sys

n, out = int(sys.argv[1]), sys.argv[2]
hosts = int(sys.argv[3]) if len(sys.argv) > 3 else 4
rnd = random.Random(int(sys.argv[4]) if len(sys.argv) > 4 else 42)
months = ["Nov", "Dec"]

def rs():
    return "[10.2.%d.%d]:tcp:%d" % (rnd.randrange(0, 8), rnd.randrange(2, 250), rnd.choice([80, 443, 8080]))

def vs():
    return "[10.1.0.%d]:tcp:%d" % (rnd.randrange(100, 140), rnd.choice([80, 443]))

def inst():
    return "VI_%d" % rnd.randrange(1, 60)

def peer():
    return "10.0.0.%d" % rnd.randrange(2, 40)

VRRP = [
    (30, lambda: "Sending gratuitous ARP on eth0 for 10.1.0.%d" % rnd.randrange(100, 140)),
    (6, lambda: "(%s) Sending/queueing gratuitous ARPs on eth0 for 10.1.0.%d" % (inst(), rnd.randrange(100, 140))),
    (3, lambda: "(%s) Entering MASTER STATE" % inst()),
    (3, lambda: "(%s) Entering BACKUP STATE" % inst()),
    (1, lambda: "(%s) Entering FAULT STATE" % inst()),
    (2, lambda: "(%s) Receive advertisement timeout" % inst()),
    (2, lambda: "(%s) Master received advert from %s with higher priority 150, ours 100" % (inst(), peer())),
    (2, lambda: "(%s) received lower priority (90) advert from %s - discarding" % (inst(), peer())),
    (1, lambda: "(%s) received an invalid passwd!" % inst()),
    (2, lambda: "(%s) setting VIPs." % inst()),
    (2, lambda: "(%s) removing VIPs." % inst()),
    (1, lambda: "VRRP_Script(chk_haproxy) failed (exited with status 1)"),
    (1, lambda: "VRRP_Script(chk_haproxy) succeeded"),
    (2, lambda: "Netlink reflector reports IP 10.1.0.%d added" % rnd.randrange(100, 140)),
]
CHECK = [
    (20, lambda: "TCP connection to %s success." % rs()),
    (6, lambda: "TCP connection to %s failed." % rs()),
    (3, lambda: "TCP_CHECK on service %s failed after 3 retries." % rs()),
    (3, lambda: "Removing service %s from VS %s" % (rs(), vs())),
    (3, lambda: "Adding service %s to VS %s" % (rs(), vs())),
    (1, lambda: "Lost quorum 1-0=1 > 0 for VS %s" % vs()),
    (1, lambda: "Gained quorum 1+0=1 <= 2 for VS %s" % vs()),
    (2, lambda: "Timeout connecting server %s." % rs()),
]
KERNEL = [
    (3, lambda: "IPVS: rr: TCP 10.1.0.%d:80 - no destination available" % rnd.randrange(100, 140)),
    (2, lambda: "net_ratelimit: %d callbacks suppressed" % rnd.randrange(1, 2000)),
    (1, lambda: "nf_conntrack: nf_conntrack: table full, dropping packet"),
]

def table(entries):
    out = []
    for w, f in entries:
        out += [f] * w
    return out

vrrp, check, kernel = table(VRRP), table(CHECK), table(KERNEL)
t = 0
with open(out, "w") as f:
    for i in range(n):
        t += rnd.randrange(0, 3)
        day, rest = divmod(t // 1000, 86400)
        mon = months[(day // 28) % 2]
        stamp = "%s %2d %02d:%02d:%02d" % (mon, day % 28 + 1, rest // 3600, rest // 60 % 60, rest % 60)
        host = "lb%d" % rnd.randrange(1, hosts + 1)
        r = rnd.random()
        if r < 0.55:
            f.write("%s %s Keepalived_vrrp[%d]: %s\n" % (stamp, host, 1000 + rnd.randrange(50), rnd.choice(vrrp)()))
        elif r < 0.93:
            f.write("%s %s Keepalived_healthcheckers[%d]: %s\n" % (stamp, host, 2000 + rnd.randrange(50), rnd.choice(check)()))
        else:
            f.write("%s %s kernel: [%d.%06d] %s\n" % (stamp, host, t // 1000, rnd.randrange(10**6), rnd.choice(kernel)()))

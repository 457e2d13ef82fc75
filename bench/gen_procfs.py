#!/usr/bin/env python3
"""Write a fake procfs tree for IPVS benchmarks and parser tests.

Creates, under DIR:
  net/ip_vs                /proc/net/ip_vs
  net/ip_vs_stats          /proc/net/ip_vs_stats
  net/ip_vs_stats_percpu   /proc/net/ip_vs_stats_percpu
  expected_backends.tsv    one row per destination, the values written above
  manifest.json            counts (services, backends, per kind) and the generator settings

The text follows the seq_printf formats of the kernel's net/netfilter/ipvs/ip_vs_ctl.c
byte for byte (column widths, trailing spaces, upper-case hex, %pI6 full-form IPv6 in
brackets, the protocol table before the fwmark table, CPU numbers in hex in the per-CPU
file). Output is deterministic for a given seed and size.

Only the Python standard library is used.

Usage:
  gen_procfs.py --size S|M|L DIR
  gen_procfs.py --services 50 --backends 3 DIR
"""

import argparse
import json
import os
import random
import sys

SIZES = {
    "S": (10, 4),
    "M": (1_000, 10),
    "L": (10_000, 10),
}

# Kind of service by index modulo len(PATTERN): every size, S included, gets each kind.
# (proto, family, persistent)
PATTERN = [
    ("TCP", 4, False),
    ("TCP", 4, False),
    ("TCP", 4, True),
    ("UDP", 4, False),
    ("TCP", 6, False),
    ("TCP", 4, False),
    ("UDP", 4, False),  # gets the one-packet-scheduling ("ops") flag
    ("FWM", 4, False),
    ("UDP", 6, True),
    ("FWM", 6, False),
]

SCHEDULERS = ["wlc", "wlc", "wlc", "rr", "wrr", "lc", "sh", "mh", "sed", "none"]
FORWARDS = ["Route"] * 6 + ["Masq"] * 2 + ["Tunnel", "Local"]
TCP_PORTS = [80, 443, 8080, 8443, 3306, 5432, 6379, 25, 993, 22]
UDP_PORTS = [53, 123, 514, 1812, 5060, 4789]
HZ = 250  # Debian's default CONFIG_HZ; the persistence timeout is printed in jiffies
CONN_TAB_SIZE = 4096


def bswap32(v):
    return int.from_bytes(v.to_bytes(4, "big"), "little")


def ipv4_hex(a):
    """%08X of ntohl(addr): the address as a host-order number, upper-case hex."""
    return "%08X" % a


def ipv4_str(a):
    return "%d.%d.%d.%d" % ((a >> 24) & 255, (a >> 16) & 255, (a >> 8) & 255, a & 255)


def ipv6_pI6(a):
    """%pI6: eight groups of four lower-case hex digits, no compression."""
    return ":".join("%04x" % ((a >> (112 - 16 * i)) & 0xFFFF) for i in range(8))


def ipv6_str(a):
    """RFC 5952 text form (what Go's net.IP.String() prints)."""
    import ipaddress

    return str(ipaddress.IPv6Address(a))


def pick_weight(rng):
    r = rng.random()
    if r < 0.06:
        return 0  # drained
    if r < 0.40:
        return 100
    if r < 0.55:
        return 1
    if r < 0.65:
        return 10
    if r < 0.70:
        return 256
    if r < 0.72:
        return 65535
    return rng.randint(2, 1000)


def pick_conns(rng, weight):
    if weight == 0:
        return rng.choice([0, 0, 0, 1, 3]), rng.randint(0, 20)
    r = rng.random()
    if r < 0.10:
        return 0, 0
    if r < 0.02 + 0.10:
        # a few large values (still within the kernel's signed 32-bit atomic_t)
        return rng.randint(1_000_000, 2_000_000_000), rng.randint(1_000_000, 2_147_483_647)
    active = int(rng.expovariate(1 / 300.0))
    inactive = int(rng.expovariate(1 / 2000.0))
    return active, inactive


class Service:
    __slots__ = ("idx", "proto", "family", "persistent", "addr", "port", "fwmark", "sched",
                 "ops", "timeout", "netmask", "dests")


def build(n_services, n_backends, seed):
    rng = random.Random(seed)
    services = []
    used_marks = set()
    # Pools of real servers, shared between services as on a real director.
    # (distinct addresses: a destination appears at most once per service)
    pool4 = [0xAC100000 + a for a in rng.sample(range(1, 0xFFFFF), max(64, n_backends * 8, n_services // 4))]
    pool6 = sorted({(0x20010DB8FFFF << 80) | rng.getrandbits(64)
                    for _ in range(max(64, n_backends * 8, n_services // 8))})
    rng.shuffle(pool6)
    for i in range(n_services):
        proto, fam, persistent = PATTERN[i % len(PATTERN)]
        s = Service()
        s.idx = i
        s.proto = proto
        s.family = fam
        s.persistent = persistent
        s.sched = rng.choice(SCHEDULERS)
        s.ops = (i % len(PATTERN) == 6)
        s.fwmark = 0
        s.addr = 0
        s.port = 0
        if proto == "FWM":
            # Unique marks; some look like the big hex marks used in practice.
            while True:
                m = rng.choice([0x100 + i, 0x10000000 + i * 0x10, rng.randint(1, 0xFFFFFFFF)])
                if m not in used_marks:
                    used_marks.add(m)
                    break
            s.fwmark = m
        elif fam == 4:
            # VIPs 10.x.y.z, unique per service index
            s.addr = 0x0A000000 + ((i // 250) << 8) + (i % 250) + 1
            s.port = rng.choice(UDP_PORTS if proto == "UDP" else TCP_PORTS)
        else:
            s.addr = (0x20010DB8 << 96) | (0xA << 80) | (i + 1)
            s.port = rng.choice(UDP_PORTS if proto == "UDP" else TCP_PORTS)
        if persistent:
            s.timeout = rng.choice([60, 300, 360, 3600]) * HZ
            if fam == 4:
                s.netmask = rng.choice([0xFFFFFFFF, 0xFFFFFF00])
            else:
                # IPv6 services keep the prefix length in the __be32 netmask field in host
                # order, and the kernel prints ntohl() of it: 128 shows as 80000000 on x86.
                s.netmask = bswap32(rng.choice([128, 64]))
        else:
            s.timeout = 0
            s.netmask = 0
        dests = []
        pool = pool4 if fam == 4 else pool6
        addrs = rng.sample(pool, n_backends)
        rport = s.port if s.port else rng.choice(TCP_PORTS)
        if rng.random() < 0.3 and proto != "FWM":
            rport = rng.choice([8080, 8000, 9000, s.port])
        for a in addrs:
            w = pick_weight(rng)
            act, inact = pick_conns(rng, w)
            fwd = rng.choice(FORWARDS)
            dests.append((a, rport, fwd, w, act, inact))
        s.dests = dests
        services.append(s)
    return rng, services


def service_line(s):
    if s.proto == "FWM":
        # "FWM  %08X %s %s"
        line = "FWM  %08X %s %s" % (s.fwmark, s.sched, "ops " if s.ops else "")
    elif s.family == 6:
        # "%s  [%pI6]:%04X %s "  (no ops flag printed for IPv6)
        line = "%s  [%s]:%04X %s " % (s.proto, ipv6_pI6(s.addr), s.port, s.sched)
    else:
        # "%s  %08X:%04X %s %s "
        line = "%s  %08X:%04X %s %s " % (s.proto, s.addr, s.port, s.sched, "ops " if s.ops else "")
    if s.persistent:
        line += "persistent %d %08X" % (s.timeout, s.netmask)
    return line + "\n"


def dest_line(fam, d):
    a, port, fwd, w, act, inact = d
    if fam == 6:
        return "  -> [%s]:%04X      %-7s %-6d %-10d %-10d\n" % (ipv6_pI6(a), port, fwd, w, act, inact)
    return "  -> %08X:%04X      %-7s %-6d %-10d %-10d\n" % (a, port, fwd, w, act, inact)


def write_ip_vs(path, services, rng):
    # The kernel walks the protocol hash table first (hash order, so mixed families and
    # protocols), then the fwmark table.
    table = [s for s in services if s.proto != "FWM"]
    fwm = [s for s in services if s.proto == "FWM"]
    rng.shuffle(table)
    rng.shuffle(fwm)
    with open(path, "w") as f:
        f.write("IP Virtual Server version 1.2.1 (size=%d)\n" % CONN_TAB_SIZE)
        f.write("Prot LocalAddress:Port Scheduler Flags\n")
        f.write("  -> RemoteAddress:Port Forward Weight ActiveConn InActConn\n")
        for s in table + fwm:
            f.write(service_line(s))
            for d in s.dests:
                f.write(dest_line(s.family, d))
    return table + fwm


def write_stats(netdir, rng, ncpus):
    percpu = []
    for _ in range(ncpus):
        conns = rng.randint(0, 1 << 34)
        inpkts = conns * rng.randint(5, 40)
        outpkts = rng.choice([0, inpkts // 2])  # DR/TUN directors see no replies
        inbytes = inpkts * rng.randint(60, 900)
        outbytes = outpkts * rng.randint(60, 1400)
        percpu.append((conns, inpkts, outpkts, inbytes, outbytes))
    tot = tuple(sum(c[k] for c in percpu) for k in range(5))
    rates = (rng.randint(0, 5000), rng.randint(0, 400000), rng.randint(0, 200000),
             rng.randint(0, 1 << 30), rng.randint(0, 1 << 29))
    with open(os.path.join(netdir, "ip_vs_stats"), "w") as f:
        f.write("   Total Incoming Outgoing         Incoming         Outgoing\n")
        f.write("   Conns  Packets  Packets            Bytes            Bytes\n")
        f.write("%8X %8X %8X %16X %16X\n\n" % tot)
        f.write(" Conns/s   Pkts/s   Pkts/s          Bytes/s          Bytes/s\n")
        f.write("%8X %8X %8X %16X %16X\n" % rates)
    with open(os.path.join(netdir, "ip_vs_stats_percpu"), "w") as f:
        f.write("       Total Incoming Outgoing         Incoming         Outgoing\n")
        f.write("CPU    Conns  Packets  Packets            Bytes            Bytes\n")
        for i, c in enumerate(percpu):
            f.write("%3X %8X %8X %8X %16X %16X\n" % ((i,) + c))
        f.write("  ~ %8X %8X %8X %16X %16X\n\n" % tot)
        f.write("     Conns/s   Pkts/s   Pkts/s          Bytes/s          Bytes/s\n")
        f.write("    %8X %8X %8X %16X %16X\n" % rates)
    return tot, rates, percpu


def write_expected(path, ordered):
    with open(path, "w") as f:
        f.write("proto\tfamily\tlocal_address\tlocal_port\tfwmark\tremote_address\tremote_port"
                "\tforward\tweight\tactive\tinactive\n")
        for s in ordered:
            if s.proto == "FWM":
                la, lp, mark = "", 0, "%08X" % s.fwmark
            elif s.family == 6:
                la, lp, mark = ipv6_str(s.addr), s.port, ""
            else:
                la, lp, mark = ipv4_str(s.addr), s.port, ""
            for (a, port, fwd, w, act, inact) in s.dests:
                ra = ipv6_str(a) if s.family == 6 else ipv4_str(a)
                f.write("%s\t%d\t%s\t%d\t%s\t%s\t%d\t%s\t%d\t%d\t%d\n"
                        % (s.proto, s.family, la, lp, mark, ra, port, fwd, w, act, inact))


def write_expected_services(path, ordered):
    with open(path, "w") as f:
        f.write("proto\tfamily\tlocal_address\tlocal_port\tfwmark\tscheduler\tflags"
                "\ttimeout_jiffies\tnetmask_hex\tbackends\tbackends_available\n")
        for s in ordered:
            if s.proto == "FWM":
                la, lp, mark = "", 0, "%08X" % s.fwmark
            elif s.family == 6:
                la, lp, mark = ipv6_str(s.addr), s.port, ""
            else:
                la, lp, mark = ipv4_str(s.addr), s.port, ""
            flags = ",".join(x for x, on in (("persistent", s.persistent), ("ops", s.ops)) if on)
            f.write("%s\t%d\t%s\t%d\t%s\t%s\t%s\t%d\t%08X\t%d\t%d\n"
                    % (s.proto, s.family, la, lp, mark, s.sched, flags, s.timeout, s.netmask,
                       len(s.dests), sum(1 for d in s.dests if d[3] > 0)))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir", help="root of the fake procfs tree (net/ is created inside)")
    ap.add_argument("--size", choices=sorted(SIZES), help="S=10x4, M=1000x10, L=10000x10")
    ap.add_argument("--services", type=int, help="number of virtual services")
    ap.add_argument("--backends", type=int, help="destinations per service")
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--cpus", type=int, default=16, help="possible CPUs in ip_vs_stats_percpu")
    ap.add_argument("--dual-stack-fwmark", action="store_true",
                    help="give each IPv6 fwmark service the mark of an IPv4 one (legal in the kernel: "
                         "the fwmark table is keyed by family and mark; /proc shows both as the same FWM line)")
    args = ap.parse_args(argv)

    if args.size:
        n_services, n_backends = SIZES[args.size]
    else:
        n_services, n_backends = 10, 4
    if args.services is not None:
        n_services = args.services
    if args.backends is not None:
        n_backends = args.backends
    if n_services < 0 or n_backends < 0:
        ap.error("counts must be >= 0")

    netdir = os.path.join(args.dir, "net")
    os.makedirs(netdir, exist_ok=True)
    rng, services = build(n_services, n_backends, args.seed)
    if args.dual_stack_fwmark:
        v4 = [s for s in services if s.proto == "FWM" and s.family == 4]
        v6 = [s for s in services if s.proto == "FWM" and s.family == 6]
        for a, b in zip(v4, v6):
            b.fwmark = a.fwmark
    ordered = write_ip_vs(os.path.join(netdir, "ip_vs"), services, rng)
    tot, rates, percpu = write_stats(netdir, rng, args.cpus)
    write_expected(os.path.join(args.dir, "expected_backends.tsv"), ordered)
    write_expected_services(os.path.join(args.dir, "expected_services.tsv"), ordered)

    kinds = {}
    for s in services:
        k = "%s%d%s%s" % (s.proto, s.family, "-persistent" if s.persistent else "",
                          "-ops" if s.ops else "")
        kinds[k] = kinds.get(k, 0) + 1
    manifest = {
        "size": args.size,
        "seed": args.seed,
        "dual_stack_fwmark": args.dual_stack_fwmark,
        "services": n_services,
        "backends_per_service": n_backends,
        "backends": n_services * n_backends,
        "fwm_services": sum(1 for s in services if s.proto == "FWM"),
        "fwm_backends": sum(len(s.dests) for s in services if s.proto == "FWM"),
        "ipv6_services": sum(1 for s in services if s.family == 6),
        "service_kinds": dict(sorted(kinds.items())),
        "cpus": args.cpus,
        "totals": dict(zip(["conns", "inpkts", "outpkts", "inbytes", "outbytes"], tot)),
        "rates": dict(zip(["cps", "inpps", "outpps", "inbps", "outbps"], rates)),
        "percpu": [dict(zip(["conns", "inpkts", "outpkts", "inbytes", "outbytes"], c)) for c in percpu],
    }
    with open(os.path.join(args.dir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print("%s: %d services x %d backends = %d backends (%d bytes of ip_vs)"
          % (args.dir, n_services, n_backends, n_services * n_backends,
             os.path.getsize(os.path.join(netdir, "ip_vs"))))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Check an exporter's /metrics body against the values gen_procfs.py wrote.

  compare.py TREE_DIR BODY_FILE --exporter node_exporter|lvsmon [--json OUT]

Reads TREE_DIR/expected_backends.tsv and TREE_DIR/manifest.json, parses the Prometheus
text exposition in BODY_FILE and, for every destination, compares weight, active and
inactive connections. It also compares the global totals from ip_vs_stats where the
exporter has them. Prints a short report and exits 0 when everything matched, 1 otherwise.

Label names are found by looking at the samples (lvsmon's are not fixed here): a backend
sample is keyed on (protocol, virtual address, virtual port, fwmark, real address, real
port) after normalising address text (ipaddress), fwmark text (hex or decimal) and
protocol case.
"""

import argparse
import ipaddress
import json
import re
import sys

SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\S+)?$')
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*')

PROFILES = {
    "node_exporter": {
        "prefix": "node_ipvs_",
        "weight": "node_ipvs_backend_weight",
        "active": "node_ipvs_backend_connections_active",
        "inactive": "node_ipvs_backend_connections_inactive",
        "mark_base": 16,
        "totals": {
            "conns": "node_ipvs_connections_total",
            "inpkts": "node_ipvs_incoming_packets_total",
            "outpkts": "node_ipvs_outgoing_packets_total",
            "inbytes": "node_ipvs_incoming_bytes_total",
            "outbytes": "node_ipvs_outgoing_bytes_total",
        },
    },
    "lvsmon": {
        "prefix": "ipvs_",
        "weight": "ipvs_backend_weight",
        # found by name when None
        "active": None,
        "inactive": None,
        "mark_base": 10,  # lvsmon prints local_mark in decimal
        "totals": None,
        "service_info": "ipvs_service_info",
        "service_backends": "ipvs_service_backends",
        "service_backends_available": "ipvs_service_backends_available",
        "backend_info": "ipvs_backend_info",
        "rates": "ipvs_rate_{}_per_second",
        "percpu": "ipvs_cpu_{}_total",
    },
}

# Candidate label names for each key part, most specific first.
LABEL_CANDIDATES = {
    "proto": ["proto", "protocol"],
    "laddr": ["local_address", "vip", "virtual_address", "service_address", "vaddr", "address"],
    "lport": ["local_port", "vport", "virtual_port", "service_port", "port"],
    "mark": ["local_mark", "fwmark", "fw_mark", "mark", "firewall_mark"],
    "raddr": ["remote_address", "real_address", "backend_address", "rip", "raddr", "backend", "real_server"],
    "rport": ["remote_port", "real_port", "backend_port", "rport"],
}


def parse_labels(s):
    out = {}
    if not s:
        return out
    for m in LABEL_RE.finditer(s):
        out[m.group(1)] = m.group(2).replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")
    return out


def parse_body(path):
    samples = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            m = SAMPLE_RE.match(line)
            if not m:
                continue
            name, labels, value = m.group(1), parse_labels(m.group(3)), m.group(4)
            try:
                v = float(value)
            except ValueError:
                continue
            samples.setdefault(name, []).append((labels, v))
    return samples


def norm_addr(s):
    if s is None:
        return ""
    s = s.strip().strip("[]")
    if not s:
        return ""
    try:
        return str(ipaddress.ip_address(s))
    except ValueError:
        return s


MARK_BASE = [16]


def norm_mark(s):
    if s is None or s == "":
        return 0
    s = s.strip()
    try:
        return int(s, 0 if s.lower().startswith("0x") else MARK_BASE[0])
    except ValueError:
        return s


def norm_port(s):
    try:
        return int(s)
    except (TypeError, ValueError):
        return 0


def pick(labels, part, forced=None):
    names = [forced] if forced else LABEL_CANDIDATES[part]
    for n in names:
        if n in labels:
            return labels[n]
    return None


def sample_key(labels, lmap):
    proto = (pick(labels, "proto", lmap.get("proto")) or "").upper()
    mark = norm_mark(pick(labels, "mark", lmap.get("mark")))
    laddr = norm_addr(pick(labels, "laddr", lmap.get("laddr")))
    lport = norm_port(pick(labels, "lport", lmap.get("lport")))
    raddr = norm_addr(pick(labels, "raddr", lmap.get("raddr")))
    rport = norm_port(pick(labels, "rport", lmap.get("rport")))
    if mark:
        # fwmark services: no address/port; the protocol text differs between exporters
        return ("FWM", "", 0, mark, raddr, rport)
    return (proto, laddr, lport, 0, raddr, rport)


def expected_rows(tree):
    rows = []
    with open(tree + "/expected_backends.tsv") as f:
        header = f.readline().rstrip("\n").split("\t")
        for line in f:
            r = dict(zip(header, line.rstrip("\n").split("\t")))
            rows.append(r)
    return rows


def svc_key(r):
    if r["proto"] == "FWM":
        return ("FWM", "", 0, int(r["fwmark"], 16))
    return (r["proto"], r["local_address"], int(r["local_port"]), 0)


def svc_sample_key(labels):
    return sample_key(labels, {})[:4]


def check_keyed(lines, what, samples, name, expected, keyfn, valfn, examples):
    """expected: key -> value; compares samples[name] keyed by keyfn(labels) with valfn."""
    if name not in samples:
        lines.append("%s: metric %s not found" % (what, name))
        return {"metric": name, "found": False}, False
    got = {}
    dup = 0
    for labels, v in samples[name]:
        k = keyfn(labels)
        if k in got:
            dup += 1
        got[k] = valfn(labels, v)
    missing = [k for k in expected if k not in got]
    extra = [k for k in got if k not in expected]
    wrong = [(k, expected[k], got[k]) for k in expected if k in got and expected[k] != got[k]]
    lines.append("%s (%s): %d series, %d missing, %d extra, %d duplicate keys, %d wrong values"
                 % (what, name, len(samples[name]), len(missing), len(extra), dup, len(wrong)))
    for k in missing[:examples]:
        lines.append("  missing: %s" % (k,))
    for k in extra[:examples]:
        lines.append("  extra:   %s" % (k,))
    for k, e, g in wrong[:examples]:
        lines.append("  wrong:   %s expected %r got %r" % (k, e, g))
    good = not (missing or extra or wrong or dup)
    return {"metric": name, "series": len(samples[name]), "missing": len(missing), "extra": len(extra),
            "duplicate_keys": dup, "wrong_values": len(wrong)}, good


def row_key(r):
    if r["proto"] == "FWM":
        return ("FWM", "", 0, int(r["fwmark"], 16), r["remote_address"], int(r["remote_port"]))
    return (r["proto"], r["local_address"], int(r["local_port"]), 0, r["remote_address"], int(r["remote_port"]))


def find_metric(samples, profile, what):
    name = profile.get(what)
    if name:
        return name
    prefix = profile["prefix"] + "backend_"
    cands = [n for n in samples if n.startswith(prefix)]
    if what == "active":
        c = [n for n in cands if "active" in n and "inact" not in n and "inactive" not in n]
    elif what == "inactive":
        c = [n for n in cands if "inact" in n]
    else:
        c = []
    c.sort(key=len)
    return c[0] if c else None


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("tree")
    ap.add_argument("body")
    ap.add_argument("--exporter", required=True, choices=sorted(PROFILES))
    ap.add_argument("--json", help="write the result summary here")
    ap.add_argument("--examples", type=int, default=5, help="mismatches to print")
    args = ap.parse_args(argv)

    profile = PROFILES[args.exporter]
    MARK_BASE[0] = profile.get("mark_base", 16)
    samples = parse_body(args.body)
    rows = expected_rows(args.tree)
    manifest = json.load(open(args.tree + "/manifest.json"))
    exp = {}
    for r in rows:
        k = row_key(r)
        if k in exp:
            print("generator bug: destination %s listed twice" % (k,))
            return 2
        exp[k] = r

    result = {"exporter": args.exporter, "expected_backends": len(rows), "metrics": {}}
    ok = True
    lines = []
    for what, col in (("weight", "weight"), ("active", "active"), ("inactive", "inactive")):
        name = find_metric(samples, profile, what)
        if not name or name not in samples:
            lines.append("%s: no metric found" % what)
            result["metrics"][what] = {"metric": None}
            ok = False
            continue
        got = {}
        dup = 0
        for labels, v in samples[name]:
            k = sample_key(labels, profile.get("labels", {}))
            if k in got:
                dup += 1
                got[k] += v
            else:
                got[k] = v
        missing = [k for k in exp if k not in got]
        extra = [k for k in got if k not in exp]
        wrong = [(k, float(exp[k][col]), got[k]) for k in exp if k in got and float(exp[k][col]) != got[k]]
        info = {"metric": name, "series": len(samples[name]), "matched": len(exp) - len(missing),
                "missing": len(missing), "extra": len(extra), "duplicate_keys": dup,
                "wrong_values": len(wrong)}
        result["metrics"][what] = info
        lines.append("%s (%s): %d series, %d matched, %d missing, %d extra, %d duplicate keys, %d wrong values"
                     % (what, name, len(samples[name]), info["matched"], len(missing), len(extra), dup, len(wrong)))
        for k in missing[: args.examples]:
            lines.append("  missing: %s" % (k,))
        for k in extra[: args.examples]:
            lines.append("  extra:   %s" % (k,))
        for k, e, g in wrong[: args.examples]:
            lines.append("  wrong:   %s expected %r got %r" % (k, e, g))
        if missing or extra or wrong or dup:
            ok = False

    totals = profile.get("totals")
    if totals is None:
        # lvsmon: look for ipvs_*_total without labels
        totals = {}
        for key, words in (("conns", ["connections"]), ("inpkts", ["incoming_packets", "in_packets", "packets_in"]),
                           ("outpkts", ["outgoing_packets", "out_packets", "packets_out"]),
                           ("inbytes", ["incoming_bytes", "in_bytes", "bytes_in"]),
                           ("outbytes", ["outgoing_bytes", "out_bytes", "bytes_out"])):
            for n, ss in samples.items():
                if n.startswith(profile["prefix"]) and "backend" not in n and "service" not in n \
                        and n.endswith("_total") and any(w in n for w in words) and len(ss) == 1 and not ss[0][0]:
                    totals[key] = n
                    break
    tres = {}
    for key, name in sorted(totals.items()):
        e = manifest["totals"][key]
        g = samples.get(name, [({}, None)])[0][1]
        good = g is not None and abs(g - e) <= max(1.0, abs(e) * 1e-15 * 4)
        tres[key] = {"metric": name, "expected": e, "got": g, "ok": good}
        lines.append("total %s (%s): expected %d got %s%s" % (key, name, e, g, "" if good else "  MISMATCH"))
        if not good:
            ok = False
    result["totals"] = tres

    # lvsmon only: per-service series, forwarding method, rates and per-CPU counters
    svc_rows = []
    try:
        with open(args.tree + "/expected_services.tsv") as f:
            header = f.readline().rstrip("\n").split("\t")
            svc_rows = [dict(zip(header, l.rstrip("\n").split("\t"))) for l in f]
    except FileNotFoundError:
        pass
    extra_checks = {}
    if svc_rows and profile.get("service_info"):
        exp_info = {svc_key(r): (r["scheduler"], r["flags"]) for r in svc_rows}
        extra_checks["service_info"], good = check_keyed(
            lines, "service scheduler,flags", samples, profile["service_info"], exp_info, svc_sample_key,
            lambda l, v: (l.get("scheduler"), l.get("flags")), args.examples)
        ok = ok and good
        for metric_key, col in (("service_backends", "backends"), ("service_backends_available", "backends_available")):
            exp_n = {svc_key(r): float(r[col]) for r in svc_rows}
            extra_checks[metric_key], good = check_keyed(
                lines, metric_key, samples, profile[metric_key], exp_n, svc_sample_key, lambda l, v: v, args.examples)
            ok = ok and good
    if profile.get("backend_info"):
        # lvsmon writes the forwarding method in lower case ("route"); /proc says "Route"
        exp_fwd = {k: r["forward"].lower() for k, r in exp.items()}
        extra_checks["backend_forward"], good = check_keyed(
            lines, "backend forward", samples, profile["backend_info"], exp_fwd,
            lambda l: sample_key(l, {}), lambda l, v: (l.get("forward") or "").lower(), args.examples)
        ok = ok and good
    if profile.get("rates"):
        for key, word in (("cps", "connections"), ("inpps", "incoming_packets"), ("outpps", "outgoing_packets"),
                          ("inbps", "incoming_bytes"), ("outbps", "outgoing_bytes")):
            name = profile["rates"].format(word)
            e = manifest["rates"][key]
            g = samples.get(name, [({}, None)])[0][1]
            good = g == e
            extra_checks["rate_" + key] = {"metric": name, "expected": e, "got": g, "ok": good}
            lines.append("rate %s (%s): expected %d got %s%s" % (key, name, e, g, "" if good else "  MISMATCH"))
            ok = ok and good
    if profile.get("percpu") and manifest.get("percpu"):
        bad = 0
        for key, word in (("conns", "connections"), ("inpkts", "incoming_packets"), ("outpkts", "outgoing_packets"),
                          ("inbytes", "incoming_bytes"), ("outbytes", "outgoing_bytes")):
            name = profile["percpu"].format(word)
            got = {}
            for l, v in samples.get(name, []):
                got[l.get("cpu")] = v
            for i, c in enumerate(manifest["percpu"]):
                g = got.get(str(i))
                if g is None or abs(g - c[key]) > max(1.0, c[key] * 4e-15):
                    bad += 1
                    if bad <= args.examples:
                        lines.append("  percpu %s cpu %d: expected %d got %s" % (word, i, c[key], g))
            if len(got) != len(manifest["percpu"]):
                bad += 1
                lines.append("  percpu %s: %d CPUs expected, %d series" % (word, len(manifest["percpu"]), len(got)))
        lines.append("per-CPU counters (%d CPUs x 5): %s" % (len(manifest["percpu"]), "ok" if not bad else "%d MISMATCHES" % bad))
        extra_checks["percpu"] = {"bad": bad}
        ok = ok and not bad
    result["extra_checks"] = extra_checks
    result["ok"] = ok
    print("\n".join(lines))
    print("RESULT %s %s" % (args.exporter, "OK" if ok else "MISMATCH"))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Compare lvsmon's and node_exporter's backend values scraped from the same procfs tree.

  crosscheck.py NODE_EXPORTER_BODY LVSMON_BODY

Joins the two on (protocol, virtual address, port, fwmark, real address, port), with
node_exporter's hex local_mark and lvsmon's decimal one both read as numbers, and reports
backends present in only one of them and any weight / active / inactive difference, then
prints one backend of each kind (IPv4, IPv6, fwmark) side by side. Exit 0 when they agree.
"""
import sys

import compare as c


def load(exporter, path):
    c.MARK_BASE[0] = c.PROFILES[exporter]["mark_base"]
    samples = c.parse_body(path)
    profile = c.PROFILES[exporter]
    out = {}
    for what in ("weight", "active", "inactive"):
        name = c.find_metric(samples, profile, what)
        for labels, v in samples.get(name, []):
            out.setdefault(c.sample_key(labels, {}), {})[what] = v
    return out


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip())
        return 2
    node, lvs = load("node_exporter", argv[1]), load("lvsmon", argv[2])
    only_node = [k for k in node if k not in lvs]
    only_lvs = [k for k in lvs if k not in node]
    diff = [k for k in node if k in lvs and node[k] != lvs[k]]
    print("backends: node_exporter %d, lvsmon %d, in both %d" % (len(node), len(lvs), len(set(node) & set(lvs))))
    print("only in node_exporter: %d, only in lvsmon: %d, value differences: %d"
          % (len(only_node), len(only_lvs), len(diff)))
    for k in (only_node[:5] + only_lvs[:5] + diff[:5]):
        print("  %s node_exporter=%s lvsmon=%s" % (k, node.get(k), lvs.get(k)))
    shown = set()
    for k in node:
        kind = "fwmark" if k[0] == "FWM" else ("IPv6" if ":" in k[4] else "IPv4")
        kind += "/" + ("IPv6" if ":" in k[4] else "IPv4") if k[0] == "FWM" else ""
        if kind in shown or k not in lvs:
            continue
        shown.add(kind)
        n, l = node[k], lvs[k]
        print("  %-12s %s weight %g/%g active %g/%g inactive %g/%g (node_exporter/lvsmon)"
              % (kind, k, n["weight"], l["weight"], n["active"], l["active"], n["inactive"], l["inactive"]))
    return 0 if not (only_node or only_lvs or diff) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))

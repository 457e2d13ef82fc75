#!/bin/sh
# Summarises the in-VM netlink benchmark of the scale scenario (tests/vm/scenarios/scale.sh)
# as a markdown table: ipvsadm -Ln --stats --exact against full scrapes of lvsmon serve on
# the same table in the same guest, and lvsmon's RSS after each scrape.
#
# usage: tests/vm/bench-report.sh CAPTURES_DIR     (e.g. target/vm-captures)
set -eu
B="${1:?usage: bench-report.sh CAPTURES_DIR}/scale/bench.txt"
[ -f "$B" ] || { echo "bench-report: no $B (run the VM suite with --lvsmon)" >&2; exit 1; }
awk '
    $1 != "bench" { next }
    $2 == "round" { n++; ip += $5; lv += $7; rss[n] = $9; hwm = $11; dump += $13; next }
    { v[$2] = $3 }
    END {
        if (n == 0) { print "bench-report: no rounds" > "/dev/stderr"; exit 1 }
        printf "| table | rounds | `ipvsadm -Ln --stats --exact` | lvsmon scrape (HTTP) | `lvsmon dump` (new process) | scrape / ipvsadm | dump / ipvsadm |\n"
        printf "|---|---|---|---|---|---|---|\n"
        printf "| %d services, %d backends (page: %d backend series, %.1f MB) | %d | %.2f s | %.2f s | %.2f s | %.2f | %.2f |\n",
            v["services"], v["backends"], v["page_backend_series"], v["page_bytes"] / 1e6, n,
            ip / n, lv / n, dump / n, (ip > 0 ? lv / ip : 0), (ip > 0 ? dump / ip : 0)
        s = ""
        for (i = 1; i <= n; i++) s = s (i > 1 ? ", " : "") rss[i]
        printf "\nlvsmon RSS: %d KB idle; after each scrape %s KB; peak (VmHWM) %d KB.\n", v["idle_rss_kb"], s, hwm
    }' "$B"

#!/usr/bin/env bash
# Do two builds of lvsmon print the same `analyze` output, byte for byte? Runs both over the
# test fixtures (each alone, and the captures of several directors together) and over
# bench/logs.sh's files when present, in text, JSON and HTML, with and without
# --incidents, and compares outputs and exit statuses. Used to check that a change to how
# incidents are kept (docs/benchmarks.md, "Memory bounded by open incidents") changes no
# output.
#
#   bash bench/analyze_same.sh OLD_LVSMON NEW_LVSMON [EXTRA_INPUT...]
#   bash bench/analyze_same.sh OLD NEW "/tmp/split4/lb1.log /tmp/split4/lb2.log"   # a merged set
set -uo pipefail
OLD=$1 NEW=$2
shift 2
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
F=$ROOT/tests/fixtures/logs
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
sets=()
for f in "$F"/*.log "$F"/keepalived_lines.txt "$F"/kernel_lines.txt; do sets+=("$f"); done
sets+=("$F/keepalived-2.2.7-lbA.log $F/keepalived-2.2.7-lbB.log $F/keepalived-2.2.7-lbC.log")
sets+=("$F/keepalived-2.2.7-fault-lbA.log $F/keepalived-2.2.7-fault-lbB.log $F/keepalived-2.2.7-fault-lbC.log")
# An extra input may be several files, space-separated: they are merged, as one set.
for f in "$ROOT"/bench/out/logs/keepalived-100000.log "$ROOT"/bench/out/logs/keepalived-1000000.log "$@"; do
    ok=1
    for g in $f; do [ -s "$g" ] || ok=0; done
    [ "$ok" = 1 ] && sets+=("$f")
done
fail=0 n=0
for set in "${sets[@]}"; do
    for args in "--format text" "--format text --incidents" "--format json --incidents" \
        "--format json" "--format html" "--format json --kind split_brain --kind vrrp_failover" \
        "--format text --incidents --host lb-a --since 2024-11-25T10:00:00Z"; do
        # shellcheck disable=SC2086
        "$OLD" analyze $args -o "$WORK/old" $set 2>"$WORK/old.err"; a=$?
        # shellcheck disable=SC2086
        "$NEW" analyze $args -o "$WORK/new" $set 2>"$WORK/new.err"; b=$?
        n=$((n + 1))
        if [ "$a" != "$b" ] || ! cmp -s "$WORK/old" "$WORK/new"; then
            echo "DIFFER: analyze $args $set (exit $a vs $b)"
            fail=$((fail + 1))
        fi
    done
done
echo "$((n - fail)) same, $fail differ"
[ "$fail" = 0 ]

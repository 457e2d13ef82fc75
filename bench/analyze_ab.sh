#!/usr/bin/env bash
# Which of two builds of lvsmon runs `analyze` faster, in time rather than instructions?
# Runs OLD and NEW in turn (OLD, NEW, OLD, NEW, ...) on one core over one input, so that
# the host's changing load falls on both alike, and prints each build's wall-clock
# milliseconds (min, median, max) and the ratio of the medians.
#
# Why wall time on top of callgrind: instruction counts are repeatable but miss memory
# latency. A memo of recent classifications cut 10 % of the instructions on
# bench/logs.sh's file and made `analyze` 8 % slower (docs/benchmarks.md, "Instructions
# are not time"). On a shared host single runs vary by +-30 %: use 25 runs or more, and a
# few hundred thousand lines, so that one run takes a few tenths of a second.
#
#   bash bench/analyze_ab.sh OLD_LVSMON NEW_LVSMON INPUT [RUNS] [ANALYZE_ARGS...]
set -euo pipefail
OLD=$1 NEW=$2 INPUT=$3
RUNS=${4:-25}
shift $(($# < 4 ? $# : 4))
ARGS=("$@")
[ ${#ARGS[@]} -gt 0 ] || ARGS=(--format json)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
PIN=()
command -v taskset >/dev/null && PIN=(taskset -c 0)

# One run's wall-clock milliseconds. `analyze` exits 1 when it found a critical incident:
# a result, not a failure; 2 is an error.
one() {
    local s e rc=0
    s=$(date +%s%N)
    "${PIN[@]}" "$1" analyze "${ARGS[@]}" -o /dev/null "$INPUT" 2>"$WORK/err" || rc=$?
    e=$(date +%s%N)
    if [ "$rc" -gt 1 ]; then
        echo "$1 failed (exit $rc):" >&2
        cat "$WORK/err" >&2
        exit 2
    fi
    echo $(((e - s) / 1000000))
}

for _ in $(seq "$RUNS"); do
    one "$OLD" >>"$WORK/old"
    one "$NEW" >>"$WORK/new"
done

# min, median and max of a file of numbers.
stats() { sort -n "$1" | awk '{v[NR]=$1} END{m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; print v[1], m, v[NR]}'; }
read -r omin omed omax < <(stats "$WORK/old")
read -r nmin nmed nmax < <(stats "$WORK/new")
lines=$(wc -l <"$INPUT")
echo "input: $INPUT ($lines lines), $RUNS runs each, analyze ${ARGS[*]}"
printf '%-4s %-40s min %5s ms  median %7s ms  max %5s ms\n' old "$OLD" "$omin" "$omed" "$omax"
printf '%-4s %-40s min %5s ms  median %7s ms  max %5s ms\n' new "$NEW" "$nmin" "$nmed" "$nmax"
awk -v o="$omed" -v n="$nmed" -v l="$lines" 'BEGIN{
    printf "new/old median time: %.3f; lines/s at the median: old %.2f M, new %.2f M\n", n/o, l/o/1000, l/n/1000 }'

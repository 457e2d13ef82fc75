#!/usr/bin/env bash
# HTML report benchmark: `lvsmon analyze --format html` over ten directors' syslog, a million
# lines each (bench/logs/gen_logs.py with 10 hosts: random state changes, checks, real
# servers out and back, kernel lines; a worst case for the report, with a failover or a split
# brain every few dozen lines and thousands of real servers), then the report's size and
# how long headless chromium takes to open and draw it (bench/report_open.rs).
#
#   bash bench/report.sh                       # 10 directors x 1M lines
#   BENCH_REPORT_LINES=1000000 bash bench/report.sh
#
# Environment: BENCH_SKIP_BUILD=1 uses the existing release build. Outputs go to
# bench/out/report/.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=$ROOT/bench/out/report
N=${BENCH_REPORT_LINES:-10000000}
HOSTS=${BENCH_REPORT_HOSTS:-10}
mkdir -p "$OUT"
for t in python3 chromium /usr/bin/time; do
    command -v "$t" >/dev/null || { echo "bench/report.sh: $t is missing (scripts/install-deps.sh)" >&2; exit 1; }
done
cd "$ROOT"
[ "${BENCH_SKIP_BUILD:-0}" = 1 ] || cargo build --release --locked
TARGET=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
LVSMON=$TARGET/release/lvsmon

LOG=$OUT/directors-$HOSTS-$N.log
[ -s "$LOG" ] || python3 bench/logs/gen_logs.py "$N" "$LOG" "$HOSTS" 7
echo "input: $(wc -l <"$LOG") lines, $(du -m "$LOG" | cut -f1) MB, $HOSTS directors"

rc=0
/usr/bin/time -f "%e s elapsed, %U s user, %M KiB peak RSS" -o "$OUT/analyze.time" \
    "$LVSMON" analyze --format html -o "$OUT/report.html" "$LOG" || rc=$?
[ "$rc" -le 1 ] || exit "$rc"
echo "analyze --format html: $(cat "$OUT/analyze.time")"
echo "report: $(stat -c %s "$OUT/report.html") bytes"
cargo run --quiet --release --locked --example report_open -- "$OUT/report.html" 5 | tee "$OUT/open.txt"

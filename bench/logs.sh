#!/usr/bin/env bash
# Log classifier benchmark: lvsmon's classifier (`lvsmon analyze`) against Debian's mtail
# (bench/logs/keepalived.mtail: the same kinds and label captures) and `grep -c -E` over
# the same key phrases, on one generated file of realistic keepalived/kernel syslog lines
# (bench/logs/gen_logs.py). Each run is pinned to one core.
#
#   bash bench/logs.sh              # 1M lines
#   BENCH_LOG_LINES=200000 bash bench/logs.sh
#
# lvsmon and grep run BENCH_REPEAT times (default 7), alternating; the table shows each one's
# median run by CPU time. mtail (~10 s a run) runs once.
# Environment: BENCH_SKIP_BUILD=1 uses the existing target/release/lvsmon. Raw outputs
# and a results table go to bench/out/logs/. mtail listens on 127.0.0.1 only.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=$ROOT/bench/out/logs
N=${BENCH_LOG_LINES:-1000000}
LVSMON=${CARGO_TARGET_DIR:-$ROOT/target}/release/lvsmon
mkdir -p "$OUT"
for t in python3 mtail grep /usr/bin/time; do
    command -v "$t" >/dev/null || { echo "bench/logs.sh: $t is missing (scripts/install-deps.sh)" >&2; exit 1; }
done
[ "${BENCH_SKIP_BUILD:-0}" = 1 ] || (cd "$ROOT" && cargo build --release --locked)

LOG=$OUT/keepalived-$N.log
[ -s "$LOG" ] || python3 "$ROOT/bench/logs/gen_logs.py" "$N" "$LOG"
SMALL=$OUT/keepalived-$((N / 10)).log
[ -s "$SMALL" ] || head -n $((N / 10)) "$LOG" >"$SMALL"
PIN=()
command -v taskset >/dev/null && PIN=(taskset -c 0)

PHRASES='Entering (MASTER|BACKUP|FAULT) STATE|Receive advertisement timeout|with higher priority|lower priority|invalid passwd|VRRP_Script|TCP connection to|Timeout connecting|_CHECK on service|(Removing|Adding) service|quorum|no destination available|table full'

# run NAME CMD...: one more line of elapsed s, user s, sys s, peak RSS KiB in $OUT/NAME.times
# (`lvsmon analyze` exits 1 when it found a critical incident: a result, not a failure.)
run() {
    local name=$1 rc=0; shift
    /usr/bin/time -f "%e %U %S %M" -a -o "$OUT/$name.times" "${PIN[@]}" "$@" >"$OUT/$name.out" || rc=$?
    [ "$rc" -le 1 ] || return "$rc"
}
# median NAME: the run with the median CPU time (user + sys) into $OUT/NAME.time. A run of
# grep is ~0.1 s and time(1) counts in 10 ms steps, so one run each cannot tell 2.8x from 3.3x.
median() {
    # (time(1) writes "Command exited with non-zero status 1" before the figures then.)
    sort -n -k5 < <(awk '/^[0-9]/ { print $0, $2 + $3 }' "$OUT/$1.times") |
        awk '{ l[NR] = $1 " " $2 " " $3 " " $4 } END { print l[int((NR + 1) / 2)] }' >"$OUT/$1.time"
}
REPEAT=${BENCH_REPEAT:-7}
rm -f "$OUT"/*.times
# lvsmon and grep alternate, so that both see the same machine.
for _ in $(seq "$REPEAT"); do
    run lvsmon "$LVSMON" analyze --no-incidents --format json --year 2026 "$LOG"
    run grep grep -c -E "$PHRASES" "$LOG"
    run lvsmon-small "$LVSMON" analyze --no-incidents --format json --year 2026 "$SMALL"
    # The default, with the incident engine (reported, not in the ratios: mtail and grep
    # only count; see docs/benchmarks.md).
    run lvsmon-incidents "$LVSMON" analyze --format json --year 2026 "$LOG"
done
run mtail mtail --one_shot --one_shot_format prometheus --address 127.0.0.1 --port 0 \
    --progs "$ROOT/bench/logs/keepalived.mtail" --logs "$LOG" --logtostderr=false
for name in lvsmon grep lvsmon-small lvsmon-incidents mtail; do median "$name"; done

# The same events, counted by both? (mtail's series summed by kind.)
python3 - "$OUT" <<'PY'
import json, re, sys
out = sys.argv[1]
lv = json.load(open(f"{out}/lvsmon.out"))["events"]
mt = {}
for line in open(f"{out}/mtail.out"):
    m = re.match(r'lvsmon_log_events_total\{.*kind="([^"]+)".*\} (\d+)', line)
    if m:
        mt[m.group(1)] = mt.get(m.group(1), 0) + int(m.group(2))
bad = {k: (lv.get(k, 0), mt.get(k, 0)) for k in set(lv) | set(mt) if lv.get(k, 0) != mt.get(k, 0)}
print("events by kind (lvsmon = mtail):", "identical" if not bad else f"DIFFER {bad}")
json.dump({"lvsmon": lv, "mtail": mt, "differ": bad}, open(f"{out}/crosscheck.json", "w"), indent=1)
PY

{
    echo "| program | lines | elapsed (s) | CPU (s) | lines/s | peak RSS (MB) |"
    echo "|---|---|---|---|---|---|"
    for name in lvsmon lvsmon-small lvsmon-incidents mtail grep; do
        read -r e u s m <"$OUT/$name.time"
        lines=$N; [ "$name" = lvsmon-small ] && lines=$((N / 10))
        awk -v n="$name" -v l="$lines" -v e="$e" -v u="$u" -v s="$s" -v m="$m" 'BEGIN {
            cpu = u + s; printf "| %s | %d | %.2f | %.2f | %.0f | %.1f |\n", n, l, e, cpu, l / (cpu > 0 ? cpu : 0.01), m / 1024 }'
    done
    read -r le lu ls _ <"$OUT/lvsmon.time"
    read -r me mu ms _ <"$OUT/mtail.time"
    read -r ge gu gs _ <"$OUT/grep.time"
    awk -v l="$lu $ls" -v m="$mu $ms" -v g="$gu $gs" 'BEGIN {
        split(l, a, " "); split(m, b, " "); split(g, c, " ")
        lc = a[1] + a[2]; mc = b[1] + b[2]; gc = c[1] + c[2]
        printf "\nCPU ratios: mtail / lvsmon = %.1f x; lvsmon / grep -c -E = %.2f x\n", mc / lc, lc / (gc > 0 ? gc : 0.01) }'
    echo "grep matched $(cat "$OUT/grep.out") lines; lvsmon: $(python3 -c "import json;d=json.load(open('$OUT/lvsmon.out'));print(d['matched'],'of',d['lines'])")"
    echo "lvsmon (default, with incidents) found $(python3 -c "import json;print(len(json.load(open('$OUT/lvsmon-incidents.out'))['incidents']))") incidents"
} | tee "$OUT/results.md"

#!/usr/bin/env bash
# Scrape benchmark: lvsmon vs prometheus-node-exporter's ipvs collector, same fake procfs.
#
#   bash bench/run.sh            # sizes S M L
#   bash bench/run.sh S M        # only these sizes
#
# Environment:
#   BENCH_EXPORTERS  "lvsmon node_exporter" (default) or one of them
#   BENCH_SKIP_BUILD 1 = use the existing release build (cargo metadata's target directory)
#   BENCH_REGEN      1 = rewrite the procfs trees even if present
#   BENCH_N_SMALL / BENCH_N_LARGE  scrapes per exporter (20 for S and M, 10 for L)
#   BENCH_GZIP       0 = skip the second pass that scrapes with Accept-Encoding: gzip, as
#                    Prometheus does (default 1)
#
# All traffic goes to 127.0.0.1. Each exporter is scraped alone (never both at once),
# so on a 2-core machine they do not compete. Raw results go to bench/out/.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench
OUT=$BENCH/out
SIZES=("$@")
[ ${#SIZES[@]} -eq 0 ] && SIZES=(S M L)
read -r -a EXPORTERS <<<"${BENCH_EXPORTERS:-lvsmon node_exporter}"
N_SMALL=${BENCH_N_SMALL:-20}
N_LARGE=${BENCH_N_LARGE:-10}
NODE_EXPORTER=${NODE_EXPORTER:-prometheus-node-exporter}
# cargo's own answer for where builds go (CARGO_TARGET_DIR, a wrapper's choice, or target/)
TARGET_DIR=$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps 2>/dev/null |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])' 2>/dev/null ||
    echo "${CARGO_TARGET_DIR:-$ROOT/target}")
LVSMON=$TARGET_DIR/release/lvsmon

for s in "${SIZES[@]}"; do
    case $s in S|M|L) ;; *) echo "unknown size '$s' (want S, M or L)" >&2; exit 2 ;; esac
done

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
has() { local e; for e in "${EXPORTERS[@]}"; do [ "$e" = "$1" ] && return 0; done; return 1; }

# ---- 1. tools -------------------------------------------------------------------------
need_pkgs=()
command -v curl >/dev/null 2>&1 || need_pkgs+=(curl)
if has node_exporter && ! command -v "$NODE_EXPORTER" >/dev/null 2>&1; then
    need_pkgs+=(prometheus-node-exporter)
fi
if [ ${#need_pkgs[@]} -gt 0 ]; then
    log "installing ${need_pkgs[*]} with apt-get"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi
command -v python3 >/dev/null 2>&1 || { echo "python3 is required" >&2; exit 1; }
CLK_TCK=$(getconf CLK_TCK)

# ---- 2. build -------------------------------------------------------------------------
if has lvsmon; then
    if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
        log "cargo build --release (waits if another build holds the lock)"
        (cd "$ROOT" && cargo build --release --quiet)
    fi
    [ -x "$LVSMON" ] || { echo "missing $LVSMON" >&2; exit 1; }
fi

# ---- 3. trees -------------------------------------------------------------------------
mkdir -p "$OUT"
for s in "${SIZES[@]}"; do
    tree=$OUT/tree-$s
    if [ "${BENCH_REGEN:-0}" = 1 ] || [ ! -f "$tree/manifest.json" ] || [ "$BENCH/gen_procfs.py" -nt "$tree/manifest.json" ]; then
        rm -rf "$tree"
        python3 "$BENCH/gen_procfs.py" --size "$s" "$tree" >&2
    fi
done

# ---- 4. run ---------------------------------------------------------------------------
RUN_ID=$(date +%Y%m%d-%H%M%S)
RUN=$OUT/run-$RUN_ID
mkdir -p "$RUN"
ln -sfn "run-$RUN_ID" "$OUT/latest"

PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do
        if kill -0 "$p" 2>/dev/null; then kill "$p" 2>/dev/null || true; fi
    done
    for p in "${PIDS[@]}"; do
        for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$p" 2>/dev/null && kill -9 "$p" 2>/dev/null || true
    done
    PIDS=()
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

cpu_ticks() { # utime+stime of a whole process (all threads), in clock ticks
    awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}
machine_ticks() { # "busy total" clock ticks summed over all CPUs, from /proc/stat
    awk '$1 == "cpu" { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t; exit }' /proc/stat
}
busy_pct() { # share of the machine's CPU time that was busy over $1 seconds
    local b0 t0 b1 t1
    read -r b0 t0 < <(machine_ticks); sleep "$1"; read -r b1 t1 < <(machine_ticks)
    awk -v b="$((b1 - b0))" -v t="$((t1 - t0))" 'BEGIN { printf "%.0f", (t > 0 ? 100 * b / t : 0) }'
}
wait_quiet() { # bounded: up to BENCH_WAIT_QUIET seconds for the machine to be < 25% busy
    local limit=${BENCH_WAIT_QUIET:-0} waited=0 b
    while :; do
        b=$(busy_pct 2)
        if [ "$b" -lt 25 ] || [ "$waited" -ge "$limit" ]; then echo "$b"; return; fi
        waited=$((waited + 2))
    done
}
status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

wait_up() { # pid port name: bounded wait, 30 s
    local i
    for i in $(seq 1 300); do
        kill -0 "$1" 2>/dev/null || { log "$3 exited early, see its log"; return 1; }
        if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$2/" 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    log "$3 did not answer on 127.0.0.1:$2 within 30 s"
    return 1
}

RESULTS=$RUN/results.tsv
printf 'size\texporter\tversion\tn\tlat_median_ms\tlat_max_ms\tcpu_ms_per_scrape\tidle_rss_kb\tpeak_rss_kb\tbody_bytes\tsample_lines\tbackend_series\texpected_backends\tvalues_ok\tbusy_before_pct\tother_load_pct\n' >"$RESULTS"

lvsmon_version=""; ne_version=""
if has lvsmon; then lvsmon_version=$("$LVSMON" --version 2>/dev/null | head -1 || true); fi
if has node_exporter; then ne_version=$("$NODE_EXPORTER" --version 2>&1 | head -1 | sed 's/^node_exporter, //'); fi

for s in "${SIZES[@]}"; do
    tree=$OUT/tree-$s
    expected=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["backends"])' "$tree/manifest.json")
    if [ "$s" = L ]; then n=$N_LARGE; else n=$N_SMALL; fi

    declare -A PID=() PORT=()
    for e in "${EXPORTERS[@]}"; do
        port=$(free_port)
        case $e in
        lvsmon)
            "$LVSMON" serve --path.procfs "$tree" --web.listen-address "127.0.0.1:$port" \
                >"$RUN/$s-lvsmon.log" 2>&1 &
            ;;
        node_exporter)
            "$NODE_EXPORTER" --path.procfs "$tree" --collector.disable-defaults --collector.ipvs \
                --web.listen-address "127.0.0.1:$port" >"$RUN/$s-node_exporter.log" 2>&1 &
            ;;
        esac
        PID[$e]=$!; PORT[$e]=$port; PIDS+=("$!")
    done
    for e in "${EXPORTERS[@]}"; do wait_up "${PID[$e]}" "${PORT[$e]}" "$e"; done
    # let both settle before reading the idle RSS: runtime threads, allocator, and lvsmon's
    # incident engine, which reads the whole table every 5 s (its first look at start; the
    # idle figure is taken after a second one)
    sleep 6

    for e in "${EXPORTERS[@]}"; do
        pid=${PID[$e]}; port=${PORT[$e]}
        url="http://127.0.0.1:$port/metrics"
        idle_rss=$(status_kb "$pid" VmRSS)
        # other work on the machine skews latency (and a little CPU time): measure it
        busy=$(wait_quiet)
        body=$RUN/$s-$e.prom
        # warm-up, not counted
        curl -s -o "$body" --max-time 120 "$url"
        lat=$RUN/$s-$e.latency
        : >"$lat"
        t0=$(cpu_ticks "$pid"); read -r mb0 mt0 < <(machine_ticks)
        for _ in $(seq 1 "$n"); do
            curl -s -o "$body" --max-time 120 -w '%{time_total}\n' "$url" >>"$lat"
        done
        t1=$(cpu_ticks "$pid"); read -r mb1 mt1 < <(machine_ticks)
        # busy share of the machine during the scrapes, less the exporter's own CPU time
        other=$(awk -v b="$((mb1 - mb0))" -v t="$((mt1 - mt0))" -v own="$((t1 - t0))" \
            'BEGIN { printf "%.0f", (t > 0 ? 100 * (b - own) / t : 0) }')
        peak_rss=$(status_kb "$pid" VmHWM)
        kill -0 "$pid" 2>/dev/null || { log "$e died during the $s run"; exit 1; }
        bytes=$(stat -c %s "$body")
        samples=$(grep -vc -e '^#' -e '^$' "$body" || true)
        case $e in
        lvsmon) series=$(grep -c '^ipvs_backend_weight{' "$body" || true); ver=$lvsmon_version ;;
        node_exporter) series=$(grep -c '^node_ipvs_backend_weight{' "$body" || true); ver=$ne_version ;;
        esac
        if python3 "$BENCH/compare.py" "$tree" "$body" --exporter "$e" --json "$RUN/$s-$e.compare.json" \
            >"$RUN/$s-$e.compare.txt" 2>&1; then vok=yes; else vok=no; fi
        read -r med max < <(sort -g "$lat" | awk '{ v[NR] = $1 } END {
            m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
            printf "%.2f %.2f\n", m * 1000, v[NR] * 1000 }')
        cpu=$(awk -v a="$t0" -v b="$t1" -v n="$n" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", (b - a) * 1000 / hz / n }')
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
            "$s" "$e" "$ver" "$n" "$med" "$max" "$cpu" "$idle_rss" "$peak_rss" "$bytes" "$samples" \
            "$series" "$expected" "$vok" "$busy" "$other" >>"$RESULTS"
        log "$s $e: median ${med} ms, max ${max} ms, cpu ${cpu} ms/scrape, idle ${idle_rss} kB, peak ${peak_rss} kB, ${series}/${expected} backends, values ok: $vok, machine busy before ${busy}%, other load during ${other}%"
    done
    cleanup
    unset PID PORT
    if has lvsmon && has node_exporter; then
        python3 "$BENCH/crosscheck.py" "$RUN/$s-node_exporter.prom" "$RUN/$s-lvsmon.prom" \
            >"$RUN/$s-crosscheck.txt" 2>&1 || true
        log "$s crosscheck: $(sed -n 2p "$RUN/$s-crosscheck.txt")"
    fi
done

# ---- 4b. edge case: IPv4 and IPv6 fwmark services sharing a mark (S-sized tree) ---------
if has lvsmon && has node_exporter; then
    tree=$OUT/tree-S-dualfwm
    if [ ! -f "$tree/manifest.json" ] || [ "$BENCH/gen_procfs.py" -nt "$tree/manifest.json" ]; then
        rm -rf "$tree"
        python3 "$BENCH/gen_procfs.py" --size S --dual-stack-fwmark "$tree" >&2
    fi
    declare -A PID=() PORT=()
    PORT[lvsmon]=$(free_port)
    "$LVSMON" serve --path.procfs "$tree" --web.listen-address "127.0.0.1:${PORT[lvsmon]}" \
        >"$RUN/dualfwm-lvsmon.log" 2>&1 &
    PID[lvsmon]=$!; PIDS+=("$!")
    PORT[node_exporter]=$(free_port)
    "$NODE_EXPORTER" --path.procfs "$tree" --collector.disable-defaults --collector.ipvs \
        --web.listen-address "127.0.0.1:${PORT[node_exporter]}" >"$RUN/dualfwm-node_exporter.log" 2>&1 &
    PID[node_exporter]=$!; PIDS+=("$!")
    for e in lvsmon node_exporter; do
        wait_up "${PID[$e]}" "${PORT[$e]}" "$e"
        curl -s -o "$RUN/dualfwm-$e.prom" --max-time 60 "http://127.0.0.1:${PORT[$e]}/metrics"
    done
    cleanup
    python3 "$BENCH/crosscheck.py" "$RUN/dualfwm-node_exporter.prom" "$RUN/dualfwm-lvsmon.prom" \
        >"$RUN/dualfwm-crosscheck.txt" 2>&1 || true
    log "dual-stack fwmark tree: $(sed -n 1p "$RUN/dualfwm-crosscheck.txt") (expected 40)"
fi

# ---- 4c. as Prometheus scrapes: Accept-Encoding gzip ------------------------------------
# Prometheus always asks for gzip. Each exporter alone again, on the same trees: CPU per
# scrape, latency and the bytes that cross the wire (the compressed body), per size.
GZIP_RESULTS=$RUN/gzip.tsv
if [ "${BENCH_GZIP:-1}" = 1 ]; then
    printf 'size\texporter\tn\tlat_median_ms\tcpu_ms_per_scrape\twire_bytes\tplain_bytes\tseries\n' >"$GZIP_RESULTS"
    for s in "${SIZES[@]}"; do
        tree=$OUT/tree-$s
        if [ "$s" = L ]; then n=$N_LARGE; else n=$N_SMALL; fi
        for e in "${EXPORTERS[@]}"; do
            port=$(free_port)
            case $e in
            lvsmon) "$LVSMON" serve --path.procfs "$tree" --web.listen-address "127.0.0.1:$port" \
                        >"$RUN/$s-$e-gzip.log" 2>&1 & ;;
            node_exporter) "$NODE_EXPORTER" --path.procfs "$tree" --collector.disable-defaults \
                        --collector.ipvs --web.listen-address "127.0.0.1:$port" >"$RUN/$s-$e-gzip.log" 2>&1 & ;;
            esac
            pid=$!; PIDS+=("$pid")
            wait_up "$pid" "$port" "$e"
            url="http://127.0.0.1:$port/metrics"
            body=$RUN/$s-$e.prom.gz
            wait_quiet >/dev/null
            curl -s -H 'Accept-Encoding: gzip' -o "$body" --max-time 120 "$url"
            lat=$RUN/$s-$e-gzip.latency
            : >"$lat"
            t0=$(cpu_ticks "$pid")
            for _ in $(seq 1 "$n"); do
                curl -s -H 'Accept-Encoding: gzip' -o "$body" --max-time 120 -w '%{time_total}\n' "$url" >>"$lat"
            done
            t1=$(cpu_ticks "$pid")
            wire=$(stat -c %s "$body")
            plain=$(gzip -dc <"$body" | wc -c)
            series=$(gzip -dc <"$body" | grep -vc -e '^#' -e '^$' || true)
            med=$(sort -g "$lat" | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f", m * 1000 }')
            cpu=$(awk -v a="$t0" -v b="$t1" -v n="$n" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", (b - a) * 1000 / hz / n }')
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$s" "$e" "$n" "$med" "$cpu" "$wire" "$plain" "$series" >>"$GZIP_RESULTS"
            log "$s $e gzip: median ${med} ms, cpu ${cpu} ms/scrape, ${wire} bytes on the wire (${plain} plain), ${series} series"
            cleanup
        done
    done
fi

# ---- 5. report ------------------------------------------------------------------------
{
    echo "machine: $(nproc) CPUs, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), kernel $(uname -r)"
    echo "lvsmon: ${lvsmon_version:-not run} (source: $(cd "$ROOT" && git describe --always --dirty 2>/dev/null || echo 'no commit yet'), $(rustc --version 2>/dev/null || echo 'rustc ?'))"
    echo "node_exporter: ${ne_version:-not run}"
    echo "client: $(curl --version | head -1 | cut -d' ' -f1-2), $(python3 --version); CLK_TCK=$CLK_TCK; scrapes per exporter: S/M $N_SMALL, L $N_LARGE (+1 warm-up)"
    echo
    python3 - "$RESULTS" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
print("| size | exporter | latency median / max (ms) | CPU ms/scrape | idle RSS MB | peak RSS MB | body KB | samples | backend series (expected) | values match | other load % |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
mb = lambda kb: "%.1f" % (int(kb) / 1024) if kb else "?"
for r in rows:
    print("| %s | %s | %s / %s | %s | %s | %s | %.0f | %s | %s (%s) | %s | %s |" % (
        r["size"], r["exporter"], r["lat_median_ms"], r["lat_max_ms"], r["cpu_ms_per_scrape"],
        mb(r["idle_rss_kb"]), mb(r["peak_rss_kb"]), int(r["body_bytes"]) / 1024, r["sample_lines"],
        r["backend_series"], r["expected_backends"], r["values_ok"], r["other_load_pct"]))
by = {(r["size"], r["exporter"]): r for r in rows}
ratios = []
for size in dict.fromkeys(r["size"] for r in rows):
    a, b = by.get((size, "node_exporter")), by.get((size, "lvsmon"))
    if not (a and b):
        continue
    def ratio(k):
        x, y = float(a[k]), float(b[k])
        return "%.1fx" % (x / y) if y > 0 else "n/a (lvsmon 0)"
    ratios.append("| %s | **node_exporter / lvsmon** | %s | %s | %s | %s | | | | | |" % (
        size, "%.1fx" % (float(a["lat_median_ms"]) / float(b["lat_median_ms"])) if float(b["lat_median_ms"]) else "n/a",
        ratio("cpu_ms_per_scrape"), ratio("idle_rss_kb"), ratio("peak_rss_kb")))
        # (the trailing empty cells keep the row as wide as the table)
for line in ratios:
    print(line)
EOF
    if [ -f "$GZIP_RESULTS" ]; then
        echo
        echo "As Prometheus scrapes (Accept-Encoding: gzip):"
        echo
        python3 - "$GZIP_RESULTS" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
print("| size | exporter | latency median (ms) | CPU ms/scrape | on the wire KB | plain KB | series |")
print("|---|---|---|---|---|---|---|")
for r in rows:
    print("| %s | %s | %s | %s | %.0f | %.0f | %s |" % (r["size"], r["exporter"], r["lat_median_ms"],
        r["cpu_ms_per_scrape"], int(r["wire_bytes"]) / 1024, int(r["plain_bytes"]) / 1024, r["series"]))
EOF
    fi
    if [ -f "$RUN/dualfwm-crosscheck.txt" ]; then
        echo
        echo "IPv4 + IPv6 fwmark services sharing a mark (tree-S-dualfwm, 40 backends): $(sed -n 1p "$RUN/dualfwm-crosscheck.txt")"
    fi
} | tee "$RUN/results.md"
log "raw results in $RUN (bench/out/latest)"

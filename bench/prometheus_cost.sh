#!/usr/bin/env bash
# What a director costs its Prometheus: a real Prometheus (Debian's package, on 127.0.0.1)
# scrapes one exporter alone on a bench tree with default settings (gzip, 15 s interval)
# for DURATION seconds; then its head series, samples per scrape, scrape duration, bytes
# and Prometheus's own RSS are read back. lvsmon and node_exporter in turn, never together.
#
#   bash bench/prometheus_cost.sh [SIZE [DURATION]]     # default L 180
#
# Environment: PROM_INTERVAL / PROM_TIMEOUT (Prometheus's defaults, 15s / 10s),
# EXPORTERS ("lvsmon node_exporter").
#
# Needs bench/out/tree-SIZE (bash bench/run.sh SIZE writes it), prometheus,
# prometheus-node-exporter and a release lvsmon ($CARGO_TARGET_DIR or target/release).
# Results: bench/out/prometheus-cost-SIZE.tsv and a Markdown table on stdout.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=$ROOT/bench/out
SIZE=${1:-L}
DURATION=${2:-180}
INTERVAL=${PROM_INTERVAL:-15s}
TIMEOUT=${PROM_TIMEOUT:-10s}
read -r -a EXPORTERS <<<"${EXPORTERS:-lvsmon node_exporter}"
TREE=$OUT/tree-$SIZE
LVSMON=${CARGO_TARGET_DIR:-$ROOT/target}/release/lvsmon
NODE_EXPORTER=${NODE_EXPORTER:-prometheus-node-exporter}
[ -f "$TREE/manifest.json" ] || { echo "missing $TREE: run bash bench/run.sh $SIZE first" >&2; exit 1; }
for t in prometheus "$NODE_EXPORTER" "$LVSMON" curl python3; do
    command -v "$t" >/dev/null || [ -x "$t" ] || { echo "missing $t" >&2; exit 1; }
done

log() { printf '[prometheus-cost %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
PIDS=()
WORK=$(mktemp -d)
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    PIDS=()
}
trap 'cleanup; rm -rf "$WORK"' EXIT
wait_http() { # url, bounded 60 s
    local i
    for i in $(seq 1 600); do
        curl -s -o /dev/null --max-time 1 "$1" && return 0
        sleep 0.1
    done
    log "$1 never answered"; return 1
}
query() { # PromQL -> first value
    curl -s --max-time 10 "http://127.0.0.1:$PPORT/api/v1/query" --data-urlencode "query=$1" |
        python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "nan")'
}

RES=$OUT/prometheus-cost-$SIZE-$(date +%H%M%S).tsv
printf 'exporter\tinterval\ttimeout\tup\tseconds\thead_series\tsamples_per_scrape\tscrape_seconds\tprometheus_rss_mb\texporter_cpu_s\n' >"$RES"
for e in "${EXPORTERS[@]}"; do
    port=$(free_port)
    case $e in
    lvsmon) "$LVSMON" serve --path.procfs "$TREE" --web.listen-address "127.0.0.1:$port" >"$WORK/$e.log" 2>&1 & ;;
    node_exporter) "$NODE_EXPORTER" --path.procfs "$TREE" --collector.disable-defaults --collector.ipvs \
        --web.listen-address "127.0.0.1:$port" >"$WORK/$e.log" 2>&1 & ;;
    esac
    epid=$!; PIDS+=("$epid")
    wait_http "http://127.0.0.1:$port/metrics"
    PPORT=$(free_port)
    mkdir -p "$WORK/$e-data"
    cat >"$WORK/$e.yml" <<YML
global:
  scrape_interval: $INTERVAL
  scrape_timeout: $TIMEOUT
scrape_configs:
  - job_name: $e
    static_configs:
      - targets: ['127.0.0.1:$port']
YML
    prometheus --config.file="$WORK/$e.yml" --storage.tsdb.path="$WORK/$e-data" \
        --web.listen-address="127.0.0.1:$PPORT" >"$WORK/$e-prometheus.log" 2>&1 &
    ppid=$!; PIDS+=("$ppid")
    wait_http "http://127.0.0.1:$PPORT/-/ready"
    c0=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$epid/stat")
    log "$e: Prometheus scraping for $DURATION s"
    sleep "$DURATION"
    c1=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$epid/stat")
    # Prometheus's own metrics (it does not scrape itself here).
    head=$(curl -s --max-time 10 "http://127.0.0.1:$PPORT/metrics" | awk '$1 == "prometheus_tsdb_head_series" { print $2 }')
    samples=$(query "scrape_samples_scraped{job=\"$e\"}")
    dur=$(query "scrape_duration_seconds{job=\"$e\"}")
    up=$(query "up{job=\"$e\"}")
    rss=$(awk '/^VmRSS:/ { printf "%.0f", $2 / 1024 }' "/proc/$ppid/status")
    cpu=$(awk -v a="$c0" -v b="$c1" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", (b - a) / hz }')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$e" "$INTERVAL" "$TIMEOUT" "$up" "$DURATION" "$head" "$samples" "$dur" "$rss" "$cpu" >>"$RES"
    log "$e: up $up, head series $head, samples/scrape $samples, last scrape ${dur}s, Prometheus RSS ${rss} MB, exporter CPU ${cpu}s"
    cleanup
done
echo "| exporter | interval / timeout | up | head series | samples per scrape | last scrape (s) | Prometheus RSS MB | exporter CPU s in ${DURATION} s |"
echo "|---|---|---|---|---|---|---|---|"
tail -n +2 "$RES" | awk -F'\t' '{ printf "| %s | %s / %s | %s | %s | %s | %.3f | %s | %s |\n", $1, $2, $3, $4, $6, $7, $8, $9, $10 }'

#!/usr/bin/env bash
# Makes docs/report.png, the README's picture of `lvsmon analyze --format html`, from the
# demo data compiled into lvsmon (src/demo/logs): the real keepalived 2.2.7 consoles of two
# directors (lb-a's lines, then lb-b's, in one capture: a crash, a failover, a preemption)
# and the health checker of the VM harness's director (a real server out, the quorum lost).
# The page is opened in Debian's chromium, headless, at 1280 px, zoomed (#view=…) to the
# VRRP capture's minute so the failover can be seen; the incident table lists all.
#
#   scripts/report-screenshot.sh [LVSMON_BINARY]     (default: a debug build via cargo)
set -euo pipefail
cd "$(dirname "$0")/.."
lvsmon=${1:-}
if [ -z "$lvsmon" ]; then
    cargo build --quiet
    lvsmon="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')/debug/lvsmon"
fi
command -v chromium >/dev/null || { echo "report-screenshot: chromium missing: scripts/install-deps.sh" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The VRRP capture is lb-a's console (up to its "Stopped Keepalived"), then lb-b's.
split=$(grep -n 'Stopped Keepalived' src/demo/logs/keepalived-2.2.7.log | head -1 | cut -d: -f1)
head -n "$split" src/demo/logs/keepalived-2.2.7.log > "$tmp/lb-a.log"
tail -n +"$((split + 1))" src/demo/logs/keepalived-2.2.7.log > "$tmp/lb-b.log"
TZ=UTC "$lvsmon" analyze --format html -o "$tmp/report.html" \
    "$tmp/lb-a.log@lb-a" "$tmp/lb-b.log@lb-b" src/demo/logs/keepalived-2.2.7-check.log@vm ||
    [ $? -eq 1 ] # 1: a critical incident was found, which the picture is for
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$tmp/profile" --hide-scrollbars --window-size=1280,1150 \
    --screenshot="$PWD/docs/report.png" \
    "file://$tmp/report.html#view=2026-12-01T23:44:14Z,2026-12-01T23:44:38Z" 2>/dev/null
echo "report-screenshot: docs/report.png ($(stat -c %s docs/report.png) bytes)"

#!/usr/bin/env bash
# Fuzz smoke test: builds the cargo-fuzz targets under fuzz/ and runs each for a short time.
#
#   bash tests/fuzz-smoke.sh [SECONDS_PER_TARGET]     (default 20)
#
# Installs cargo-fuzz if missing (cargo install cargo-fuzz --locked) and needs a nightly
# toolchain (installed with rustup if absent). Seeds from fuzz/seeds/<target>/ are copied
# into fuzz/corpus/<target>/ (git-ignored), which keeps what earlier runs found. Crash
# inputs land in fuzz/artifacts/<target>/; reproduce one with
#   cargo +nightly fuzz run -s none --codegen-units 16 <target> fuzz/artifacts/<target>/crash-...
#
# Environment: FUZZ_TARGETS (space-separated subset), FUZZ_SANITIZER (default "none": the
# crate has no unsafe code, and without ASan the build and the runs are much faster; use
# "address" to include it). One process per target, never -jobs/-workers.
set -euo pipefail

secs="${1:-20}"
case "$secs" in
'' | *[!0-9]*)
	echo "usage: $0 [SECONDS_PER_TARGET]" >&2
	exit 2
	;;
esac

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
targets="${FUZZ_TARGETS:-procfs_services procfs_stats procfs_percpu conntable lines netlink_replies log_frame log_classify keepalived_json keepalived_stats keepalived_check keepalived_notify identity_parse web_input check_inputs}"
sanitizer="${FUZZ_SANITIZER:-none}"
# The same flags for build and run, or `cargo fuzz run` rebuilds. 16 codegen units build
# much faster than cargo-fuzz's default of 1, for slightly slower runs.
fuzz_flags=(-s "$sanitizer" --codegen-units 16)
start=$(date +%s)

# --- toolchain -------------------------------------------------------------------------
if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
	echo "fuzz smoke: no nightly toolchain; installing one (rustup toolchain install nightly --profile minimal)"
	if ! rustup toolchain install nightly --profile minimal; then
		echo "fuzz smoke: FAILED: cargo-fuzz needs a nightly toolchain and it could not be installed" >&2
		exit 1
	fi
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
	echo "fuzz smoke: installing cargo-fuzz (cargo install cargo-fuzz --locked)"
	cargo install cargo-fuzz --locked
fi
echo "fuzz smoke: $(cargo fuzz --version), $(cargo +nightly --version), sanitizer=$sanitizer, ${secs}s per target"

# --- build all targets at once ----------------------------------------------------------
cargo +nightly fuzz build "${fuzz_flags[@]}"
built=$(date +%s)
echo "fuzz smoke: build took $((built - start))s"

# --- run --------------------------------------------------------------------------------
logdir="fuzz/target/smoke-logs"
mkdir -p "$logdir"
failed=()
for t in $targets; do
	mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
	if [ -d "fuzz/seeds/$t" ]; then
		cp -n "fuzz/seeds/$t"/* "fuzz/corpus/$t"/ 2>/dev/null || true
	fi
	log="$logdir/$t.log"
	if cargo +nightly fuzz run "${fuzz_flags[@]}" "$t" "fuzz/corpus/$t" -- \
		-max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 >"$log" 2>&1; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
		echo "fuzz smoke: $t ok (${runs:-?} runs)"
	else
		echo "fuzz smoke: $t FAILED; last lines of $log:" >&2
		tail -n 40 "$log" >&2
		ls -1 "fuzz/artifacts/$t" 2>/dev/null | sed 's|^|  artifact: fuzz/artifacts/'"$t"'/|' >&2 || true
		failed+=("$t")
	fi
done

end=$(date +%s)
echo "fuzz smoke: total $((end - start))s (build $((built - start))s)"
if [ "${#failed[@]}" -gt 0 ]; then
	echo "fuzz smoke: FAILED: ${failed[*]}" >&2
	exit 1
fi

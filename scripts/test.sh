#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls exactly this). Named steps:
#   deps      install what the tests need (scripts/install-deps.sh)
#   lint      cargo fmt --check; cargo clippy --all-targets -D warnings
#   unit      cargo test (fast: parsers, collectors, HTTP, CLI, promtool as an oracle)
#   vm        the real-kernel suite: a Debian kernel with IPVS under QEMU, real ipvsadm and
#             traffic, lvsmon run inside and compared with ipvsadm (tests/vm/ci.sh)
#   fuzz      a short cargo-fuzz run of every parser (tests/fuzz-smoke.sh)
# Pick steps with LVSMON_STEPS="lint unit" (default: all of them).
set -euo pipefail
cd "$(dirname "$0")/.."

steps="${LVSMON_STEPS:-deps lint unit vm fuzz}"
export LVSMON_REQUIRE_TOOLS=1
export CARGO_TERM_COLOR=never

step() {
    local name=$1; shift
    case " $steps " in *" $name "*) ;; *) echo "== step $name: skipped"; return 0 ;; esac
    echo "== step $name: $*"
    local t0=$SECONDS
    "$@"
    echo "== step $name: ok ($((SECONDS - t0)) s)"
}

lint() {
    cargo fmt --all -- --check
    cargo clippy --all-targets --locked -- -D warnings
}

vm() {
    cargo build --release --locked
    bash tests/vm/ci.sh --lvsmon target/release/lvsmon --out target/vm-captures
    # The same comparisons as the committed fixtures, on this run's fresh captures,
    # including the page lvsmon itself produced inside the VM.
    LVSMON_CAPTURES_DIR="$PWD/target/vm-captures" cargo test --locked --test kernel_captures
}

step deps scripts/install-deps.sh
step lint lint
step unit cargo test --locked
step vm vm
step fuzz bash tests/fuzz-smoke.sh "${LVSMON_FUZZ_SECONDS:-20}"
echo "== all steps passed: $steps"

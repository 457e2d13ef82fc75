#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls exactly this). Named steps:
#   deps      install what the tests need (scripts/install-deps.sh)
#   lint      cargo fmt --check; cargo clippy --all-targets -D warnings; the layer check
#             (scripts/check-layers.sh, after its self-test)
#   unit      cargo test (fast: parsers, collectors, HTTP, CLI, promtool as an oracle)
#   vm        the real-kernel suite: a Debian kernel with IPVS under QEMU, real ipvsadm and
#             traffic, lvsmon run inside and compared with ipvsadm (tests/vm/ci.sh)
#   keepalived-logs  real keepalived 2.2.7 in network namespaces (failover, respawn, auth
#             mismatch), its console output classified (tests/logs_keepalived.rs); a track
#             script, a link down and mismatched VIPs seen live by `serve` as incidents
#             (FAULTs, split brain, keepalived down; tests/keepalived_incidents.rs), and a
#             real systemd-journald in a private namespace feeding `serve --log.journal`
#             (tests/logs_journal.rs); a failover and keepalived restarts reaching a passive
#             `serve` through keepalived's notify FIFOs alone (tests/keepalived_notify.rs);
#             all need root
#   check-products  the monitoring products run `lvsmon check` through the shipped
#             deploy/nagios and deploy/zabbix files, each started on 127.0.0.1 by
#             tests/check_products.rs: Nagios 4 (state and perfdata it recorded), NRPE with
#             check_nrpe, Icinga 2's validator, the Zabbix agent (-t and its passive
#             protocol); about 6 s
#   zabbix-server  a real Zabbix 6.0 server (PostgreSQL, zabbix_server, the PHP frontend's
#             API under `php -S`, the agent, all on 127.0.0.1) imports deploy/zabbix's two
#             templates and discovers and collects the demo director through both
#             (tests/check_zabbix_server.rs); about 90 s
#   prometheus  the alert rules and dashboards in the real products: Debian's Prometheus
#             2.42 and Alertmanager on 127.0.0.1 over three `lvsmon serve` reading real
#             captures and keepalived dumps (two directors MASTER for one instance); the
#             split brain fires, reaches Alertmanager and resolves when one steps down, and
#             every dashboard query returns data (tests/prometheus_e2e.rs); about 47 s
#             (40 s of test, most of it the split-brain alert's 30 s `for`)
#   browser   Debian's chromium, headless, over the DevTools protocol (tests/browser.rs):
#             `analyze --format html` of real two-director keepalived captures (lanes, the
#             split brain drawn, incident rows, a <script> in a log line shown as text, no
#             request but the file) and `serve --demo`'s /status (refreshes itself, talks
#             to lvsmon only); no console error. Screenshots in target/screenshots; ~20 s
#   image     the container image (deploy/container, built FROM scratch with buildah from
#             the release binary) and deploy/kubernetes, validated offline and run
#             (tests/container.sh; tools from scripts/install-image-tools.sh); about 5 s
#             after the release build
#   deb       the Debian package (scripts/deb.sh): cargo-deb (installed from crates.io when
#             missing) after `lvsmon generate` (man pages, completions); its file list
#             (`dpkg-deb -c`), conffile, maintainer scripts, the shipped unit byte for byte,
#             and lintian (errors and warnings fail); then `dpkg -i` into a fresh Debian 12
#             root (mmdebstrap with systemd, keepalived, ipvsadm, man-db; cached under the
#             target dir by a hash of its recipe) and checks of what it installed, then a
#             purge (scripts/deb-install.sh); about 2–4 min (a release build), +25 s for a
#             first root
#   systemd-vm  the .deb under a real systemd (scripts/systemd-vm.sh): the Debian root of
#             the deb step plus the package, tests/vm's kernel and IPVS modules, booted
#             under QEMU with systemd as PID 1; keepalived (Debian's unit, a VRRP instance,
#             a virtual server with a checker, notify_fifo) as root and lvsmon under its
#             packaged unit; /metrics must show netlink, keepalived MASTER and the checker's
#             verdict through the FIFO, the journal and /dev/kmsg sources up, lvsmon in
#             group adm with CAP_NET_ADMIN+CAP_SYSLOG, exposure 2.0 under the real systemd
#   fuzz      a short cargo-fuzz run of every parser (tests/fuzz-smoke.sh)
# Pick steps with LVSMON_STEPS="lint unit" (default: all of them).
set -euo pipefail
cd "$(dirname "$0")/.."

steps="${LVSMON_STEPS:-deps lint unit vm keepalived-logs check-products zabbix-server prometheus browser image deb systemd-vm fuzz}"
export LVSMON_REQUIRE_TOOLS=1
export CARGO_TERM_COLOR=never
# A clean clone gains nothing from incremental state, and it took 1.2 GB of disk.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
# tests/http_load.rs: two 10 s phases of 50 scrapers beside a 50,000 lines/s log writer.
export LVSMON_LOAD_SECONDS="${LVSMON_LOAD_SECONDS:-10}"

# Free space where the builds go: a CI machine once ran out of disk in the deb step, and
# the log then showed tar's errors but not how much room the run had had.
free_space() {
    df -Ph . 2>/dev/null | awk 'NR == 2 { print $4 " free" }'
}

# Below 4 GiB free, the debug build (1.3 GB) goes before a step that needs none of it:
# image, deb and systemd-vm use the release build, fuzz its own.
make_room() {
    local avail
    avail=$(df -Pk . 2>/dev/null | awk 'NR == 2 { print $4 }')
    if [ "${avail:-0}" -lt $((4 * 1024 * 1024)) ] && [ -d target/debug ]; then
        echo "== disk: $(free_space); removing target/debug, which no later step uses"
        rm -rf target/debug
    fi
}

current=""
trap 'rc=$?; [ "$rc" -eq 0 ] || echo "== step ${current:-?}: FAILED (exit $rc; $(free_space))"' EXIT
echo "== disk: $(free_space) at the start"

step() {
    local name=$1; shift
    case " $steps " in *" $name "*) ;; *) echo "== step $name: skipped"; return 0 ;; esac
    echo "== step $name: $*"
    current=$name
    case $name in image | deb | systemd-vm | fuzz) make_room ;; esac
    local t0=$SECONDS
    "$@"
    echo "== step $name: ok ($((SECONDS - t0)) s; $(free_space))"
}

lint() {
    cargo fmt --all -- --check
    cargo clippy --all-targets --locked -- -D warnings
    bash scripts/check-layers.sh --self-test
    bash scripts/check-layers.sh
}

vm() {
    cargo build --release --locked
    rm -rf target/vm-captures
    bash tests/vm/ci.sh --lvsmon target/release/lvsmon --keep-out target/vm-captures
    # This run's fresh captures, including the pages lvsmon produced inside the VM (as root
    # over netlink, as an unprivileged user with and without CAP_NET_ADMIN, through
    # --ipvs.netns), checked against the kernel's /proc and ipvsadm from the same moment.
    LVSMON_CAPTURES_DIR="$PWD/target/vm-captures" LVSMON_REQUIRE_VM_PAGES=1 \
        cargo test --locked --test kernel_captures --test vm_netlink --test incidents_checkers \
            --test kernel_incidents
}

image() {
    scripts/install-image-tools.sh
    cargo build --release --locked
    bash tests/container.sh target/release/lvsmon
}

deb() {
    local pkg
    # -a: opening /dev/stderr without it truncates a log file stderr goes to, and the
    # whole run's log up to this step was lost.
    pkg=$(bash scripts/deb.sh | tee -a /dev/stderr | tail -1)
    bash scripts/deb-install.sh "$pkg"
}

systemd_vm() {
    local pkg
    pkg=$(bash scripts/deb.sh | tail -1)
    bash scripts/systemd-vm.sh "$pkg"
}

step deps scripts/install-deps.sh
step lint lint
step unit cargo test --locked
step vm vm
step keepalived-logs cargo test --locked --test logs_keepalived --test keepalived_incidents --test logs_journal --test keepalived_notify -- --include-ignored
step check-products cargo test --locked --test check_products -- --include-ignored
step zabbix-server cargo test --locked --test check_zabbix_server -- --include-ignored
step prometheus cargo test --locked --test prometheus_e2e -- --include-ignored
step browser cargo test --locked --test browser -- --include-ignored
step image image
step deb deb
step systemd-vm systemd_vm
step fuzz bash tests/fuzz-smoke.sh "${LVSMON_FUZZ_SECONDS:-20}"
echo "== all steps passed: $steps"

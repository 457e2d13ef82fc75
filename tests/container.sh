#!/usr/bin/env bash
# The `image` step (scripts/test.sh): the container image and the Kubernetes manifests,
# checked against the real tools.
#  1. scripts/build-image.sh builds deploy/container/Containerfile with buildah from the
#     release binary.
#  2. The image holds the binary, the libraries it links, /etc/passwd and /etc/group, and
#     nothing else (no shell); its entrypoint, default command and port are lvsmon's.
#  3. The binary it contains runs from the image's own root file system (a chroot into
#     `buildah mount`: this sandbox refuses `podman run`, whose runtime cannot set rlimits
#     here; where `podman run` works it is tried too): `--version`, and `dump` of a
#     real-kernel capture gives the same IPVS series as the host's build.
#  4. deploy/kubernetes: `kubernetes-validate --strict` (the Kubernetes API's schemas) for
#     the DaemonSet and the Service; the ServiceMonitor and PodMonitor against the
#     Prometheus Operator's CRD schemas; a broken copy of each is refused.
#  5. The DaemonSet's container args, as written, start `lvsmon serve` (its port and state
#     dir swapped for temporary ones, a real-kernel capture as /proc): /metrics answers with
#     the IPVS collector and the /dev/kmsg source up.
# Needs root (buildah's storage, chroot, /dev/kmsg) and scripts/install-image-tools.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/release/lvsmon}
TOOLS=target/tools
CAPTURE=tests/fixtures/kernel/nat4
fail() { echo "container.sh: FAIL: $*" >&2; exit 1; }
ok() { echo "container.sh: ok: $*"; }

# 1. build
image=$(LVSMON_IMAGE=localhost/lvsmon:ci scripts/build-image.sh "$BIN" | tail -n1)
ctr=$(buildah from "$image")
mnt=
cleanup() {
    [ -n "$mnt" ] && buildah umount "$ctr" >/dev/null 2>&1
    buildah rm "$ctr" >/dev/null 2>&1 || true
    [ -n "${SERVE_PID:-}" ] && kill "$SERVE_PID" 2>/dev/null
    rm -rf "${TMP:-/nonexistent}"
}
trap cleanup EXIT
mnt=$(buildah mount "$ctr")
ok "built $image"

# 2. contents and configuration
files=$(cd "$mnt" && find . -type f -o -type l | sort)
echo "$files" | grep -qx './usr/bin/lvsmon' || fail "no /usr/bin/lvsmon in the image"
for f in $files; do
    case "$f" in
        ./usr/bin/lvsmon|./etc/passwd|./etc/group|./lib64/ld-linux-x86-64.so.2) ;;
        ./lib/*.so*|./lib/x86_64-linux-gnu/*.so*|./usr/lib/x86_64-linux-gnu/*.so*) ;;
        *) fail "unexpected file in the image: $f" ;;
    esac
done
for sh in bin/sh bin/bash bin/busybox usr/bin/sh; do
    [ ! -e "$mnt/$sh" ] || fail "the image has a shell: /$sh"
done
cfg=$(buildah inspect --type image "$image")
echo "$cfg" | grep -q '"/usr/bin/lvsmon"' || fail "entrypoint is not /usr/bin/lvsmon"
echo "$cfg" | grep -q '"9689/tcp"' || fail "port 9689 not exposed"
ok "the image holds $(echo "$files" | wc -l) files, no shell; $(du -sh "$mnt" | cut -f1) in all"

# 3. the binary it contains, from its own root
chroot "$mnt" /usr/bin/lvsmon --version | grep -q '^lvsmon ' || fail "lvsmon --version in the image"
mkdir -p "$mnt/capture" && cp -r "$CAPTURE/proc" "$mnt/capture/"
series() { grep -E '^ipvs_' | sort; }
inside=$(chroot "$mnt" /usr/bin/lvsmon dump --path.procfs /capture/proc --no-collector.keepalived | series)
outside=$("$BIN" dump --path.procfs "$CAPTURE/proc" --no-collector.keepalived | series)
[ -n "$inside" ] || fail "no ipvs_ series from the image's binary"
[ "$inside" = "$outside" ] || fail "the image's binary disagrees with the host's: $(diff <(echo "$inside") <(echo "$outside") | head -5)"
rm -rf "$mnt/capture"
ok "the image's binary reads a real capture: $(echo "$inside" | wc -l) ipvs_ series, the same as the host build"
if out=$(timeout 60 podman run --rm --network none "$image" --version 2>&1); then
    echo "$out" | grep -q '^lvsmon ' || fail "podman run: $out"
    ok "podman run: $out"
else
    echo "container.sh: podman run refused here ($(echo "$out" | tail -n1)); the binary was run from the image's root instead"
fi

# 4. manifests
TMP=$(mktemp -d)
"$TOOLS/k8s-venv/bin/kubernetes-validate" --strict --quiet \
    deploy/kubernetes/daemonset.yaml deploy/kubernetes/service.yaml \
    || fail "kubernetes-validate refused deploy/kubernetes"
cp tests/k8s/validate-monitors.mjs "$TOOLS/k8s-npm/"
node "$TOOLS/k8s-npm/validate-monitors.mjs" deploy/kubernetes/servicemonitor.yaml \
    deploy/kubernetes/podmonitor.yaml || fail "Prometheus Operator schemas refused a monitor"
# The validators are not no-ops: a broken copy of each is refused.
sed 's/readOnlyRootFilesystem: true/readOnlyRootFilesystem: "yes"/' deploy/kubernetes/daemonset.yaml > "$TMP/bad-ds.yaml"
sed 's/protocol: TCP/protocol: TPC/; s/^  ports:/  portz:/' deploy/kubernetes/service.yaml > "$TMP/bad-svc.yaml"
sed 's/interval: 15s/interval: fifteen/' deploy/kubernetes/servicemonitor.yaml > "$TMP/bad-sm.yaml"
sed 's/scrapeTimeout: 10s/scrapeTimeout: 10/' deploy/kubernetes/podmonitor.yaml > "$TMP/bad-pm.yaml"
for bad in bad-ds bad-svc; do
    ! "$TOOLS/k8s-venv/bin/kubernetes-validate" --strict --quiet "$TMP/$bad.yaml" >/dev/null 2>&1 \
        || fail "kubernetes-validate accepted $bad"
done
for bad in bad-sm bad-pm; do
    ! node "$TOOLS/k8s-npm/validate-monitors.mjs" "$TMP/$bad.yaml" >/dev/null 2>&1 \
        || fail "the operator's schema accepted $bad"
done
ok "deploy/kubernetes valid (and broken copies refused)"

# 5. the DaemonSet's args start lvsmon
mapfile -t args < <("$TOOLS/k8s-venv/bin/python" - deploy/kubernetes/daemonset.yaml <<'PY'
import sys, yaml
ds = yaml.safe_load(open(sys.argv[1]))
for a in ds["spec"]["template"]["spec"]["containers"][0]["args"]:
    print(a)
PY
)
[ "${args[0]}" = serve ] || fail "the DaemonSet does not run serve: ${args[*]}"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
run=()
for a in "${args[@]:1}"; do
    case "$a" in
        --web.listen-address=*) run+=("--web.listen-address=127.0.0.1:$port") ;;
        --log.state-dir=*) mkdir -p "$TMP/state"; run+=("--log.state-dir=$TMP/state") ;;
        *) run+=("$a") ;;
    esac
done
"$BIN" serve "${run[@]}" --path.procfs "$CAPTURE/proc" > "$TMP/serve.log" 2>&1 &
SERVE_PID=$!
page=
for _ in $(seq 100); do
    page=$(curl -fsS "http://127.0.0.1:$port/metrics" 2>/dev/null) && break
    sleep 0.1
done
[ -n "$page" ] || fail "serve with the DaemonSet's args did not answer: $(tail -n 5 "$TMP/serve.log")"
echo "$page" | grep -q '^lvsmon_collector_up{collector="ipvs"} 1' || fail "ipvs collector not up"
echo "$page" | grep -qE '^lvsmon_log_source_up\{source="[^"]*kmsg[^"]*"\} 1' \
    || fail "/dev/kmsg source not up: $(echo "$page" | grep lvsmon_log_source_up)"
ok "serve ${args[*]:1}: ipvs and /dev/kmsg up"
echo "container.sh: all checks passed"

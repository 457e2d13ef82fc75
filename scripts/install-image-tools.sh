#!/usr/bin/env bash
# Installs, idempotently, the validators the `image` step (tests/container.sh) needs, from
# the language registries (their Debian tools come from scripts/install-deps.sh):
#   kubernetes-validate (PyPI, pinned) in target/tools/k8s-venv: the Kubernetes API's own
#                    schemas, offline
#   @kubernetes-models/prometheus-operator (npm, pinned) in target/tools/k8s-npm: the
#                    Prometheus Operator CRDs' schemas, for the ServiceMonitor and
#                    PodMonitor, which kubernetes-validate does not know
set -euo pipefail
cd "$(dirname "$0")/.."
KV_VERSION=1.37.0
PO_VERSION=6.0.0
JSYAML_VERSION=4.1.0

# buildah, python3-venv, node and npm come from scripts/install-deps.sh (the `deps` step).
for cmd in buildah python3 node npm; do
    command -v "$cmd" >/dev/null || { echo "install-image-tools: $cmd missing (scripts/install-deps.sh)" >&2; exit 1; }
done

venv=target/tools/k8s-venv
if ! "$venv/bin/kubernetes-validate" --version 2>/dev/null | grep -q "$KV_VERSION"; then
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "kubernetes-validate==$KV_VERSION"
fi

npmdir=target/tools/k8s-npm
if ! grep -qs "\"version\": \"$PO_VERSION\"" "$npmdir/node_modules/@kubernetes-models/prometheus-operator/package.json" \
    || ! grep -qs "\"version\": \"$JSYAML_VERSION\"" "$npmdir/node_modules/js-yaml/package.json"; then
    rm -rf "$npmdir"
    mkdir -p "$npmdir"
    echo '{"name":"lvsmon-k8s-validators","private":true}' > "$npmdir/package.json"
    npm install --silent --no-audit --no-fund --prefix "$npmdir" \
        "@kubernetes-models/prometheus-operator@$PO_VERSION" "js-yaml@$JSYAML_VERSION"
fi
echo "install-image-tools: ok ($(buildah --version), kubernetes-validate $KV_VERSION, prometheus-operator models $PO_VERSION)"

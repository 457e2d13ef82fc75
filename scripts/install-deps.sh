#!/usr/bin/env bash
# Installs, idempotently, the Debian packages lvsmon's build and tests use:
#   build-essential  the C toolchain some crates need to link
#   prometheus       for promtool (the metrics and rules linter used as a test oracle), and
#                    the real Prometheus of tests/prometheus_e2e.rs (step `prometheus`)
#   prometheus-alertmanager  Alertmanager, for tests/alertmanager.rs and tests/prometheus_e2e.rs
#   curl             for the README's first command and the benchmark
#   systemd          for systemd-analyze, which verifies deploy/lvsmon.service (verify,
#                    security) and systemd-tmpfiles (deploy/tmpfiles.d/lvsmon.conf)
#   man-db           `man`, which systemd-analyze verify runs for Documentation=man:lvsmon(1)
#   keepalived iproute2  real keepalived in network namespaces (tests/logs_keepalived.rs,
#                    tests/keepalived_live.rs)
#   mtail            the log benchmark's peer (bench/logs.sh)
#   rsyslog          a real rsyslogd writing RFC 5424 files (tests/logs_rsyslog.rs); the test
#                    starts its own, on a socket of its own, with no system socket or network
#   nagios4-core nagios-nrpe-server nagios-nrpe-plugin icinga2-bin libmonitoring-plugin-perl
#   zabbix-agent     the products `lvsmon check` plugs into, run by tests/check_products.rs
#                    (Nagios 4 runs the plugin, NRPE serves it, Icinga 2 validates the
#                    CheckCommands, the Zabbix agent runs the UserParameters) and the
#                    Monitoring::Plugin oracle of tests/check_oracle.rs
#   postgresql zabbix-server-pgsql zabbix-frontend-php php-cli php-cgi php-pgsql
#                    a real Zabbix 6.0 server and its API (PHP's built-in web server, no
#                    Apache: php-cgi satisfies the frontend's web-server dependency), into which
#                    tests/check_zabbix_server.rs imports the templates; nothing is started by
#                    the install (the test starts its own database and server on 127.0.0.1)
#   chromium         a real browser, headless, for tests/browser.rs (the HTML report and the
#                    live /status page, driven over the DevTools protocol on 127.0.0.1),
#                    scripts/report-screenshot.sh and bench/report.sh
#   lintian          lints the Debian package (scripts/deb.sh); cargo-deb itself comes from
#                    crates.io (`cargo install cargo-deb --locked`, by that script)
#   mmdebstrap       a fresh Debian 12 root the package is installed into
#                    (scripts/deb-install.sh)
#   buildah python3-venv nodejs npm  the container image and the Kubernetes validators of
#                    the `image` step (tests/container.sh, scripts/install-image-tools.sh)
# The Rust toolchain itself (rustup, cargo >= 1.85) is expected on PATH: Debian's own
# cargo is too old for the crates used.
set -euo pipefail

need=()
for pkg in build-essential prometheus prometheus-alertmanager curl systemd man-db keepalived iproute2 mtail rsyslog \
    nagios4-core nagios-nrpe-server nagios-nrpe-plugin icinga2-bin libmonitoring-plugin-perl zabbix-agent \
    postgresql zabbix-server-pgsql zabbix-frontend-php php-cli php-cgi php-pgsql chromium \
    lintian mmdebstrap buildah python3-venv; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
# node and npm may come with the machine rather than from Debian
command -v node >/dev/null && command -v npm >/dev/null || need+=(nodejs npm)
if ((${#need[@]})); then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "install-deps: installing ${need[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
command -v cargo >/dev/null || { echo "install-deps: cargo not found: install Rust with rustup first" >&2; exit 1; }
echo "install-deps: ok ($(promtool --version 2>&1 | head -1))"

#!/usr/bin/env python3
"""Incident latency: a keepalived line written -> the alert visible in Alertmanager's API.

    python3 bench/incident_latency.py [--removals 100] [--prometheus-removals 20]

Starts Debian's prometheus-alertmanager on 127.0.0.1, `lvsmon serve` following a log file
and pushing to it (--alertmanager.url), and Debian's prometheus scraping that lvsmon with
an alert rule over its `lvsmon_incident_active` gauge (scrape and evaluation every second,
`for: 0s`: the most favourable setting for the rule; the default 15 s would add up to 30 s).

For each real-server removal it appends keepalived's own "Removing service" line, with a
real server of its own, to the file and times how long until Alertmanager's
/api/v2/alerts shows the alert (lvsmon's `LvsmonRealServerDown`, pushed by lvsmon, or the
rule's `RuleRealServerDown`, sent by Prometheus), then appends the "Adding service" line and
waits for the alert to be resolved before the next one. Everything listens on 127.0.0.1;
everything started is stopped. Prints a markdown table (median and max per path) and
writes the raw figures to bench/out/incident_latency/.
"""

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "bench", "out", "incident_latency")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.load(r)


def wait(what, pred, timeout, step=0.005):
    t0 = time.monotonic()
    while True:
        try:
            if pred():
                return time.monotonic()
        except OSError:
            pass
        if time.monotonic() - t0 > timeout:
            raise SystemExit(f"incident_latency: timed out waiting for {what}")
        time.sleep(step)


def line(verb, rs, vs="[10.0.0.100]:tcp:80"):
    # keepalived 2.2.7's wording, as journald's syslog forwarding writes it.
    t = time.strftime("%b %e %H:%M:%S")
    prep = "from" if verb == "Removing" else "to"
    return f"{t} lb Keepalived_healthcheckers[812]: {verb} service {rs} {prep} VS {vs}\n"


def active(am, alertname, rs):
    alerts = get_json(f"http://127.0.0.1:{am}/api/v2/alerts?active=true&silenced=false&inhibited=false")
    want = rs.split("]:")[0].strip("[")
    return any(
        a["labels"].get("alertname") == alertname
        and a["labels"].get("remote_address") == want
        and a["status"]["state"] == "active"
        for a in alerts
    )


def measure(n, am, log, alertname, first_octet, timeout):
    out = []
    with open(log, "a", buffering=1) as f:
        for i in range(n):
            rs = f"[10.{first_octet}.{i // 250}.{i % 250 + 1}]:tcp:80"
            t0 = time.monotonic()
            f.write(line("Removing", rs))
            t1 = wait(f"{alertname} for {rs}", lambda: active(am, alertname, rs), timeout)
            out.append(t1 - t0)
            f.write(line("Adding", rs))
            wait(f"{alertname} resolved for {rs}", lambda: not active(am, alertname, rs), timeout, 0.02)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--removals", type=int, default=100)
    ap.add_argument("--prometheus-removals", type=int, default=20)
    ap.add_argument("--lvsmon", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "lvsmon"))
    args = ap.parse_args()
    for tool in ("prometheus-alertmanager", "prometheus"):
        if not shutil.which(tool):
            raise SystemExit(f"incident_latency: {tool} is missing (scripts/install-deps.sh)")
    os.makedirs(OUT, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="lvsmon-latency-")
    am, web, prom = free_port(), free_port(), free_port()
    log = os.path.join(tmp, "keepalived.log")
    open(log, "w").close()
    procs = []
    try:
        with open(f"{tmp}/am.yml", "w") as f:
            f.write("route:\n  receiver: none\n  group_wait: 0s\nreceivers:\n- name: none\n")
        procs.append(subprocess.Popen(
            ["prometheus-alertmanager", f"--web.listen-address=127.0.0.1:{am}",
             f"--storage.path={tmp}/am", f"--config.file={tmp}/am.yml",
             "--cluster.listen-address=", "--log.level=warn"],
            stdout=subprocess.DEVNULL, stderr=open(f"{tmp}/am.log", "w")))
        wait("alertmanager", lambda: get_json(f"http://127.0.0.1:{am}/api/v2/status") is not None, 20)
        procs.append(subprocess.Popen(
            [args.lvsmon, "serve", "--web.listen-address", f"127.0.0.1:{web}", "--log.file", log,
             "--alertmanager.url", f"http://127.0.0.1:{am}", "--no-collector.keepalived"],
            stdout=subprocess.DEVNULL, stderr=open(f"{tmp}/lvsmon.log", "w")))
        wait("lvsmon", lambda: urllib.request.urlopen(f"http://127.0.0.1:{web}/metrics", timeout=5).status == 200, 20)
        with open(f"{tmp}/rules.yml", "w") as f:
            f.write("groups:\n- name: bench\n  interval: 1s\n  rules:\n"
                    "  - alert: RuleRealServerDown\n"
                    "    expr: lvsmon_incident_active{kind=\"real_server_down\"} == 1\n"
                    "    for: 0s\n")
        with open(f"{tmp}/prom.yml", "w") as f:
            f.write(f"global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    f"rule_files: [{tmp}/rules.yml]\n"
                    f"alerting:\n  alertmanagers:\n  - static_configs:\n    - targets: ['127.0.0.1:{am}']\n"
                    f"scrape_configs:\n- job_name: lvsmon\n  static_configs:\n  - targets: ['127.0.0.1:{web}']\n")
        procs.append(subprocess.Popen(
            ["prometheus", f"--config.file={tmp}/prom.yml", f"--web.listen-address=127.0.0.1:{prom}",
             f"--storage.tsdb.path={tmp}/prom", "--log.level=warn"],
            stdout=subprocess.DEVNULL, stderr=open(f"{tmp}/prom.log", "w")))
        wait("prometheus", lambda: urllib.request.urlopen(f"http://127.0.0.1:{prom}/-/ready", timeout=5).status == 200, 30)
        time.sleep(2)
        lv = measure(args.removals, am, log, "LvsmonRealServerDown", 2, 30)
        pr = measure(args.prometheus_removals, am, log, "RuleRealServerDown", 3, 60)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    with open(os.path.join(OUT, "latency.json"), "w") as f:
        json.dump({"lvsmon": lv, "prometheus_rule": pr}, f)
    print("| path | removals | median (s) | max (s) |")
    print("|---|---|---|---|")
    for name, v in (("lvsmon → Alertmanager (LvsmonRealServerDown)", lv),
                    ("lvsmon gauge → Prometheus rule, 1 s scrape and evaluation → Alertmanager", pr)):
        print(f"| {name} | {len(v)} | {statistics.median(v):.3f} | {max(v):.3f} |")
    print(f"\nratio of medians (rule / lvsmon): {statistics.median(pr) / statistics.median(lv):.1f}x")


if __name__ == "__main__":
    sys.exit(main())

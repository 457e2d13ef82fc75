//! The rules and dashboards end to end, in the real products (Debian's `prometheus` 2.42 and
//! `prometheus-alertmanager`, started here on 127.0.0.1 in a temporary directory, stopped
//! on drop):
//!
//! - three `lvsmon serve` read real-kernel captures and keepalived's real dumps (the VM's
//!   `keepalived_check` scenario, VRRP instance VI_LB, VRID 77, MASTER): directors A
//!   (`keepalived_check`'s own kernel) and B (`broken_return`: the same virtual service,
//!   its NAT replies lost) form job `lvsmon`; C (`mixed`: every forwarding method, an empty
//!   service) is job `lvsmon-edge`, a pair of its own. All three are MASTER for VI_LB, and
//!   each follows a real keepalived log from the beginning;
//! - Prometheus scrapes them every second with every rule file of alerts/ (evaluated every
//!   second) and sends to Alertmanager; the test asserts through their HTTP APIs that the
//!   targets are up, that the series carry the values lvsmon's own pages show, that every
//!   rule evaluates without error, that `KeepalivedSplitBrain` fires for job `lvsmon` only
//!   (C is another pair), reaches Alertmanager with its runbook URL under the configured
//!   base, and resolves in both once B's keepalived steps down (its dump rewritten to
//!   BACKUP);
//! - every query of every dashboard panel, and every variable's selector, with Grafana's
//!   variables substituted, returns at least one series from that Prometheus.
//!
//! Slow (about a minute: the alert's `for` is 30 s), so `#[ignore]`d in `cargo test` and
//! run by the `prometheus` step of scripts/test.sh. Without the products it says so and
//! passes, unless LVSMON_REQUIRE_TOOLS is set.

mod common;

use common::grafana::{all_panels, substitute};
use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PROMETHEUS: &str = "prometheus";
const ALERTMANAGER: &str = "prometheus-alertmanager";
/// The external label that makes every runbook_url absolute (docs/runbooks/README.md).
const RUNBOOK_BASE: &str = "https://runbooks.example.test/lvsmon/";

/// Percent-encodes a query parameter (PromQL is full of `{`, `"`, `=`, spaces).
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// GET `path` as JSON; `None` while the product does not answer yet.
fn get_json(addr: SocketAddr, path: &str) -> Option<Value> {
    std::net::TcpStream::connect(addr).ok()?;
    let (status, _, body) = http_get(addr, path, None);
    (status == 200).then(|| serde_json::from_str(&body).ok())?
}

/// Waits (at most `secs`) until `probe` gives something; panics saying `what` and the
/// last thing seen otherwise.
fn wait<T>(secs: u64, what: &str, mut probe: impl FnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        match probe() {
            Ok(v) => return v,
            Err(last) => assert!(
                Instant::now() < deadline,
                "{what}: not within {secs} s; last: {last}"
            ),
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// An instant query's result vector (`Err` with Prometheus' answer when it failed).
fn query(prom: SocketAddr, q: &str) -> Result<Vec<Value>, String> {
    let v = get_json(prom, &format!("/api/v1/query?query={}", encode(q)))
        .ok_or_else(|| format!("no answer to {q}"))?;
    if v["status"] != "success" {
        return Err(format!("{q}: {v}"));
    }
    Ok(v["data"]["result"].as_array().cloned().unwrap_or_default())
}

/// The label set of a result sample, without `__name__`, as a sorted map.
fn labels(s: &Value) -> BTreeMap<String, String> {
    s["metric"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| *k != "__name__")
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
        .collect()
}

/// One captured director: its capture's /proc and netlink recording, a copy of
/// keepalived's dumps it may rewrite, and a copy of a real keepalived log.
struct Director {
    name: &'static str,
    job: &'static str,
    dumps: PathBuf,
    served: Served,
    addr: SocketAddr,
}

fn start_director(
    dir: &Path,
    name: &'static str,
    job: &'static str,
    capture: &str,
    log: &str,
) -> Director {
    let cap = root().join("tests/fixtures/kernel").join(capture);
    let dumps = dir.join(format!("{name}-keepalived"));
    std::fs::create_dir_all(&dumps).unwrap();
    let real = root().join("tests/fixtures/kernel/keepalived_check/keepalived");
    for f in ["keepalived.json", "keepalived_check.data"] {
        std::fs::copy(real.join(f), dumps.join(f)).unwrap();
    }
    let log_copy = dir.join(format!("{name}.log"));
    std::fs::copy(root().join("tests/fixtures/logs").join(log), &log_copy).unwrap();
    let arg = |p: &Path| p.to_str().unwrap().to_string();
    let args = [
        "--path.procfs".to_string(),
        arg(&cap.join("proc")),
        "--ipvs.netlink-replay".into(),
        arg(&cap.join("netlink.rec")),
        "--collector.ipvs.conntable".into(),
        // Read the dumps as they are; never look for a keepalived process.
        "--keepalived.passive".into(),
        "--keepalived.pid-file".into(),
        arg(&dir.join("no-keepalived.pid")),
        "--keepalived.dump-dir".into(),
        arg(&dumps),
        "--keepalived.min-interval".into(),
        "500ms".into(),
        "--log.file".into(),
        arg(&log_copy),
        "--log.from-beginning".into(),
        "--web.listen-address".into(),
        "127.0.0.1:0".into(),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (served, addr) = serve(&args);
    Director {
        name,
        job,
        dumps,
        served,
        addr,
    }
}

impl Director {
    /// keepalived on this director steps down: its JSON dump now says BACKUP (written
    /// whole, then renamed, as a complete dump appears).
    fn step_down(&self) {
        let path = self.dumps.join("keepalived.json");
        let json = read(&path);
        let backup = json
            .replace("\"state\":2,", "\"state\":1,")
            .replace("\"wantstate\":2,", "\"wantstate\":1,");
        assert_ne!(json, backup, "the dump has no MASTER state to change");
        let tmp = self.dumps.join("keepalived.json.new");
        std::fs::write(&tmp, backup).unwrap();
        std::fs::rename(&tmp, &path).unwrap();
    }

    fn page(&self) -> Vec<Sample> {
        let (status, _, body) = http_get(self.addr, "/metrics", None);
        assert_eq!(status, 200, "{}: {body}", self.name);
        parse_exposition(&body)
    }
}

/// Prometheus and Alertmanager over the directors.
struct Products {
    _am: Killed,
    _prom: Killed,
    am: SocketAddr,
    prom: SocketAddr,
}

fn start_products(dir: &Path, directors: &[&Director]) -> Products {
    let am_port = free_port();
    let am: SocketAddr = format!("127.0.0.1:{am_port}").parse().unwrap();
    let am_cfg = dir.join("alertmanager.yml");
    std::fs::write(
        &am_cfg,
        "route:\n  receiver: none\n  group_wait: 1s\nreceivers:\n  - name: none\n",
    )
    .unwrap();
    let am_proc = Killed(
        Command::new(ALERTMANAGER)
            .arg(format!("--config.file={}", am_cfg.display()))
            .arg(format!("--storage.path={}", dir.join("am-data").display()))
            .arg(format!("--web.listen-address={am}"))
            .arg("--cluster.listen-address=")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );

    let mut jobs: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for d in directors {
        jobs.entry(d.job).or_default().push(format!("'{}'", d.addr));
    }
    let scrape: String = jobs
        .iter()
        .map(|(job, targets)| {
            format!(
                "  - job_name: {job}\n    static_configs:\n      - targets: [{}]\n",
                targets.join(", ")
            )
        })
        .collect();
    let prom_cfg = dir.join("prometheus.yml");
    std::fs::write(
        &prom_cfg,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n  \
             external_labels:\n    runbook_base_url: {RUNBOOK_BASE}\n\
             rule_files:\n  - {}/alerts/*.rules.yml\n\
             alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['{am}']\n\
             scrape_configs:\n{scrape}",
            root().display()
        ),
    )
    .unwrap();
    let prom_port = free_port();
    let prom: SocketAddr = format!("127.0.0.1:{prom_port}").parse().unwrap();
    let prom_proc = Killed(
        Command::new(PROMETHEUS)
            .arg(format!("--config.file={}", prom_cfg.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("prom-data").display()
            ))
            .arg(format!("--web.listen-address={prom}"))
            // Send a firing alert again every second rather than every minute.
            .arg("--rules.alert.resend-delay=1s")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    for (what, addr) in [("Alertmanager", am), ("Prometheus", prom)] {
        wait(30, &format!("{what} ready"), || {
            std::net::TcpStream::connect(addr).map_err(|e| e.to_string())?;
            match http_get(addr, "/-/ready", None).0 {
                200 => Ok(()),
                s => Err(format!("status {s}")),
            }
        });
    }
    Products {
        _am: am_proc,
        _prom: prom_proc,
        am,
        prom,
    }
}

/// Alertmanager's active alerts named `name`.
fn am_alerts(am: SocketAddr, name: &str) -> Vec<Value> {
    get_json(am, "/api/v2/alerts?active=true")
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
        .into_iter()
        .filter(|a| a["labels"]["alertname"] == name)
        .collect()
}

/// `ALERTS` for `name` in state `state`, as Prometheus evaluates them.
fn prom_alerts(prom: SocketAddr, name: &str, state: &str) -> Vec<Value> {
    query(
        prom,
        &format!("ALERTS{{alertname=\"{name}\",alertstate=\"{state}\"}}"),
    )
    .unwrap_or_default()
}

#[test]
#[ignore = "starts Prometheus and Alertmanager, about a minute: the `prometheus` step of scripts/test.sh"]
fn split_brain_reaches_alertmanager_and_every_panel_has_data() {
    if !tool(PROMETHEUS) || !tool(ALERTMANAGER) {
        return;
    }
    let t0 = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let a = start_director(
        dir.path(),
        "a",
        "lvsmon",
        "keepalived_check",
        "keepalived-2.2.7-check.log",
    );
    let b = start_director(
        dir.path(),
        "b",
        "lvsmon",
        "broken_return",
        "keepalived-2.2.7-lbB.log",
    );
    let c = start_director(
        dir.path(),
        "c",
        "lvsmon-edge",
        "mixed",
        "keepalived-2.2.7-lbC.log",
    );
    let directors = [&a, &b, &c];
    let p = start_products(dir.path(), &directors);

    // Every target up.
    wait(30, "all three targets up", || {
        let t = get_json(p.prom, "/api/v1/targets").ok_or("no answer")?;
        let active = t["data"]["activeTargets"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let up = active.iter().filter(|t| t["health"] == "up").count();
        (up == directors.len())
            .then_some(())
            .ok_or(format!("{up} up: {active:?}"))
    });

    // The series carry the values each lvsmon's own page shows (Prometheus drops empty
    // labels and adds job and instance).
    for d in directors {
        let page = d.page();
        for family in [
            "keepalived_vrrp_state",
            "keepalived_vrrp_priority_effective",
            "keepalived_real_server_up",
            "keepalived_real_server_weight",
            "ipvs_backend_weight",
            "ipvs_service_backends_available",
            "ipvs_connection_table_size",
        ] {
            let want: BTreeMap<BTreeMap<String, String>, f64> = page
                .iter()
                .filter(|s| s.name == family)
                .map(|s| {
                    let mut l: BTreeMap<String, String> = s
                        .labels
                        .iter()
                        .filter(|(_, v)| !v.is_empty())
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    l.insert("job".into(), d.job.into());
                    l.insert("instance".into(), d.addr.to_string());
                    (l, s.value)
                })
                .collect();
            assert!(!want.is_empty(), "{}: no {family} on its page", d.name);
            let q = format!("{family}{{instance=\"{}\"}}", d.addr);
            let got = wait(10, &format!("{}: {family} in Prometheus", d.name), || {
                let got: BTreeMap<_, f64> = query(p.prom, &q)?
                    .iter()
                    .map(|s| {
                        (
                            labels(s),
                            s["value"][1]
                                .as_str()
                                .unwrap_or("")
                                .parse()
                                .unwrap_or(f64::NAN),
                        )
                    })
                    .collect();
                (got.len() == want.len())
                    .then_some(got.clone())
                    .ok_or(format!("{got:?}"))
            });
            assert_eq!(got, want, "{}: {family}", d.name);
        }
    }
    eprintln!("targets up and series checked after {:?}", t0.elapsed());

    // Split brain in job lvsmon (A and B), not across jobs (C is another pair): pending
    // first, firing only after its `for` (30 s), then in Alertmanager.
    let pending_at = wait(20, "KeepalivedSplitBrain pending", || {
        let p = prom_alerts(p.prom, "KeepalivedSplitBrain", "pending");
        (!p.is_empty()).then(Instant::now).ok_or("none".to_string())
    });
    let firing = wait(60, "KeepalivedSplitBrain firing", || {
        let f = prom_alerts(p.prom, "KeepalivedSplitBrain", "firing");
        (!f.is_empty()).then_some(f).ok_or("none".to_string())
    });
    assert!(
        pending_at.elapsed() >= Duration::from_secs(25),
        "fired {:?} after it was pending: before its `for` of 30 s",
        pending_at.elapsed()
    );
    assert_eq!(firing.len(), 1, "{firing:?}");
    let l = labels(&firing[0]);
    assert_eq!(l["job"], "lvsmon");
    assert_eq!(l["iname"], "VI_LB");
    assert_eq!(l["vrid"], "77");
    assert_eq!(l["severity"], "critical");
    assert!(!l.contains_key("instance"), "{l:?}");
    let sent = wait(20, "KeepalivedSplitBrain in Alertmanager", || {
        let a = am_alerts(p.am, "KeepalivedSplitBrain");
        (!a.is_empty()).then_some(a).ok_or("none".to_string())
    });
    assert_eq!(sent.len(), 1, "{sent:#?}");
    assert_eq!(sent[0]["labels"]["job"], "lvsmon");
    assert_eq!(sent[0]["labels"]["iname"], "VI_LB");
    assert_eq!(
        sent[0]["annotations"]["runbook_url"],
        format!("{RUNBOOK_BASE}KeepalivedSplitBrain.md")
    );
    let desc = sent[0]["annotations"]["description"].as_str().unwrap_or("");
    assert!(
        desc.starts_with("2 directors of job lvsmon are MASTER for VRRP instance VI_LB (VRID 77)"),
        "{desc}"
    );
    eprintln!("split brain in Alertmanager after {:?}", t0.elapsed());

    // Every rule evaluates cleanly (no many-to-many match, no bad label) on real series.
    let rules = get_json(p.prom, "/api/v1/rules").expect("rules");
    let mut n = 0;
    for g in rules["data"]["groups"].as_array().into_iter().flatten() {
        for r in g["rules"].as_array().into_iter().flatten() {
            n += 1;
            assert_eq!(
                r["health"], "ok",
                "rule {} in {}: {r}",
                r["name"], g["file"]
            );
        }
    }
    assert!(n >= 40, "only {n} rules loaded");

    // The identity join on real data: keepalived's checker calls 10.1.0.12:80 down; B's
    // kernel (broken_return) still gives it weight 1, A's (keepalived_check) took it out,
    // C's (mixed) never had the service. So KeepalivedRealServerDown is pending for B only.
    let rs_down = wait(20, "KeepalivedRealServerDown pending", || {
        let v = query(
            p.prom,
            "ALERTS{alertname=\"KeepalivedRealServerDown\",alertstate=\"pending\"}",
        )?;
        (!v.is_empty()).then_some(v).ok_or("none".to_string())
    });
    let rs_down: Vec<_> = rs_down.iter().map(labels).collect();
    assert_eq!(rs_down.len(), 1, "{rs_down:?}");
    assert_eq!(rs_down[0]["instance"], b.addr.to_string());
    assert_eq!(rs_down[0]["remote_address"], "10.1.0.12");
    assert_eq!(rs_down[0]["local_port"], "80");

    // node_exporter's names, recorded from lvsmon's series, one for one.
    for (node, ours) in [
        ("node_ipvs_backend_weight", "ipvs_backend_weight"),
        (
            "node_ipvs_incoming_packets_total",
            "ipvs_incoming_packets_total",
        ),
    ] {
        let same = query(p.prom, &format!("count({node} == {ours})")).unwrap();
        let all = query(p.prom, &format!("count({ours})")).unwrap();
        assert_eq!(
            same.first().map(|s| &s["value"][1]),
            all.first().map(|s| &s["value"][1]),
            "{node}"
        );
        assert!(!all.is_empty(), "{ours}");
    }

    // B steps down: the split brain resolves in Prometheus and in Alertmanager.
    b.step_down();
    wait(20, "B BACKUP in Prometheus", || {
        let v = query(
            p.prom,
            &format!("keepalived_vrrp_state{{instance=\"{}\"}} == 1", b.addr),
        )?;
        (!v.is_empty()).then_some(()).ok_or(format!("{v:?}"))
    });
    wait(20, "KeepalivedSplitBrain resolved in Prometheus", || {
        let f = prom_alerts(p.prom, "KeepalivedSplitBrain", "firing");
        f.is_empty().then_some(()).ok_or(format!("{f:?}"))
    });
    wait(30, "KeepalivedSplitBrain resolved in Alertmanager", || {
        let a = am_alerts(p.am, "KeepalivedSplitBrain");
        a.is_empty().then_some(()).ok_or(format!("{a:?}"))
    });
    eprintln!("split brain resolved after {:?}", t0.elapsed());

    // Every dashboard query returns data from this Prometheus.
    let empty = dashboard_queries_without_data(p.prom);
    assert!(
        empty.is_empty(),
        "dashboard queries with no series:\n{}",
        empty.join("\n")
    );
    for d in directors {
        assert!(
            d.served.log().contains("serving metrics"),
            "{}: {}",
            d.name,
            d.served.log()
        );
    }
    eprintln!("every dashboard query answered after {:?}", t0.elapsed());
}

/// Grafana's variables as Grafana fills them for "All" on this setup, longer names first.
fn grafana_values() -> Vec<(String, String)> {
    [
        ("__rate_interval", "20s"),
        ("__interval_ms", "5000"),
        ("__range_ms", "120000"),
        ("__interval", "5s"),
        ("__range_s", "120"),
        ("__range", "2m"),
        ("instance", ".*"),
        ("service", ".*"),
        ("job", "lvsmon|lvsmon-edge"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// Every panel query (rows' panels included) and every variable's selector of every
/// dashboard that returns no series: "file: panel: expr".
fn dashboard_queries_without_data(prom: SocketAddr) -> Vec<String> {
    let mut empty = Vec::new();
    let mut asked = 0;
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("dashboards"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    for f in files {
        let d: Value = serde_json::from_str(&read(&f)).unwrap();
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        let mut queries: Vec<(String, String)> = Vec::new();
        for v in d["templating"]["list"].as_array().into_iter().flatten() {
            let q = v["query"]["query"]
                .as_str()
                .or(v["query"].as_str())
                .unwrap_or("");
            if let Some(inner) = q
                .strip_prefix("label_values(")
                .and_then(|r| r.strip_suffix(')'))
            {
                if let Some((selector, _)) = inner.rsplit_once(',') {
                    queries.push((format!("variable {}", v["name"]), selector.to_string()));
                }
            }
        }
        for p in all_panels(&d) {
            for t in p["targets"].as_array().into_iter().flatten() {
                if let Some(e) = t["expr"].as_str() {
                    queries.push((
                        format!("panel {:?} {}", p["title"], t["refId"]),
                        e.to_string(),
                    ));
                }
            }
        }
        for (what, expr) in queries {
            asked += 1;
            let q = substitute(&expr, &grafana_values());
            match query(prom, &q) {
                Ok(v) if !v.is_empty() => {}
                Ok(_) => empty.push(format!("{name}: {what}: {q}")),
                Err(e) => empty.push(format!("{name}: {what}: error {e}")),
            }
        }
    }
    assert!(asked >= 80, "only {asked} dashboard queries found");
    empty
}

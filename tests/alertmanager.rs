//! Incidents pushed to a real Alertmanager (Debian's `prometheus-alertmanager`, started by
//! the test on 127.0.0.1): a real server taken out by keepalived's checker appears as an
//! active `LvsmonRealServerDown` alert with the identity labels, and is resolved (gone
//! from the active alerts) once the checker adds it back.

mod common;

use common::*;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ALERTMANAGER: &str = "prometheus-alertmanager";

/// The active alerts Alertmanager holds (none while it does not answer yet).
fn active(addr: std::net::SocketAddr) -> Vec<serde_json::Value> {
    if std::net::TcpStream::connect(addr).is_err() {
        return Vec::new();
    }
    let (status, _, body) = http_get(addr, "/api/v2/alerts?active=true", None);
    if status != 200 {
        return Vec::new();
    }
    serde_json::from_str(&body).unwrap_or_default()
}

/// Waits (at most `secs`) for `cond` on the active alerts.
fn wait_for(
    addr: std::net::SocketAddr,
    secs: u64,
    what: &str,
    cond: impl Fn(&[serde_json::Value]) -> bool,
) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let a = active(addr);
        if cond(&a) {
            return a;
        }
        assert!(Instant::now() < deadline, "{what}: alerts now {a:#?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `lvsmon serve` following `log` and pushing to `url` (a captured director's /proc).
fn serve_following(log: &std::path::Path, url: &str) -> (Served, std::net::SocketAddr) {
    let procfs = root().join("tests/fixtures/kernel/nat4/proc");
    serve(&[
        "--path.procfs",
        procfs.to_str().unwrap(),
        "--no-collector.keepalived",
        "--log.file",
        log.to_str().unwrap(),
        // The tailer starts after the listener: read what was written before it did.
        "--log.from-beginning",
        "--alertmanager.url",
        url,
        "--web.listen-address",
        "127.0.0.1:0",
    ])
}

fn is_down(a: &serde_json::Value) -> bool {
    a["labels"]["alertname"] == "LvsmonRealServerDown"
}

#[test]
fn a_real_server_out_is_an_alert_and_back_resolves_it() {
    if !tool(ALERTMANAGER) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("am.yml");
    std::fs::write(
        &cfg,
        "route:\n  receiver: none\n  group_wait: 1s\nreceivers:\n  - name: none\n",
    )
    .unwrap();
    let port = free_port();
    let am_addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let _am = Killed(
        Command::new(ALERTMANAGER)
            .arg(format!("--config.file={}", cfg.display()))
            .arg(format!(
                "--storage.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for(am_addr, 20, "Alertmanager up", |_| {
        std::net::TcpStream::connect(am_addr).is_ok()
            && http_get(am_addr, "/-/ready", None).0 == 200
    });

    let log = dir.path().join("keepalived.log");
    std::fs::write(&log, "").unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let (_srv, addr) = serve_following(&log, &url);
    let append = |line: &str| {
        let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
        writeln!(f, "{line}").unwrap();
    };
    // keepalived 2.2.7's own wording (a real capture's lines, with today's time).
    let stamp = || {
        let out = Command::new("date")
            .arg("+%a %b %e %H:%M:%S %Y")
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    append(&format!(
        "{}: TCP_CHECK on service [10.1.0.12]:tcp:80 failed after 1 retries.",
        stamp()
    ));
    append(&format!(
        "{}: Removing service [10.1.0.12]:tcp:80 from VS [10.0.0.100]:tcp:80",
        stamp()
    ));
    let alerts = wait_for(am_addr, 20, "LvsmonRealServerDown active", |a| {
        a.iter().any(is_down)
    });
    let a = alerts.iter().find(|a| is_down(a)).unwrap();
    let l = &a["labels"];
    assert_eq!(l["severity"], "warning");
    assert_eq!(l["proto"], "TCP");
    assert_eq!(l["local_address"], "10.0.0.100");
    assert_eq!(l["local_port"], "80");
    assert_eq!(l["remote_address"], "10.1.0.12");
    assert_eq!(l["remote_port"], "80");
    assert!(l["host"].as_str().is_some_and(|h| !h.is_empty()));
    assert!(
        a["annotations"]["summary"]
            .as_str()
            .unwrap()
            .contains("TCP_CHECK failed"),
        "{a}"
    );
    assert!(!a["annotations"]["hint"].as_str().unwrap().is_empty());
    assert!(a["generatorURL"]
        .as_str()
        .unwrap()
        .contains("/api/v1/incidents"));

    append(&format!(
        "{}: Adding service [10.1.0.12]:tcp:80 to VS [10.0.0.100]:tcp:80",
        stamp()
    ));
    wait_for(am_addr, 20, "LvsmonRealServerDown resolved", |a| {
        !a.iter().any(is_down)
    });
    let (_, _, page) = http_get(addr, "/metrics", None);
    let s = parse_exposition(&page);
    let pushes = one(
        &s,
        "lvsmon_alertmanager_pushes_total",
        &[("alertmanager", &format!("127.0.0.1:{port}"))],
    );
    assert!(
        pushes.value >= 2.0,
        "an open and a resolve: {}",
        pushes.value
    );
}

#[test]
fn an_alertmanager_that_is_down_is_counted_and_never_blocks_the_scrape() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("keepalived.log");
    std::fs::write(&log, "").unwrap();
    // Nothing listens there: every push fails fast.
    let url = format!("http://127.0.0.1:{}", free_port());
    let (_srv, addr) = serve_following(&log, &url);
    {
        let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
        writeln!(
            f,
            "Dec  2 10:00:00 lb1 Keepalived_healthcheckers[3]: Removing service [10.1.0.12]:tcp:80 from VS [10.0.0.100]:tcp:80"
        )
        .unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let t0 = Instant::now();
        let (status, _, page) = http_get(addr, "/metrics", None);
        assert_eq!(status, 200);
        assert!(
            t0.elapsed() < Duration::from_secs(2),
            "a scrape waited on the push"
        );
        let s = parse_exposition(&page);
        let errors: f64 = find(&s, "lvsmon_alertmanager_errors_total", &[])
            .iter()
            .map(|x| x.value)
            .sum();
        // Detection goes on whatever the pushes do.
        let open = find(
            &s,
            "lvsmon_incident_active",
            &[("kind", "real_server_down")],
        )
        .len();
        if errors >= 1.0 && open == 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no failed push counted ({errors}) or no incident ({open})"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

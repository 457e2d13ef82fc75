//! `lvsmon serve --log.file … --log.state-dir …` as a user runs it: lines appended to a
//! followed file become `lvsmon_log_*` series; after SIGTERM and a restart, the lines
//! written while it was down are counted once and the older ones never; a missing file is
//! a source that is down, not an error.

mod common;

use common::{http_get, parse_exposition, promtool_check, serve, Sample, Served};
use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

/// `lvsmon serve ARGS` on an ephemeral port.
fn start(args: &[&str]) -> (Served, SocketAddr) {
    let mut all = vec!["--web.listen-address", "127.0.0.1:0"];
    all.extend_from_slice(args);
    serve(&all)
}

fn scrape(addr: SocketAddr) -> Vec<Sample> {
    parse_exposition(&http_get(addr, "/metrics", None).2)
}

fn value(samples: &[Sample], name: &str, label: (&str, &str)) -> f64 {
    samples
        .iter()
        .filter(|s| s.name == name && s.label(label.0) == label.1)
        .map(|s| s.value)
        .sum()
}

/// Waits (bounded) until `name{label}` reaches `want`, and returns the page.
fn wait_value(addr: SocketAddr, name: &str, label: (&str, &str), want: f64) -> Vec<Sample> {
    let t0 = Instant::now();
    loop {
        let s = scrape(addr);
        let v = value(&s, name, label);
        if v == want {
            return s;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "{name}{label:?} = {v}, want {want}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn append(path: &Path, from: usize, n: usize) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    for i in from..from + n {
        writeln!(
            f,
            "2026-12-01T10:00:00+00:00 lb1 Keepalived_vrrp[{i}]: (VI_1) Entering MASTER STATE"
        )
        .unwrap();
    }
}

#[test]
fn serve_follows_files_and_a_restart_reads_each_line_once() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("keepalived.log");
    let missing = dir.path().join("missing.log");
    let state = dir.path().join("state");
    append(&log, 0, 3); // before lvsmon ever ran: not read
    let args = [
        "--log.file",
        log.to_str().unwrap(),
        "--log.file",
        missing.to_str().unwrap(),
        "--log.state-dir",
        state.to_str().unwrap(),
    ];
    let src = ("source", log.to_str().unwrap());
    let master = ("kind", "vrrp_master");
    let (mut lv, addr) = start(&args);
    wait_value(addr, "lvsmon_log_source_up", src, 1.0);
    append(&log, 3, 5);
    let page = wait_value(addr, "lvsmon_log_events_total", master, 5.0);
    assert_eq!(value(&page, "lvsmon_log_lines_total", src), 5.0);
    assert_eq!(
        value(
            &page,
            "lvsmon_log_source_up",
            ("source", missing.to_str().unwrap())
        ),
        0.0
    );
    lv.terminate();

    append(&log, 8, 4); // while down
    let (mut lv, addr) = start(&args);
    append(&log, 12, 2);
    let page = wait_value(addr, "lvsmon_log_events_total", master, 6.0);
    std::thread::sleep(Duration::from_millis(500));
    let page2 = scrape(addr);
    assert_eq!(
        value(&page2, "lvsmon_log_events_total", master),
        6.0,
        "nothing read twice"
    );
    assert_eq!(value(&page, "lvsmon_log_lines_unmatched_total", src), 0.0);
    if let Some((ok, said)) = promtool_check(&http_get(addr, "/metrics", None).2) {
        assert!(ok, "{said}");
    }
    lv.terminate();
}

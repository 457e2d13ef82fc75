//! keepalived's notify FIFOs, for real: Debian's keepalived 2.2.7 in network namespaces
//! (tests/common/lab.rs), each director read by its own `lvsmon serve` that is passive (it
//! never signals keepalived) and follows the director's FIFO. lbA's FIFO is created by
//! lvsmon before keepalived starts (`notify_fifo`); lbB's by keepalived itself
//! (`vrrp_notify_fifo`), which removes it when it stops. A failover, both keepalived
//! restarting, and the FIFO being re-created all reach `/metrics` through the FIFOs alone.
//!
//! The failover test needs root, `ip` and `keepalived` (scripts/install-deps.sh) and is run
//! by the keepalived-logs step of scripts/test.sh. The checker's lines (real servers down
//! and up) come from keepalived in the VM, which has IPVS, and are replayed here into a FIFO
//! in every `cargo test`.

mod common;

use common::lab::{Lab, Node};
use common::{parse_exposition, Served};
use std::net::SocketAddr;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;
use std::time::{Duration, Instant};

fn page(addr: SocketAddr) -> Vec<common::Sample> {
    parse_exposition(&common::http_get(addr, "/metrics", None).2)
}

fn value(addr: SocketAddr, name: &str, want: &[(&str, &str)]) -> Option<f64> {
    common::find(&page(addr), name, want)
        .first()
        .map(|s| s.value)
}

/// Polls `addr` every 50 ms until `name{want}` is `v`; returns how long it took.
fn wait_value(addr: SocketAddr, name: &str, want: &[(&str, &str)], v: Option<f64>) -> Duration {
    let t0 = Instant::now();
    while value(addr, name, want) != v {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "{name}{want:?} is not {v:?} after 20 s:\n{}",
            common::http_get(addr, "/metrics", None).2
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    t0.elapsed()
}

/// `lvsmon serve` that never signals keepalived (`pid`'s): passive, following `fifo`,
/// keeping its state in `state`; `extra` flags after those.
fn passive(pid: &Path, fifo: &Path, state: &Path, extra: &[&str]) -> (Served, SocketAddr) {
    let mut args = vec![
        "--log.state-dir",
        state.to_str().unwrap(),
        "--web.listen-address",
        "127.0.0.1:0",
        "--path.procfs",
        "/nonexistent-procfs",
        "--keepalived.pid-file",
        pid.to_str().unwrap(),
        "--keepalived.passive",
        "--keepalived.notify-fifo",
        fifo.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    common::serve(&args)
}

/// `lvsmon serve` for one director of the lab, with its own state dir.
fn lvsmon(lab: &Lab, host: &str, fifo: &Path) -> (Served, SocketAddr) {
    let state = lab.path(&format!("state-{host}"));
    let fast = ["--keepalived.min-interval", "200ms"];
    passive(&lab.pid_file(host), fifo, &state, &fast)
}

fn wait_path(p: &Path, log: impl Fn() -> String) {
    let t0 = Instant::now();
    while !p.exists() {
        let elapsed = t0.elapsed();
        assert!(
            elapsed < Duration::from_secs(10),
            "no {}: {}",
            p.display(),
            log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn ok_lines(addr: SocketAddr) -> f64 {
    value(
        addr,
        "lvsmon_keepalived_notify_lines_total",
        &[("result", "ok")],
    )
    .unwrap_or(0.0)
}

#[test]
#[ignore = "needs root and keepalived, ~40 s: scripts/test.sh step keepalived-logs"]
fn failover_and_restarts_arrive_through_the_notify_fifos_without_signals() {
    if !common::lab::ready() {
        return;
    }
    let mut lab = Lab::new("n");
    let (fifo_a, fifo_b) = (lab.path("a.fifo"), lab.path("b.fifo"));
    let vi = [("iname", "VI_1")];
    let state = "keepalived_vrrp_state";

    // lvsmon first on lbA: it makes the FIFO, 0620 under its umask.
    let (srv_a, a) = lvsmon(&lab, "A", &fifo_a);
    wait_path(&fifo_a, || srv_a.log());
    let meta = std::fs::symlink_metadata(&fifo_a).unwrap();
    assert!(meta.file_type().is_fifo());
    assert_eq!(meta.mode() & 0o7, 0, "no access for others");
    let ino_a = meta.ino();
    let one = ["10.99.0.100/24"];
    let global_a = format!("  notify_fifo {}\n", fifo_a.display());
    let node_a = Node {
        priority: 150,
        pass: "pw",
        vips: &one,
        track_file: None,
        extra: "",
        global: &global_a,
    };
    lab.start_node("A", &node_a);
    // keepalived first on lbB: it makes its FIFO, and what it writes before lvsmon opens
    // the FIFO waits in the pipe (keepalived holds it open read-write).
    let global_b = format!("  vrrp_notify_fifo {}\n", fifo_b.display());
    let node_b = Node {
        priority: 100,
        global: &global_b,
        ..node_a
    };
    lab.start_node("B", &node_b);
    lab.wait_for("A", "Entering MASTER STATE", 1, 15);
    lab.wait_for("B", "Entering BACKUP STATE", 1, 15);
    wait_path(&fifo_b, || lab.log("B"));
    let (srv_b, b) = lvsmon(&lab, "B", &fifo_b);

    wait_value(a, state, &vi, Some(2.0));
    wait_value(b, state, &vi, Some(1.0));
    for (addr, prio) in [(a, 150.0), (b, 100.0)] {
        assert_eq!(value(addr, "keepalived_up", &[]), Some(1.0));
        assert_eq!(
            value(addr, "keepalived_vrrp_priority_effective", &vi),
            Some(prio)
        );
        assert_eq!(
            value(addr, "lvsmon_keepalived_notify_fifo_up", &[]),
            Some(1.0)
        );
        assert_eq!(
            value(
                addr,
                "lvsmon_collector_up",
                &[("collector", "keepalived_notify")]
            ),
            Some(1.0)
        );
        // No dump was asked for, so only the FIFO can have told the state.
        assert_eq!(value(addr, "lvsmon_keepalived_dump_age_seconds", &[]), None);
    }

    // Failover: lbA stops, lbB takes over; lvsmon on lbB sees it within a poll or two.
    lab.stop("A");
    lab.wait_for("B", "Entering MASTER STATE", 1, 15);
    let took = wait_value(b, state, &vi, Some(2.0));
    assert!(
        took < Duration::from_secs(1),
        "MASTER on lbB seen after {took:?}"
    );
    wait_value(a, "keepalived_up", &[], Some(0.0));
    assert_eq!(value(a, state, &vi), None);
    // lvsmon made lbA's FIFO, so keepalived left it in place.
    assert_eq!(std::fs::metadata(&fifo_a).unwrap().ino(), ino_a);

    // lbA comes back and preempts: its new lines arrive through the same FIFO.
    lab.start_node("A", &node_a);
    lab.wait_for("A", "Entering MASTER STATE", 2, 20);
    wait_value(a, state, &vi, Some(2.0));
    wait_value(b, state, &vi, Some(1.0));

    // lbB restarts: keepalived removes the FIFO it made and makes one again (or finds the
    // one lvsmon made in between); lvsmon follows, and the STOP line it read dropped VI_1
    // until keepalived says BACKUP again.
    let before = ok_lines(b);
    lab.stop("B");
    wait_value(b, state, &vi, None);
    lab.start_node("B", &node_b);
    lab.wait_for("B", "Entering BACKUP STATE", 3, 20);
    wait_value(b, state, &vi, Some(1.0));
    assert!(
        ok_lines(b) >= before + 2.0,
        "STOP and BACKUP read after the restart"
    );

    // Never signalled: keepalived wrote no dump in either TMPDIR.
    for host in ["A", "B"] {
        let dir = lab.tmp_dir(host);
        for f in ["keepalived.json", "keepalived.data", "keepalived.stats"] {
            assert!(
                !dir.join(f).exists(),
                "lb{host} dumped {f}: it was signalled"
            );
        }
    }
    let bad = value(
        a,
        "lvsmon_keepalived_notify_lines_total",
        &[("result", "bad")],
    );
    assert_eq!(bad, Some(0.0), "every line keepalived wrote parsed");

    // lvsmon on lbB restarts while keepalived keeps running and says nothing: the state
    // comes back from the state dir at once, not at keepalived's next change.
    drop(srv_b);
    let (srv_b, b) = lvsmon(&lab, "B", &fifo_b);
    let took = wait_value(b, state, &vi, Some(1.0));
    assert!(took < Duration::from_secs(2), "BACKUP back after {took:?}");
    assert_eq!(
        ok_lines(b),
        0.0,
        "taken back from the state dir, not read again"
    );
    drop((srv_a, srv_b));
}

/// What keepalived 2.2.7's checker wrote to its `lvs_notify_fifo` in the VM
/// (tests/vm/scenarios/keepalived_flap.sh: rs2 stopped and started three times).
const CHECKER_LINES: &str = include_str!("fixtures/logs/keepalived-2.2.7-flap.notify_fifo.txt");

/// The checker's real lines, written to the FIFO one `write` each as keepalived writes them
/// (its FIFO opened read-write, non-blocking), reach `/metrics` one by one: rs2 down, up,
/// down…, and after a restart of lvsmon they are taken back from the state dir while the
/// same keepalived runs, and only then. (This machine has no IPVS for keepalived's checker
/// to run on: the lines come from the VM; a live process, this test, stands in for
/// keepalived's pid.)
#[test]
fn a_real_checkers_lines_take_effect_one_by_one() {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("lvs.fifo");
    let pid = dir.path().join("keepalived.pid");
    std::fs::write(&pid, format!("{}\n", std::process::id())).unwrap();
    let state = dir.path().join("state");
    let (srv, addr) = passive(&pid, &fifo, &state, &[]);
    wait_path(&fifo, || srv.log());
    let mut w = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .unwrap();
    let rs2 = [
        ("proto", "TCP"),
        ("local_address", "10.0.0.100"),
        ("local_port", "8090"),
        ("remote_address", "10.1.0.12"),
        ("remote_port", "8090"),
    ];
    let lines: Vec<&str> = CHECKER_LINES.lines().collect();
    let rs_lines = lines.iter().filter(|l| l.starts_with("RS ")).count();
    assert_eq!(rs_lines, 6, "{CHECKER_LINES}");
    for line in &lines {
        w.write_all(format!("{line}\n").as_bytes()).unwrap();
        let prefix = "RS [10.1.0.12]:tcp:8090 [10.0.0.100]:tcp:8090 ";
        let Some(up) = line.strip_prefix(prefix) else {
            continue;
        };
        let want = if up == "UP" { 1.0 } else { 0.0 };
        let took = wait_value(addr, "keepalived_real_server_up", &rs2, Some(want));
        assert!(took < Duration::from_secs(2), "{line}: {took:?}");
        // Its weight is not in the line, so it is not exported.
        assert_eq!(value(addr, "keepalived_real_server_weight", &rs2), None);
    }
    assert_eq!(value(addr, "keepalived_up", &[]), Some(1.0));
    assert_eq!(ok_lines(addr), lines.len() as f64);
    let last = value(addr, "keepalived_real_server_up", &rs2);
    assert!(last.is_some());
    drop(srv);

    // lvsmon restarts, the same keepalived runs: the last word on rs2 is back at once.
    let (srv, addr) = passive(&pid, &fifo, &state, &[]);
    let took = wait_value(addr, "keepalived_real_server_up", &rs2, last);
    assert!(took < Duration::from_secs(2), "taken back after {took:?}");
    assert_eq!(ok_lines(addr), 0.0);
    drop(srv);

    // keepalived restarted meanwhile (its pid file written again): nothing it said before
    // holds, and nothing is taken back.
    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(&pid, format!("{}\n", std::process::id())).unwrap();
    let (_srv, addr) = passive(&pid, &fifo, &state, &[]);
    wait_value(addr, "keepalived_up", &[], Some(1.0));
    assert_eq!(value(addr, "keepalived_real_server_up", &rs2), None);
}

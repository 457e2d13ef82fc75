//! Incidents from REAL keepalived: a configuration line it rejects, a track script and a
//! link putting an instance in FAULT,
//! two directors whose `virtual_ipaddress` lists differ (each refuses the other's adverts,
//! so both are MASTER: a real split brain), and keepalived killed.
//!
//! `real_keepalived_faults_and_split_brain` (ignored by default: it needs root, ~45 s;
//! `scripts/test.sh` runs it in its `keepalived-logs` step) runs Debian's keepalived in
//! network namespaces (tests/common/lab.rs) with `lvsmon serve` watching lbA — its console
//! log, and its state through keepalived's own dumps, looked at every second — and checks
//! what `/api/v1/incidents` says as it happens: the FAULTs with their causes from the log,
//! the split brain from lbA's advert counters while MASTER, keepalived down once killed.
//! Then `analyze` over both directors' consoles must tell the same story across them.
//! With LVSMON_RECAPTURE=1 the consoles are saved as
//! tests/fixtures/logs/keepalived-2.2.7-fault-lb{A,B,C}.log (the golden tests of
//! src/incidents/engine/tests.rs read them).

mod common;

use common::lab::{Lab, Node};
use std::path::Path;
use std::time::{Duration, Instant};

/// `/api/v1/incidents?state=all` as JSON values.
fn incidents(addr: std::net::SocketAddr) -> Vec<serde_json::Value> {
    let (status, _, body) = common::http_get(addr, "/api/v1/incidents?state=all", None);
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

/// Waits (at most `secs`) until serve has an incident `kind` for which `ok` holds. On
/// timeout it prints the consoles too: a CI run once found no split brain after 20 s
/// while lbA, MASTER, had counted only two of lbB's adverts, and serve's view alone could
/// not tell whether lbB had stopped sending or its adverts were lost.
fn wait_incident(
    addr: std::net::SocketAddr,
    lab: &Lab,
    kind: &str,
    secs: u64,
    ok: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let t0 = Instant::now();
    loop {
        let all = incidents(addr);
        if let Some(i) = all.iter().find(|i| i["kind"] == kind && ok(i)) {
            return i.clone();
        }
        if t0.elapsed() > Duration::from_secs(secs) {
            let state = common::http_get(addr, "/api/v1/state", None).2;
            panic!(
                "no {kind} incident after {secs} s: {all:#?}\nstate: {state}\nlogs:\n{}\n{}\n{}",
                lab.log("A"),
                lab.log("B"),
                lab.log("C")
            );
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
#[ignore = "needs root and keepalived, ~45 s: scripts/test.sh step keepalived-logs"]
fn real_keepalived_faults_and_split_brain() {
    if !common::lab::ready() {
        return;
    }
    let mut lab = Lab::new("i");
    let flag = lab.path("chk_file.ok");
    std::fs::write(&flag, "").unwrap();
    let one = ["10.99.0.100/24"];
    let a = Node {
        priority: 150,
        pass: "secret1",
        vips: &one,
        track_file: Some(&flag),
        extra: "",
        global: "",
    };
    lab.start_node("A", &a);
    lab.start("B", 100, "secret1");
    // lbC's configuration has a line keepalived rejects; it runs without it.
    let c = Node {
        priority: 50,
        pass: "secret1",
        vips: &one,
        track_file: None,
        extra: "  advert_intervall 1\n",
        global: "",
    };
    lab.start_node("C", &c);
    lab.wait_for("A", "Entering MASTER STATE", 1, 15);
    lab.wait_for("B", "Entering BACKUP STATE", 1, 15);
    lab.wait_for("C", "Entering BACKUP STATE", 1, 15);

    // lvsmon beside lbA: its console and its dumps, a look every second.
    let cfg = lab.path("lvsmon.toml");
    std::fs::write(&cfg, "[incidents]\nobserve-interval = 1\n").unwrap();
    let (pid, log) = (lab.pid_file("A"), lab.log_file("A"));
    let (mut srv, addr) = common::serve(&[
        "--web.listen-address",
        "127.0.0.1:0",
        "--config",
        cfg.to_str().unwrap(),
        "--keepalived.pid-file",
        pid.to_str().unwrap(),
        "--keepalived.min-interval",
        "500ms",
        "--log.file",
        log.to_str().unwrap(),
        "--log.from-beginning",
    ]);

    // The track script fails: FAULT, lbB takes over; it passes again: lbA preempts.
    std::fs::remove_file(&flag).unwrap();
    lab.wait_for("A", "Entering FAULT STATE", 1, 15);
    lab.wait_for("B", "Entering MASTER STATE", 1, 15);
    let fault = wait_incident(addr, &lab, "vrrp_fault", 10, |_| true);
    assert!(
        fault["summary"].as_str().unwrap().contains("chk_file"),
        "the FAULT names its track script: {fault:#}"
    );
    std::fs::write(&flag, "").unwrap();
    lab.wait_for("A", "Entering MASTER STATE", 2, 15);
    lab.wait_for("B", "Entering BACKUP STATE", 2, 15);
    wait_incident(addr, &lab, "vrrp_fault", 10, |i| !i["end"].is_null());

    // The link goes down: FAULT again, for another reason.
    common::lab::sh(&["ip", "-n", &lab.ns("A"), "link", "set", "eth0", "down"]);
    lab.wait_for("A", "Entering FAULT STATE", 2, 15);
    std::thread::sleep(Duration::from_secs(2));
    common::lab::sh(&["ip", "-n", &lab.ns("A"), "link", "set", "eth0", "up"]);
    lab.wait_for("A", "Entering MASTER STATE", 3, 20);
    let link = wait_incident(addr, &lab, "vrrp_fault", 10, |i| {
        i["summary"].as_str().unwrap().contains("eth0") && !i["end"].is_null()
    });
    assert!(
        link["summary"].as_str().unwrap().contains("down"),
        "{link:#}"
    );

    // lbB comes back with two VIPs: each refuses the other's adverts, both are MASTER.
    lab.stop("B");
    let two = ["10.99.0.100/24", "10.99.0.101/24"];
    let b = Node {
        priority: 100,
        pass: "secret1",
        vips: &two,
        track_file: None,
        extra: "",
        global: "",
    };
    lab.start_node("B", &b);
    lab.wait_for("B", "Entering MASTER STATE", 3, 20);
    let split = wait_incident(addr, &lab, "split_brain", 20, |i| i["end"].is_null());
    assert_eq!(split["iname"], "VI_1", "{split:#}");
    assert!(
        split["evidence"][0]["line"]
            .as_str()
            .unwrap()
            .contains("adverts received"),
        "{split:#}"
    );
    std::thread::sleep(Duration::from_secs(3));

    // lbC goes first: it takes lbA's adverts (one VIP, like its own) and refuses lbB's, so
    // once lbA is gone it becomes MASTER itself after its master-down timer (about 3.8 s).
    // Whether that happened before the end of the test depended on how soon lvsmon saw
    // keepalived down: a CI run found three split brains in the post-mortem, each real
    // in the logs (lbA's killed console cannot say when it stopped being MASTER).
    lab.stop("C");
    // lbA's keepalived is killed: lvsmon says keepalived is down, and the split brain it
    // could see from there is over.
    lab.kill_instance("A");
    let down = wait_incident(addr, &lab, "keepalived_down", 15, |i| i["end"].is_null());
    assert_eq!(down["severity"], "critical", "{down:#}");
    let page = common::http_get(addr, "/metrics", None).2;
    assert!(
        page.contains("lvsmon_incident_active{kind=\"keepalived_down\",severity=\"critical\""),
        "{page}"
    );
    srv.terminate();
    lab.stop_all();

    let logs: Vec<String> = ["A", "B", "C"].iter().map(|h| lab.log(h)).collect();
    if std::env::var("LVSMON_RECAPTURE").is_ok() {
        for (h, l) in ["A", "B", "C"].iter().zip(&logs) {
            let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!(
                "tests/fixtures/logs/keepalived-2.2.7-fault-lb{h}.log"
            ));
            std::fs::write(p, l).unwrap();
        }
    }
    // The post-mortem of both consoles: two FAULTs of lbA, the split brain across both.
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec!["analyze".to_string(), "--format".into(), "json".into()];
    for (h, l) in ["A", "B", "C"].iter().zip(&logs) {
        let p = dir.path().join(format!("lb{h}.log"));
        std::fs::write(&p, l).unwrap();
        args.push(format!("{}@lb-{}", p.display(), h.to_lowercase()));
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lvsmon"))
        .args(&args)
        .env("TZ", "UTC")
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let incs = json["incidents"].as_array().unwrap();
    let kinds = |k: &str| incs.iter().filter(|i| i["kind"] == k).count();
    assert_eq!(kinds("vrrp_fault"), 2, "{incs:#?}");
    assert_eq!(kinds("split_brain"), 1, "{incs:#?}");
    let split = incs.iter().find(|i| i["kind"] == "split_brain").unwrap();
    assert_eq!(
        split["hosts"],
        serde_json::json!(["lb-a", "lb-b"]),
        "{split:#}"
    );
    assert!(kinds("vrrp_config_mismatch") >= 1, "{incs:#?}");
    let config = incs
        .iter()
        .find(|i| i["kind"] == "keepalived_config_error")
        .unwrap_or_else(|| panic!("no keepalived_config_error: {incs:#?}"));
    assert_eq!(config["host"], "lb-c", "{config:#}");
    assert!(
        config["evidence"][0]["line"]
            .as_str()
            .unwrap()
            .contains("advert_intervall"),
        "{config:#}"
    );
    assert_eq!(out.status.code(), Some(1), "a critical incident: exit 1");
}

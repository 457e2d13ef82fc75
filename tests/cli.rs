//! The binary as users run it: `serve --demo`, config file vs flags, `dump`, `-V`, SIGTERM.

mod common;

use common::*;
use std::process::{Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_lvsmon");

#[test]
fn serve_demo_shows_real_figures_and_stops_cleanly_on_sigterm() {
    let (mut srv, addr) = serve(&["--demo", "--web.listen-address", "127.0.0.1:0"]);
    let (status, _, body) = http_get(addr, "/metrics", None);
    assert_eq!(status, 200);
    let s = parse_exposition(&body);
    assert!(!find(&s, "ipvs_backend_weight", &[]).is_empty());
    assert!(one(&s, "ipvs_connections_total", &[]).value > 0.0);
    assert!(
        !find(&s, "ipvs_connections", &[]).is_empty(),
        "the demo shows the conntable too"
    );
    // ... and the netlink-only families, from the kernel replies recorded with the capture
    assert_eq!(
        one(&s, "lvsmon_ipvs_source_info", &[]).label("source"),
        "netlink"
    );
    let traffic: f64 = find(&s, "ipvs_backend_incoming_packets_total", &[])
        .iter()
        .map(|x| x.value)
        .sum();
    assert!(traffic > 0.0);
    assert_eq!(find(&s, "ipvs_sync_daemon_info", &[]).len(), 2);
    assert_eq!(find(&s, "ipvs_timeout_seconds", &[]).len(), 3);

    let st = srv.terminate();
    assert!(st.success(), "exit status {st}");
}

#[test]
fn config_file_settings_apply_and_flags_win() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("lvsmon.toml");
    let capture = root().join("tests/fixtures/kernel/nat4/proc");
    std::fs::write(
        &cfg,
        format!(
            "[web]\nlisten-address = [\"127.0.0.1:0\"]\ntelemetry-path = \"/m\"\n\
             [path]\nprocfs = \"{}\"\n[collector.ipvs]\nconntable = true\n",
            capture.display()
        ),
    )
    .unwrap();
    let cfg_s = cfg.to_str().unwrap();
    {
        let (_srv, a1) = serve(&["--config", cfg_s]);
        assert_eq!(a1.ip().to_string(), "127.0.0.1", "address from the file");
        let (status, _, body) = http_get(a1, "/m", None);
        assert_eq!(status, 200);
        assert!(
            body.contains("ipvs_connections{"),
            "conntable on from the file"
        );
        assert_eq!(http_get(a1, "/metrics", None).0, 404);
    }
    let (_srv, a2) = serve(&[
        "--config",
        cfg_s,
        "--web.listen-address",
        "127.0.0.2:0",
        "--web.telemetry-path",
        "/x",
    ]);
    assert_eq!(
        a2.ip().to_string(),
        "127.0.0.2",
        "the flag wins over the file"
    );
    assert_eq!(http_get(a2, "/x", None).0, 200);
    assert_eq!(http_get(a2, "/m", None).0, 404);
}

#[test]
fn dump_prints_the_page_and_version_is_reported() {
    let out = Command::new(BIN).args(["dump", "--demo"]).output().unwrap();
    assert!(out.status.success());
    let s = parse_exposition(&String::from_utf8(out.stdout).unwrap());
    let info = one(&s, "lvsmon_build_info", &[]);
    let v = Command::new(BIN).arg("-V").output().unwrap();
    let v = String::from_utf8(v.stdout).unwrap();
    assert!(v.contains(info.label("version")), "{v}");
}

#[test]
fn bad_config_and_bad_flags_fail_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bad.toml");
    std::fs::write(&cfg, "[web]\nlisten_adress = 1\n").unwrap();
    let out = Command::new(BIN)
        .args(["dump", "--config", cfg.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.toml"));
    let out = Command::new(BIN)
        .args(["serve", "--web.listen-address", "nonsense"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nonsense"));
}

#[test]
fn a_client_that_half_closes_after_its_request_still_gets_the_whole_page() {
    use std::io::{Read, Write};
    let (_srv, addr) = serve(&["--demo", "--web.listen-address", "127.0.0.1:0"]);
    let whole = http_get(addr, "/metrics", None).2;
    // What nc and socat do at the end of their input: shut the write side, keep reading.
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let raw = String::from_utf8(raw).unwrap();
    let body = raw.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    let families = |page: &str| page.lines().filter(|l| l.starts_with("# TYPE")).count();
    assert!(families(&whole) > 10);
    assert_eq!(families(body), families(&whole), "the page was cut short");
}

#[test]
fn analyze_into_a_closed_pipe_exits_cleanly_instead_of_panicking() {
    let log = root().join("tests/fixtures/logs/keepalived-2.2.7-lbA.log");
    let mut child = Command::new(BIN)
        .args(["analyze", "--format", "json"])
        .arg(&log)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The reader goes away before lvsmon has read its input, so its write meets EPIPE.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}: {err}", out.status);
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn dump_into_a_closed_pipe_exits_zero_quietly() {
    // `lvsmon dump --demo | head -1`: head exits after one line, the rest meets EPIPE.
    // A large director: its page (megabytes) is far larger than a pipe's buffer.
    let scale = root().join("tests/fixtures/kernel/scale/proc");
    let mut child = Command::new(BIN)
        .arg("dump")
        .arg("--path.procfs")
        .arg(&scale)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read one line, then go away as head does.
    {
        use std::io::BufRead;
        let mut r = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        r.read_line(&mut first).unwrap();
        assert!(first.starts_with("# HELP"), "{first}");
    }
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}: {err}", out.status);
    assert!(err.trim().is_empty(), "quietly: {err}");
}

#[test]
fn dump_refuses_log_sources_with_a_clear_message() {
    for flag in [
        &["--log.file", "/var/log/syslog"][..],
        &["--log.journal"],
        &["--log.kmsg"],
    ] {
        let out = Command::new(BIN)
            .args(["dump", "--demo"])
            .args(flag)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{flag:?} accepted");
        assert!(
            err.contains("does not read logs") && err.contains("lvsmon analyze"),
            "{flag:?}: {err}"
        );
    }
}

/// An RFC 3164 line carries neither zone nor year: `--log.timezone` says where it was
/// written, `--year` which year. 02:30 on 2024-03-31 does not exist in Berlin (clocks jump
/// from 02:00 to 03:00); in New York it is 06:30 UTC; in UTC it is itself.
#[test]
fn analyze_reads_zoneless_times_in_the_zone_it_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("syslog");
    std::fs::write(
        &log,
        "Mar 31 02:30:00 lb1 Keepalived_vrrp[7]: (VI_1) Entering MASTER STATE\n",
    )
    .unwrap();
    let first = |zone: &str| {
        let out = Command::new(BIN)
            .args([
                "analyze",
                "--format",
                "json",
                "--year",
                "2024",
                "--log.timezone",
                zone,
            ])
            .arg(&log)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["hosts"]["lb1"]["vrrp_master"]["first"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(first("UTC"), "2024-03-31T02:30:00Z");
    assert_eq!(first("America/New_York"), "2024-03-31T06:30:00Z");
    // The skipped hour is read with the offset before the gap (CET, +01:00).
    assert_eq!(first("Europe/Berlin"), "2024-03-31T01:30:00Z");
    let out = Command::new(BIN)
        .args(["analyze", "--log.timezone", "Mars/Olympus_Mons"])
        .arg(&log)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Mars/Olympus_Mons"));
}

/// Two directors' console captures (lines that name no host) told apart by `FILE@HOST`.
#[test]
fn analyze_tells_which_director_did_what_and_when() {
    let logs = root().join("tests/fixtures/logs");
    let out = Command::new(BIN)
        .args(["analyze", "--format", "json", "--log.timezone", "UTC"])
        .arg(format!(
            "{}@lb-a",
            logs.join("keepalived-2.2.7-lbA.log").display()
        ))
        .arg(format!(
            "{}@lb-b",
            logs.join("keepalived-2.2.7-lbB.log").display()
        ))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let hosts = v["hosts"].as_object().unwrap();
    assert_eq!(hosts.keys().collect::<Vec<_>>(), ["lb-a", "lb-b"]);
    // Each capture's own MASTER transitions, with the times its lines carry.
    for (host, file) in [("lb-a", "lbA"), ("lb-b", "lbB")] {
        let text =
            std::fs::read_to_string(logs.join(format!("keepalived-2.2.7-{file}.log"))).unwrap();
        let masters: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("Entering MASTER STATE"))
            .collect();
        let m = &v["hosts"][host]["vrrp_master"];
        assert_eq!(m["count"], masters.len(), "{host}");
        // `Tue Dec  1 23:44:21 2026: …`: the console's local time, read as UTC here.
        let clock = |l: &str| l.split_whitespace().nth(3).unwrap().to_string();
        assert!(
            m["first"].as_str().unwrap().contains(&clock(masters[0])),
            "{host}: {m}"
        );
        assert!(
            m["last"]
                .as_str()
                .unwrap()
                .contains(&clock(masters[masters.len() - 1])),
            "{host}: {m}"
        );
    }
    // The sum over hosts is what the files hold together.
    let total: u64 = hosts
        .values()
        .map(|k| k["vrrp_master"]["count"].as_u64().unwrap())
        .sum();
    assert_eq!(v["events"]["vrrp_master"], total);
}

/// The incident engine under `serve`: the demo's real checker log takes 10.1.0.12:80 out
/// of TCP 10.0.0.100:80 and loses the quorum; both are open incidents in the API and in
/// `lvsmon_incident_active` with the identity labels of every other family.
#[test]
fn serve_tells_open_incidents_in_the_api_and_the_metrics() {
    let (_srv, addr) = serve(&["--demo", "--web.listen-address", "127.0.0.1:0"]);
    // The detectors run in their own thread: wait (bounded) for them to catch up.
    let mut open = serde_json::Value::Null;
    for _ in 0..100 {
        let (status, _, body) = http_get(addr, "/api/v1/incidents?state=open", None);
        assert_eq!(status, 200);
        open = serde_json::from_str(&body).unwrap();
        if open.as_array().is_some_and(|a| a.len() >= 3) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let open = open.as_array().expect("a JSON array").clone();
    let vsd = open
        .iter()
        .find(|i| i["kind"] == "virtual_service_down")
        .unwrap_or_else(|| panic!("no virtual_service_down in {open:?}"));
    assert_eq!(vsd["virtual_service"], "TCP 10.0.0.100:80");
    assert_eq!(vsd["severity"], "critical");
    assert!(vsd["end"].is_null());
    assert!(vsd["start"].as_str().unwrap().ends_with('Z'));
    for field in ["id", "host", "count", "evidence", "summary", "hint"] {
        assert!(!vsd[field].is_null(), "{field} in {vsd}");
    }
    let rsd = open
        .iter()
        .find(|i| i["kind"] == "real_server_down" && i["virtual_service"] == "TCP 10.0.0.100:80")
        .expect("real_server_down");
    assert_eq!(rsd["real_server"], "10.1.0.12:80");
    assert!(open.iter().all(|i| i["end"].is_null()), "state=open");

    let (_, _, all) = http_get(addr, "/api/v1/incidents?state=all", None);
    let all: Vec<serde_json::Value> = serde_json::from_str(&all).unwrap();
    assert!(all.len() > open.len(), "closed ones too: {all:?}");
    assert_eq!(
        http_get(addr, "/api/v1/incidents?state=nonsense", None).0,
        400
    );

    let (_, _, page) = http_get(addr, "/metrics", None);
    let s = parse_exposition(&page);
    let active = one(
        &s,
        "lvsmon_incident_active",
        &[
            ("kind", "real_server_down"),
            ("proto", "TCP"),
            ("local_address", "10.0.0.100"),
            ("local_port", "80"),
            ("remote_address", "10.1.0.12"),
            ("remote_port", "80"),
        ],
    );
    assert_eq!(active.value, 1.0);
    assert_eq!(active.label("severity"), "warning");
    let opened: f64 = find(
        &s,
        "lvsmon_incidents_total",
        &[("kind", "real_server_down")],
    )
    .iter()
    .map(|x| x.value)
    .sum();
    assert_eq!(opened, 2.0, "TCP 10.0.0.100:80 and :8080");
}

/// A post-mortem over three directors: the split brain of the capture (lb-c, with another
/// password, MASTER beside lb-a) makes the exit status 1; filters narrow what is reported
/// but the detectors still see the MASTER that began before `--since`.
#[test]
fn analyze_finds_the_split_brain_and_says_so_in_its_exit_status() {
    let logs = root().join("tests/fixtures/logs");
    let input = |f: &str, h: &str| {
        format!(
            "{}@{h}",
            logs.join(format!("keepalived-2.2.7-{f}.log")).display()
        )
    };
    let run = |extra: &[&str]| {
        let out = Command::new(BIN)
            .args(["analyze", "--format", "json", "--log.timezone", "UTC"])
            .args(extra)
            .arg(input("lbA", "lb-a"))
            .arg(input("lbB", "lb-b"))
            .arg(input("lbC", "lb-c"))
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (out.status.code(), v)
    };
    let (code, v) = run(&[]);
    assert_eq!(code, Some(1), "a critical incident was found");
    let v0 = v.clone();
    let sb: Vec<&serde_json::Value> = v["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "split_brain")
        .collect();
    assert_eq!(sb.len(), 1, "{v}");
    assert_eq!(sb[0]["hosts"], serde_json::json!(["lb-a", "lb-c"]));
    assert_eq!(sb[0]["start"], "2026-12-01T23:44:32Z");
    assert_eq!(sb[0]["end"], "2026-12-01T23:44:34Z");

    let (code, v) = run(&["--since", "2026-12-01T23:44:30Z", "--kind", "split_brain"]);
    assert_eq!(code, Some(1));
    assert_eq!(v["incidents"].as_array().unwrap().len(), 1, "{v}");
    let (code, v) = run(&["--until", "2026-12-01T23:44:30Z"]);
    assert_eq!(code, Some(0), "before the split brain: {v}");
    assert!(v["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["kind"] != "split_brain"));
    // `--incidents` (the engine was opt-in once) is still taken and changes nothing;
    // `--no-incidents` counts events only, and then finds nothing critical.
    let (code, old) = run(&["--incidents"]);
    assert_eq!((code, &old["incidents"]), (Some(1), &v0["incidents"]));
    let (code, events) = run(&["--no-incidents"]);
    assert_eq!(code, Some(0));
    assert_eq!(events["incidents"], serde_json::json!([]), "{events}");
    assert_eq!(events["hosts"], v0["hosts"]);
    let html = Command::new(BIN)
        .args(["analyze", "--no-incidents", "--format", "html"])
        .arg(input("lbA", "lb-a"))
        .output()
        .unwrap();
    assert_eq!(
        html.status.code(),
        Some(2),
        "the report is drawn from incidents"
    );
    let (_, v) = run(&["--host", "lb-b"]);
    assert_eq!(
        v["hosts"].as_object().unwrap().keys().collect::<Vec<_>>(),
        ["lb-b"]
    );
    // An error is 2, not 1 (a script must tell "incident" from "could not look").
    let bad = Command::new(BIN)
        .args(["analyze", "/nonexistent/x.log"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

/// A restart of `serve` with a state directory neither forgets an open incident nor opens
/// it twice (the file is not read again: its offset was saved too).
#[test]
fn open_incidents_survive_a_restart_once() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("keepalived.log");
    let state = dir.path().join("state");
    std::fs::write(
        &log,
        "Dec  2 10:00:00 lb1 Keepalived_healthcheckers[3]: Removing service [10.1.0.12]:tcp:80 from VS [10.0.0.100]:tcp:80\n",
    )
    .unwrap();
    let procfs = root().join("tests/fixtures/kernel/nat4/proc");
    let args = [
        "--path.procfs",
        procfs.to_str().unwrap(),
        "--no-collector.keepalived",
        "--log.file",
        log.to_str().unwrap(),
        "--log.from-beginning",
        "--log.state-dir",
        state.to_str().unwrap(),
        "--web.listen-address",
        "127.0.0.1:0",
    ];
    let open = |addr| {
        let (_, _, body) = http_get(addr, "/api/v1/incidents?state=open", None);
        serde_json::from_str::<Vec<serde_json::Value>>(&body).unwrap()
    };
    let wait = |addr, want: usize| {
        for _ in 0..100 {
            let v = open(addr);
            if v.len() == want {
                return v;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("never {want} open incidents: {:?}", open(addr));
    };
    let first = {
        let (mut srv, addr) = serve(&args);
        let v = wait(addr, 1);
        assert!(srv.terminate().success());
        v
    };
    let (_srv, addr) = serve(&args);
    let again = wait(addr, 1);
    assert_eq!(again[0]["id"], first[0]["id"]);
    assert_eq!(again[0]["count"], 1, "not read twice");
    assert_eq!(again[0]["real_server"], "10.1.0.12:80");
    // And it still closes when the server comes back.
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    std::io::Write::write_all(
        &mut f,
        b"Dec  2 10:01:00 lb1 Keepalived_healthcheckers[3]: Adding service [10.1.0.12]:tcp:80 to VS [10.0.0.100]:tcp:80\n",
    )
    .unwrap();
    wait(addr, 0);
}

#[test]
fn analyze_says_when_several_unnamed_consoles_are_read_as_one_director() {
    let logs = root().join("tests/fixtures/logs");
    let (a, b) = (
        logs.join("keepalived-2.2.7-lbA.log"),
        logs.join("keepalived-2.2.7-lbB.log"),
    );
    let run = |args: &[std::ffi::OsString]| {
        let out = Command::new(BIN)
            .args(["analyze", "--format", "json", "-o", "/dev/null"])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.code().is_some_and(|c| c < 2), "{}", out.status);
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let named = |p: &std::path::Path, h: &str| format!("{}@{h}", p.display()).into();
    // Two consoles of two directors, unnamed: one director `-`, and lvsmon says so, naming both.
    let err = run(&[a.clone().into(), b.clone().into()]);
    assert!(
        err.contains("read as one director")
            && err.contains(&a.display().to_string())
            && err.contains(&b.display().to_string()),
        "{err}"
    );
    // Named, or one file alone, or a syslog file whose lines carry their host: nothing to say.
    assert_eq!(run(&[named(&a, "lb-a"), named(&b, "lb-b")]), "");
    assert_eq!(run(&[a.clone().into()]), "");
    let dir = tempfile::tempdir().unwrap();
    let syslog = dir.path().join("syslog");
    std::fs::write(
        &syslog,
        "Dec  1 23:44:21 lb-c Keepalived_vrrp[7]: (VI_1) Entering MASTER STATE\n",
    )
    .unwrap();
    assert_eq!(run(&[a.into(), syslog.into()]), "");
}

#[test]
fn analyze_since_and_until_take_a_local_time_in_the_logs_zone() {
    let logs = root().join("tests/fixtures/logs");
    let inputs = [
        format!("{}@lb-a", logs.join("keepalived-2.2.7-lbA.log").display()),
        format!("{}@lb-b", logs.join("keepalived-2.2.7-lbB.log").display()),
    ];
    let run = |args: &[&str]| {
        let out = Command::new(BIN)
            .args(["analyze", "--format", "json"])
            .args(args)
            .args(&inputs)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            err,
        )
    };
    // The consoles' times carry no zone: they are read in --log.timezone's, and so is a
    // --since or --until without one, so a time copied from a line means that line.
    for (zone, offset) in [("UTC", "Z"), ("Europe/Berlin", "+01:00")] {
        let all = run(&["--log.timezone", zone]);
        let local = run(&[
            "--log.timezone",
            zone,
            "--since",
            "2026-12-01 23:44:25",
            "--until",
            "2026-12-01T23:44:30",
        ]);
        let rfc = run(&[
            "--log.timezone",
            zone,
            "--since",
            &format!("2026-12-01T23:44:25{offset}"),
            "--until",
            &format!("2026-12-01T23:44:30{offset}"),
        ]);
        assert!(local.0.is_some_and(|c| c < 2), "{zone}: {}", local.2);
        assert_eq!(local, rfc, "{zone}");
        assert_ne!(local.1, all.1, "{zone}: the window kept everything");
        assert!(local.1.contains("\"matched\""), "{}", local.1);
    }
    // A span back from now, as journalctl takes it: `-2h` is a value, not a flag. The
    // captures are from 2026-12-01, long before now: nothing is kept, as with a --since
    // after them.
    let back = run(&["--log.timezone", "UTC", "--since", "-2h"]);
    assert!(back.0.is_some_and(|c| c < 2), "{}", back.2);
    let after = run(&["--log.timezone", "UTC", "--since", "2026-12-02 00:00"]);
    assert_eq!(back, after);
    assert_ne!(back.1, run(&["--log.timezone", "UTC"]).1);
    let (code, _, err) = run(&["--since", "last tuesday"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("--since \"last tuesday\"") && err.contains("RFC 3339"),
        "{err}"
    );
}

#[test]
fn analyze_refuses_an_unknown_kind_and_says_when_a_host_is_never_seen() {
    let log = format!(
        "{}@lb-a",
        root()
            .join("tests/fixtures/logs/keepalived-2.2.7-fault-lbA.log")
            .display()
    );
    let run = |args: &[&str]| {
        let out = Command::new(BIN)
            .args(["analyze", "--format", "json", "-o", "/dev/null"])
            .args(args)
            .arg(&log)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // A misspelt kind would find nothing and exit 0, "no critical incident": an error.
    let (code, err) = run(&["--kind", "split_brian"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("\"split_brian\"") && err.contains("split_brain"),
        "{err}"
    );
    let (code, err) = run(&["--kind", "split_brain", "--kind", "vrrp_fault"]);
    assert!(code.is_some_and(|c| c < 2), "{err}");
    assert_eq!(err, "");
    // A host no line names reports nothing: said on stderr, the run otherwise as before.
    let (code, err) = run(&["--host", "lb-z", "--host", "lb-a"]);
    assert!(code.is_some_and(|c| c < 2), "{err}");
    assert!(err.contains("--host \"lb-z\" names no director"), "{err}");
    assert!(!err.contains("\"lb-a\""), "{err}");
    // Seen, though outside the window: named correctly, nothing to say.
    let (_, err) = run(&["--host", "lb-a", "--since", "2099-01-01T00:00:00Z"]);
    assert_eq!(err, "");
}

/// The real keepalived 2.2.7 captures of three directors (a FAULT, a split brain, a
/// rejected configuration), each named: `FILE@lbA` …
fn fault_captures() -> Vec<String> {
    let logs = root().join("tests/fixtures/logs");
    ["A", "B", "C"]
        .iter()
        .map(|d| {
            format!(
                "{}@lb{d}",
                logs.join(format!("keepalived-2.2.7-fault-lb{d}.log"))
                    .display()
            )
        })
        .collect()
}

#[test]
fn analyze_text_sums_up_incidents_by_kind_and_host_before_the_timeline() {
    let inputs = fault_captures();
    let run = |format: &str| {
        let out = Command::new(BIN)
            .args(["analyze", "--format", format])
            .args(&inputs)
            .output()
            .unwrap();
        assert!(out.status.code().is_some_and(|c| c < 2), "{}", out.status);
        String::from_utf8(out.stdout).unwrap()
    };
    // What the summary must say, from the incidents themselves (JSON).
    let json: serde_json::Value = serde_json::from_str(&run("json")).unwrap();
    let incidents = json["incidents"].as_array().unwrap();
    let mut want: std::collections::BTreeMap<
        String,
        (u64, u64, std::collections::BTreeMap<String, u64>),
    > = Default::default();
    for i in incidents {
        let e = want
            .entry(i["kind"].as_str().unwrap().to_string())
            .or_default();
        e.0 += 1;
        e.1 += u64::from(i["end"].is_null());
        let hosts = i["host"].as_str().map(|h| vec![h]).unwrap_or_else(|| {
            i["hosts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| h.as_str().unwrap())
                .collect()
        });
        for h in hosts {
            *e.2.entry(h.to_string()).or_default() += 1;
        }
    }
    assert!(
        want.len() >= 4 && want.contains_key("split_brain"),
        "{want:?}"
    );

    let text = run("text");
    let (before, timeline) = text
        .split_once(&format!("incidents ({}):\n", incidents.len()))
        .unwrap();
    let open = want.values().map(|k| k.1).sum::<u64>();
    let (_, summary) = before
        .split_once(&format!(
            "incidents by kind and host ({}, {open} still open):\n",
            incidents.len()
        ))
        .unwrap_or_else(|| panic!("no summary before the timeline:\n{text}"));
    let mut rows = summary.lines();
    assert!(rows
        .next()
        .unwrap()
        .split_whitespace()
        .eq(["kind", "severity", "all", "open", "by", "host"]));
    let mut got = std::collections::BTreeMap::new();
    let mut severities = Vec::new();
    for row in rows {
        let (head, hosts) = row
            .trim()
            .split_once("  lb")
            .map(|(h, r)| (h, format!("lb{r}")))
            .unwrap();
        let cols: Vec<&str> = head.split_whitespace().collect();
        let [kind, sev, all, open] = cols[..] else {
            panic!("{row}")
        };
        severities.push(sev.to_string());
        let by_host = hosts
            .split(", ")
            .map(|hc| {
                hc.split_once(' ')
                    .map(|(h, c)| (h.to_string(), c.parse().unwrap()))
                    .unwrap()
            })
            .collect();
        got.insert(
            kind.to_string(),
            (all.parse().unwrap(), open.parse().unwrap(), by_host),
        );
    }
    assert_eq!(got, want);
    // Critical kinds first.
    let rank = |s: &String| {
        ["critical", "warning", "info"]
            .iter()
            .position(|x| x == s)
            .unwrap()
    };
    assert!(
        severities.windows(2).all(|w| rank(&w[0]) <= rank(&w[1])),
        "{severities:?}"
    );
    assert!(timeline.contains("split_brain"), "the timeline follows");
}

#[test]
fn configured_severities_change_the_incidents_and_analyzes_exit_status() {
    let inputs = fault_captures();
    let dir = tempfile::tempdir().unwrap();
    let run = |severities: &str| {
        let cfg = dir.path().join("lvsmon.toml");
        std::fs::write(&cfg, format!("[incidents.severity]\n{severities}")).unwrap();
        let out = Command::new(BIN)
            .args(["analyze", "--format", "json", "--config"])
            .arg(&cfg)
            .args(&inputs)
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let sev: std::collections::BTreeMap<String, String> = v["incidents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    i["kind"].as_str().unwrap().into(),
                    i["severity"].as_str().unwrap().into(),
                )
            })
            .collect();
        (out.status.code(), sev)
    };
    // Defaults: the split brain and the FAULTs are critical, so the exit status is 1.
    let (code, sev) = run("");
    assert_eq!(code, Some(1));
    assert_eq!(
        (sev["split_brain"].as_str(), sev["vrrp_fault"].as_str()),
        ("critical", "critical")
    );
    assert_eq!(sev["vrrp_failover"], "info");
    // Both made warnings: nothing critical is left.
    let (code, sev) = run("split_brain = \"warning\"\nvrrp_fault = \"warning\"\n");
    assert_eq!(code, Some(0), "{sev:?}");
    assert_eq!(
        (sev["split_brain"].as_str(), sev["vrrp_fault"].as_str()),
        ("warning", "warning")
    );
    // A failover paged on: critical again, from the kind made across directors.
    let (code, sev) =
        run("split_brain = \"warning\"\nvrrp_fault = \"warning\"\nvrrp_failover = \"critical\"\n");
    assert_eq!(code, Some(1), "{sev:?}");
    assert_eq!(sev["vrrp_failover"], "critical");
}

#[test]
fn standard_input_is_named_after_a_double_dash() {
    // `ssh lb-a dmesg | lvsmon analyze -- -@lb-a`: a console on standard input, named.
    let capture =
        std::fs::read(root().join("tests/fixtures/logs/keepalived-2.2.7-lbA.log")).unwrap();
    let mut child = Command::new(BIN)
        .args([
            "analyze",
            "--format",
            "json",
            "--no-incidents",
            "--",
            "-@lb-a",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(&capture).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let hosts: Vec<&String> = v["hosts"].as_object().unwrap().keys().collect();
    assert_eq!(hosts, ["lb-a"]);
    assert!(v["matched"].as_u64().unwrap() > 10, "{v}");
}

#[test]
fn a_directors_rotations_in_the_shells_order_tell_the_whole_logs_story() {
    // `lvsmon analyze syslog*` gives syslog, syslog.1, syslog.2.gz: newest first.
    let capture =
        std::fs::read_to_string(root().join("tests/fixtures/logs/keepalived-2.2.7-fault-lbA.log"))
            .unwrap();
    let lines: Vec<&str> = capture.lines().collect();
    let third = lines.len().div_ceil(3);
    let piece = |i: usize| -> String {
        lines
            .iter()
            .skip(i * third)
            .take(third)
            .map(|l| format!("{l}\n"))
            .collect()
    };
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole.log");
    std::fs::write(&whole, &capture).unwrap();
    std::fs::write(dir.path().join("syslog"), piece(2)).unwrap();
    std::fs::write(dir.path().join("syslog.1"), piece(1)).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, piece(0).as_bytes()).unwrap();
    std::fs::write(dir.path().join("syslog.2.gz"), gz.finish().unwrap()).unwrap();
    let incidents = |files: &[&str]| -> serde_json::Value {
        let out = Command::new(BIN)
            .current_dir(dir.path())
            .args([
                "analyze",
                "--format",
                "json",
                "--year",
                "2026",
                "--log.timezone",
                "UTC",
            ])
            .args(files)
            .output()
            .unwrap();
        assert!(out.status.code().is_some_and(|c| c <= 1), "{out:?}");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["incidents"].clone()
    };
    let want = incidents(&["whole.log"]);
    let kinds: Vec<&str> = want
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"vrrp_fault"), "{kinds:?}");
    assert_eq!(incidents(&["syslog", "syslog.1", "syslog.2.gz"]), want);

    // An input that cannot be read is an error naming it (exit 2), not a shorter story.
    let out = Command::new(BIN)
        .current_dir(dir.path())
        .args(["analyze", "syslog", "syslog.9"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("syslog.9"));
}

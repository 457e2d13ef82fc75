//! `lvsmon analyze` over RFC 5424 files as a REAL rsyslog writes them.
//!
//! Central log servers often keep RFC 5424 (`<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD
//! MSG`), rsyslog's `RSYSLOG_SyslogProtocol23Format`. The test starts Debian's rsyslogd
//! (8.2302 in bookworm) on a socket and files of its own, with nothing else loaded: no
//! system socket, no network. The real keepalived 2.2.7 capture
//! (tests/fixtures/logs/keepalived-2.2.7-lbA.log) goes in through `logger`, which writes to
//! the socket as glibc's syslog(3) does for keepalived; rsyslogd writes the file; `analyze`
//! must count in it what it counts in the capture, kind by kind, on the director rsyslog
//! named, at the times rsyslog stamped.

mod common;

use common::skip;
use lvsmon::logs::analyze::Analyzer;
use lvsmon::logs::frame::YearClock;
use lvsmon::logs::rules::Rules;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_lvsmon");
const CAPTURE: &str = include_str!("fixtures/logs/keepalived-2.2.7-lbA.log");
const RSYSLOGD: &str = "/usr/sbin/rsyslogd";

/// Stops rsyslogd however the test ends.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits (bounded) for `ok`.
fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn rsyslog_rfc5424_files_classify_like_the_capture() {
    if !Path::new(RSYSLOGD).exists() {
        skip("rsyslog not installed");
        return;
    }
    if !common::tool("logger") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (sock, out) = (d.join("log.sock"), d.join("rfc5424.log"));
    std::fs::write(
        d.join("rsyslog.conf"),
        format!(
            "global(workDirectory=\"{dir}\")\n\
             module(load=\"imuxsock\" SysSock.Use=\"off\")\n\
             input(type=\"imuxsock\" Socket=\"{sock}\" RateLimit.Interval=\"0\")\n\
             *.* action(type=\"omfile\" file=\"{out}\" template=\"RSYSLOG_SyslogProtocol23Format\")\n",
            dir = d.display(),
            sock = sock.display(),
            out = out.display()
        ),
    )
    .unwrap();
    let daemon = Daemon(
        Command::new(RSYSLOGD)
            .arg("-n")
            .arg("-f")
            .arg(d.join("rsyslog.conf"))
            .arg("-i")
            .arg(d.join("rsyslogd.pid"))
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for("rsyslogd's socket", || sock.exists());

    // The capture's messages, keepalived's console prefix (`Tue Dec  1 23:44:17 2026: `) cut.
    let messages: String = CAPTURE
        .lines()
        .map(|l| l.split_once(": ").map_or(l, |(_, m)| m))
        .map(|m| format!("{m}\n"))
        .collect();
    let msgs = d.join("messages");
    std::fs::write(&msgs, &messages).unwrap();
    let before = jiff::Timestamp::now();
    let st = Command::new("logger")
        .arg("--socket")
        .arg(&sock)
        .args(["-t", "Keepalived_vrrp", "--id=4242", "-f"])
        .arg(&msgs)
        .status()
        .unwrap();
    assert!(st.success(), "logger: {st}");
    let n = messages.lines().count();
    wait_for("rsyslogd to write every line", || {
        std::fs::read_to_string(&out).is_ok_and(|s| s.lines().count() >= n)
    });
    let after = jiff::Timestamp::now();
    drop(daemon);

    let file = std::fs::read_to_string(&out).unwrap();
    assert!(
        file.lines()
            .all(|l| l.starts_with("<") && l.contains(">1 ")),
        "not RFC 5424:\n{file}"
    );

    let rules = std::sync::Arc::new(Rules::builtin().unwrap());
    let mut a = Analyzer::new(rules, YearClock::fixed(2026), 1 << 16);
    a.read(CAPTURE.as_bytes()).unwrap();
    let want = a.summary().events;
    assert!(want.len() >= 5, "{want:?}");

    let o = Command::new(BIN)
        .args(["analyze", "--no-incidents", "--format", "json"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let got: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let events: BTreeMap<String, u64> = serde_json::from_value(got["events"].clone()).unwrap();
    assert_eq!(events, want);
    // One director, named by rsyslog (this machine), not `-`; every event at the time
    // rsyslog stamped, between the first line sent and the last one written.
    let hosts = got["hosts"].as_object().unwrap();
    assert_eq!(hosts.len(), 1, "{hosts:?}");
    let (host, kinds) = hosts.iter().next().unwrap();
    assert_ne!(host, "-");
    let window = before.as_second() - 1..=after.as_second() + 1;
    for (kind, k) in kinds.as_object().unwrap() {
        for end in ["first", "last"] {
            let t: jiff::Timestamp = k[end].as_str().unwrap().parse().unwrap();
            assert!(window.contains(&t.as_second()), "{kind} {end} {t}");
        }
    }
}

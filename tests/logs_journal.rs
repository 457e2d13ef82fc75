//! `lvsmon serve --log.journal` against a REAL systemd-journald and journalctl.
//!
//! `a_real_journal_classifies_the_capture_like_the_file` (ignored by default: it needs root;
//! `scripts/test.sh` runs it in its `keepalived-logs` step) starts Debian's systemd-journald
//! by hand inside a private mount and PID namespace (`unshare`), with its own tmpfs `/run`
//! (so volatile storage and the sockets are the test's, and a journald of the host, if any,
//! is neither seen nor touched) and kmsg reading off. The real keepalived 2.2.7 capture
//! (tests/fixtures/logs/keepalived-2.2.7-lbA.log) goes in twice: once through
//! `systemd-cat` (the stream transport) before lvsmon starts, read with
//! `--log.from-beginning`, and once through `logger` on journald's syslog socket after it
//! started, read as journalctl follows. The event counts on /metrics must be twice what
//! `analyze` counts in the capture file, kind by kind. When lvsmon, PID 1 of the namespace,
//! is killed, the kernel ends journald with it.

mod common;

use common::{http_get, is_root, parse_exposition, serve_via, tool};
use lvsmon::logs::analyze::Analyzer;
use lvsmon::logs::frame::YearClock;
use lvsmon::logs::rules::Rules;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const CAPTURE: &str = include_str!("fixtures/logs/keepalived-2.2.7-lbA.log");

/// The capture's messages: keepalived's console prefix (`Tue Dec  1 23:44:17 2026: `) cut.
fn messages() -> String {
    CAPTURE
        .lines()
        .map(|l| l.split_once(": ").map_or(l, |(_, m)| m))
        .map(|m| format!("{m}\n"))
        .collect()
}

/// Events by kind in the capture file, as `analyze` counts them.
fn file_counts() -> BTreeMap<String, u64> {
    let rules = std::sync::Arc::new(Rules::builtin().unwrap());
    let mut a = Analyzer::new(rules, YearClock::fixed(2026), 1 << 16);
    a.read(CAPTURE.as_bytes()).unwrap();
    a.summary().events
}

/// Events by kind on the page, all series of a kind summed.
fn page_counts(page: &str) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for s in parse_exposition(page) {
        if s.name == "lvsmon_log_events_total" {
            *out.entry(s.label("kind").to_string()).or_insert(0) += s.value as u64;
        }
    }
    out
}

/// Sets up the namespace, journald and the first batch, then runs its arguments (lvsmon).
const SETUP: &str = r#"
set -eu
mount -t tmpfs tmpfs /run
mkdir -p /run/systemd/journal /run/log/journal /run/systemd/journald.conf.d
printf '[Journal]\nStorage=volatile\nReadKMsg=no\nRateLimitIntervalSec=0\nForwardToSyslog=no\nForwardToWall=no\nForwardToConsole=no\n' \
    >/run/systemd/journald.conf.d/lvsmon-test.conf
if [ -d /var/log/journal ]; then mount -t tmpfs tmpfs /var/log/journal; fi
/lib/systemd/systemd-journald &
i=0
while [ ! -S /run/systemd/journal/stdout ] || [ ! -S /run/systemd/journal/dev-log ]; do
    i=$((i + 1)); [ "$i" -lt 100 ] || { echo "journald did not start" >&2; exit 1; }
    sleep 0.1
done
systemd-cat -t Keepalived_vrrp <"$LVSMON_TEST_MESSAGES"
# The second batch, once lvsmon follows: over the syslog socket this time.
( sleep 3; logger --socket /run/systemd/journal/dev-log -t Keepalived_vrrp -f "$LVSMON_TEST_MESSAGES" ) &
exec "$@"
"#;

#[test]
#[ignore = "needs root, systemd-journald and unshare: scripts/test.sh step keepalived-logs"]
fn a_real_journal_classifies_the_capture_like_the_file() {
    if !is_root() {
        assert!(std::env::var("LVSMON_REQUIRE_TOOLS").is_err(), "needs root");
        eprintln!("not root: skipping");
        return;
    }
    for t in ["unshare", "journalctl", "systemd-cat", "logger"] {
        if !tool(t) {
            return;
        }
    }
    assert!(
        std::path::Path::new("/lib/systemd/systemd-journald").exists(),
        "systemd-journald is missing (package systemd, scripts/install-deps.sh)"
    );
    let dir = tempfile::tempdir().unwrap();
    let msgs = dir.path().join("messages");
    std::fs::write(&msgs, messages()).unwrap();
    std::env::set_var("LVSMON_TEST_MESSAGES", &msgs);
    let state = dir.path().join("state");
    let (mut srv, addr) = serve_via(
        &[
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "--pid",
            "--fork",
            "--kill-child",
            "--mount-proc",
            "sh",
            "-c",
            SETUP,
            "sh",
        ],
        &[
            "--web.listen-address",
            "127.0.0.1:0",
            "--log.journal",
            "--log.from-beginning",
            "--log.state-dir",
            state.to_str().unwrap(),
            "--no-collector.keepalived",
        ],
    );
    let want: BTreeMap<String, u64> = file_counts().into_iter().map(|(k, n)| (k, 2 * n)).collect();
    assert!(want.len() >= 5, "{want:?}");
    let deadline = Instant::now() + Duration::from_secs(30);
    let got = loop {
        let (status, _, body) = http_get(addr, "/metrics", None);
        assert_eq!(status, 200);
        let got = page_counts(&body);
        if got == want || Instant::now() > deadline {
            assert!(
                body.contains("lvsmon_log_source_up{source=\"journal\"} 1"),
                "journal source not up:\n{}",
                srv.log()
            );
            break got;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(got, want, "lvsmon log:\n{}", srv.log());
    // SIGTERM to lvsmon itself (unshare ignores it while it waits): lvsmon stops its
    // journalctl, saves the cursor and exits; a restart would resume after it.
    let unshare = srv.child.id();
    let children = std::fs::read_to_string(format!("/proc/{unshare}/task/{unshare}/children"))
        .unwrap_or_default();
    let lvsmon = children
        .split_whitespace()
        .next()
        .expect("lvsmon under unshare");
    assert!(std::process::Command::new("kill")
        .args(["-TERM", lvsmon])
        .status()
        .unwrap()
        .success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let st = loop {
        if let Some(st) = srv.child.try_wait().unwrap() {
            break st;
        }
        assert!(
            Instant::now() < deadline,
            "lvsmon ignored SIGTERM\n{}",
            srv.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(st.success(), "{st:?}\n{}", srv.log());
    let saved = std::fs::read_dir(&state)
        .unwrap()
        .filter_map(|e| std::fs::read_to_string(e.unwrap().path()).ok())
        .any(|t| t.contains("s="));
    assert!(saved, "no journal cursor in the state dir");
}

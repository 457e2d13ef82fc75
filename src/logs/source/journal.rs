//! The systemd journal through a `journalctl -o json -f` child, filtered to keepalived's
//! identifiers and the kernel. The cursor of the last record read is kept in the state dir
//! so that a restart resumes after it; a child that dies (or a journalctl that is missing)
//! is restarted with a backoff doubling from 1 s to 30 s.

use super::{Pipeline, StateStore, Stop};
use crate::health::OnceLog;
use crate::lines::Splitter;
use crate::logs::frame_json::cursor;
use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// keepalived's identifiers (journalctl matches them exactly).
const IDENTS: [&str; 5] = [
    "Keepalived",
    "Keepalived_vrrp",
    "Keepalived_healthcheckers",
    "Keepalived_check",
    "Keepalived_bfd",
];
const STATE_KEY: &str = "journal";

#[derive(Debug, Clone)]
pub struct JournalOptions {
    /// The journalctl to run (`journalctl` from PATH).
    pub journalctl: PathBuf,
    pub from_beginning: bool,
    pub max_line: usize,
}

/// journalctl's arguments: after the saved cursor, else from the start or the end.
pub fn args(cursor: Option<&str>, from_beginning: bool) -> Vec<String> {
    let mut a: Vec<String> = ["-o", "json", "-f", "--no-pager", "-n"]
        .map(String::from)
        .to_vec();
    a.push(
        if cursor.is_some() || from_beginning {
            "all"
        } else {
            "0"
        }
        .into(),
    );
    if let Some(c) = cursor {
        a.push(format!("--after-cursor={c}"));
    }
    a.push("_TRANSPORT=kernel".into());
    a.push("+".into());
    a.extend(IDENTS.iter().map(|i| format!("SYSLOG_IDENTIFIER={i}")));
    a
}

/// Runs journalctl until `stop`, restarting it when it ends.
pub fn run(opts: JournalOptions, mut pipeline: Pipeline, store: Option<StateStore>, stop: Stop) {
    let mut backoff = Duration::from_secs(1);
    let mut log = OnceLog::default();
    let mut last = store.as_ref().and_then(|s| s.load(STATE_KEY));
    while !stop.stopped() {
        let started = Instant::now();
        match read_child(&opts, &mut pipeline, store.as_ref(), &mut last, &stop) {
            Ok(()) => log.ok("journal", "journalctl ran again"),
            Err(msg) => {
                log.failed("journal", &msg);
            }
        }
        pipeline.stats().set_up(pipeline.source(), false);
        if started.elapsed() > Duration::from_secs(30) {
            backoff = Duration::from_secs(1);
        }
        sleep_unless_stopped(backoff, &stop);
        backoff = (backoff * 2).min(Duration::from_secs(30));
    }
}

fn sleep_unless_stopped(d: Duration, stop: &Stop) {
    let t0 = Instant::now();
    while t0.elapsed() < d && !stop.stopped() {
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One journalctl run: every line classified; the cursor saved at most once a second and
/// when the child ends.
fn read_child(
    opts: &JournalOptions,
    pipeline: &mut Pipeline,
    store: Option<&StateStore>,
    last: &mut Option<String>,
    stop: &Stop,
) -> Result<(), String> {
    let mut child = Command::new(&opts.journalctl)
        .args(args(last.as_deref(), opts.from_beginning))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", opts.journalctl.display()))?;
    pipeline.stats().set_up(pipeline.source(), true);
    let mut out = child.stdout.take().ok_or("journalctl has no stdout")?;
    let child = std::sync::Arc::new(std::sync::Mutex::new(child));
    let watcher_stop = stop.clone();
    let done = Stop::default();
    let done2 = done.clone();
    let child2 = child.clone();
    // Stops the child when lvsmon stops, so that the blocking read below ends.
    let killer = std::thread::spawn(move || {
        while !watcher_stop.stopped() && !done2.stopped() {
            std::thread::sleep(Duration::from_millis(100));
        }
        if watcher_stop.stopped() {
            let _ = child2.lock().map(|mut c| c.kill());
        }
    });
    let mut split = Splitter::new(opts.max_line);
    let mut buf = vec![0u8; 1 << 16];
    let mut saved_at = Instant::now();
    let mut dirty = false;
    loop {
        let n = match out.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        split.feed(&buf[..n], &mut |l, cut| {
            pipeline.line(l, cut);
            if let Some(c) = std::str::from_utf8(l).ok().and_then(cursor) {
                *last = Some(c);
                dirty = true;
            }
        });
        if dirty && saved_at.elapsed() > Duration::from_secs(1) {
            save(store, last);
            saved_at = Instant::now();
            dirty = false;
        }
    }
    save(store, last);
    done.stop();
    let _ = killer.join();
    let status = child
        .lock()
        .map_err(|_| "journalctl child lock poisoned".to_string())?
        .wait()
        .map_err(|e| format!("journalctl: {e}"))?;
    if stop.stopped() {
        return Ok(());
    }
    Err(format!("journalctl ended ({status}); restarting"))
}

fn save(store: Option<&StateStore>, last: &Option<String>) {
    if let (Some(s), Some(c)) = (store, last) {
        if let Err(e) = s.save(STATE_KEY, c) {
            tracing::warn!("{e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::rules::Rules;
    use crate::logs::stats::LogStats;
    use std::sync::Arc;

    /// A stand-in prints two records the way `journalctl -o json` does, records its
    /// arguments, and exits, as a dying journalctl would (tests/logs_journal.rs runs the
    /// real journald and journalctl, but cannot make journalctl die on cue).
    #[test]
    fn a_dead_journalctl_is_restarted_after_the_saved_cursor() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let argv = dir.path().join("argv");
        let script = dir.path().join("journalctl");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\necho \"$*\" >> {}\n\
                 echo '{{\"__CURSOR\":\"s=1;i=1\",\"SYSLOG_IDENTIFIER\":\"Keepalived_vrrp\",\"MESSAGE\":\"(VI_1) Entering MASTER STATE\"}}'\n\
                 echo '{{\"__CURSOR\":\"s=1;i=2\",\"_TRANSPORT\":\"kernel\",\"MESSAGE\":\"nf_conntrack: table full, dropping packet\"}}'\n",
                argv.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let stats = Arc::new(LogStats::new(10));
        let rules = Arc::new(Rules::builtin().unwrap());
        let store = StateStore::new(&dir.path().join("state"));
        let opts = JournalOptions {
            journalctl: script,
            from_beginning: false,
            max_line: 4096,
        };
        let stop = Stop::default();
        let (p, s2, st) = (
            Pipeline::new(rules, stats.clone(), "journal"),
            stop.clone(),
            store.clone(),
        );
        let t = std::thread::spawn(move || run(opts, p, Some(st), s2));
        let t0 = Instant::now();
        while std::fs::read_to_string(&argv)
            .unwrap_or_default()
            .lines()
            .count()
            < 2
        {
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "journalctl not restarted"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        stop.stop();
        t.join().unwrap();
        let runs: Vec<String> = std::fs::read_to_string(&argv)
            .unwrap()
            .lines()
            .map(String::from)
            .collect();
        assert!(
            runs[0].contains("-n 0") && !runs[0].contains("--after-cursor"),
            "{}",
            runs[0]
        );
        assert!(runs[1].contains("--after-cursor=s=1;i=2"), "{}", runs[1]);
        assert_eq!(store.load(STATE_KEY).as_deref(), Some("s=1;i=2"));
        let snap = stats.snapshot();
        assert!(snap.kind("vrrp_master") >= 2 && snap.kind("conntrack_table_full") >= 2);
    }

    #[test]
    fn a_missing_journalctl_is_a_source_down_not_a_crash() {
        let stats = Arc::new(LogStats::new(10));
        let p = Pipeline::new(
            Arc::new(Rules::builtin().unwrap()),
            stats.clone(),
            "journal",
        );
        let opts = JournalOptions {
            journalctl: "/nonexistent/journalctl".into(),
            from_beginning: false,
            max_line: 4096,
        };
        let stop = Stop::default();
        let s2 = stop.clone();
        let t = std::thread::spawn(move || run(opts, p, None, s2));
        std::thread::sleep(Duration::from_millis(300));
        stop.stop();
        t.join().unwrap();
        assert!(!stats.snapshot().sources["journal"].up);
    }

    #[test]
    fn arguments_resume_after_the_cursor_or_start_at_the_end() {
        let a = args(None, false);
        assert!(a.windows(2).any(|w| w == ["-n", "0"]));
        assert!(a.contains(&"SYSLOG_IDENTIFIER=Keepalived_vrrp".to_string()));
        let a = args(Some("s=abc;i=1"), false);
        assert!(a.contains(&"--after-cursor=s=abc;i=1".to_string()));
        assert!(a.windows(2).any(|w| w == ["-n", "all"]));
    }
}

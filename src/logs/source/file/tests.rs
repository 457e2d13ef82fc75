use super::*;
use crate::logs::rules::Rules;
use crate::logs::stats::{LogStats, Snapshot};
use std::io::Write;
use std::sync::Arc;

struct Rig {
    dir: tempfile::TempDir,
    rules: Arc<Rules>,
    stats: Arc<LogStats>,
    next: usize,
}

impl Rig {
    fn new() -> Rig {
        Rig {
            dir: tempfile::tempdir().unwrap(),
            rules: Arc::new(Rules::builtin().unwrap()),
            stats: Arc::new(LogStats::new(100)),
            next: 0,
        }
    }
    fn log(&self) -> PathBuf {
        self.dir.path().join("syslog")
    }
    fn state(&self) -> StateStore {
        StateStore::new(&self.dir.path().join("state"))
    }
    fn tailer(&self, from_beginning: bool, state: bool) -> Tailer {
        let p = Pipeline::new(self.rules.clone(), self.stats.clone(), "f");
        let opts = FileOptions {
            from_beginning,
            ..FileOptions::default()
        };
        Tailer::new(&self.log(), p, state.then(|| self.state()), opts)
    }
    /// Appends `n` numbered keepalived lines (each one vrrp_master event).
    fn write(&mut self, n: usize) {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log())
            .unwrap();
        for _ in 0..n {
            self.next += 1;
            writeln!(
                f,
                "Nov 25 10:00:00 lb1 Keepalived_vrrp[{}]: (VI_1) Entering MASTER STATE",
                self.next
            )
            .unwrap();
        }
    }
    fn snap(&self) -> Snapshot {
        self.stats.snapshot()
    }
    fn rotations(&self, kind: &str) -> u64 {
        self.snap()
            .sources
            .get("f")
            .and_then(|s| s.rotations.get(kind).copied())
            .unwrap_or(0)
    }
}

#[test]
fn a_file_seen_first_is_read_from_its_end_unless_from_beginning() {
    let mut r = Rig::new();
    r.write(5);
    let mut t = r.tailer(false, false);
    t.poll();
    assert_eq!(r.snap().kind("vrrp_master"), 0);
    r.write(2);
    t.poll();
    assert_eq!(r.snap().kind("vrrp_master"), 2);
    let mut t = r.tailer(true, false);
    t.poll();
    assert_eq!(r.snap().kind("vrrp_master"), 2 + 7);
}

#[test]
fn a_renamed_log_is_drained_before_the_new_one_is_read() {
    let mut r = Rig::new();
    let mut t = r.tailer(true, false);
    r.write(3);
    t.poll();
    r.write(2); // not yet read…
    std::fs::rename(r.log(), r.dir.path().join("syslog.1")).unwrap();
    r.write(4); // …when the new file appears
    t.poll();
    assert_eq!(r.snap().kind("vrrp_master"), 9);
    assert_eq!(r.rotations("rename"), 1);
}

#[test]
fn a_deleted_and_recreated_log_loses_nothing() {
    let mut r = Rig::new();
    let mut t = r.tailer(true, false);
    r.write(3);
    t.poll();
    r.write(2);
    std::fs::remove_file(r.log()).unwrap();
    t.poll(); // path gone: the open descriptor is drained
    r.write(4);
    t.poll();
    assert_eq!(r.snap().kind("vrrp_master"), 9);
    assert_eq!(r.rotations("delete"), 1);
    assert!(r.snap().sources["f"].up);
}

#[test]
fn copytruncate_is_detected_and_nothing_is_read_twice() {
    let mut r = Rig::new();
    let mut t = r.tailer(true, false);
    r.write(10);
    t.poll();
    std::fs::copy(r.log(), r.dir.path().join("syslog.1")).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(r.log())
        .unwrap()
        .set_len(0)
        .unwrap();
    // More than was there before: only the fingerprint tells it is a new start.
    r.write(20);
    t.poll();
    assert_eq!(r.snap().kind("vrrp_master"), 30);
    assert_eq!(r.rotations("truncate"), 1);
}

#[test]
fn a_restart_resumes_at_the_saved_offset_even_after_a_rotation_while_down() {
    let mut r = Rig::new();
    let mut t = r.tailer(true, true);
    r.write(3);
    t.poll();
    t.save(true);
    drop(t);
    r.write(2); // written while down, to the file that is then rotated
    std::fs::rename(r.log(), r.dir.path().join("syslog.1")).unwrap();
    r.write(4);
    let mut t = r.tailer(false, true);
    t.poll();
    assert_eq!(r.snap().kind("vrrp_master"), 9);
    t.save(true);
    drop(t);
    // A plain restart reads nothing again.
    let mut t = r.tailer(true, true);
    t.poll();
    assert_eq!(r.snap().kind("vrrp_master"), 9);
    r.write(1);
    t.poll();
    assert_eq!(r.snap().kind("vrrp_master"), 10);
}

#[test]
fn a_vanished_or_unreadable_file_is_down_then_up_again() {
    let mut r = Rig::new();
    let mut t = r.tailer(true, false);
    t.poll();
    assert!(!r.snap().sources["f"].up);
    r.write(1);
    t.poll();
    assert!(r.snap().sources["f"].up);
    assert_eq!(r.snap().kind("vrrp_master"), 1);
}

#[test]
fn globs_match_the_last_component() {
    assert!(wildcard(b"*.log", b"keepalived.log"));
    assert!(wildcard(b"syslog?", b"syslog1"));
    assert!(!wildcard(b"*.log", b"keepalived.log.1"));
    let r = Rig::new();
    std::fs::write(r.dir.path().join("a.log"), "").unwrap();
    std::fs::write(r.dir.path().join("b.txt"), "").unwrap();
    assert_eq!(
        expand(&r.dir.path().join("*.log")),
        vec![r.dir.path().join("a.log")]
    );
}

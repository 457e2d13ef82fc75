//! Rotation torture: a writer appends numbered keepalived lines at more than 50k lines/s
//! while the file is rotated many times, and lvsmon's tailer (the same code `serve` runs,
//! in a thread) follows it. Each line carries its number as the VRRP instance, so every
//! line is its own `lvsmon_log_events_total` series and each series must count exactly 1:
//! no loss and no duplicate, line by line.
//!
//! - rename + create and delete + recreate, alternating, and once more across a restart of
//!   the tailer (state dir; one rename rotation while it is down): exact.
//! - copytruncate: never a duplicate; lines lost only inside the window between the copy
//!   and the truncation (which no tailer can recover: they exist only in the copy).

use lvsmon::logs::rules::Rules;
use lvsmon::logs::source::file::{self, FileOptions, Tailer};
use lvsmon::logs::source::{Pipeline, StateStore, Stop};
use lvsmon::logs::stats::{LogStats, Snapshot};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

const LINES: u64 = 130_000;
const BATCH: u64 = 100;
const ROTATE_EVERY: u64 = 10_000;
/// Where the tailer is restarted: an odd multiple of ROTATE_EVERY, so the rotation that
/// happens while it is down is a rename.
const RESTART_AT: u64 = 7 * ROTATE_EVERY;

fn line(n: u64) -> String {
    format!(
        "Nov 25 10:00:00 lb1 Keepalived_vrrp[{}]: (L{n}) Entering MASTER STATE\n",
        n % 30_000 + 1
    )
}

/// The two tests share the machine's cores with each other only one at a time: a tailer
/// starved of CPU for longer than two rotations would (rightly) lose the middle file.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

struct Rig {
    dir: tempfile::TempDir,
    rules: Arc<Rules>,
    stats: Arc<LogStats>,
}

impl Rig {
    fn new() -> Rig {
        Rig {
            dir: tempfile::tempdir().unwrap(),
            rules: Arc::new(Rules::builtin().unwrap()),
            stats: Arc::new(LogStats::new(LINES as usize + 10)),
        }
    }
    fn log(&self) -> PathBuf {
        self.dir.path().join("keepalived.log")
    }
    /// Starts a tailer thread, as `serve` does.
    fn tail(&self, stop: &Stop, from_beginning: bool) -> std::thread::JoinHandle<()> {
        let (rules, stats) = (self.rules.clone(), self.stats.clone());
        let state = StateStore::new(&self.dir.path().join("state"));
        let opts = FileOptions {
            from_beginning,
            ..FileOptions::default()
        };
        let o2 = opts.clone();
        let make = move |p: &Path| {
            Tailer::new(
                p,
                Pipeline::new(rules.clone(), stats.clone(), "t"),
                Some(state.clone()),
                o2.clone(),
            )
        };
        let (pattern, stop) = (self.log(), stop.clone());
        std::thread::spawn(move || file::run(pattern, make, opts, stop))
    }
    fn lines_seen(&self) -> u64 {
        self.stats
            .snapshot()
            .sources
            .get("t")
            .map_or(0, |s| s.lines)
    }
    fn wait_for_lines(&self, n: u64) {
        let t0 = Instant::now();
        while self.lines_seen() < n {
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "tailer stuck at {} of {n}",
                self.lines_seen()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn append(path: &Path) -> std::fs::File {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap()
}

/// Per line number, how often it was counted.
fn per_line(snap: &Snapshot) -> HashMap<u64, u64> {
    snap.events
        .iter()
        .filter(|(k, _)| &*k.kind == "vrrp_master")
        .map(|(k, n)| (k.iname.trim_start_matches('L').parse().unwrap(), *n))
        .collect()
}

/// Writes `from..to` in batches, paced to `rate` lines/s; returns the seconds spent writing.
fn write_range(f: &mut std::fs::File, from: u64, to: u64, written: &AtomicU64, rate: f64) -> f64 {
    let t0 = Instant::now();
    let mut n = from;
    while n < to {
        let end = (n + BATCH).min(to);
        let chunk: String = (n..end).map(line).collect();
        f.write_all(chunk.as_bytes()).unwrap();
        n = end;
        written.store(n, Ordering::SeqCst);
        // Paced, and bursty like a real logger.
        let due = Duration::from_secs_f64((n - from) as f64 / rate);
        if let Some(wait) = due.checked_sub(t0.elapsed()) {
            std::thread::sleep(wait);
        }
    }
    t0.elapsed().as_secs_f64()
}

#[test]
fn rename_delete_and_restart_lose_nothing_and_duplicate_nothing() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let rig = Rig::new();
    let stop1 = Stop::default();
    let tailer1 = rig.tail(&stop1, true);
    let written = Arc::new(AtomicU64::new(0));
    let (at_half_tx, at_half_rx) = mpsc::channel::<()>();
    let (resume_tx, resume_rx) = mpsc::channel::<()>();
    let (path, w2) = (rig.log(), written.clone());
    let writer = std::thread::spawn(move || {
        let mut f = append(&path);
        let (mut secs, mut renames, mut deletes) = (0.0, 0, 0);
        let mut n = 0;
        while n < LINES {
            let end = (n + ROTATE_EVERY).min(LINES);
            secs += write_range(&mut f, n, end, &w2, 60_000.0);
            n = end;
            if n == RESTART_AT {
                // The tailer is stopped now; one rename rotation happens while it is down.
                at_half_tx.send(()).unwrap();
                resume_rx.recv().unwrap();
            }
            if n < LINES {
                if (n / ROTATE_EVERY) % 2 == 0 {
                    std::fs::remove_file(&path).unwrap();
                    deletes += 1;
                } else {
                    std::fs::rename(&path, path.with_extension("log.1")).unwrap();
                    renames += 1;
                }
                f = append(&path);
            }
        }
        (secs, renames, deletes)
    });
    at_half_rx.recv().unwrap();
    // Restart in the middle: stop (saves the offset), write and rotate while down, start.
    rig.wait_for_lines(RESTART_AT - ROTATE_EVERY);
    stop1.stop();
    tailer1.join().unwrap();
    let stop2 = Stop::default();
    resume_tx.send(()).unwrap();
    // Let the writer rotate (a rename) and write on before restarting.
    let t0 = Instant::now();
    while written.load(Ordering::SeqCst) < RESTART_AT + 1000
        && t0.elapsed() < Duration::from_secs(10)
    {
        std::thread::sleep(Duration::from_millis(1));
    }
    let tailer2 = rig.tail(&stop2, false);
    let (secs, renames, deletes) = writer.join().unwrap();
    rig.wait_for_lines(LINES);
    std::thread::sleep(Duration::from_millis(600)); // anything extra would show now
    stop2.stop();
    tailer2.join().unwrap();

    let snap = rig.stats.snapshot();
    let rate = LINES as f64 / secs;
    assert!(rate >= 50_000.0, "writer managed only {rate:.0} lines/s");
    assert!(
        renames >= 6 && deletes >= 6,
        "{renames} renames, {deletes} deletes"
    );
    let counts = per_line(&snap);
    let dups: Vec<_> = counts
        .iter()
        .filter(|(_, &c)| c > 1)
        .map(|(n, _)| *n)
        .collect();
    let lost: Vec<_> = (0..LINES).filter(|n| !counts.contains_key(n)).collect();
    assert!(
        dups.is_empty() && lost.is_empty(),
        "duplicated {:?}…, lost {:?}…",
        &dups[..dups.len().min(5)],
        &lost[..lost.len().min(5)]
    );
    assert_eq!(snap.kind("vrrp_master"), LINES);
    assert_eq!(snap.sources["t"].lines, LINES);
    let rot = &snap.sources["t"].rotations;
    eprintln!("torture: {LINES} lines at {rate:.0} lines/s, rotations seen {rot:?} ({renames} renames, {deletes} deletes written)");
    assert_eq!(
        rot.get("rename").copied().unwrap_or(0) + rot.get("delete").copied().unwrap_or(0),
        renames + deletes
    );
}

#[test]
fn copytruncate_duplicates_nothing_and_loses_only_inside_the_window() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let rig = Rig::new();
    let stop = Stop::default();
    let tailer = rig.tail(&stop, true);
    let written = Arc::new(AtomicU64::new(0));
    let (path, w2) = (rig.log(), written.clone());
    let total = 40_000;
    let writer = std::thread::spawn(move || {
        let mut f = append(&path);
        write_range(&mut f, 0, total, &w2, 20_000.0)
    });
    // The rotator, like logrotate's copytruncate: copy, then truncate, while the writer
    // goes on. The window of each is [a, b): from the first line the tailer had not yet
    // counted when the copy began to the last line written before the truncation ended.
    let mut windows = Vec::new();
    let copy = rig.log().with_extension("log.1");
    while written.load(Ordering::SeqCst) < total - 4_000 {
        std::thread::sleep(Duration::from_millis(150));
        let a = per_line(&rig.stats.snapshot())
            .keys()
            .max()
            .map_or(0, |m| m + 1);
        std::fs::copy(rig.log(), &copy).unwrap();
        std::fs::OpenOptions::new()
            .write(true)
            .open(rig.log())
            .unwrap()
            .set_len(0)
            .unwrap();
        let b = written.load(Ordering::SeqCst);
        windows.push((a, b));
    }
    writer.join().unwrap();
    std::thread::sleep(Duration::from_secs(1));
    stop.stop();
    tailer.join().unwrap();
    let snap = rig.stats.snapshot();
    let counts = per_line(&snap);
    let dups: Vec<_> = counts.iter().filter(|(_, &c)| c > 1).collect();
    assert!(dups.is_empty(), "duplicates: {dups:?}");
    let lost: Vec<u64> = (0..total).filter(|n| !counts.contains_key(n)).collect();
    let outside: Vec<&u64> = lost
        .iter()
        .filter(|&&n| !windows.iter().any(|&(a, b)| n >= a && n < b))
        .collect();
    assert!(
        outside.is_empty(),
        "lost outside every copy/truncate window: {:?}",
        &outside[..outside.len().min(10)]
    );
    let truncs = snap.sources["t"]
        .rotations
        .get("truncate")
        .copied()
        .unwrap_or(0);
    assert!(windows.len() >= 5, "only {} copytruncates", windows.len());
    eprintln!("copytruncate: {} rotations ({truncs} seen), {} of {total} lines lost, all inside the windows", windows.len(), lost.len());
}

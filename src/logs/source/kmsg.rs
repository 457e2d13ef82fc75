//! The kernel ring through `/dev/kmsg`: one record per read, `prio,seq,usec,flags;text`
//! followed by optional ` KEY=value` dictionary lines. Sequence numbers are consecutive, so
//! a gap is the number of records the ring overwrote before we read them
//! (`lvsmon_kmsg_lost_total`); a read failing with EPIPE says the same, and the next read
//! returns the oldest record still there.
//!
//! The last sequence number read is kept in the state dir with the boot's id, so a restarted
//! lvsmon reads the records written while it was stopped, and none twice; after a reboot
//! (another boot id) it reads the new boot's ring from its start.

use super::{Pipeline, StateStore, Stop};
use crate::health::OnceLog;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

/// The sequence number of a record and its first line (what the framer understands).
pub fn parse_record(rec: &[u8]) -> Option<(u64, &[u8])> {
    let first = rec.split(|&b| b == b'\n').next()?;
    let semi = first.iter().position(|&b| b == b';')?;
    let mut fields = first[..semi].split(|&b| b == b',');
    fields.next()?;
    let seq = std::str::from_utf8(fields.next()?).ok()?.parse().ok()?;
    Some((seq, first))
}

/// Counts records missing between consecutive sequence numbers.
#[derive(Debug, Default)]
pub struct Gaps {
    last: Option<u64>,
}

impl Gaps {
    /// Records `seq`; returns how many records were lost just before it.
    pub fn next(&mut self, seq: u64) -> u64 {
        let lost = match self.last {
            Some(l) if seq > l + 1 => seq - l - 1,
            _ => 0,
        };
        self.last = Some(seq);
        lost
    }
}

/// The instant of boot, in microseconds since the epoch, as the kernel's record times count
/// from it (CLOCK_MONOTONIC): the wall clock now less the monotonic clock now. `None` if
/// either clock cannot be read.
pub fn boot_time() -> Option<i64> {
    let read = |clock| {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime writes one timespec through a valid pointer.
        let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
        (rc == 0).then_some(ts.tv_sec * 1_000_000 + ts.tv_nsec / 1_000)
    };
    Some(read(libc::CLOCK_REALTIME)? - read(libc::CLOCK_MONOTONIC)?)
}

/// The state dir's key for the ring's position.
const STATE_KEY: &str = "kmsg";

/// This boot's id: sequence numbers start again at every boot.
pub fn boot_id() -> Option<String> {
    let id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    Some(id.trim().to_string()).filter(|s| !s.is_empty())
}

/// Where reading starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// The oldest record still in the ring.
    Beginning,
    /// Only records written from now on.
    End,
    /// The first record after this sequence number (the ring's oldest if that is later).
    After(u64),
}

/// Where to start from the saved position (`BOOT_ID SEQ`) and this boot's id: after the
/// saved record in the same boot; from the beginning in another boot (every record of this
/// boot is unread) or with `--log.from-beginning`; else at the end.
pub fn start(saved: Option<&str>, boot: Option<&str>, from_beginning: bool) -> Start {
    let pos = saved.and_then(|s| {
        let (b, seq) = s.trim().split_once(' ')?;
        Some((b, seq.parse::<u64>().ok()?))
    });
    match (pos, boot) {
        (Some((b, seq)), Some(now)) if b == now => Start::After(seq),
        (Some(_), Some(_)) => Start::Beginning,
        _ if from_beginning => Start::Beginning,
        _ => Start::End,
    }
}

/// Reads `path` (normally /dev/kmsg) until `stop`: the body of the kmsg thread. Resumes
/// after the position saved in `store` (see [`start`]); reopens with a delay when it fails,
/// after the last record read.
pub fn run(
    path: &Path,
    mut pipeline: Pipeline,
    from_beginning: bool,
    store: Option<StateStore>,
    stop: Stop,
) {
    let boot = boot_id();
    let saved = store.as_ref().and_then(|s| s.load(STATE_KEY));
    let mut from = start(saved.as_deref(), boot.as_deref(), from_beginning);
    let mut gaps = Gaps::default();
    let mut log = OnceLog::default();
    let mut buf = vec![0u8; 16 * 1024];
    let mut position = Position {
        store: store.as_ref().zip(boot.as_deref()),
        last: None,
        saved_at: Instant::now(),
        dirty: false,
    };
    while !stop.stopped() {
        let mut f = match open(path, from) {
            Ok(f) => f,
            Err(e) => {
                pipeline.stats().set_up(pipeline.source(), false);
                log.failed("kmsg", &format!("cannot read {}: {e}", path.display()));
                std::thread::sleep(Duration::from_secs(5));
                continue;
            }
        };
        if let Start::After(seq) = from {
            // Records overwritten since `seq` show as a gap before the first one read.
            gaps.last = Some(seq);
        }
        pipeline.stats().set_up(pipeline.source(), true);
        log.ok("kmsg", "kernel ring readable again");
        while !stop.stopped() {
            match f.read(&mut buf) {
                Ok(0) => idle(&mut position),
                Ok(n) => {
                    if let Some((seq, line)) = parse_record(&buf[..n]) {
                        if matches!(from, Start::After(s) if seq <= s) {
                            continue; // read before the restart
                        }
                        pipeline.stats().kmsg_lost(gaps.next(seq));
                        pipeline.line(line, n == buf.len());
                        position.read(seq);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => idle(&mut position),
                // EPIPE: overwritten records; the sequence gap counts them.
                Err(e) if e.raw_os_error() == Some(libc::EPIPE) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    tracing::warn!("reading {}: {e}; reopening", path.display());
                    pipeline.stats().set_up(pipeline.source(), false);
                    break;
                }
            }
        }
        // A reopened ring goes on after the last record read.
        if let Some(seq) = position.last {
            from = Start::After(seq);
        }
    }
    position.save();
}

/// The last sequence number read, saved at most once a second while records come and when
/// the reader stops.
struct Position<'a> {
    store: Option<(&'a StateStore, &'a str)>,
    last: Option<u64>,
    saved_at: Instant,
    dirty: bool,
}

impl Position<'_> {
    fn read(&mut self, seq: u64) {
        self.last = Some(seq);
        self.dirty = true;
        if self.saved_at.elapsed() >= Duration::from_secs(1) {
            self.save();
        }
    }

    fn save(&mut self) {
        if let (Some((store, boot)), Some(seq), true) = (self.store, self.last, self.dirty) {
            if let Err(e) = store.save(STATE_KEY, &format!("{boot} {seq}\n")) {
                tracing::warn!("{e}");
            }
        }
        self.saved_at = Instant::now();
        self.dirty = false;
    }
}

/// Nothing to read: save a position not yet saved, then wait a little.
fn idle(position: &mut Position) {
    position.save();
    std::thread::sleep(Duration::from_millis(200));
}

fn open(path: &Path, from: Start) -> std::io::Result<File> {
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    // A fresh open reads from the oldest record.
    if from == Start::End {
        f.seek(SeekFrom::End(0))?;
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_give_their_sequence_and_first_line() {
        let rec =
            b"6,48214,12345679012,-;e1000e 0000:00:19.0 eth0: NIC Link is Down\n SUBSYSTEM=pci\n";
        let (seq, line) = parse_record(rec).unwrap();
        assert_eq!(seq, 48214);
        assert_eq!(
            line,
            &b"6,48214,12345679012,-;e1000e 0000:00:19.0 eth0: NIC Link is Down"[..]
        );
        assert_eq!(parse_record(b"garbage"), None);
        assert_eq!(parse_record(b"6,x,1,-;m"), None);
    }

    /// The real /dev/kmsg: a record written to it (root only) is read back and counted.
    #[test]
    fn the_real_kernel_ring_is_read_from_its_end() {
        use crate::logs::rules::Rules;
        use crate::logs::stats::LogStats;
        use std::io::Write;
        use std::sync::Arc;
        let Ok(mut w) = std::fs::OpenOptions::new().write(true).open("/dev/kmsg") else {
            eprintln!("/dev/kmsg not writable: skipping");
            return;
        };
        if std::fs::File::open("/dev/kmsg").is_err() {
            eprintln!("/dev/kmsg not readable: skipping");
            return;
        }
        let stats = Arc::new(LogStats::new(10));
        let p = Pipeline::new(Arc::new(Rules::builtin().unwrap()), stats.clone(), "kmsg");
        let stop = Stop::default();
        let s2 = stop.clone();
        let t = std::thread::spawn(move || run(Path::new("/dev/kmsg"), p, false, None, s2));
        let lines = || stats.snapshot().sources.get("kmsg").map_or(0, |s| s.lines);
        let t0 = std::time::Instant::now();
        while lines() == 0 {
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "record not read back"
            );
            // Repeated: the reader may open the ring after the first write.
            let _ =
                w.write_all(format!("<6>lvsmon test record {}\n", std::process::id()).as_bytes());
            std::thread::sleep(Duration::from_millis(300));
        }
        stop.stop();
        t.join().unwrap();
        assert!(stats.snapshot().sources["kmsg"].up);
    }

    #[test]
    fn a_saved_position_is_resumed_in_its_own_boot_only() {
        let boot = Some("b1");
        assert_eq!(start(Some("b1 41\n"), boot, false), Start::After(41));
        assert_eq!(start(Some("b1 41"), boot, true), Start::After(41));
        // Rebooted since: every record of this boot is unread.
        assert_eq!(start(Some("b0 41"), boot, false), Start::Beginning);
        assert_eq!(start(None, boot, false), Start::End);
        assert_eq!(start(None, boot, true), Start::Beginning);
        assert_eq!(start(Some("b1 x"), boot, false), Start::End);
        assert_eq!(start(Some("garbage"), None, false), Start::End);
        assert_eq!(start(Some("b1 41"), None, false), Start::End);
    }

    /// The real ring, read, stopped and read again: the second run reads exactly the
    /// records written after the first one's last, however many other records came.
    #[test]
    fn a_restarted_reader_resumes_after_its_last_record() {
        use crate::logs::rules::Rules;
        use crate::logs::stats::LogStats;
        use std::io::Write;
        use std::sync::Arc;
        let (Ok(mut w), Ok(_), Some(boot)) = (
            std::fs::OpenOptions::new().write(true).open("/dev/kmsg"),
            File::open("/dev/kmsg"),
            boot_id(),
        ) else {
            eprintln!("/dev/kmsg not readable and writable: skipping");
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path());
        let saved = || {
            let text = store.load(STATE_KEY).unwrap_or_default();
            let (b, seq) = text.trim().split_once(' ').unwrap();
            assert_eq!(b, boot);
            seq.parse::<u64>().unwrap()
        };
        let once = |w: &mut File, records: usize| {
            let stats = Arc::new(LogStats::new(10));
            let p = Pipeline::new(Arc::new(Rules::builtin().unwrap()), stats.clone(), "kmsg");
            let stop = Stop::default();
            let (s2, st2) = (stop.clone(), store.clone());
            let t =
                std::thread::spawn(move || run(Path::new("/dev/kmsg"), p, false, Some(st2), s2));
            let lines = || stats.snapshot().sources.get("kmsg").map_or(0, |s| s.lines);
            let t0 = std::time::Instant::now();
            // The first run starts at the end, so it writes until a record is read.
            while lines() < records as u64 {
                assert!(t0.elapsed() < Duration::from_secs(10), "records not read");
                let _ = w.write_all(b"<6>lvsmon resume test\n");
                std::thread::sleep(Duration::from_millis(300));
            }
            stop.stop();
            t.join().unwrap();
            lines()
        };
        once(&mut w, 1);
        let first = saved();
        for _ in 0..3 {
            w.write_all(b"<6>lvsmon resume test, while stopped\n")
                .unwrap();
        }
        let read = once(&mut w, 3);
        let second = saved();
        assert_eq!(
            read,
            second - first,
            "every record after {first} once, up to {second}"
        );
    }

    #[test]
    fn gaps_in_sequence_numbers_are_lost_records() {
        let mut g = Gaps::default();
        assert_eq!(g.next(10), 0);
        assert_eq!(g.next(11), 0);
        assert_eq!(g.next(15), 3);
        assert_eq!(g.next(16), 0);
    }
}

//! The kernel ring through `/dev/kmsg`: one record per read, `prio,seq,usec,flags;text`
//! followed by optional ` KEY=value` dictionary lines. Sequence numbers are consecutive, so
//! a gap is the number of records the ring overwrote before we read them
//! (`lvsmon_kmsg_lost_total`); a read failing with EPIPE says the same, and the next read
//! returns the oldest record still there.

use super::{Pipeline, Stop};
use crate::health::OnceLog;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::Duration;

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

/// Reads `path` (normally /dev/kmsg) until `stop`: the body of the kmsg thread. Starts at
/// the end of the ring unless `from_beginning`; reopens with a delay when it fails.
pub fn run(path: &Path, mut pipeline: Pipeline, from_beginning: bool, stop: Stop) {
    let mut gaps = Gaps::default();
    let mut log = OnceLog::default();
    let mut buf = vec![0u8; 16 * 1024];
    while !stop.stopped() {
        let mut f = match open(path, from_beginning) {
            Ok(f) => f,
            Err(e) => {
                pipeline.stats().set_up(pipeline.source(), false);
                log.failed("kmsg", &format!("cannot read {}: {e}", path.display()));
                std::thread::sleep(Duration::from_secs(5));
                continue;
            }
        };
        pipeline.stats().set_up(pipeline.source(), true);
        log.ok("kmsg", "kernel ring readable again");
        while !stop.stopped() {
            match f.read(&mut buf) {
                Ok(0) => std::thread::sleep(Duration::from_millis(200)),
                Ok(n) => {
                    if let Some((seq, line)) = parse_record(&buf[..n]) {
                        pipeline.stats().kmsg_lost(gaps.next(seq));
                        pipeline.line(line, n == buf.len());
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(200));
                }
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
    }
}

fn open(path: &Path, from_beginning: bool) -> std::io::Result<File> {
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    if !from_beginning {
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
        let t = std::thread::spawn(move || run(Path::new("/dev/kmsg"), p, false, s2));
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
    fn gaps_in_sequence_numbers_are_lost_records() {
        let mut g = Gaps::default();
        assert_eq!(g.next(10), 0);
        assert_eq!(g.next(11), 0);
        assert_eq!(g.next(15), 3);
        assert_eq!(g.next(16), 0);
    }
}

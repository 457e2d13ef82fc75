//! Sorts N incident-shaped items (made from the incidents of a real `analyze --format json`
//! output, cycled with new keys) with lvsmon's `ExtSort` or with the `extsort` crate, the
//! same in-memory limit (4,096 items, as `analyze` uses), reads them back in order once,
//! and prints CPU time, peak RSS and a checksum of the order (equal for both).
//!
//! One sorter per process run, so that peak RSS is its own.

use serde::{Deserialize, Serialize};
use std::io::{Read, Write};

/// The shape of what `analyze` spills: a sort key, then the incident's text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
struct Item {
    start: i64,
    seq: u64,
    kind: String,
    host: String,
    summary: String,
    evidence: Vec<(i64, String, String)>,
}

impl extsort::Sortable for Item {
    fn encode<W: Write>(&self, writer: &mut W) -> std::io::Result<()> {
        bincode::serialize_into(writer, self).map_err(std::io::Error::other)
    }

    fn decode<R: Read>(reader: &mut R) -> std::io::Result<Self> {
        // The crate learns that a run ended from an `UnexpectedEof`: bincode's I/O error
        // is handed back as it is.
        bincode::deserialize_from(reader).map_err(|e| match *e {
            bincode::ErrorKind::Io(io) => io,
            other => std::io::Error::other(other),
        })
    }
}

fn base(path: &str) -> Vec<Item> {
    let v: serde_json::Value =
        serde_json::from_reader(std::fs::File::open(path).expect("input")).expect("json");
    let s = |x: &serde_json::Value| x.as_str().unwrap_or("").to_string();
    v["incidents"]
        .as_array()
        .expect("incidents")
        .iter()
        .take(4096)
        .enumerate()
        .map(|(i, inc)| Item {
            start: i as i64,
            seq: 0,
            kind: s(&inc["kind"]),
            host: s(&inc["host"]),
            summary: s(&inc["summary"]),
            evidence: inc["evidence"]
                .as_array()
                .map(|e| {
                    e.iter()
                        .map(|e| (i as i64, s(&e["host"]), s(&e["line"])))
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect()
}

/// N items in a scrambled but deterministic order of their keys.
fn items(base: &[Item], n: u64) -> impl Iterator<Item = Item> + '_ {
    (0..n).map(move |i| {
        let mut it = base[(i % base.len() as u64) as usize].clone();
        // A multiplicative hash scrambles the start times; the sequence number breaks ties.
        it.start = (i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 24) as i64;
        it.seq = i;
        it
    })
}

fn cpu_ms() -> f64 {
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage fills the struct it is given.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let t = |t: libc::timeval| t.tv_sec as f64 * 1e3 + t.tv_usec as f64 / 1e3;
    t(u.ru_utime) + t(u.ru_stime)
}

fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (path, which, n) = (
        &args[1],
        args[2].as_str(),
        args[3].parse::<u64>().expect("N"),
    );
    let base = base(path);
    // The peak so far is reading the JSON: start the peak again (Linux: clear_refs 5).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let rss0 = peak_rss_kb();
    let t0 = cpu_ms();
    let mut sum: u64 = 0;
    let mut last: Option<(i64, u64)> = None;
    let mut check = |it: &Item| {
        let k = (it.start, it.seq);
        assert!(last.is_none_or(|l| l < k), "out of order");
        last = Some(k);
        sum = sum.wrapping_mul(31).wrapping_add(it.seq);
    };
    match which {
        "own" => {
            let mut s = lvsmon::extsort::ExtSort::new(4096);
            for it in items(&base, n) {
                s.push(it).expect("push");
            }
            let sorted = s.finish().expect("finish");
            for it in sorted.iter().expect("iter") {
                check(&it.expect("item"));
            }
        }
        "crate" => {
            let dir = tempfile::tempdir().expect("tempdir");
            let mut sorter = extsort::ExternalSorter::new()
                .with_segment_size(4096)
                .with_sort_dir(dir.path().to_path_buf())
                .pushed();
            for it in items(&base, n) {
                sorter.push(it).expect("push");
            }
            for it in sorter.done().expect("done") {
                check(&it.expect("item"));
            }
        }
        _ => panic!("own or crate"),
    }
    println!(
        "{which}: {n} items, {:.0} ms CPU, peak RSS {} KB ({} KB before sorting), order checksum {sum:x}",
        cpu_ms() - t0,
        peak_rss_kb(),
        rss0
    );
}

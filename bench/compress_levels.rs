//! Measures the compressors lvsmon can answer with on a real metrics page: CPU time and
//! size for gzip (flate2, the backend lvsmon builds with) and zstd at several levels. The
//! levels in src/http/page.rs were chosen from its output (docs/benchmarks.md).
//!
//!   lvsmon dump --path.procfs bench/out/tree-L > /tmp/page.prom
//!   cargo run --release --example compress_levels -- /tmp/page.prom

use std::io::Write;
use std::time::{Duration, Instant};

fn best_of(runs: usize, mut f: impl FnMut() -> usize) -> (Duration, usize) {
    let mut best = Duration::MAX;
    let mut size = 0;
    for _ in 0..runs {
        let t = Instant::now();
        size = f();
        best = best.min(t.elapsed());
    }
    (best, size)
}

fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: compress_levels PAGE");
    let page = std::fs::read(&path).expect("read the page");
    println!("codec\tlevel\tms\tbytes\tratio");
    let row = |codec: &str, level: i32, (t, n): (Duration, usize)| {
        println!(
            "{codec}\t{level}\t{:.1}\t{n}\t{:.1}",
            t.as_secs_f64() * 1000.0,
            page.len() as f64 / n as f64
        );
    };
    row("identity", 0, (Duration::ZERO, page.len()));
    for level in [1u32, 2, 3, 4, 6, 9] {
        row(
            "gzip",
            level as i32,
            best_of(3, || {
                let mut e =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
                // The server writes through a 64 KiB buffer; so does this.
                for c in page.chunks(64 * 1024) {
                    e.write_all(c).unwrap();
                }
                e.finish().unwrap().len()
            }),
        );
    }
    for level in [1, 2, 3, 6] {
        row(
            "zstd",
            level,
            best_of(3, || {
                let mut e = zstd::stream::write::Encoder::new(Vec::new(), level).unwrap();
                for c in page.chunks(64 * 1024) {
                    e.write_all(c).unwrap();
                }
                e.finish().unwrap().len()
            }),
        );
    }
}

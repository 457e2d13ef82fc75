//! CPU time (getrusage, best of 5) and size of one page compressed by miniz_oxide (flate2's
//! default backend, which lvsmon uses), zlib-rs (flate2's `zlib-rs` feature, streamed
//! through flate2 as lvsmon would) and libdeflate (whole buffer only), at several levels.

use std::io::Write;

fn cpu_ms() -> f64 {
    // SAFETY: getrusage fills the struct it is given.
    let r = unsafe {
        let mut r: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut r);
        r
    };
    let ms = |t: libc::timeval| t.tv_sec as f64 * 1e3 + t.tv_usec as f64 / 1e3;
    ms(r.ru_utime) + ms(r.ru_stime)
}

fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: deflate_backends PAGE");
    let page = std::fs::read(path).expect("read the page");
    let mut rows: Vec<(String, f64, usize)> = vec![];
    let mut run = |name: String, f: &mut dyn FnMut() -> usize| {
        let t = cpu_ms();
        let n = f();
        let dt = cpu_ms() - t;
        match rows.iter_mut().find(|r| r.0 == name) {
            Some(r) => r.1 = r.1.min(dt),
            None => rows.push((name, dt, n)),
        }
    };
    for _ in 0..5 {
        for level in [1u32, 2, 3, 4, 6] {
            run(format!("miniz_oxide\t{level}"), &mut || {
                // gzip's trailer needs the CRC: count it as the server would pay it.
                let mut c = crc32fast::Hasher::new();
                c.update(&page);
                let _ = c.finalize();
                miniz_oxide::deflate::compress_to_vec(&page, level as u8).len()
            });
            run(format!("zlib-rs\t{level}"), &mut || {
                let mut e =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
                for c in page.chunks(64 * 1024) {
                    e.write_all(c).expect("compress");
                }
                e.finish().expect("compress").len()
            });
            run(format!("libdeflate\t{level}"), &mut || {
                let lvl = libdeflater::CompressionLvl::new(level as i32).expect("level");
                let mut c = libdeflater::Compressor::new(lvl);
                let mut out = vec![0u8; c.gzip_compress_bound(page.len())];
                c.gzip_compress(&page, &mut out).expect("compress")
            });
        }
    }
    println!("backend\tlevel\tCPU ms\tKB");
    for (name, ms, n) in rows {
        println!("{name}\t{ms:.0}\t{}", n / 1024);
    }
}

//! Load with and without hostile clients, bounded and on 127.0.0.1: 50 scrapers asking for
//! gzip as Prometheus does, on a 20,000-backend director, first alone, then next to 100
//! hostile clients (slow readers at 1 KB/s, idle keep-alive connections, half requests,
//! oversized headers, garbage). No scrape may fail, and the p99 latency must stay within
//! twice the quiet run's (plus a 250 ms allowance for a shared 2-core machine).
//! `LVSMON_LOAD_SECONDS` (default 5) sets each phase's length; docs/benchmarks.md has a
//! 60 s run.

mod common;
mod http_support;

use http_support::{get, large_tree, small_buffer_socket};
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Each scraper's latencies and failures over `run`.
fn scrape_for(addr: SocketAddr, scrapers: usize, run: Duration) -> (Vec<Duration>, Vec<String>) {
    let handles: Vec<_> = (0..scrapers)
        .map(|_| {
            std::thread::spawn(move || {
                let (mut lat, mut failed) = (Vec::new(), Vec::new());
                let end = Instant::now() + run;
                while Instant::now() < end {
                    let t = Instant::now();
                    match get(addr, "/metrics", &[("Accept-Encoding", "gzip")]) {
                        Ok(r) if r.status == 200 && r.body.starts_with(&[0x1f, 0x8b]) => {
                            lat.push(t.elapsed())
                        }
                        Ok(r) => failed.push(format!("status {}", r.status)),
                        Err(e) => failed.push(e.to_string()),
                    }
                }
                (lat, failed)
            })
        })
        .collect();
    let mut lat = Vec::new();
    let mut failed = Vec::new();
    for h in handles {
        let (l, f) = h.join().unwrap();
        lat.extend(l);
        failed.extend(f);
    }
    lat.sort();
    (lat, failed)
}

fn pct(lat: &[Duration], p: f64) -> Duration {
    lat[((lat.len() as f64 - 1.0) * p).round() as usize]
}

/// 100 hostile clients, 20 of each kind, until `stop`.
fn hostile(addr: SocketAddr, stop: Arc<AtomicBool>) -> Vec<std::thread::JoinHandle<()>> {
    (0..100)
        .map(|i| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let pause = || std::thread::sleep(Duration::from_millis(100));
                match i % 5 {
                    // Reads its page at 1 KB/s.
                    0 => {
                        let mut s = small_buffer_socket(addr);
                        let _ = s.write_all(b"GET /metrics HTTP/1.1\r\nHost: slow\r\n\r\n");
                        let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
                        let mut buf = [0u8; 100];
                        while !stop.load(Ordering::Relaxed) {
                            let _ = s.read(&mut buf);
                            pause();
                        }
                    }
                    // One small request, then an idle keep-alive connection.
                    1 => {
                        let mut s = std::net::TcpStream::connect(addr).unwrap();
                        let _ = s.write_all(b"GET / HTTP/1.1\r\nHost: idle\r\n\r\n");
                        while !stop.load(Ordering::Relaxed) {
                            pause();
                        }
                    }
                    // Half a request, then silence.
                    2 => {
                        let mut s = std::net::TcpStream::connect(addr).unwrap();
                        let _ = s.write_all(b"GET /metrics HTTP/1.1\r\nHost: ha");
                        while !stop.load(Ordering::Relaxed) {
                            pause();
                        }
                    }
                    // Oversized headers, again and again.
                    3 => {
                        let big = "x".repeat(32 * 1024);
                        while !stop.load(Ordering::Relaxed) {
                            let _ = get(addr, "/metrics", &[("X-Big", &big)]);
                            pause();
                        }
                    }
                    // Garbage bytes, again and again.
                    _ => {
                        while !stop.load(Ordering::Relaxed) {
                            if let Ok(mut s) = std::net::TcpStream::connect(addr) {
                                let _ = s.write_all(&[
                                    0x16, 3, 1, 0xff, 0xff, 0, 1, 2, b'\r', b'\n', b'\r', b'\n',
                                ]);
                                let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
                                let mut sink = Vec::new();
                                let _ = s.read_to_end(&mut sink);
                            }
                            pause();
                        }
                    }
                }
            })
        })
        .collect()
}

#[test]
fn fifty_scrapers_with_and_without_a_hundred_hostile_clients() {
    let secs: u64 = std::env::var("LVSMON_LOAD_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let run = Duration::from_secs(secs);
    let dir = tempfile::tempdir().unwrap();
    large_tree(dir.path(), 2000, 10);
    let root = dir.path().to_str().unwrap();
    let (_srv, addr) = common::serve(&[
        "--web.listen-address",
        "127.0.0.1:0",
        "--no-collector.keepalived",
        "--path.procfs",
        root,
    ]);
    let (quiet, failed) = scrape_for(addr, 50, run);
    assert!(
        failed.is_empty(),
        "quiet: {} failed: {:?}",
        failed.len(),
        &failed[..failed.len().min(5)]
    );
    let stop = Arc::new(AtomicBool::new(false));
    let hostiles = hostile(addr, stop.clone());
    std::thread::sleep(Duration::from_millis(500));
    let (loud, failed) = scrape_for(addr, 50, run);
    stop.store(true, Ordering::Relaxed);
    for h in hostiles {
        h.join().unwrap();
    }
    assert!(
        failed.is_empty(),
        "hostile: {} failed: {:?}",
        failed.len(),
        &failed[..failed.len().min(5)]
    );
    let page = get(addr, "/metrics", &[]).unwrap().text();
    eprintln!(
        "quiet: {} scrapes, p50 {:?}, p99 {:?}; with 100 hostile clients: {} scrapes, p50 {:?}, p99 {:?}; pages encoded {}",
        quiet.len(),
        pct(&quiet, 0.5),
        pct(&quiet, 0.99),
        loud.len(),
        pct(&loud, 0.5),
        pct(&loud, 0.99),
        http_support::sample(&page, "lvsmon_http_pages_encoded_total", "encoding=\"gzip\"")
    );
    assert!(!quiet.is_empty() && !loud.is_empty());
    assert!(
        pct(&loud, 0.99) <= pct(&quiet, 0.99) * 2 + Duration::from_millis(250),
        "p99 {:?} with hostile clients vs {:?} quiet",
        pct(&loud, 0.99),
        pct(&quiet, 0.99)
    );
    // The hostile clients were refused and counted.
    assert!(http_support::sample(&page, "lvsmon_http_requests_total", "code=\"431\"") >= 1.0);
    assert!(http_support::sample(&page, "lvsmon_http_requests_total", "code=\"400\"") >= 1.0);
}

//! Hostile clients against `lvsmon serve`, all on 127.0.0.1 with real sockets: slow
//! readers, clients that never read, half requests, idle connections, garbage, oversized
//! headers, a connection flood. Prometheus's scrapes must go on undelayed, and every refusal
//! must be clean (a status or a close, never a hang) and counted in `lvsmon_http_*`.

mod common;
mod http_support;

use common::{serve, Served};
use http_support::{closed_within, demo, get, large_tree, sample, small_buffer_socket};
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `lvsmon serve` over a generated director of `services` × `backends` (procfs), extra flags.
fn large(services: u32, backends: u32, extra: &[&str]) -> (Served, SocketAddr, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    large_tree(dir.path(), services, backends);
    let root = dir.path().to_str().unwrap().to_string();
    let mut args = vec![
        "--web.listen-address",
        "127.0.0.1:0",
        "--no-collector.keepalived",
        "--path.procfs",
        &root,
    ];
    args.extend_from_slice(extra);
    let (s, a) = serve(&args);
    (s, a, dir)
}

fn metrics(addr: SocketAddr) -> String {
    let r = get(addr, "/metrics", &[("Accept-Encoding", "gzip")]).expect("scrape");
    assert_eq!(r.status, 200, "{}", r.head);
    r.text()
}

/// A client that asks for the page and reads it at `rate` bytes per second until `stop`.
fn slow_reader(
    addr: SocketAddr,
    rate: usize,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<usize> {
    std::thread::spawn(move || {
        let mut s = small_buffer_socket(addr);
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: slow\r\n\r\n")
            .unwrap();
        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let mut got = 0;
        let mut buf = vec![0u8; rate / 10];
        while !stop.load(Ordering::Relaxed) {
            match s.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(_) => {}
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        got
    })
}

#[test]
fn slow_readers_do_not_delay_a_concurrent_scrape() {
    // 20,000 backends: a plain page of several MB, far beyond the socket buffers, so the
    // slow readers really hold their responses back.
    let (_srv, addr, _dir) = large(2000, 10, &["--web.write-timeout", "120s"]);
    let t0 = Instant::now();
    let quiet = metrics(addr);
    let quiet_time = t0.elapsed();
    let backends = quiet
        .lines()
        .filter(|l| l.starts_with("ipvs_backend_weight{"))
        .count();
    assert_eq!(backends, 20_000);
    let plain = get(addr, "/metrics", &[]).unwrap();
    assert!(
        plain.body.len() > 4_000_000,
        "page only {} bytes",
        plain.body.len()
    );

    // Eight readers at 2 KB/s: more than the blocking threads the runtime has (4), so a
    // server that kept a thread (or a lock) per reader would stop here.
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..8)
        .map(|_| slow_reader(addr, 2048, stop.clone()))
        .collect();
    std::thread::sleep(Duration::from_secs(2));
    let mut worst = Duration::ZERO;
    for _ in 0..5 {
        let t = Instant::now();
        let page = metrics(addr);
        worst = worst.max(t.elapsed());
        assert_eq!(
            page.lines()
                .filter(|l| l.starts_with("ipvs_backend_weight{"))
                .count(),
            20_000
        );
    }
    stop.store(true, Ordering::Relaxed);
    let read: Vec<usize> = readers.into_iter().map(|h| h.join().unwrap()).collect();
    eprintln!(
        "quiet scrape {quiet_time:?}, worst with 8 slow readers {worst:?}, they read {read:?}"
    );
    // Each slow reader got only a sliver of its page: they were still reading.
    assert!(read.iter().all(|&n| n > 0 && n < 1_000_000), "{read:?}");
    assert!(
        worst < quiet_time * 3 + Duration::from_secs(2),
        "a scrape took {worst:?} next to slow readers (quiet: {quiet_time:?})"
    );
}

#[test]
fn a_client_that_never_reads_is_cut_at_the_write_timeout() {
    let (_srv, addr, _dir) = large(2000, 10, &["--web.write-timeout", "2s"]);
    let mut s = small_buffer_socket(addr);
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: stuck\r\n\r\n")
        .unwrap();
    std::thread::sleep(Duration::from_secs(4));
    // Meanwhile scrapes went on, and the stuck one was cut and counted.
    let page = metrics(addr);
    assert_eq!(
        sample(
            &page,
            "lvsmon_http_connections_refused_total",
            "reason=\"write_timeout\""
        ),
        1.0
    );
    // The client sees its connection end (after whatever the buffers held), not a hang.
    let t = Instant::now();
    let mut buf = vec![0u8; 1 << 16];
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(_) => assert!(t.elapsed() < Duration::from_secs(10), "never closed"),
        }
    }
}

#[test]
fn half_requests_idle_connections_garbage_and_huge_headers_are_refused_and_counted() {
    let (_srv, addr) = demo(&["--web.read-timeout", "1s"]);
    let connect = || {
        let s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s
    };
    // Half a request, then silence.
    let mut half = connect();
    half.write_all(b"GET /metr").unwrap();
    // Nothing at all.
    let mut idle = connect();
    assert!(
        closed_within(&mut half, Duration::from_secs(4)),
        "half request kept open"
    );
    assert!(
        closed_within(&mut idle, Duration::from_secs(4)),
        "idle connection kept open"
    );

    // Garbage: a clean 400, then the connection ends.
    let mut g = connect();
    g.write_all(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n")
        .unwrap();
    let mut raw = Vec::new();
    let _ = g.read_to_end(&mut raw);
    assert!(
        String::from_utf8_lossy(&raw).starts_with("HTTP/1.1 400"),
        "{raw:?}"
    );

    // A 20 KB header: 431.
    let big = "a".repeat(20_000);
    let r = get(addr, "/metrics", &[("X-Big", &big)]).unwrap();
    assert_eq!(r.status, 431);
    // A request line too long: refused as well, never served.
    let long = format!("/metrics?{}", "b".repeat(20_000));
    let r = get(addr, &long, &[]).unwrap();
    assert!(r.status == 431 || r.status == 414, "{}", r.status);

    let page = metrics(addr);
    assert_eq!(
        sample(
            &page,
            "lvsmon_http_connections_refused_total",
            "reason=\"read_timeout\""
        ),
        2.0
    );
    assert_eq!(
        sample(&page, "lvsmon_http_requests_total", "code=\"400\""),
        1.0
    );
    let too_large = sample(&page, "lvsmon_http_requests_total", "code=\"431\"")
        + sample(&page, "lvsmon_http_requests_total", "code=\"414\"");
    assert_eq!(too_large, 2.0);
    // Methods other than GET/HEAD: 405, counted.
    let mut p = connect();
    p.write_all(
        b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    let mut raw = Vec::new();
    let _ = p.read_to_end(&mut raw);
    assert!(String::from_utf8_lossy(&raw).starts_with("HTTP/1.1 405"));
}

#[test]
fn connections_beyond_the_cap_are_closed_at_once_and_the_scrape_resumes() {
    let (_srv, addr) = demo(&["--web.max-connections", "6", "--web.read-timeout", "3s"]);
    let held: Vec<_> = (0..6)
        .map(|_| std::net::TcpStream::connect(addr).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let mut extra = std::net::TcpStream::connect(addr).unwrap();
    let t = Instant::now();
    assert!(closed_within(&mut extra, Duration::from_secs(2)));
    assert!(t.elapsed() < Duration::from_secs(2));
    drop(held);
    // Slots come back as soon as the holders go.
    let t = Instant::now();
    let page = loop {
        match get(addr, "/metrics", &[]) {
            Ok(r) if r.status == 200 => break r.text(),
            _ => {
                assert!(t.elapsed() < Duration::from_secs(5), "no slot came back");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    };
    assert!(
        sample(
            &page,
            "lvsmon_http_connections_refused_total",
            "reason=\"connection_limit\""
        ) >= 1.0
    );
}

#[test]
fn concurrent_scrapes_share_pages_and_the_overflow_gets_503() {
    let (_srv, addr, _dir) = large(2000, 10, &[]);
    let before = sample(
        &metrics(addr),
        "lvsmon_http_pages_encoded_total",
        "encoding=\"gzip\"",
    );
    let handles: Vec<_> = (0..20)
        .map(|_| {
            std::thread::spawn(move || {
                get(addr, "/metrics", &[("Accept-Encoding", "gzip")]).unwrap()
            })
        })
        .collect();
    let replies: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert!(replies.iter().all(|r| r.status == 200));
    let after = sample(
        &metrics(addr),
        "lvsmon_http_pages_encoded_total",
        "encoding=\"gzip\"",
    );
    // The page itself (+1 for the scrape that reads the counter): far fewer than 20.
    let encoded = after - before - 1.0;
    eprintln!("20 concurrent scrapes encoded {encoded} pages");
    assert!(
        (1.0..=5.0).contains(&encoded),
        "{encoded} pages for 20 scrapes"
    );
    drop(_srv);

    // One place, no wait: concurrent scrapes of different formats cannot all get in.
    let (_srv, addr, _dir2) = large(
        2000,
        10,
        &["--web.max-requests", "1", "--web.max-requests-wait", "1ms"],
    );
    let kinds = [
        ("Accept-Encoding", "gzip"),
        ("Accept-Encoding", "identity"),
        ("Accept-Encoding", "zstd"),
        ("Accept", "application/openmetrics-text; version=1.0.0"),
    ];
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let h = kinds[i % kinds.len()];
            std::thread::spawn(move || get(addr, "/metrics", &[h]).unwrap().status)
        })
        .collect();
    let codes: Vec<u16> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let busy = codes.iter().filter(|&&c| c == 503).count() as f64;
    assert!(codes.iter().all(|&c| c == 200 || c == 503), "{codes:?}");
    assert!(busy >= 1.0 && codes.contains(&200), "{codes:?}");
    let t = Instant::now();
    let page = loop {
        let r = get(addr, "/metrics", &[]).unwrap();
        if r.status == 200 {
            break r.text();
        }
        assert!(t.elapsed() < Duration::from_secs(30));
    };
    assert!(sample(&page, "lvsmon_http_requests_total", "code=\"503\"") >= busy);
}

#[test]
fn port_alone_listens_on_ipv4_and_ipv6() {
    let (_srv, addr) = serve(&[
        "--web.listen-address",
        ":0",
        "--no-collector.keepalived",
        "--demo",
    ]);
    let v4 = SocketAddr::new([127, 0, 0, 1].into(), addr.port());
    assert_eq!(get(v4, "/metrics", &[]).unwrap().status, 200);
    if std::net::TcpListener::bind("[::1]:0").is_ok() {
        assert!(addr.is_ipv6(), "{addr}");
        let v6 = SocketAddr::new(std::net::Ipv6Addr::LOCALHOST.into(), addr.port());
        assert_eq!(get(v6, "/metrics", &[]).unwrap().status, 200);
    } else {
        eprintln!("no IPv6 on this host: checked IPv4 only");
    }
}

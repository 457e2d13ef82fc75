//! Bad input degrades one collector, never the scrape: the page is still served, the
//! failing collector says `lvsmon_collector_up 0` and counts the error, the others export.

mod common;

use common::*;
use lvsmon::app::App;
use lvsmon::http::{self, Site};
use lvsmon::ipvs::source::ProcSource;
use lvsmon::ipvs::IpvsOptions;
use lvsmon::metrics::{Exporter, Format};
use std::fs;
use std::path::Path;
use std::sync::Arc;

fn app(dir: &Path) -> App {
    let opts = IpvsOptions {
        conntable: true,
        ..IpvsOptions::default()
    };
    App::ipvs_only(ProcSource::Dir(dir.to_path_buf()), opts)
}

fn exporter(dir: &Path) -> Exporter {
    Exporter::new(&app(dir))
}

fn up(samples: &[Sample], c: &str) -> f64 {
    one(samples, "lvsmon_collector_up", &[("collector", c)]).value
}

fn errors(samples: &[Sample], c: &str) -> f64 {
    one(
        samples,
        "lvsmon_collector_errors_total",
        &[("collector", c)],
    )
    .value
}

#[test]
fn truncated_and_non_utf8_lines_keep_the_good_services() {
    let dir = scratch_copy("mixed");
    let path = dir.path().join("net/ip_vs");
    let mut bytes = fs::read(&path).unwrap();
    let good = parse_exposition(&exporter(dir.path()).render(Format::Prometheus));
    let services = find(&good, "ipvs_service_info", &[]).len();
    // A service line with invalid UTF-8, then a destination cut in the middle.
    bytes.extend_from_slice(b"TCP  0A0200FF:0050 r\xffr \n  -> 0A0300FF:0050      Masq    1");
    fs::write(&path, bytes).unwrap();

    let e = exporter(dir.path());
    let s = parse_exposition(&e.render(Format::Prometheus));
    assert_eq!(up(&s, "ipvs"), 0.0);
    assert_eq!(errors(&s, "ipvs"), 1.0);
    assert_eq!(find(&s, "ipvs_service_info", &[]).len(), services);
    for other in ["ipvs_stats", "ipvs_percpu", "ipvs_conntable"] {
        assert_eq!(up(&s, other), 1.0, "{other}");
    }
    let again = parse_exposition(&e.render(Format::Prometheus));
    assert_eq!(errors(&again, "ipvs"), 2.0, "each failed collection counts");
}

#[test]
fn a_missing_file_and_an_unreadable_one_take_down_only_their_collectors() {
    let dir = scratch_copy("nat4");
    fs::remove_file(dir.path().join("net/ip_vs_stats")).unwrap();
    // A directory where a file should be: reading it fails even for root.
    let percpu = dir.path().join("net/ip_vs_stats_percpu");
    fs::remove_file(&percpu).unwrap();
    fs::create_dir(&percpu).unwrap();

    let s = parse_exposition(&exporter(dir.path()).render(Format::Prometheus));
    assert_eq!(up(&s, "ipvs_stats"), 0.0);
    assert_eq!(up(&s, "ipvs_percpu"), 0.0);
    assert_eq!(up(&s, "ipvs"), 1.0);
    assert!(
        find(&s, "ipvs_connections_total", &[]).is_empty(),
        "no totals without the file"
    );
    assert_eq!(find(&s, "ipvs_backend_weight", &[]).len(), 4);
}

#[test]
fn a_huge_line_in_the_connection_table_is_skipped_and_counted() {
    let dir = scratch_copy("nat4");
    let path = dir.path().join("net/ip_vs_conn");
    let orig = fs::read_to_string(&path).unwrap();
    let conns = orig.lines().count() - 1;
    let mut bytes = orig.into_bytes();
    bytes.extend(std::iter::repeat_n(b'x', 2 << 20));
    bytes.extend_from_slice(
        b"\nUDP 0A000002 C227 0A000064 0035 0A01000B 0035 UDP             291\n",
    );
    fs::write(&path, bytes).unwrap();

    let s = parse_exposition(&exporter(dir.path()).render(Format::Prometheus));
    assert_eq!(up(&s, "ipvs_conntable"), 0.0);
    let total: f64 = find(&s, "ipvs_connections", &[])
        .iter()
        .map(|s| s.value)
        .sum();
    assert_eq!(
        total,
        (conns + 1) as f64,
        "the line after the huge one is still counted"
    );
}

#[test]
fn the_connection_table_cap_truncates_and_says_so() {
    let dir = scratch_copy("nat4");
    let opts = IpvsOptions {
        conntable: true,
        conntable_max_lines: 3,
        ..IpvsOptions::default()
    };
    let e = Exporter::ipvs(ProcSource::Dir(dir.path().to_path_buf()), opts);
    let s = parse_exposition(&e.render(Format::Prometheus));
    assert_eq!(one(&s, "lvsmon_conntable_truncated", &[]).value, 1.0);
    let total: f64 = find(&s, "ipvs_connections", &[])
        .iter()
        .map(|s| s.value)
        .sum();
    assert_eq!(total, 3.0);
}

fn start_server(dir: &Path) -> (std::net::SocketAddr, std::thread::JoinHandle<()>) {
    let app = Arc::new(app(dir));
    let site = Arc::new(Site::new(
        app,
        None,
        "/metrics".into(),
        Default::default(),
        &Default::default(),
    ));
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(l.local_addr().unwrap()).unwrap();
            // Bounded: the server lives 60 s at most even if a test hangs.
            let _ = tokio::time::timeout(std::time::Duration::from_secs(60), http::serve(l, site))
                .await;
        });
    });
    (rx.recv().unwrap(), handle)
}

#[test]
fn the_http_endpoint_answers_200_when_every_file_is_missing() {
    let empty = tempfile::tempdir().unwrap();
    let (addr, _server) = start_server(empty.path());
    let (status, head, body) = http_get(addr, "/metrics", None);
    assert_eq!(status, 200);
    assert!(
        head.contains("content-type: text/plain; version=0.0.4"),
        "{head}"
    );
    let s = parse_exposition(&body);
    assert_eq!(up(&s, "ipvs"), 0.0);
    assert_eq!(one(&s, "lvsmon_build_info", &[]).value, 1.0);
    assert!(!find(&s, "process_resident_memory_bytes", &[]).is_empty());
}

#[test]
fn openmetrics_when_asked_landing_page_and_404() {
    let dir = scratch_copy("nat4");
    let (addr, _server) = start_server(dir.path());
    let (status, head, body) = http_get(
        addr,
        "/metrics",
        Some("application/openmetrics-text;version=1.0.0,text/plain;q=0.5"),
    );
    assert_eq!(status, 200);
    assert!(
        head.contains("content-type: application/openmetrics-text"),
        "{head}"
    );
    assert!(body.ends_with("# EOF\n"));
    assert!(body.contains("ipvs_backend_weight{"));

    let (status, _, body) = http_get(addr, "/", None);
    assert_eq!(status, 200);
    assert!(body.contains("href=\"/metrics\""));
    assert!(
        body.contains("href=\"/status\""),
        "the landing page links the live page"
    );
    let (status, head, page) = http_get(addr, "/status", None);
    assert_eq!(status, 200);
    assert!(head.contains("content-type: text/html"), "{head}");
    assert!(page.contains("href=\"/metrics\"") && page.contains("/api/v1/incidents"));
    assert_eq!(http_get(addr, "/nope", None).0, 404);
}

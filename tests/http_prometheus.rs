//! A real Prometheus (Debian's package, on 127.0.0.1) scrapes `lvsmon serve`: it asks for
//! gzip, so the page it stores came compressed; curl checks the same by hand.

mod common;
mod http_support;

use common::tool;
use http_support::{demo, get, Prometheus};

#[test]
fn prometheus_scrapes_the_page_gzipped() {
    if !tool("prometheus") {
        return;
    }
    let (_srv, addr) = demo(&[]);
    let plain = get(addr, "/metrics", &[]).unwrap().text();
    let series = plain
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .count() as f64;
    let prom = Prometheus::start(
        &format!("  - job_name: lvsmon\n    static_configs:\n      - targets: ['{addr}']\n"),
        &[],
    );
    prom.wait_for("up{job=\"lvsmon\"}", |v| v == 1.0);
    // Prometheus stored the demo's backends, and lvsmon encoded gzip pages for it.
    let backends = prom.wait_for("count(ipvs_backend_weight)", |v| v > 0.0);
    let in_page = plain
        .lines()
        .filter(|l| l.starts_with("ipvs_backend_weight{"))
        .count();
    assert_eq!(backends as usize, in_page);
    let gz = prom.wait_for(
        "max(lvsmon_http_pages_encoded_total{encoding=\"gzip\"})",
        |v| v >= 1.0,
    );
    assert!(gz >= 1.0);
    let scraped = prom.wait_for("scrape_samples_scraped{job=\"lvsmon\"}", |v| v > 0.0);
    // The page grows by a few lvsmon_http_* series between the two reads at most.
    assert!((scraped - series).abs() <= 20.0, "{scraped} vs {series}");
}

#[test]
fn curl_gets_gzip_or_zstd_when_it_asks() {
    if !tool("curl") {
        return;
    }
    let (_srv, addr) = demo(&[]);
    let url = format!("http://{addr}/metrics");
    let curl = |args: &[&str]| {
        let out = std::process::Command::new("curl")
            .args(["-sS", "--max-time", "20"])
            .args(args)
            .arg(&url)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let plain = curl(&[]);
    let head = String::from_utf8(curl(&["--compressed", "-D", "-", "-o", "/dev/null"])).unwrap();
    // curl asks for what it can decode (gzip, and zstd where built with it).
    let head = head.to_lowercase();
    assert!(
        head.contains("content-encoding: gzip") || head.contains("content-encoding: zstd"),
        "{head}"
    );
    let decoded = curl(&["--compressed"]);
    let text = |b: &[u8]| {
        String::from_utf8_lossy(b)
            .lines()
            .filter(|l| l.starts_with("ipvs_"))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(text(&plain), text(&decoded));
    let gz = curl(&["-H", "Accept-Encoding: gzip"]);
    assert!(
        gz.len() * 4 < plain.len(),
        "gzip {} vs {}",
        gz.len(),
        plain.len()
    );
    let r = get(addr, "/metrics", &[("Accept-Encoding", "gzip")]).unwrap();
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert_eq!(text(r.text().as_bytes()), text(&plain));
    let z = get(addr, "/metrics", &[("Accept-Encoding", "zstd, gzip;q=0.5")]).unwrap();
    assert_eq!(z.header("content-encoding"), Some("zstd"));
    assert_eq!(text(z.text().as_bytes()), text(&plain));
    let refused = get(addr, "/metrics", &[("Accept-Encoding", "gzip;q=0")]).unwrap();
    assert_eq!(refused.header("content-encoding"), None);
}

#[test]
fn prometheus_scrapes_over_tls_with_basic_auth_and_a_client_certificate() {
    if !tool("prometheus") {
        return;
    }
    let pki = http_support::Pki::new();
    let hash = bcrypt::hash("scrape-pass", 4).unwrap();
    let cfg = pki.config(&format!(
        "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  \
         client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.pem\n\
         basic_auth_users:\n  prometheus: {hash}\n"
    ));
    let (_srv, addr) = demo(&["--web.config.file", cfg.to_str().unwrap()]);
    let tls = format!(
        "    tls_config:\n      ca_file: {}\n      cert_file: {}\n      key_file: {}\n",
        pki.path("ca.pem"),
        pki.path("client.pem"),
        pki.path("client.key")
    );
    let job = |name: &str, password: &str, tls: &str| {
        format!(
            "  - job_name: {name}\n    scheme: https\n    basic_auth:\n      username: prometheus\n      \
             password: {password}\n{tls}    static_configs:\n      - targets: ['127.0.0.1:{}']\n",
            addr.port()
        )
    };
    let no_cert = format!("    tls_config:\n      ca_file: {}\n", pki.path("ca.pem"));
    let prom = Prometheus::start(
        &[
            job("lvsmon", "scrape-pass", &tls),
            job("wrong-password", "nope", &tls),
            job("no-certificate", "scrape-pass", &no_cert),
        ]
        .concat(),
        &[],
    );
    prom.wait_for("up{job=\"lvsmon\"}", |v| v == 1.0);
    let backends = prom.wait_for("count(ipvs_backend_weight{job=\"lvsmon\"})", |v| v > 0.0);
    assert!(backends > 0.0);
    // The other two are down, for the reason they should be.
    prom.wait_for("up{job=\"wrong-password\"}", |v| v == 0.0);
    prom.wait_for("up{job=\"no-certificate\"}", |v| v == 0.0);
    prom.wait_for(
        "max(lvsmon_http_requests_total{job=\"lvsmon\",code=\"401\"})",
        |v| v >= 1.0,
    );
    prom.wait_for(
        "max(lvsmon_http_connections_refused_total{job=\"lvsmon\",reason=\"tls_handshake\"})",
        |v| v >= 1.0,
    );
    let targets = prom.targets();
    assert!(
        targets
            .iter()
            .any(|(h, e)| h == "down" && e.contains("401")),
        "{targets:?}"
    );
}

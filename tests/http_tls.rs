//! `--web.config.file` as operators use it with node_exporter: TLS (rustls), client
//! certificates, basic auth with bcrypt hashes, response headers, reloaded when the file
//! changes. Certificates are made by the test (rcgen); the client is curl on 127.0.0.1.
//! Every refusal is clean and counted, and no secret reaches the log.

mod common;
mod http_support;

use common::{tool, Served};
use http_support::{curl, demo, sample, Pki};
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

const PASSWORD: &str = "s3cret-Horse";

fn hash(password: &str) -> String {
    // Cost 4, the least bcrypt allows: the tests check behaviour, not hashing strength.
    bcrypt::hash(password, 4).unwrap()
}

fn start(config: &Path, extra: &[&str]) -> (Served, SocketAddr) {
    let mut args = vec!["--web.config.file", config.to_str().unwrap()];
    args.extend_from_slice(extra);
    demo(&args)
}

fn counter(page: &str, name: &str, labels: &str) -> f64 {
    sample(page, name, labels)
}

#[test]
fn tls_with_basic_auth_refuses_cleanly_and_counts() {
    if !tool("curl") {
        return;
    }
    let pki = Pki::new();
    let h = hash(PASSWORD);
    let cfg = pki.config(&format!(
        "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n\
             http_server_config:\n  headers:\n    X-Frame-Options: deny\n    \
             Strict-Transport-Security: max-age=31536000\n\
             basic_auth_users:\n  prometheus: {h}\n"
    ));
    let (srv, addr) = start(&cfg, &["--web.read-timeout", "2s"]);
    let url = |p: &str| format!("https://127.0.0.1:{}{p}", addr.port());
    let ca = pki.path("ca.pem");
    let good = format!("prometheus:{PASSWORD}");

    let (rc, status, head, body) = curl(&["--cacert", &ca, "-u", &good], &url("/metrics"));
    assert_eq!((rc, status), (0, 200), "{head}");
    assert!(body.contains("ipvs_backend_weight{"));
    let (_, status, _, page) = curl(&["--cacert", &ca, "-u", &good], &url("/status"));
    assert_eq!(status, 200);
    assert!(
        page.contains("/api/v1/services"),
        "the live page with the password"
    );
    assert!(head.contains("x-frame-options: deny"), "{head}");
    assert!(head.contains("strict-transport-security: max-age=31536000"));

    // Every path is behind the password, /api/* included; refusals carry the headers too.
    for path in [
        "/metrics",
        "/api/v1/state",
        "/api/v1/events",
        "/status",
        "/",
        "/nope",
    ] {
        let (_, status, head, _) = curl(&["--cacert", &ca], &url(path));
        assert_eq!(status, 401, "{path}");
        assert!(head.contains("www-authenticate: basic"), "{head}");
        assert!(head.contains("x-frame-options: deny"));
    }
    let (_, status, _, _) = curl(
        &["--cacert", &ca, "-u", "prometheus:wrong"],
        &url("/metrics"),
    );
    assert_eq!(status, 401);
    let (_, status, _, _) = curl(
        &["--cacert", &ca, "-u", &format!("nobody:{PASSWORD}")],
        &url("/metrics"),
    );
    assert_eq!(status, 401);

    // A storm with good credentials costs one bcrypt: 30 checks well under 30 × a hash.
    let t = Instant::now();
    for _ in 0..30 {
        let (_, status, _, _) = curl(
            &["--cacert", &ca, "-u", &good, "-o", "/dev/null"],
            &url("/"),
        );
        assert_eq!(status, 200);
    }
    eprintln!("30 authenticated requests in {:?}", t.elapsed());

    // Plain HTTP to the TLS port: a clean 400 that says why.
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut raw = String::new();
    let _ = s.read_to_string(&mut raw);
    assert!(raw.starts_with("HTTP/1.0 400"), "{raw}");
    assert!(raw.contains("HTTP request to an HTTPS server"));

    // A client that does not trust the certificate gives up in the handshake.
    let (rc, _, _, _) = curl(&[], &url("/metrics"));
    assert_ne!(rc, 0);
    // A handshake that starts and never finishes is cut at the read timeout.
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01]).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(6))).unwrap();
    let t = Instant::now();
    let mut buf = [0u8; 64];
    let _ = s.read(&mut buf);
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "half handshake kept open"
    );

    let (_, _, _, page) = curl(&["--cacert", &ca, "-u", &good], &url("/metrics"));
    assert_eq!(
        counter(&page, "lvsmon_http_requests_total", "code=\"401\""),
        8.0
    );
    assert_eq!(
        counter(
            &page,
            "lvsmon_http_connections_refused_total",
            "reason=\"plain_http_on_tls\""
        ),
        1.0
    );
    assert!(
        counter(
            &page,
            "lvsmon_http_connections_refused_total",
            "reason=\"tls_handshake\""
        ) >= 1.0
    );
    assert_eq!(
        counter(
            &page,
            "lvsmon_http_connections_refused_total",
            "reason=\"read_timeout\""
        ),
        1.0
    );
    // No secret anywhere: not the password, not its hash.
    let log = srv.log();
    assert!(log.contains("tls=true"), "{log}");
    assert!(!log.contains(PASSWORD) && !log.contains(&h), "{log}");
    assert!(!page.contains(PASSWORD) && !page.contains(&h));
}

#[test]
fn client_certificates_are_required_and_verified() {
    if !tool("curl") {
        return;
    }
    let pki = Pki::new();
    let cfg = pki.config(
        "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  \
         client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.pem\n  \
         min_version: TLS12\n",
    );
    let (_srv, addr) = start(&cfg, &[]);
    let url = format!("https://127.0.0.1:{}/metrics", addr.port());
    let ca = pki.path("ca.pem");
    let with = |name: &str| {
        let (cert, key) = (
            pki.path(&format!("{name}.pem")),
            pki.path(&format!("{name}.key")),
        );
        curl(&["--cacert", &ca, "--cert", &cert, "--key", &key], &url)
    };
    let (rc, status, _, body) = with("client");
    assert_eq!((rc, status), (0, 200));
    let refused_before = counter(
        &body,
        "lvsmon_http_connections_refused_total",
        "reason=\"tls_handshake\"",
    );
    for bad in ["client-other", "client-expired"] {
        let (rc, status, _, _) = with(bad);
        assert!(rc != 0 && status == 0, "{bad}: curl {rc}, status {status}");
    }
    let (rc, status, _, _) = curl(&["--cacert", &ca], &url);
    // TLS 1.3 sends the refusal after the handshake: curl may see it as a read error.
    assert!(
        rc != 0 && status == 0,
        "no certificate: curl {rc}, status {status}"
    );
    let (_, status, _, body) = with("client");
    assert_eq!(status, 200);
    assert_eq!(
        counter(
            &body,
            "lvsmon_http_connections_refused_total",
            "reason=\"tls_handshake\""
        ) - refused_before,
        3.0
    );
}

#[test]
fn an_expired_server_certificate_and_tls_to_a_plain_port_fail_cleanly() {
    if !tool("curl") {
        return;
    }
    let pki = Pki::new();
    let cfg = pki.config(
        "tls_server_config:\n  cert_file: server-expired.pem\n  key_file: server-expired.key\n",
    );
    let (_srv, addr) = start(&cfg, &[]);
    let ca = pki.path("ca.pem");
    let (rc, status, _, _) = curl(
        &["--cacert", &ca],
        &format!("https://127.0.0.1:{}/", addr.port()),
    );
    assert!(rc != 0 && status == 0, "curl {rc} {status}");
    // The server lives on and answers a client that accepts the expired certificate.
    let (rc, status, _, page) = curl(
        &["-k"],
        &format!("https://127.0.0.1:{}/metrics", addr.port()),
    );
    assert_eq!((rc, status), (0, 200));
    assert!(
        counter(
            &page,
            "lvsmon_http_connections_refused_total",
            "reason=\"tls_handshake\""
        ) >= 1.0
    );

    // TLS to a plain port: hyper answers 400 to the handshake bytes, counted.
    let (_plain, paddr) = demo(&[]);
    let (rc, _, _, _) = curl(
        &["--cacert", &ca],
        &format!("https://127.0.0.1:{}/", paddr.port()),
    );
    assert_ne!(rc, 0);
    let (_, status, _, page) = curl(&[], &format!("http://127.0.0.1:{}/metrics", paddr.port()));
    assert_eq!(status, 200);
    assert_eq!(
        counter(&page, "lvsmon_http_requests_total", "code=\"400\""),
        1.0
    );
}

#[test]
fn the_config_is_reread_on_change_and_a_bad_one_is_kept_out() {
    if !tool("curl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("web.yml");
    std::fs::write(
        &cfg,
        format!("basic_auth_users:\n  alice: {}\n", hash("first")),
    )
    .unwrap();
    let (srv, addr) = start(&cfg, &[]);
    let url = format!("http://127.0.0.1:{}/metrics", addr.port());
    let status = |user: &str| curl(&["-u", user, "-o", "/dev/null"], &url).1;
    assert_eq!(status("alice:first"), 200);

    std::fs::write(
        &cfg,
        format!("basic_auth_users:\n  alice: {}\n", hash("second")),
    )
    .unwrap();
    let t = Instant::now();
    while status("alice:second") != 200 {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "new password never took"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(status("alice:first"), 401);

    // A broken file: logged, counted, and the last good one stays.
    std::fs::write(&cfg, "basic_auth_users:\n  alice: not-a-hash\n  : [\n").unwrap();
    let t = Instant::now();
    let page = loop {
        let (_, st, _, page) = curl(&["-u", "alice:second"], &url);
        assert_eq!(st, 200);
        if counter(&page, "lvsmon_http_web_config_errors_total", "") >= 1.0 {
            break page;
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "the bad file was never looked at"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(
        counter(&page, "lvsmon_http_web_config_errors_total", ""),
        1.0
    );
    assert_eq!(status("alice:first"), 401);
    let log = srv.log();
    assert!(log.contains("web config not reloaded"), "{log}");
    assert!(!log.contains("not-a-hash"), "{log}");
}

#[test]
fn a_bad_config_at_start_stops_serve_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("web.yml");
    std::fs::write(
        &cfg,
        "tls_server_config:\n  cert_file: missing.pem\n  key_file: missing.key\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lvsmon"))
        .args([
            "serve",
            "--demo",
            "--web.listen-address",
            "127.0.0.1:0",
            "--web.config.file",
        ])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--web.config.file") && err.contains("missing."),
        "{err}"
    );
}

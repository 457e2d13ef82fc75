//! `lvsmon check … --url https://…` against an lvsmon behind `--web.config.file`: TLS
//! checked against the CA that signed it, a client certificate it requires, basic auth with
//! the password read from a file. The same verdict as reading the director directly, and
//! UNKNOWN (never a wrong state) when the credentials or the certificates do not fit.

mod check_support;
mod common;
mod http_support;

use check_support::{check, perf, status_line};
use http_support::{demo, Pki};

const PASSWORD: &str = "n4gios-Pass";

#[test]
fn a_check_reaches_an_lvsmon_behind_tls_a_client_certificate_and_basic_auth() {
    let pki = Pki::new();
    let hash = bcrypt::hash(PASSWORD, 4).unwrap();
    let cfg = pki.config(&format!(
        "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  \
         client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.pem\n\
         basic_auth_users:\n  nagios: {hash}\n"
    ));
    let (_srv, addr) = demo(&["--web.config.file", cfg.to_str().unwrap()]);
    let url = format!("https://127.0.0.1:{}", addr.port());
    let pass = pki.dir.path().join("password");
    std::fs::write(&pass, format!("{PASSWORD}\n")).unwrap();
    let wrong = pki.dir.path().join("wrong");
    std::fs::write(&wrong, "guess\n").unwrap();
    let (ca, cert, key) = (
        pki.path("ca.pem"),
        pki.path("client.pem"),
        pki.path("client.key"),
    );
    let pass = pass.display().to_string();
    let wrong = wrong.display().to_string();
    let mode = ["nagios", "service", "--service", "TCP 10.0.0.100:80"];
    let via = |extra: &[&str]| {
        let mut a: Vec<&str> = mode.to_vec();
        a.extend(["--url", url.as_str()]);
        a.extend_from_slice(extra);
        check(&a)
    };
    let all = [
        "--tls.ca-file",
        ca.as_str(),
        "--tls.cert-file",
        cert.as_str(),
        "--tls.key-file",
        key.as_str(),
        "--auth.username",
        "nagios",
        "--auth.password-file",
        pass.as_str(),
    ];
    let direct = check(&[&mode[..], &["--demo", "--no-collector.keepalived"]].concat());
    let (code, out) = via(&all);
    assert_eq!(
        (code, status_line(&out)),
        (direct.0, status_line(&direct.1)),
        "{out}"
    );
    assert_eq!(perf(&out), perf(&direct.1));
    // Other modes over the same connection settings (this lvsmon has no keepalived
    // collector: its vrrp answer is UNKNOWN by design).
    for m in [&["nagios", "services"][..], &["nagios", "incidents"][..]] {
        let mut a = m.to_vec();
        a.extend(["--url", url.as_str()]);
        a.extend_from_slice(&all);
        let (code, out) = check(&a);
        assert!(code < 3, "{m:?}: {out}");
    }

    // A wrong password: UNKNOWN, saying why.
    let mut bad = all.to_vec();
    bad[9] = wrong.as_str();
    let (code, out) = via(&bad);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("401"), "{out}");
    // No client certificate: the handshake fails, UNKNOWN.
    let (code, out) = via(&[&all[..2], &all[6..]].concat());
    assert_eq!(code, 3, "{out}");
    // lvsmon's certificate checked against another CA (the system's): UNKNOWN.
    let (code, out) = via(&all[2..]);
    assert_eq!(code, 3, "{out}");
    // Plain HTTP to the TLS port: UNKNOWN.
    let plain = format!("http://127.0.0.1:{}", addr.port());
    let (code, out) = check(&[&mode[..], &["--url", &plain]].concat());
    assert_eq!(code, 3, "{out}");
    // Half of a pair of flags is a usage error: UNKNOWN too.
    let (code, out) = via(&all[..8]);
    assert_eq!(code, 3, "{out}");
}

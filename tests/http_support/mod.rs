//! Support for the HTTP server tests (tests/http_*.rs): a large director's procfs tree
//! written on the fly, and a raw HTTP/1.1 client that can misbehave on purpose.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

/// Writes `proc/net/ip_vs` (the kernel's text, byte for byte as `ip_vs_ctl.c` prints it)
/// for `services` TCP services of `backends` masqueraded backends each.
pub fn large_tree(dir: &Path, services: u32, backends: u32) {
    let net = dir.join("net");
    std::fs::create_dir_all(&net).unwrap();
    let mut s = String::from(
        "IP Virtual Server version 1.2.1 (size=4096)\n\
         Prot LocalAddress:Port Scheduler Flags\n  \
         -> RemoteAddress:Port Forward Weight ActiveConn InActConn\n",
    );
    for i in 0..services {
        let vip = 0x0A00_0000 + i;
        s.push_str(&format!("TCP  {vip:08X}:0050 rr  \n"));
        for b in 0..backends {
            let rip = 0x0A80_0000 + i * backends + b;
            s.push_str(&format!(
                "  -> {rip:08X}:0050      Masq    1      {}          {}         \n",
                b % 7,
                b % 3
            ));
        }
    }
    std::fs::write(net.join("ip_vs"), s).unwrap();
}

/// `lvsmon serve --demo` on an ephemeral 127.0.0.1 port with `extra` flags.
pub fn demo(extra: &[&str]) -> (crate::common::Served, SocketAddr) {
    let mut args = vec![
        "--web.listen-address",
        "127.0.0.1:0",
        "--no-collector.keepalived",
        "--demo",
    ];
    args.extend_from_slice(extra);
    crate::common::serve(&args)
}

/// A parsed response.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    /// Lower-cased header block.
    pub head: String,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == name).then(|| v.trim())
        })
    }

    /// The body, gunzipped or un-zstd'ed as its Content-Encoding says.
    pub fn text(&self) -> String {
        let raw = match self.header("content-encoding") {
            Some("gzip") => {
                let mut out = Vec::new();
                flate2::read::GzDecoder::new(&self.body[..])
                    .read_to_end(&mut out)
                    .expect("valid gzip");
                out
            }
            Some("zstd") => zstd::stream::decode_all(&self.body[..]).expect("valid zstd"),
            _ => self.body.clone(),
        };
        String::from_utf8(raw).expect("utf-8 page")
    }
}

/// Sends `GET path` with extra header lines and `Connection: close`, reads the whole answer.
pub fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> std::io::Result<Reply> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    parse(&raw)
}

pub fn parse(raw: &[u8]) -> std::io::Result<Reply> {
    let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string());
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no header end"))?;
    let head = String::from_utf8_lossy(&raw[..split]).to_lowercase();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| bad("no status"))?;
    let mut body = raw[split + 4..].to_vec();
    if head.contains("transfer-encoding: chunked") {
        body = unchunk(&body);
    }
    Ok(Reply { status, head, body })
}

fn unchunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = b.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let n = usize::from_str_radix(std::str::from_utf8(&b[..eol]).unwrap().trim(), 16).unwrap();
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + n]);
        b = &b[eol + 2 + n + 2..];
    }
}

/// A connected socket with a small receive buffer, so that a client that reads slowly
/// really pushes back on the server instead of the kernel absorbing the page.
pub fn small_buffer_socket(addr: SocketAddr) -> TcpStream {
    let sock = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        None,
    )
    .unwrap();
    sock.set_recv_buffer_size(4096).unwrap();
    sock.connect_timeout(&addr.into(), Duration::from_secs(5))
        .unwrap();
    sock.into()
}

/// The value of one sample of `name` whose text matches `labels` (e.g. `code="503"`), 0
/// when absent.
pub fn sample(page: &str, name: &str, labels: &str) -> f64 {
    page.lines()
        .filter(|l| !l.starts_with('#'))
        .find(|l| {
            let (series, _) = l.rsplit_once(' ').unwrap_or((l, ""));
            let n = series.split('{').next().unwrap_or("");
            n == name && series.contains(labels)
        })
        .and_then(|l| l.rsplit_once(' ')?.1.parse().ok())
        .unwrap_or(0.0)
}

/// Whether the peer closed the connection (EOF or reset) within `within`.
pub fn closed_within(s: &mut TcpStream, within: Duration) -> bool {
    s.set_read_timeout(Some(within)).unwrap();
    let mut buf = [0u8; 65536];
    let t0 = std::time::Instant::now();
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {
                if t0.elapsed() > within {
                    return false;
                }
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                return false
            }
            Err(_) => return true,
        }
    }
}

pub use crate::common::free_port;

/// A real Prometheus (Debian's package) on 127.0.0.1, killed when dropped.
pub struct Prometheus {
    child: std::process::Child,
    pub addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prometheus {
    /// Starts `prometheus` with `scrape_configs` (YAML, indented under the key) scraping
    /// every second; `files` are written beside its config first (certificates,
    /// passwords). Waits (bounded) until it answers.
    pub fn start(scrape_configs: &str, files: &[(&str, &[u8])]) -> Prometheus {
        let dir = tempfile::tempdir().unwrap();
        for (name, data) in files {
            std::fs::write(dir.path().join(name), data).unwrap();
        }
        let config = format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n{scrape_configs}"
        );
        let cfg = dir.path().join("prometheus.yml");
        std::fs::write(&cfg, config).unwrap();
        let port = free_port();
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
        let child = std::process::Command::new("prometheus")
            .arg(format!("--config.file={}", cfg.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start prometheus");
        let p = Prometheus {
            child,
            addr,
            _dir: dir,
        };
        let t0 = std::time::Instant::now();
        while get(addr, "/-/ready", &[]).map(|r| r.status).ok() != Some(200) {
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "prometheus did not start: {}",
                p.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        p
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("prometheus.log")).unwrap_or_default()
    }

    /// An instant query's first value, `None` when the result is empty.
    pub fn query(&self, q: &str) -> Option<f64> {
        let url = format!("/api/v1/query?query={}", urlencode(q));
        let r = get(self.addr, &url, &[]).ok()?;
        let v: serde_json::Value = serde_json::from_slice(&r.body).ok()?;
        v["data"]["result"][0]["value"][1].as_str()?.parse().ok()
    }

    /// The scrape targets' `health` and `lastError`, as Prometheus reports them.
    pub fn targets(&self) -> Vec<(String, String)> {
        let Ok(r) = get(self.addr, "/api/v1/targets", &[]) else {
            return vec![];
        };
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_default();
        v["data"]["activeTargets"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|t| {
                        (
                            t["health"].as_str().unwrap_or("").to_string(),
                            t["lastError"].as_str().unwrap_or("").to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Waits (bounded) until `q` returns a value for which `ok` holds; returns it.
    pub fn wait_for(&self, q: &str, ok: impl Fn(f64) -> bool) -> f64 {
        let t0 = std::time::Instant::now();
        loop {
            if let Some(v) = self.query(q) {
                if ok(v) {
                    return v;
                }
            }
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "{q} never held; targets {:?}",
                self.targets()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Certificates made for a test (rcgen), written as PEM files into `dir`: a CA, a server
/// certificate for 127.0.0.1 and localhost, a client certificate, an expired client
/// certificate, both from the CA, and a client certificate from another CA.
pub struct Pki {
    pub dir: tempfile::TempDir,
}

impl Pki {
    pub fn new() -> Pki {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
            KeyPair,
        };
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, pem: String| std::fs::write(dir.path().join(name), pem).unwrap();
        let ca = |cn: &str| {
            let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
            p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            p.distinguished_name.push(DnType::CommonName, cn);
            let key = KeyPair::generate().unwrap();
            let cert = p.self_signed(&key).unwrap();
            (Issuer::new(p, key), cert)
        };
        let (issuer, ca_cert) = ca("lvsmon test CA");
        write("ca.pem", ca_cert.pem());
        let (other, _) = ca("another CA");
        let leaf =
            |name: &str, sans: Vec<String>, usage, issuer: &Issuer<KeyPair>, expired: bool| {
                let mut p = CertificateParams::new(sans).unwrap();
                p.distinguished_name.push(DnType::CommonName, name);
                p.extended_key_usages = vec![usage];
                if expired {
                    p.not_before = rcgen::date_time_ymd(2020, 1, 1);
                    p.not_after = rcgen::date_time_ymd(2021, 1, 1);
                }
                let key = KeyPair::generate().unwrap();
                let cert = p.signed_by(&key, issuer).unwrap();
                write(&format!("{name}.pem"), cert.pem());
                write(&format!("{name}.key"), key.serialize_pem());
            };
        let local = vec!["127.0.0.1".to_string(), "localhost".to_string()];
        leaf(
            "server",
            local.clone(),
            ExtendedKeyUsagePurpose::ServerAuth,
            &issuer,
            false,
        );
        leaf(
            "server-expired",
            local,
            ExtendedKeyUsagePurpose::ServerAuth,
            &issuer,
            true,
        );
        leaf(
            "client",
            vec![],
            ExtendedKeyUsagePurpose::ClientAuth,
            &issuer,
            false,
        );
        leaf(
            "client-expired",
            vec![],
            ExtendedKeyUsagePurpose::ClientAuth,
            &issuer,
            true,
        );
        leaf(
            "client-other",
            vec![],
            ExtendedKeyUsagePurpose::ClientAuth,
            &other,
            false,
        );
        Pki { dir }
    }

    /// Writes `yaml` as `web.yml` beside the certificates; its path.
    pub fn config(&self, yaml: &str) -> std::path::PathBuf {
        let p = self.dir.path().join("web.yml");
        std::fs::write(&p, yaml).unwrap();
        p
    }

    pub fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }
}

/// `curl ARGS URL` (bounded): its exit code, the HTTP status it saw (0 for none), headers
/// and body.
pub fn curl(args: &[&str], url: &str) -> (i32, u16, String, String) {
    let out = std::process::Command::new("curl")
        .args(["-sS", "--max-time", "20", "-D", "-"])
        .args(args)
        .arg(url)
        .output()
        .expect("run curl");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (
        out.status.code().unwrap_or(-1),
        status,
        head.to_lowercase(),
        body.to_string(),
    )
}

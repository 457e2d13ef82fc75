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

//! Shared test support: a small reader for the Prometheus text format, and fixture paths.
#![allow(dead_code)]

pub mod grafana;
pub mod lab;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

impl Sample {
    pub fn label(&self, k: &str) -> &str {
        self.labels.get(k).map(String::as_str).unwrap_or("")
    }
}

/// Parses `name{k="v",…} value` lines; comments and blank lines are skipped.
pub fn parse_exposition(text: &str) -> Vec<Sample> {
    let mut out = Vec::new();
    for line in text.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, rest) = match line.find('{') {
            Some(i) => (&line[..i], &line[i..]),
            None => {
                let (n, v) = line.split_once(' ').expect("sample line has a value");
                out.push(Sample {
                    name: n.into(),
                    labels: BTreeMap::new(),
                    value: parse_value(v),
                });
                continue;
            }
        };
        let (labels, value) = parse_labels(rest);
        out.push(Sample {
            name: name.into(),
            labels,
            value: parse_value(value.trim()),
        });
    }
    out
}

fn parse_value(v: &str) -> f64 {
    let v = v.split_whitespace().next().unwrap_or(v);
    match v {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        _ => v
            .parse()
            .unwrap_or_else(|_| panic!("bad sample value {v:?}")),
    }
}

fn parse_labels(s: &str) -> (BTreeMap<String, String>, &str) {
    let mut labels = BTreeMap::new();
    let b = s.as_bytes();
    let mut i = 1; // after '{'
    loop {
        if b[i] == b'}' {
            return (labels, &s[i + 1..]);
        }
        let eq = s[i..].find('=').unwrap() + i;
        let key = s[i..eq].to_string();
        let mut j = eq + 2; // after '="'
        let mut val = String::new();
        while b[j] != b'"' {
            if b[j] == b'\\' {
                j += 1;
                val.push(match b[j] {
                    b'n' => '\n',
                    c => c as char,
                });
            } else {
                let ch = s[j..].chars().next().unwrap();
                val.push(ch);
                j += ch.len_utf8() - 1;
            }
            j += 1;
        }
        labels.insert(key, val);
        i = j + 1;
        if b[i] == b',' {
            i += 1;
        }
    }
}

/// Samples of one metric whose labels include every given pair.
pub fn find<'a>(samples: &'a [Sample], name: &str, want: &[(&str, &str)]) -> Vec<&'a Sample> {
    samples
        .iter()
        .filter(|s| s.name == name && want.iter().all(|(k, v)| s.label(k) == *v))
        .collect()
}

/// The one sample matching, or a panic that says what was looked for.
pub fn one<'a>(samples: &'a [Sample], name: &str, want: &[(&str, &str)]) -> &'a Sample {
    let found = find(samples, name, want);
    assert_eq!(
        found.len(),
        1,
        "expected exactly one {name} with {want:?}, found {found:?}"
    );
    found[0]
}

/// Whether the tests run as root (network and mount namespaces need it).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2))
                .map(|u| u == "0")
        })
        .unwrap_or(false)
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Where the real-kernel captures are: tests/fixtures/kernel, or LVSMON_CAPTURES_DIR (the
/// VM suite points it at the captures it has just made).
pub fn captures_dir() -> PathBuf {
    std::env::var_os("LVSMON_CAPTURES_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("tests/fixtures/kernel"))
}

/// Every real-kernel capture directory (CAPTURES/NAME).
pub fn kernel_captures() -> Vec<PathBuf> {
    let dir = captures_dir();
    let mut v: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("proc/net/ip_vs").is_file())
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no captures under {}", dir.display());
    v
}

pub fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A minimal HTTP/1.0 GET against 127.0.0.1 (no chunking to undo): (status, headers, body).
pub fn http_get(
    addr: std::net::SocketAddr,
    path: &str,
    accept: Option<&str>,
) -> (u16, String, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let accept = accept
        .map(|a| format!("Accept: {a}\r\n"))
        .unwrap_or_default();
    write!(s, "GET {path} HTTP/1.0\r\nHost: test\r\n{accept}\r\n").unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read response");
    let raw = String::from_utf8(raw).expect("utf-8 response");
    let (head, body) = raw.split_once("\r\n\r\n").expect("header/body separator");
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, head.to_lowercase(), body.to_string())
}

/// Copies a capture's proc tree into a temporary directory that a test may damage.
pub fn scratch_copy(capture: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("net");
    std::fs::create_dir_all(&net).unwrap();
    let src = root()
        .join("tests/fixtures/kernel")
        .join(capture)
        .join("proc/net");
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), net.join(e.file_name())).unwrap();
    }
    dir
}

/// Whether `name --version` runs; without it a test skips, unless LVSMON_REQUIRE_TOOLS is
/// set (scripts/test.sh sets it: CI must never pass by skipping an oracle).
pub fn tool(name: &str) -> bool {
    let found = std::process::Command::new(name)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    found || skip(&format!("{name} not installed"))
}

/// A test cannot run here (`why`): it says so and skips (returns false), unless
/// LVSMON_REQUIRE_TOOLS is set, where it fails.
pub fn skip(why: &str) -> bool {
    assert!(
        std::env::var("LVSMON_REQUIRE_TOOLS").is_err(),
        "{why}, and LVSMON_REQUIRE_TOOLS is set: run scripts/install-deps.sh, as root"
    );
    eprintln!("{why}: skipping (run scripts/install-deps.sh, as root)");
    false
}

/// `promtool` when installed (see [`tool`]).
pub fn promtool() -> Option<&'static str> {
    tool("promtool").then_some("promtool")
}

/// `promtool check metrics` on a page: `None` when promtool is missing, else whether it
/// passed and everything it said.
pub fn promtool_check(page: &str) -> Option<(bool, String)> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let tool = promtool()?;
    let mut child = Command::new(tool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(page.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some((out.status.success(), said))
}

/// A running `lvsmon serve`, killed when dropped; its stderr is kept.
pub struct Served {
    pub child: std::process::Child,
    log: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Served {
    /// Everything lvsmon logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// SIGTERM, then waits (at most 10 s) for the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        use std::time::{Duration, Instant};
        let pid = self.child.id().to_string();
        assert!(std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st;
            }
            assert!(Instant::now() < deadline, "lvsmon ignored SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Starts `lvsmon serve ARGS` (which should listen on port 0) and returns it with the
/// address it bound, read from its own "serving metrics" log line (at most 10 s). Letting
/// the kernel pick the port means parallel tests can never collide on one.
pub fn serve(args: &[&str]) -> (Served, std::net::SocketAddr) {
    serve_via(&[], args)
}

/// [`serve`] started through a command prefix (`unshare …`, a wrapper script), which must
/// end by running its arguments: `PREFIX… LVSMON serve ARGS…`.
pub fn serve_via(prefix: &[&str], args: &[&str]) -> (Served, std::net::SocketAddr) {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    // A benchmark run (docs/benchmarks.md) points this at a release build; tests use the
    // binary cargo built with them.
    let bench_bin = std::env::var("LVSMON_BENCH_BIN").ok();
    let lvsmon = bench_bin.as_deref().unwrap_or(env!("CARGO_BIN_EXE_lvsmon"));
    let (program, rest) = match prefix.split_first() {
        Some((p, rest)) => (*p, rest),
        None => (lvsmon, &[][..]),
    };
    let mut cmd = Command::new(program);
    cmd.args(rest);
    if !prefix.is_empty() {
        cmd.arg(lvsmon);
    }
    let mut child = cmd
        .arg("serve")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    let kept = log.clone();
    // Keeps draining stderr for the child's lifetime so it never blocks on a full pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(a) = line
                .split_whitespace()
                .find_map(|w| w.strip_prefix("address="))
            {
                let _ = tx.send(a.parse::<std::net::SocketAddr>().unwrap());
            }
            let mut l = kept.lock().unwrap_or_else(|p| p.into_inner());
            l.push_str(&line);
            l.push('\n');
        }
    });
    let srv = Served { child, log };
    let addr = rx
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("lvsmon logged no listening address within 10 s");
    (srv, addr)
}

/// Samples by metric name and identity labels (IPVS service and backend labels), so that a
/// 10k-backend capture checks fast. A label a key does not give counts as empty.
pub struct Index<'a>(HashMap<String, Vec<&'a Sample>>);

pub const IDENTITY: [&str; 6] = [
    "proto",
    "local_address",
    "local_port",
    "local_mark",
    "remote_address",
    "remote_port",
];

impl<'a> Index<'a> {
    pub fn new(samples: &'a [Sample]) -> Self {
        let mut m: HashMap<_, Vec<_>> = HashMap::new();
        for s in samples {
            m.entry(Self::id(&s.name, |k| s.label(k)))
                .or_default()
                .push(s);
        }
        Index(m)
    }

    fn id<'k>(name: &str, label: impl Fn(&str) -> &'k str) -> String {
        let mut id = name.to_string();
        for k in IDENTITY {
            id.push('\0');
            id.push_str(label(k));
        }
        id
    }

    pub fn get(&self, name: &str, key: &[(&str, &str)]) -> &[&'a Sample] {
        let id = Self::id(name, |k| {
            key.iter().find(|(n, _)| *n == k).map_or("", |(_, v)| *v)
        });
        self.0.get(&id).map_or(&[], Vec::as_slice)
    }

    pub fn one(&self, name: &str, key: &[(&str, &str)]) -> &'a Sample {
        let found = self.get(name, key);
        assert_eq!(
            found.len(),
            1,
            "expected one {name} with {key:?}, found {found:?}"
        );
        found[0]
    }
}

/// A product's process (Prometheus, Alertmanager...) started by a test, killed when
/// dropped, whatever the test's outcome.
pub struct Killed(pub std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago, for a product that cannot be told
/// to pick its own and report it.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// How many rules (alerting and recording) a Prometheus rule file's text holds.
pub fn rules_in(text: &str) -> usize {
    text.lines()
        .filter(|l| {
            let t = l.trim_start();
            t.starts_with("- alert:") || t.starts_with("- record:")
        })
        .count()
}

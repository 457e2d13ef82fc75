//! What the `check_*` tests share: running `lvsmon check …` as a monitoring product does,
//! the kernel captures it reads, and starting (and stopping) the products themselves.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const LVSMON: &str = env!("CARGO_BIN_EXE_lvsmon");

/// Runs `lvsmon check ARGS`: (exit status, stdout).
pub fn check(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_lvsmon"))
        .arg("check")
        .args(args)
        .output()
        .unwrap();
    let code = out.status.code().expect("exited, not killed");
    (code, String::from_utf8(out.stdout).unwrap())
}

/// The proc tree of a real-kernel capture under tests/fixtures/kernel.
pub fn capture(name: &str) -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/kernel")
        .join(name)
        .join("proc")
        .display()
        .to_string()
}

/// The status line without its perfdata.
pub fn status_line(out: &str) -> &str {
    let first = out.lines().next().unwrap_or("");
    first.split(" | ").next().unwrap_or(first)
}

/// The perfdata of the status line.
pub fn perf(out: &str) -> &str {
    out.lines()
        .next()
        .and_then(|l| l.split_once(" | "))
        .map_or("", |(_, p)| p)
}

/// A daemon started by a test: SIGTERM and a bounded wait when the test ends, however.
pub struct Daemon(pub Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let pid = self.0.id() as i32;
        // SAFETY: signalling our own child by its pid.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn start(cmd: &mut Command) -> Daemon {
    Daemon(
        cmd.stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{cmd:?}: {e}")),
    )
}

/// Whether a product's program is installed; without it a test skips, unless
/// LVSMON_REQUIRE_TOOLS is set (as `common::tool`, for programs without `--version`).
pub fn installed(paths: &[&str]) -> bool {
    let missing: Vec<&&str> = paths.iter().filter(|p| !Path::new(p).exists()).collect();
    if !missing.is_empty() {
        assert!(
            std::env::var("LVSMON_REQUIRE_TOOLS").is_err(),
            "{missing:?} required (LVSMON_REQUIRE_TOOLS is set) but not installed"
        );
        eprintln!("{missing:?} not installed: skipping (run scripts/install-deps.sh)");
    }
    missing.is_empty()
}

/// A temporary directory the products' unprivileged users (nagios, zabbix) can read.
pub fn tempdir() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let d = tempfile::tempdir().unwrap();
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    d
}

/// A port free on 127.0.0.1 now, below 32768 (the Zabbix agent takes no higher one, and
/// the kernel's own picks are above), never the same twice in one process (a daemon may
/// not have bound the last one yet): tried from a start that differs per process.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let base = 20000 + (std::process::id() % 10000) as u16;
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let p = 20000 + (base - 20000 + n) % 12000;
        assert!(n < 12000, "no free port below 32000");
        if std::net::TcpListener::bind(("127.0.0.1", p)).is_ok() {
            return p;
        }
    }
}

/// Waits (bounded) until something listens on `port`.
pub fn wait_listening(port: u16, what: &str) {
    let t0 = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            t0.elapsed() < Duration::from_secs(15),
            "{what} never listened on {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A shipped file as installed here: the binary under test and the test's lvsmon port.
pub fn shipped(rel: &str, lvsmon_port: u16) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(rel))
        .unwrap()
        .replace("/usr/bin/lvsmon", LVSMON)
        .replace("127.0.0.1:9689", &format!("127.0.0.1:{lvsmon_port}"))
}

pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// A Zabbix agent configuration in `dir` serving the shipped deploy/zabbix/lvsmon.conf
/// (asking the lvsmon on `lvsmon_port`) on a free port: (config file, port).
pub fn zabbix_agent_config(dir: &Path, lvsmon_port: u16) -> (PathBuf, u16) {
    let d = dir.display();
    write(
        dir,
        "lvsmon.conf",
        &shipped("deploy/zabbix/lvsmon.conf", lvsmon_port),
    );
    let port = free_port();
    let cfg = write(
        dir,
        "zabbix_agentd.conf",
        &format!(
            "LogType=console\nPidFile={d}/agent.pid\nServer=127.0.0.1\nListenIP=127.0.0.1\n\
             ListenPort={port}\nStartAgents=2\nAllowRoot=1\nTimeout=10\nInclude={d}/lvsmon.conf\n"
        ),
    );
    (cfg, port)
}

//! keepalived for real: two network namespaces joined by a veth pair, one keepalived
//! (VRRP only, PASS authentication) in each, read by lvsmon through their pid files and
//! dump dirs. MASTER/BACKUP on both, a failover when the MASTER stops, a dead keepalived,
//! a half-written dump, and the VRRP password absent from every output.
//!
//! Needs root, `ip` and `keepalived` (scripts/install-deps.sh); without them the tests say
//! so and pass, unless LVSMON_REQUIRE_TOOLS is set.

mod common;

use common::*;
use lvsmon::app::{App, AppConfig, IpvsAt};
use lvsmon::ipvs::source::ProcSource;
use lvsmon::ipvs::IpvsOptions;
use lvsmon::keepalived::{DumpSource, KeepalivedOptions, Origin};
use lvsmon::metrics::{Exporter, Format};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_lvsmon");
/// Eight characters: VRRP PASS authentication keeps no more.
const PASSWORD: &str = "Pw4lvsmn";

fn tools_present() -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let have = |t: &str| Command::new(t).arg("-V").output().is_ok();
    let ok = root && have("keepalived") && have("ip");
    if !ok {
        assert!(
            std::env::var("LVSMON_REQUIRE_TOOLS").is_err(),
            "root, ip and keepalived are required (LVSMON_REQUIRE_TOOLS is set)"
        );
        eprintln!("needs root, ip and keepalived: skipping (run scripts/install-deps.sh)");
    }
    ok
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One keepalived in its own namespace; stopped and the namespace deleted on drop.
struct Node {
    ns: String,
    dir: PathBuf,
    child: Option<Child>,
}

impl Node {
    fn pid_file(&self) -> PathBuf {
        self.dir.join("keepalived.pid")
    }

    /// SIGTERM, then wait (bounded) so VRRP sends its priority-0 advert and exits.
    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SAFETY: kill(2) on our own child.
            unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
            let t0 = Instant::now();
            while t0.elapsed() < Duration::from_secs(10) {
                if c.try_wait().ok().flatten().is_some() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.stop();
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).status();
    }
}

fn unique() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{}{}",
        std::process::id() % 100000,
        N.fetch_add(1, Ordering::SeqCst)
    )
}

fn conf(iface: &str, state: &str, priority: u32) -> String {
    format!(
        "global_defs {{\n  router_id lvsmon-test\n}}\n\
         vrrp_instance VI_T {{\n  state {state}\n  interface {iface}\n  virtual_router_id 61\n\
           priority {priority}\n  advert_int 1\n\
           authentication {{\n    auth_type PASS\n    auth_pass {PASSWORD}\n  }}\n\
           virtual_ipaddress {{\n    10.251.0.100/24\n  }}\n}}\n"
    )
}

/// Starts keepalived in `ns` (which must exist) with its files under `root/ns`.
fn start(ns: &str, iface: &str, state: &str, priority: u32, root: &Path) -> Child {
    let dir = root.join(ns);
    let tmp = dir.join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let cf = dir.join("keepalived.conf");
    std::fs::write(&cf, conf(iface, state, priority)).unwrap();
    let p = |f: &str| dir.join(f).display().to_string();
    Command::new("ip")
        .args(["netns", "exec", ns, "keepalived", "-P", "-n", "-l"])
        .args(["-f", &cf.display().to_string(), "-p", &p("keepalived.pid")])
        .args(["-r", &p("vrrp.pid")])
        .env("TMPDIR", &tmp)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Two namespaces, a veth between them, keepalived MASTER (priority 150) in the first and
/// BACKUP (100) in the second.
fn pair(root: &Path) -> (Node, Node) {
    let id = unique();
    let (na, nb) = (format!("lvka{id}"), format!("lvkb{id}"));
    let (ia, ib) = (format!("ka{id}"), format!("kb{id}"));
    ip(&["netns", "add", &na]);
    // A Node owns its namespace from here on, so a failure below still cleans up.
    let mut a = Node {
        ns: na.clone(),
        dir: root.join(&na),
        child: None,
    };
    ip(&["netns", "add", &nb]);
    let mut b = Node {
        ns: nb.clone(),
        dir: root.join(&nb),
        child: None,
    };
    ip(&["link", "add", &ia, "type", "veth", "peer", "name", &ib]);
    ip(&["link", "set", &ia, "netns", &na]);
    ip(&["link", "set", &ib, "netns", &nb]);
    for (ns, i, addr) in [(&na, &ia, "10.251.0.1/24"), (&nb, &ib, "10.251.0.2/24")] {
        ip(&["-n", ns, "addr", "add", addr, "dev", i]);
        ip(&["-n", ns, "link", "set", i, "up"]);
        ip(&["-n", ns, "link", "set", "lo", "up"]);
    }
    a.child = Some(start(&na, &ia, "MASTER", 150, root));
    b.child = Some(start(&nb, &ib, "BACKUP", 100, root));
    (a, b)
}

/// An exporter over keepalived's dumps (passive: never signal).
fn exporter_over(
    pid_file: PathBuf,
    dir: Option<PathBuf>,
    passive: bool,
    min_interval: Duration,
) -> Exporter {
    let source = DumpSource {
        pid_file,
        dump_dir: dir,
        passive,
        timeout: Duration::from_secs(if passive { 1 } else { 3 }),
    };
    let opts = KeepalivedOptions {
        origin: Origin::Live(source),
        min_interval,
        notify_fifos: Vec::new(),
        state: None,
    };
    // No IPVS here: its reader reads an empty tree and reports itself down.
    let cfg = AppConfig {
        ipvs_at: IpvsAt::Here(ProcSource::Dir("/nonexistent-procfs".into())),
        ipvs: IpvsOptions::default(),
        keepalived: Some(opts),
    };
    Exporter::new(&App::new(cfg, None).unwrap())
}

/// An exporter reading the keepalived of `node`, refreshing at every scrape.
fn exporter(node: &Node) -> Exporter {
    exporter_over(node.pid_file(), None, false, Duration::ZERO)
}

fn value(page: &str, name: &str) -> Option<f64> {
    parse_exposition(page)
        .into_iter()
        .find(|s| s.name == name)
        .map(|s| s.value)
}

/// Scrapes until `want(page)` or `secs` pass; returns the last page.
fn scrape_until(e: &Exporter, secs: u64, want: impl Fn(&str) -> bool) -> (bool, String) {
    let t0 = Instant::now();
    loop {
        let page = e.render(Format::Prometheus);
        if want(&page) {
            return (true, page);
        }
        if t0.elapsed() > Duration::from_secs(secs) {
            return (false, page);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn state_is(v: f64) -> impl Fn(&str) -> bool {
    move |p| value(p, "keepalived_vrrp_state") == Some(v)
}

#[test]
fn master_and_backup_are_seen_on_both_and_failover_follows_a_stopped_master() {
    if !tools_present() {
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let (mut a, b) = pair(root.path());
    let (ea, eb) = (exporter(&a), exporter(&b));
    let (ok, page) = scrape_until(&ea, 20, state_is(2.0));
    assert!(ok, "first keepalived never MASTER:\n{page}");
    let (ok, page) = scrape_until(&eb, 10, state_is(1.0));
    assert!(ok, "second keepalived not BACKUP:\n{page}");
    let s = parse_exposition(&page);
    assert_eq!(one(&s, "keepalived_up", &[]).value, 1.0);
    let labels = [("iname", "VI_T"), ("vrid", "61")];
    assert_eq!(
        one(&s, "keepalived_vrrp_priority_base", &labels).value,
        100.0
    );
    assert_eq!(one(&s, "keepalived_vrrp_vips", &labels).value, 1.0);
    assert!(one(&s, "keepalived_vrrp_advertisements_received_total", &labels).value > 0.0);
    assert_eq!(
        one(&s, "lvsmon_collector_up", &[("collector", "keepalived")]).value,
        1.0
    );

    // Failover: keepalived sends a priority-0 advert on stop, so the BACKUP takes over
    // well within the 3 x advert_int + skew master-down interval.
    a.stop();
    let t0 = Instant::now();
    let (ok, page) = scrape_until(&eb, 6, state_is(2.0));
    assert!(ok, "no failover seen within 6 s:\n{page}");
    eprintln!("failover seen after {:?}", t0.elapsed());
    let s = parse_exposition(&page);
    assert!(one(&s, "keepalived_vrrp_become_master_total", &labels).value >= 1.0);
    assert!(one(&s, "keepalived_vrrp_priority_zero_received_total", &labels).value >= 1.0);

    // The dead keepalived: keepalived_up 0, no stale VRRP state, the page still served.
    let page = ea.render(Format::Prometheus);
    let s = parse_exposition(&page);
    assert_eq!(one(&s, "keepalived_up", &[]).value, 0.0, "{page}");
    assert!(find(&s, "keepalived_vrrp_state", &[]).is_empty(), "{page}");
    assert!(value(&page, "lvsmon_build_info").is_some());
}

/// `lvsmon serve` on an ephemeral port, at trace level (so the log shows everything that
/// could leak).
fn serve(args: &[&str]) -> (Served, SocketAddr) {
    let mut all = vec![
        "--web.listen-address",
        "127.0.0.1:0",
        "--log.level",
        "trace",
    ];
    all.extend_from_slice(args);
    common::serve(&all)
}

#[test]
fn the_password_is_absent_from_metrics_api_and_trace_logs() {
    if !tools_present() {
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let (a, b) = pair(root.path());
    let pid_file = a.pid_file().display().to_string();
    let (srv, addr) = serve(&[
        "--keepalived.pid-file",
        &pid_file,
        "--keepalived.min-interval",
        "0",
    ]);
    let t0 = Instant::now();
    let (metrics, state) = loop {
        let (_, _, m) = http_get(addr, "/metrics", None);
        let (status, head, st) = http_get(addr, "/api/v1/state", None);
        assert_eq!(status, 200);
        assert!(head.contains("application/json"));
        if value(&m, "keepalived_vrrp_state") == Some(2.0) {
            break (m, st);
        }
        assert!(t0.elapsed() < Duration::from_secs(20), "never MASTER:\n{m}");
        std::thread::sleep(Duration::from_millis(300));
    };
    let (_, _, om) = http_get(addr, "/metrics", Some("application/openmetrics-text"));
    // The state is really there (this test must not pass on empty output)…
    let api: serde_json::Value = serde_json::from_str(&state).unwrap();
    assert_eq!(api["instances"][0]["iname"], "VI_T");
    assert_eq!(api["up"], true);
    // …and keepalived's own dump has the password, which lvsmon read.
    let dump = std::fs::read_to_string(a.dir.join("tmp/keepalived.json")).unwrap();
    assert!(dump.contains(PASSWORD));
    let log = srv.log();
    assert!(log.contains("serving metrics"), "{log}");
    for (what, text) in [
        ("metrics", &metrics),
        ("openmetrics", &om),
        ("api", &state),
        ("log", &log),
    ] {
        assert!(
            !text.contains(PASSWORD),
            "the password is in the {what}:\n{text}"
        );
    }
    drop(b);
}

#[test]
fn scrapes_closer_than_min_interval_do_not_signal_keepalived_again() {
    if !tools_present() {
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let (a, _b) = pair(root.path());
    let e = exporter_over(a.pid_file(), None, false, Duration::from_secs(60));
    // keepalived writes its pid file once it is up.
    let t0 = Instant::now();
    while !a.pid_file().exists() && t0.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(500));
    let page = e.render(Format::Prometheus);
    assert_eq!(value(&page, "keepalived_up"), Some(1.0), "{page}");
    let json = a.dir.join("tmp/keepalived.json");
    let m1 = std::fs::metadata(&json).unwrap().modified().unwrap();
    for _ in 0..5 {
        e.render(Format::Prometheus);
    }
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        std::fs::metadata(&json).unwrap().modified().unwrap(),
        m1,
        "dumped again"
    );
}

/// Passive mode over a dump this test writes: no keepalived or root needed. The dump is
/// real (the VM capture); a prefix of it replaces it as a half-written file would.
#[test]
fn a_half_written_dump_keeps_the_last_good_state_and_marks_the_collector_down() {
    let dir = tempfile::tempdir().unwrap();
    let real =
        read(&root().join("tests/fixtures/kernel/keepalived_check/keepalived/keepalived.json"));
    let pid_file = dir.path().join("keepalived.pid");
    std::fs::write(&pid_file, format!("{}\n", std::process::id())).unwrap();
    let json = dir.path().join("keepalived.json");
    std::fs::write(&json, &real).unwrap();
    let e = exporter_over(pid_file, Some(dir.path().into()), true, Duration::ZERO);
    let good = e.render(Format::Prometheus);
    assert_eq!(value(&good, "keepalived_up"), Some(1.0), "{good}");
    assert_eq!(value(&good, "keepalived_vrrp_state"), Some(2.0));
    let vrrp = |p: &str| -> Vec<Sample> {
        parse_exposition(p)
            .into_iter()
            .filter(|s| s.name.starts_with("keepalived_vrrp_"))
            .collect()
    };
    for cut in [
        real.len() / 3,
        real.find("auth_data").unwrap() + 14,
        real.len() - 2,
    ] {
        std::fs::write(&json, &real[..cut]).unwrap();
        let page = e.render(Format::Prometheus);
        let s = parse_exposition(&page);
        assert_eq!(one(&s, "keepalived_up", &[]).value, 0.0, "{page}");
        assert_eq!(
            one(&s, "lvsmon_collector_up", &[("collector", "keepalived")]).value,
            0.0
        );
        assert!(one(&s, "lvsmon_keepalived_dump_age_seconds", &[]).value >= 0.0);
        assert_eq!(vrrp(&page), vrrp(&good), "the last good state, unchanged");
        assert!(!page.contains("vmS3cret"));
    }
    std::fs::write(&json, &real).unwrap();
    let again = e.render(Format::Prometheus);
    assert_eq!(value(&again, "keepalived_up"), Some(1.0));
}

/// A pid file left behind by a keepalived that died: `keepalived_up 0`, no VRRP series, the
/// collector itself fine, the page served. No root needed.
#[test]
fn a_stale_pid_file_means_keepalived_is_down_not_the_collector() {
    let dir = tempfile::tempdir().unwrap();
    let mut gone = Command::new("true").spawn().unwrap();
    let pid = gone.id();
    gone.wait().unwrap();
    let pid_file = dir.path().join("keepalived.pid");
    std::fs::write(&pid_file, format!("{pid}\n")).unwrap();
    std::fs::write(
        dir.path().join("keepalived.json"),
        read(&root().join("tests/fixtures/kernel/keepalived_check/keepalived/keepalived.json")),
    )
    .unwrap();
    let e = exporter_over(pid_file, Some(dir.path().into()), false, Duration::ZERO);
    let page = e.render(Format::Prometheus);
    let s = parse_exposition(&page);
    assert_eq!(one(&s, "keepalived_up", &[]).value, 0.0, "{page}");
    assert!(find(&s, "keepalived_vrrp_state", &[]).is_empty());
    assert_eq!(
        one(&s, "lvsmon_collector_up", &[("collector", "keepalived")]).value,
        1.0
    );
}

/// The flags and config keys as users give them, on the binary.
#[test]
fn the_collector_can_be_turned_off_by_flag_or_config_and_the_demo_shows_it() {
    let dump = |args: &[&str]| {
        let out = Command::new(BIN).arg("dump").args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let demo = parse_exposition(&dump(&["--demo"]));
    assert_eq!(one(&demo, "keepalived_up", &[]).value, 1.0);
    let rs = [("remote_address", "10.1.0.12"), ("remote_port", "80")];
    assert_eq!(find(&demo, "keepalived_real_server_up", &rs).len(), 2);
    assert!(find(&demo, "keepalived_real_server_up", &rs)
        .iter()
        .all(|s| s.value == 0.0));
    // No keepalived_* family (the log pipeline's event kinds may still say keepalived_…).
    let no_family = |page: &str| {
        !page
            .lines()
            .any(|l| l.starts_with("keepalived_") || l.starts_with("# TYPE keepalived_"))
    };
    let off = dump(&["--demo", "--no-collector.keepalived"]);
    assert!(no_family(&off), "{off}");
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("lvsmon.toml");
    std::fs::write(&cfg, "[collector.keepalived]\nenabled = false\n").unwrap();
    let off = dump(&["--demo", "--config", cfg.to_str().unwrap()]);
    assert!(no_family(&off), "{off}");
    // A pid file from the config, no keepalived behind it: up 0, said once at INFO.
    std::fs::write(
        &cfg,
        "[keepalived]\npid-file = \"/nonexistent/k.pid\"\nmin-interval = \"1s\"\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args([
            "dump",
            "--path.procfs",
            "/nonexistent",
            "--config",
            cfg.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let page = String::from_utf8(out.stdout).unwrap();
    assert_eq!(value(&page, "keepalived_up"), Some(0.0), "{page}");
    let log = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        log.matches("no keepalived pid file at /nonexistent/k.pid")
            .count(),
        1,
        "{log}"
    );
    assert!(!log.contains("WARN lvsmon::metrics::health: collector failed: no keepalived"));

    let (_srv, addr) = serve(&["--demo"]);
    let (status, _, body) = http_get(addr, "/api/v1/state", None);
    assert_eq!(status, 200);
    let api: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(api["instances"][0]["state"], 2);
    assert_eq!(api["virtual_services"][0]["quorum_up"], false);
    let (_srv, addr) = serve(&["--demo", "--no-collector.keepalived"]);
    assert_eq!(http_get(addr, "/api/v1/state", None).0, 404);
}

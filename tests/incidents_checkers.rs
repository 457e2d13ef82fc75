//! The incidents of a REAL capture of every keepalived checker type.
//!
//! `tests/fixtures/logs/keepalived-2.2.7-checkers.log` is what Debian's keepalived 2.2.7
//! health checker printed in the VM harness (scenario `tests/vm/scenarios/keepalived_checkers.sh`)
//! while it managed eight virtual services on a real IPVS director, one real server each:
//! HTTP_GET, SSL_GET, TCP_CHECK, TCP_CHECK with inhibit_on_failure, MISC_CHECK with and
//! without retries, DNS_CHECK, SMTP_CHECK. Every server was stopped at once and started again.
//!
//! The built binary's `analyze --format json FILE@lb` must give one
//! `real_server_down` per real server, with its virtual service (from the scenario's
//! configuration, below), its start and end second (read here from the capture's own
//! "Removing service"/"Disabling service" and "Adding service"/"Enabling service" lines) and
//! the checker that failed named in the summary; and one `virtual_service_down` per service,
//! from its "Lost quorum" to its "Gained quorum".

use serde_json::Value;
use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_lvsmon");

/// The scenario's configuration: real server, its virtual service, how keepalived 2.2.7
/// names the checker in its failure line (SSL_GET's is HTTP_CHECK until 2.2.8), and whether
/// it has inhibit_on_failure (then it is disabled and enabled, not removed and added).
const SERVERS: &[(&str, &str, &str, bool)] = &[
    ("10.1.0.11:8081", "TCP 10.0.0.100:80", "HTTP_CHECK", false),
    ("10.1.0.11:8443", "TCP 10.0.0.100:443", "HTTP_CHECK", false),
    ("10.1.0.12:8080", "TCP 10.0.0.100:8080", "TCP_CHECK", false),
    ("10.1.0.11:8084", "TCP 10.0.0.100:84", "TCP_CHECK", true),
    (
        "10.1.0.12:8082",
        "TCP 10.0.0.100:81",
        "MISC_CHECK failed",
        false,
    ),
    (
        "10.1.0.12:8083",
        "TCP 10.0.0.100:82",
        "MISC_CHECK failed",
        false,
    ),
    ("10.1.0.11:5300", "UDP 10.0.0.100:53", "DNS_CHECK", false),
    ("10.1.0.12:2525", "TCP 10.0.0.100:25", "SMTP_CHECK", false),
];

/// The committed capture, and a fresh one when the VM suite just made it
/// (`LVSMON_CAPTURES_DIR`, as `scripts/test.sh`'s vm step sets it).
fn captures() -> Vec<(String, String)> {
    let mut paths = vec![Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/logs/keepalived-2.2.7-checkers.log")];
    if let Some(dir) = std::env::var_os("LVSMON_CAPTURES_DIR") {
        let fresh = Path::new(&dir).join("keepalived_checkers/keepalived/console.log");
        assert!(
            fresh.exists(),
            "LVSMON_CAPTURES_DIR has no {}",
            fresh.display()
        );
        paths.push(fresh);
    }
    paths
        .into_iter()
        .map(|p| {
            let text =
                std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p.display().to_string(), text)
        })
        .collect()
}

/// `Wed Dec  2 14:12:31 2026: …` (keepalived's --log-console) as RFC 3339 UTC.
fn when(line: &str) -> String {
    let w: Vec<&str> = line.split_whitespace().take(5).collect();
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| *m == w[1])
    .expect("a month")
        + 1;
    let day: u32 = w[2].parse().expect("a day");
    let year = w[4].trim_end_matches(':');
    format!("{year}-{month:02}-{day:02}T{}Z", w[3])
}

/// keepalived's `[10.1.0.12]:tcp:8080` for `10.1.0.12:8080` in `TCP …`.
fn keepalived_form(rs: &str, vs: &str) -> String {
    let (addr, port) = rs.rsplit_once(':').unwrap();
    let proto = vs.split(' ').next().unwrap().to_lowercase();
    format!("[{addr}]:{proto}:{port}")
}

fn keepalived_vs(vs: &str) -> String {
    let (proto, sock) = vs.split_once(' ').unwrap();
    let (addr, port) = sock.rsplit_once(':').unwrap();
    format!("[{addr}]:{}:{port}", proto.to_lowercase())
}

/// The time of the first line after `after` (an index) containing `needle`.
fn first_after(lines: &[&str], after: usize, needle: &str) -> Option<(usize, String)> {
    lines
        .iter()
        .enumerate()
        .skip(after)
        .find(|(_, l)| l.contains(needle))
        .map(|(i, l)| (i, when(l)))
}

fn analyze(path: &str) -> (i32, Value) {
    let out = Command::new(BIN)
        .args(["analyze", "--format", "json"])
        .arg(format!("{path}@lb"))
        .output()
        .expect("run lvsmon");
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), json)
}

fn incidents<'a>(json: &'a Value, kind: &str) -> Vec<&'a Value> {
    json["incidents"]
        .as_array()
        .expect("incidents")
        .iter()
        .filter(|i| i["kind"] == kind)
        .collect()
}

#[test]
fn every_checker_takes_its_real_server_down_and_back_with_the_right_seconds() {
    for (path, text) in captures() {
        checkers_down_and_back(&path, &text);
    }
}

fn checkers_down_and_back(path: &str, text: &str) {
    let lines: Vec<&str> = text.lines().collect();
    let (code, json) = analyze(path);
    // A lost quorum is critical: analyze says so in its exit status.
    assert_eq!(code, 1, "exit status");
    let downs = incidents(&json, "real_server_down");
    assert_eq!(downs.len(), SERVERS.len(), "{downs:#?}");
    for (rs, vs, checker, inhibit) in SERVERS {
        let (kform, kvs) = (keepalived_form(rs, vs), keepalived_vs(vs));
        let (removing, adding) = if *inhibit {
            (
                format!("Disabling service {kform} of VS {kvs}"),
                format!("Enabling service {kform} of VS {kvs}"),
            )
        } else {
            (
                format!("Removing service {kform} from VS {kvs}"),
                format!("Adding service {kform} to VS {kvs}"),
            )
        };
        let (at, start) = first_after(&lines, 0, &removing)
            .unwrap_or_else(|| panic!("the capture has no {removing:?}"));
        let (_, end) = first_after(&lines, at, &adding)
            .unwrap_or_else(|| panic!("the capture has no {adding:?} after {removing:?}"));
        let inc = downs
            .iter()
            .find(|i| i["real_server"] == *rs)
            .unwrap_or_else(|| panic!("no real_server_down for {rs}: {downs:#?}"));
        assert_eq!(inc["virtual_service"], *vs, "{inc:#}");
        assert_eq!(inc["host"], "lb", "{inc:#}");
        assert_eq!(inc["start"], start.as_str(), "{rs}: {inc:#}");
        assert_eq!(inc["end"], end.as_str(), "{rs}: {inc:#}");
        let summary = inc["summary"].as_str().unwrap_or_default();
        assert!(
            summary.contains(checker),
            "{rs}: the summary does not name {checker}: {summary}"
        );
        assert!(summary.contains(rs) && summary.contains(vs), "{summary}");
    }
}

#[test]
fn every_service_is_down_from_its_lost_quorum_to_its_gained_quorum() {
    for (path, text) in captures() {
        services_down_and_back(&path, &text);
    }
}

fn services_down_and_back(path: &str, text: &str) {
    let lines: Vec<&str> = text.lines().collect();
    let (_, json) = analyze(path);
    let downs = incidents(&json, "virtual_service_down");
    assert_eq!(downs.len(), SERVERS.len(), "{downs:#?}");
    for (_, vs, _, _) in SERVERS {
        let kvs = keepalived_vs(vs);
        let of_vs =
            |l: &&str, what: &str| l.contains(what) && l.ends_with(&format!("for VS {kvs}"));
        let at = lines
            .iter()
            .position(|l| of_vs(l, "Lost quorum"))
            .unwrap_or_else(|| panic!("no Lost quorum for {kvs}"));
        let start = when(lines[at]);
        let end = lines
            .iter()
            .skip(at)
            .find(|l| of_vs(l, "Gained quorum"))
            .map(|l| when(l))
            .unwrap_or_else(|| panic!("no Gained quorum for {kvs} after it was lost"));
        let inc = downs
            .iter()
            .find(|i| i["virtual_service"] == *vs)
            .unwrap_or_else(|| panic!("no virtual_service_down for {vs}: {downs:#?}"));
        assert_eq!(inc["start"], start.as_str(), "{vs}: {inc:#}");
        assert_eq!(inc["end"], end.as_str(), "{vs}: {inc:#}");
    }
}

/// The events under the incidents: exactly one final failure per real server whatever its
/// checker's wording, and MISC_CHECK's attempts (log_all_failures) apart from it.
#[test]
fn every_checker_gives_one_final_failure_and_the_attempts_stay_attempts() {
    for (path, text) in captures() {
        let (_, json) = analyze(&path);
        let events = &json["events"];
        let n = |kind: &str| events[kind].as_u64().unwrap_or(0) as usize;
        let lines = |needle: &str| text.lines().filter(|l| l.contains(needle)).count();
        assert_eq!(n("check_failed"), SERVERS.len(), "{path}: {events}");
        assert_eq!(
            n("check_attempt_failed"),
            lines(", will do ") + lines(" on retry "),
            "{path}: {events}"
        );
        assert_eq!(n("real_server_down"), SERVERS.len(), "{path}: {events}");
        assert_eq!(n("real_server_up"), SERVERS.len(), "{path}: {events}");
        assert_eq!(n("quorum_lost"), lines("Lost quorum"), "{path}: {events}");
        assert_eq!(
            n("quorum_gained"),
            lines("Gained quorum"),
            "{path}: {events}"
        );
    }
}

#[test]
fn the_capture_is_what_the_scenario_says() {
    for (_, text) in captures() {
        scenario_shape(&text);
    }
}

fn scenario_shape(text: &str) {
    assert!(text.starts_with(&format!("{}: Starting Keepalived v2.2.7", &text[..24])));
    assert!(text
        .trim_end()
        .ends_with("Stopped Keepalived v2.2.7 (01/16,2022)"));
    // MISC_CHECK with retries and log_all_failures shows its attempts, then the last one.
    assert!(text.contains("failed, will do 2 retries"));
    assert!(text.contains("failed on retry 1/2"));
    assert!(text.contains("failed after 2 retries"));
    assert!(text.contains("failed with retry disabled"));
}

//! The kernel's own complaints, caused for real in the VM (tests/vm/scenarios/kernel_errors.sh:
//! a connection sync daemon on an interface that does not exist, a conntrack table cut to 8
//! entries and filled): `analyze` makes `ipvs_sync_errors` and `conntrack_table_full` of
//! the kernel's lines, and `serve --log.kmsg` in the guest did too, live (its answer is kept
//! beside the capture; tests/vm/ci.sh checks a fresh one at every run).
//!
//! Reads tests/fixtures/kernel/kernel_errors, or the fresh capture of the vm step
//! (`LVSMON_CAPTURES_DIR`).

mod common;

use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

fn capture() -> PathBuf {
    common::captures_dir().join("kernel_errors")
}

/// The kernel's messages in the capture's dmesg (the `[ seconds]` prefix cut).
fn kernel_lines(with: &str) -> Vec<String> {
    let text = std::fs::read_to_string(capture().join("dmesg-errors.txt")).unwrap();
    text.lines()
        .filter_map(|l| Some(l.split_once("] ")?.1.to_string()))
        .filter(|m| m.contains(with))
        .collect()
}

fn incidents(json: &Value) -> Vec<&Value> {
    json.as_array()
        .or_else(|| json["incidents"].as_array())
        .expect("a list of incidents")
        .iter()
        .collect()
}

fn one<'a>(all: &[&'a Value], kind: &str) -> &'a Value {
    let v: Vec<_> = all.iter().filter(|i| i["kind"] == kind).collect();
    assert_eq!(v.len(), 1, "one {kind}: {all:#?}");
    v[0]
}

/// Each evidence line is one of the kernel's lines of that kind.
fn assert_evidence(inc: &Value, lines: &[String]) {
    let ev = inc["evidence"].as_array().unwrap();
    assert!(!ev.is_empty());
    for e in ev {
        let line = e["line"].as_str().unwrap();
        assert!(
            lines.iter().any(|l| line.ends_with(l.as_str())),
            "{line} is not one of {lines:?}"
        );
    }
}

#[test]
fn analyze_finds_the_kernels_sync_errors_and_full_conntrack_table() {
    let sync = kernel_lines("IPVS: Unknown mcast interface");
    let full = kernel_lines("table full, dropping packet");
    assert!(
        !sync.is_empty() && !full.is_empty(),
        "the capture lacks them"
    );
    let file = capture().join("dmesg-errors.txt");
    let out = Command::new(env!("CARGO_BIN_EXE_lvsmon"))
        .args(["analyze", "--format", "json"])
        .arg(format!("{}@lb-a", file.display()))
        .output()
        .unwrap();
    // A critical incident was found: exit status 1, as documented for scripts.
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let all = incidents(&json);
    let s = one(&all, "ipvs_sync_errors");
    assert_eq!(s["severity"], "warning");
    assert_eq!(s["host"], "lb-a");
    assert_eq!(
        s["count"],
        sync.len() as u64,
        "every refusal folded into one"
    );
    assert_evidence(s, &sync);
    let f = one(&all, "conntrack_table_full");
    assert_eq!(f["severity"], "critical");
    assert_eq!(f["count"], full.len() as u64);
    assert_evidence(f, &full);
    assert_eq!(all.len(), 2, "{all:#?}");
}

#[test]
fn serve_in_the_guest_found_them_live_in_dev_kmsg() {
    let text = std::fs::read_to_string(capture().join("incidents.json")).unwrap();
    let json: Value = serde_json::from_str(&text).unwrap();
    let all = incidents(&json);
    for (kind, with) in [
        ("ipvs_sync_errors", "IPVS: Unknown mcast interface"),
        ("conntrack_table_full", "table full, dropping packet"),
    ] {
        let inc = one(&all, kind);
        assert_evidence(inc, &kernel_lines(with));
        // Live, /dev/kmsg gives the boot time: real wall-clock times.
        assert!(inc["start"].as_str().unwrap().starts_with("20"), "{inc}");
        assert!(inc["end"].is_null(), "still open when asked: {inc}");
    }
}

/// A plain `dmesg` counts seconds since boot. The kernel's own line from boot, "setting
/// system clock to … UTC (SECONDS)", dates them: `analyze` of the guest's dmesg (that line,
/// then the errors) gives each incident the start `serve` gave it live from /dev/kmsg
/// with the guest's clocks, to within the hardware clock's second. Without the line,
/// `--boot-time` does the same, and without either the input is reported undated.
#[test]
fn a_plain_dmesg_is_dated_from_the_kernels_clock_line() {
    let clock = std::fs::read_to_string(capture().join("dmesg-clock.txt")).unwrap();
    assert!(clock.contains("setting system clock to"), "{clock}");
    let errors = std::fs::read_to_string(capture().join("dmesg-errors.txt")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let dmesg = dir.path().join("dmesg.txt");
    std::fs::write(&dmesg, format!("{clock}{errors}")).unwrap();
    let analyze = |file: &std::path::Path, extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_lvsmon"))
            .args(["analyze", "--format", "json"])
            .args(extra)
            .arg(format!("{}@lb-a", file.display()))
            .output()
            .unwrap();
        let json: Value = serde_json::from_slice(&out.stdout).unwrap();
        let starts: Vec<(String, jiff::Timestamp)> = incidents(&json)
            .iter()
            .map(|i| {
                let kind = i["kind"].as_str().unwrap().to_string();
                (kind, i["start"].as_str().unwrap().parse().unwrap())
            })
            .collect();
        (starts, String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let live: Value =
        serde_json::from_str(&std::fs::read_to_string(capture().join("incidents.json")).unwrap())
            .unwrap();
    let live_start = |kind: &str| -> jiff::Timestamp {
        one(&incidents(&live), kind)["start"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap()
    };
    let (dated, err) = analyze(&dmesg, &[]);
    assert_eq!(dated.len(), 2, "{dated:?}");
    assert!(!err.contains("undated"), "{err}");
    for (kind, start) in &dated {
        let off = (start.as_microsecond() - live_start(kind).as_microsecond()).abs();
        assert!(
            off < 1_000_000,
            "{kind}: {start} against serve's {}",
            live_start(kind)
        );
    }
    // Without the clock line: undated, said on stderr; with the boot time given, the
    // same dates as from the line.
    let bare = dir.path().join("bare.txt");
    std::fs::write(&bare, &errors).unwrap();
    let (_, err) = analyze(&bare, &[]);
    let n = errors.lines().count();
    assert!(
        err.contains(&format!("{n} kernel lines")) && err.contains("undated"),
        "{err}"
    );
    assert!(err.contains("--boot-time lb-a=TIME"), "{err}");
    let since: f64 = clock
        .split(']')
        .next()
        .unwrap()
        .trim_start_matches('[')
        .trim()
        .parse()
        .unwrap();
    let secs: i64 = clock
        .rsplit('(')
        .next()
        .unwrap()
        .trim()
        .trim_end_matches(')')
        .parse()
        .unwrap();
    let boot = jiff::Timestamp::from_microsecond(
        secs * 1_000_000 + 500_000 - (since * 1e6).round() as i64,
    )
    .unwrap();
    let (given, err) = analyze(&bare, &["--boot-time", &format!("lb-a={boot}")]);
    assert!(!err.contains("undated"), "{err}");
    assert_eq!(given, dated);
}

//! The alerting rules in alerts/: `promtool check rules` and `promtool test rules` pass, and
//! every alert follows the conventions (name prefix, severity, annotations, its own runbook
//! under docs/runbooks/) and has unit tests where it fires, where it is still pending at an
//! earlier time (not before its `for`), and where it stays silent.
//!
//! promtool comes from Debian's `prometheus` package, installed by scripts/install-deps.sh.
//! Without it the promtool tests say so and pass, unless LVSMON_REQUIRE_TOOLS is set (as
//! .ci/run does), where a missing tool is a failure. The convention checks need no tool.

mod common;

use common::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;

/// Files directly in `dir` whose name ends with `suffix`, sorted.
fn files(dir: &str, suffix: &str) -> Vec<PathBuf> {
    let dir = root().join(dir);
    let mut v: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.to_string_lossy().ends_with(suffix))
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no *{suffix} in {}", dir.display());
    v
}

fn rule_files() -> Vec<PathBuf> {
    files("alerts", ".rules.yml")
}

fn test_files() -> Vec<PathBuf> {
    files("alerts/tests", ".yml")
}

/// Runs promtool with `args` then `paths`; panics with everything it said unless it succeeds.
fn run_promtool(tool: &str, args: &[&str], paths: &[PathBuf]) -> String {
    let out = Command::new(tool)
        .args(args)
        .args(paths)
        .current_dir(root())
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "promtool {} failed:\n{said}",
        args.join(" ")
    );
    said
}

#[test]
fn promtool_check_rules_passes() {
    let Some(tool) = promtool() else { return };
    let said = run_promtool(tool, &["check", "rules"], &rule_files());
    // promtool prints one "SUCCESS: N rules found" per file, alerts and records together.
    for f in rule_files() {
        let text = read(&f);
        let rules = rules_in(&text);
        let at = said
            .find(&format!("Checking {}", f.display()))
            .unwrap_or_else(|| panic!("promtool did not check {}:\n{said}", f.display()));
        assert!(
            said[at..]
                .lines()
                .nth(1)
                .is_some_and(|l| l.contains(&format!("SUCCESS: {rules} rules found"))),
            "promtool did not find the {rules} rules of {}:\n{said}",
            f.display()
        );
    }
}

#[test]
fn promtool_rule_unit_tests_pass() {
    let Some(tool) = promtool() else { return };
    let said = run_promtool(tool, &["test", "rules"], &test_files());
    assert!(!said.contains("FAILED"), "{said}");
}

/// One alerting rule, as far as a line scan of the rules file can tell.
#[derive(Debug, Default)]
struct Alert {
    name: String,
    /// `key: value` lines of the rule's `labels:` and `annotations:` (first line of a block
    /// scalar only), and of `for:`.
    fields: BTreeMap<String, String>,
}

/// The `- alert:` rules of a rules file, each with the `key: value` lines up to the next rule.
fn alerts_in(text: &str) -> Vec<Alert> {
    let mut out: Vec<Alert> = Vec::new();
    for line in text.lines() {
        let t = line.trim_start();
        if let Some(name) = t.strip_prefix("- alert:") {
            out.push(Alert {
                name: name.trim().to_string(),
                ..Alert::default()
            });
        } else if t.starts_with("- record:") || t.starts_with("- name:") {
            // A recording rule or the next group ends the current alert.
            out.push(Alert::default());
        } else if let (Some(a), Some((k, v))) = (out.last_mut(), t.split_once(':')) {
            if !a.name.is_empty() && !k.contains(' ') && !t.starts_with('#') {
                a.fields
                    .entry(k.to_string())
                    .or_insert_with(|| v.trim().to_string());
            }
        }
    }
    out.retain(|a| !a.name.is_empty());
    out
}

fn all_alerts() -> Vec<Alert> {
    rule_files()
        .iter()
        .flat_map(|f| alerts_in(&read(f)))
        .collect()
}

/// What every `runbook_url` is: docs/runbooks/NAME.md under the base Prometheus' external
/// label `runbook_base_url` gives, else relative to the repository.
fn runbook_url(name: &str) -> String {
    format!("'{{{{ with $externalLabels.runbook_base_url }}}}{{{{ . }}}}{{{{ else }}}}docs/runbooks/{{{{ end }}}}{name}.md'")
}

#[test]
fn alerts_follow_the_conventions() {
    let alerts = all_alerts();
    assert!(alerts.len() >= 25, "only {} alerts found", alerts.len());
    let mut names = BTreeSet::new();
    for a in &alerts {
        assert!(names.insert(&a.name), "{}: defined twice", a.name);
        let prefixed = ["Ipvs", "Keepalived", "Lvsmon"].iter().any(|p| {
            a.name
                .strip_prefix(p)
                .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_uppercase()))
        });
        assert!(
            prefixed && a.name.chars().all(|c| c.is_ascii_alphanumeric()),
            "{}: not CamelCase with the Ipvs/Keepalived/Lvsmon prefix",
            a.name
        );
        let sev = a.fields.get("severity").map(String::as_str);
        assert!(
            matches!(sev, Some("critical" | "warning" | "info")),
            "{}: severity {sev:?}",
            a.name
        );
        assert!(a.fields.contains_key("for"), "{}: no `for:`", a.name);
        for key in ["summary", "description"] {
            assert!(
                a.fields.get(key).is_some_and(|v| !v.is_empty()),
                "{}: no {key} annotation",
                a.name
            );
        }
        let url = a.fields.get("runbook_url").cloned();
        assert_eq!(url, Some(runbook_url(&a.name)), "{}: runbook_url", a.name);
        // Its runbook: what it means, how to confirm it on the director, how to fix it.
        let book = root().join(format!("docs/runbooks/{}.md", a.name));
        let text = std::fs::read_to_string(&book)
            .unwrap_or_else(|e| panic!("{}: no runbook {}: {e}", a.name, book.display()));
        assert!(
            text.starts_with(&format!("# {}\n", a.name)),
            "{}: its runbook does not start with `# {}`",
            a.name,
            a.name
        );
        assert!(
            ["ipvsadm", "keepalived", "journalctl", "curl", "lvsmon"]
                .iter()
                .any(|tool| text.contains(&format!("`{tool}"))),
            "{}: its runbook names no command to confirm it with",
            a.name
        );
    }
    // No runbook without its alert (README.md explains the directory).
    for e in std::fs::read_dir(root().join("docs/runbooks")).unwrap() {
        let f = e.unwrap().file_name().to_string_lossy().to_string();
        let Some(name) = f.strip_suffix(".md") else {
            continue;
        };
        assert!(
            name == "README" || names.iter().any(|n| *n == name),
            "docs/runbooks/{f}: no alert of that name"
        );
    }
    // Descriptions are templated: every rule's description (a block scalar, so read the
    // whole rules text) uses at least one label; most also use $value.
    for f in rule_files() {
        let text = read(&f);
        for chunk in text.split("- alert:").skip(1) {
            let desc = chunk
                .split_once("description:")
                .map(|(_, d)| d.split("runbook_url:").next().unwrap())
                .unwrap_or_default();
            assert!(
                desc.contains("{{ $labels."),
                "description without labels in:\n{chunk}"
            );
        }
    }
}

/// A duration as promtool writes it (`90s`, `2m15s`, `1h`, `25h`), in seconds.
fn seconds(d: &str) -> u64 {
    let mut total = 0;
    let mut n = 0;
    for c in d.chars() {
        if let Some(v) = c.to_digit(10) {
            n = n * 10 + u64::from(v);
        } else {
            total += n * match c {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                'd' => 86400,
                _ => panic!("unit {c} in {d}"),
            };
            n = 0;
        }
    }
    total
}

/// One `alert_rule_test` case: which alert, in which file, when, and whether it expects it
/// to fire (non-empty `exp_alerts`) or not (`exp_alerts: []`).
struct Case {
    name: String,
    file: PathBuf,
    at: u64,
    fires: bool,
}

fn unit_test_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for f in test_files() {
        let text = read(&f);
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let Some(name) = line.trim_start().strip_prefix("alertname:") else {
                continue;
            };
            let at = lines[i.saturating_sub(1)]
                .trim_start()
                .strip_prefix("- eval_time:")
                .unwrap_or_else(|| panic!("{}:{}: eval_time not just before", f.display(), i + 1));
            let exp = lines[i + 1..]
                .iter()
                .map(|l| l.trim())
                .find(|l| l.starts_with("exp_alerts:") || l.starts_with("- eval_time:"))
                .unwrap_or_else(|| panic!("{}:{}: no exp_alerts", f.display(), i + 1));
            let exp = exp.strip_prefix("exp_alerts:").unwrap_or_else(|| {
                panic!(
                    "{}:{}: exp_alerts missing before the next case",
                    f.display(),
                    i + 1
                )
            });
            cases.push(Case {
                name: name.trim().to_string(),
                file: f.clone(),
                at: seconds(at.trim()),
                fires: exp.trim() != "[]",
            });
        }
    }
    cases
}

#[test]
fn every_alert_is_tested_firing_pending_and_silent() {
    let cases = unit_test_cases();
    let defined: BTreeSet<String> = all_alerts().into_iter().map(|a| a.name).collect();
    for name in &defined {
        let mine: Vec<&Case> = cases.iter().filter(|c| &c.name == name).collect();
        assert!(
            mine.iter().any(|c| c.fires),
            "{name}: no alert_rule_test in alerts/tests/ where it fires"
        );
        assert!(
            mine.iter().any(|c| !c.fires),
            "{name}: no alert_rule_test in alerts/tests/ where it stays silent"
        );
        // Not before its `for`: in the same test file, a silent case comes earlier than a
        // firing one (the file's series are laid out so that the condition holds by then).
        assert!(
            mine.iter().any(|s| !s.fires
                && mine
                    .iter()
                    .any(|f| f.fires && f.file == s.file && s.at < f.at)),
            "{name}: no silent case before a firing one (the `for` is never tested)"
        );
    }
    for c in &cases {
        assert!(
            defined.contains(&c.name),
            "alerts/tests/ tests {}, which no rules file defines",
            c.name
        );
    }
}

/// Alert names are contracts (issue 12 named these; routes and silences match on them).
#[test]
fn the_contracted_alerts_exist() {
    let defined: BTreeSet<String> = all_alerts().into_iter().map(|a| a.name).collect();
    for name in [
        "KeepalivedDown",
        "KeepalivedVrrpFault",
        "KeepalivedVrrpFlapping",
        "KeepalivedSplitBrain",
        "KeepalivedNoMaster",
        "KeepalivedRealServerDown",
        "KeepalivedQuorumLost",
        "KeepalivedPriorityMismatch",
        "LvsmonLogSourceDown",
        "LvsmonLogEventsDropped",
        "LvsmonIncident",
        "IpvsConnectionImbalance",
        "IpvsBackendNoTraffic",
        // The round-2 IPVS rules, kept.
        "IpvsServiceNoAvailableBackends",
        "IpvsServiceNoBackends",
        "IpvsServiceCapacityDegraded",
        "IpvsBackendDrainedTooLong",
        "IpvsNoVirtualServices",
        "IpvsNatReturnPathBroken",
        "IpvsSynRecvPileUp",
        "IpvsConnectionTableCrowded",
        "LvsmonConntableTruncated",
        "LvsmonCollectorDown",
        "LvsmonCollectorErrors",
        "LvsmonCollectorSlow",
    ] {
        assert!(defined.contains(name), "no alert {name}");
    }
}

//! The alerting rules in alerts/: `promtool check rules` and `promtool test rules` pass, and
//! every alert follows the conventions (name prefix, severity, annotations, a runbook
//! section) and has a unit test where it fires and one where it stays silent.
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
    let alerts: usize = rule_files().iter().map(|f| alerts_in(&read(f)).len()).sum();
    assert!(
        said.contains(&format!("SUCCESS: {alerts} rules found")),
        "promtool did not find the {alerts} alerts:\n{said}"
    );
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

#[test]
fn alerts_follow_the_conventions() {
    let alerts = all_alerts();
    assert!(alerts.len() >= 10, "only {} alerts found", alerts.len());
    let runbook = read(&root().join("alerts/runbook.md"));
    // GitHub's anchors for "## Heading": lower case, spaces to dashes.
    let anchors: BTreeSet<String> = runbook
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .map(|h| h.trim().to_lowercase().replace(' ', "-"))
        .collect();
    let mut names = BTreeSet::new();
    for a in &alerts {
        assert!(names.insert(&a.name), "{}: defined twice", a.name);
        let prefixed = ["Ipvs", "Lvsmon"].iter().any(|p| {
            a.name
                .strip_prefix(p)
                .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_uppercase()))
        });
        assert!(
            prefixed && a.name.chars().all(|c| c.is_ascii_alphanumeric()),
            "{}: not CamelCase with the Ipvs/Lvsmon prefix",
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
        let url = a.fields.get("runbook_url").map(String::as_str);
        let want = format!("alerts/runbook.md#{}", a.name.to_lowercase());
        assert_eq!(url, Some(want.as_str()), "{}: runbook_url", a.name);
        assert!(
            anchors.contains(&a.name.to_lowercase()),
            "{}: alerts/runbook.md has no section `## {}`",
            a.name,
            a.name
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

/// For every `alertname:` in the unit tests, whether that case expects it to fire
/// (non-empty `exp_alerts`) or to stay silent (`exp_alerts: []`).
fn unit_test_cases() -> Vec<(String, bool)> {
    let mut cases = Vec::new();
    for f in test_files() {
        let text = read(&f);
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let Some(name) = line.trim_start().strip_prefix("alertname:") else {
                continue;
            };
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
            cases.push((name.trim().to_string(), exp.trim() != "[]"));
        }
    }
    cases
}

#[test]
fn every_alert_is_tested_firing_and_silent() {
    let cases = unit_test_cases();
    let defined: BTreeSet<String> = all_alerts().into_iter().map(|a| a.name).collect();
    for name in &defined {
        for (fires, what) in [(true, "fires"), (false, "stays silent")] {
            assert!(
                cases.iter().any(|(n, f)| n == name && *f == fires),
                "{name}: no alert_rule_test in alerts/tests/ where it {what}"
            );
        }
    }
    for (name, _) in &cases {
        assert!(
            defined.contains(name),
            "alerts/tests/ tests {name}, which no rules file defines"
        );
    }
}

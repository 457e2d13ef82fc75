use super::*;
use crate::logs::frame::{frame, YearClock};

const KEEPALIVED: &str = include_str!("../../tests/fixtures/logs/keepalived_lines.txt");
const KERNEL: &str = include_str!("../../tests/fixtures/logs/kernel_lines.txt");

fn rules() -> Rules {
    Rules::builtin().expect("the built-in library compiles")
}

/// The kinds the issue names as part of the interface.
const CONTRACT_KINDS: &[&str] = &[
    "vrrp_master",
    "vrrp_backup",
    "vrrp_fault",
    "vrrp_higher_priority_advert",
    "vrrp_lower_priority_advert",
    "vrrp_priority_zero_received",
    "vrrp_priority_zero_sent",
    "vrrp_advert_timeout",
    "vrrp_auth_mismatch",
    "vrrp_vip_mismatch",
    "vrrp_vrid_conflict",
    "vrrp_packet_error",
    "vrrp_timer_stall",
    "vrrp_script_failed",
    "vrrp_script_succeeded",
    "check_failed",
    "check_succeeded",
    "real_server_down",
    "real_server_up",
    "sorry_server_on",
    "sorry_server_off",
    "quorum_lost",
    "quorum_gained",
    "keepalived_started",
    "keepalived_stopped",
    "keepalived_reload",
    "keepalived_child_died",
    "keepalived_config_error",
    "ipvs_no_destination",
    "ipvs_sync_error",
    "conntrack_table_full",
    "link_down",
    "link_up",
];

#[test]
fn every_sample_is_classified_by_its_own_rule() {
    let r = rules();
    let mut s = r.scratch();
    let mut n = 0;
    for (i, rule) in r.rules().iter().enumerate() {
        assert!(
            !rule.samples.is_empty(),
            "rule {} has no samples",
            rule.name
        );
        let ident = rule.idents.first().map(String::as_str);
        for sample in &rule.samples {
            let ev = r.classify(&mut s, ident, sample);
            assert_eq!(
                ev.as_ref().map(|e| e.rule),
                Some(i),
                "{}: {sample:?} gave {ev:?}",
                rule.name
            );
            n += 1;
        }
    }
    assert!(n > 150, "only {n} samples");
}

#[test]
fn every_contract_kind_has_a_rule() {
    let r = rules();
    for k in CONTRACT_KINDS {
        assert!(
            r.rules().iter().any(|rule| rule.kind == *k),
            "no rule for {k}"
        );
    }
}

#[test]
fn labels_are_normalised_to_the_canonical_forms() {
    let r = rules();
    let mut s = r.scratch();
    let ev = r
        .classify(
            &mut s,
            Some("Keepalived_healthcheckers"),
            "Removing service [10.2.0.12]:tcp:80 from VS [10.1.0.100]:tcp:80",
        )
        .unwrap();
    assert_eq!(ev.kind, "real_server_down");
    assert_eq!(ev.label(Label::RealServer), Some("10.2.0.12:80"));
    assert_eq!(ev.label(Label::VirtualService), Some("TCP 10.1.0.100:80"));
    let ev = r
        .classify(
            &mut s,
            Some("kernel"),
            "IPVS: sh: TCP [2001:db8:0::100]:443 - no destination available",
        )
        .unwrap();
    assert_eq!(
        ev.label(Label::VirtualService),
        Some("TCP [2001:db8::100]:443")
    );
    let ev = r
        .classify(
            &mut s,
            Some("kernel"),
            "IPVS: wlc: FWM 5 0x00000005 - no destination available",
        )
        .unwrap();
    assert_eq!(ev.label(Label::VirtualService), Some("FWM 5"));
    let ev = r
        .classify(&mut s, None, "VRRP_Instance(VI_1) Entering MASTER STATE")
        .unwrap();
    assert_eq!(
        (ev.kind, ev.label(Label::Instance)),
        ("vrrp_master", Some("VI_1"))
    );
}

#[test]
fn rules_apply_only_to_their_idents() {
    let r = rules();
    let mut s = r.scratch();
    let line = "(VI_1) Entering MASTER STATE";
    assert!(r
        .classify(&mut s, Some("Keepalived_vrrp_ns1_inst"), line)
        .is_some());
    assert!(r.classify(&mut s, Some("sshd"), line).is_none());
    assert!(r.classify(&mut s, Some("KeepalivedX"), line).is_none());
    let kernel = "nf_conntrack: table full, dropping packet";
    assert!(r
        .classify(&mut s, Some("Keepalived_vrrp"), kernel)
        .is_none());
    assert!(r.classify(&mut s, Some("kernel"), kernel).is_some());
}

/// Counts lines containing `needle`, independently of the rules.
fn count(text: &str, needle: &str) -> usize {
    text.lines()
        .filter(|l| !l.starts_with('#') && l.contains(needle))
        .count()
}

#[test]
fn reference_lines_give_one_state_event_per_entering_line() {
    let r = rules();
    let mut s = r.scratch();
    let clock = YearClock::fixed(2024);
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for line in KEEPALIVED
        .lines()
        .chain(KERNEL.lines())
        .filter(|l| !l.starts_with('#'))
    {
        let f = frame(line.as_bytes(), &clock);
        if let Some(ev) = r.classify(&mut s, f.ident.as_deref(), &f.message) {
            *kinds.entry(ev.kind).or_default() += 1;
        }
    }
    let got = |k: &str| kinds.get(k).copied().unwrap_or(0);
    assert_eq!(
        got("vrrp_master"),
        count(KEEPALIVED, "Entering MASTER STATE")
    );
    assert_eq!(
        got("vrrp_backup"),
        count(KEEPALIVED, "Entering BACKUP STATE")
    );
    assert_eq!(got("vrrp_fault"), count(KEEPALIVED, "Entering FAULT STATE"));
    assert_eq!(
        got("keepalived_child_died"),
        count(KEEPALIVED, "child process(")
    );
    assert_eq!(
        got("ipvs_no_destination"),
        count(KERNEL, "no destination available")
    );
    assert_eq!(
        got("conntrack_table_full"),
        count(KERNEL, "table full, dropping packet")
    );
    assert_eq!(
        got("real_server_down"),
        count(KEEPALIVED, "Removing service") + count(KEEPALIVED, "Disabling service")
    );
    for k in CONTRACT_KINDS {
        assert!(got(k) > 0, "no reference line classified as {k}: {kinds:?}");
    }
}

#[test]
fn the_one_pass_matcher_picks_what_trying_each_rule_in_order_would() {
    let r = rules();
    let mut s = r.scratch();
    let clock = YearClock::fixed(2024);
    let mut matched = 0;
    for line in KEEPALIVED.lines().chain(KERNEL.lines()) {
        let f = frame(line.as_bytes(), &clock);
        let ident = f.ident.as_deref();
        let want = r
            .rules()
            .iter()
            .position(|x| x.applies_to(ident) && x.is_match(&f.message));
        assert_eq!(r.winner(&mut s, ident, &f.message), want, "{line}");
        matched += usize::from(want.is_some());
    }
    assert!(matched > 200, "{matched}");
}

fn user_rules(text: &str) -> Result<Rules, RulesError> {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("rules.toml");
    std::fs::write(&p, text).unwrap();
    Rules::load(Some(&p))
}

#[test]
fn a_user_file_replaces_removes_and_adds_rules() {
    let r = user_rules(
        r#"
[[rule]]
kind = "vrrp_master"
severity = "warning"
idents = ["Keepalived"]
regex = '^\((?P<i>[^)]+)\) Entering MASTER STATE$'
labels = { instance = "i" }
samples = ["(VI_1) Entering MASTER STATE"]

[[rule]]
name = "keepalived_reload"
kind = "keepalived_reload"
severity = "info"
regex = 'x'
disabled = true

[[rule]]
kind = "haproxy_down"
severity = "critical"
idents = ["haproxy"]
regex = '^Server (?P<rs>\S+) is DOWN'
labels = { real_server = "rs" }
samples = ["Server web/10.0.0.1 is DOWN, reason: Layer4 timeout"]
"#,
    )
    .unwrap();
    let mut s = r.scratch();
    let m = r
        .classify(&mut s, None, "(VI_1) Entering MASTER STATE")
        .unwrap();
    assert_eq!(m.severity, Severity::Warning);
    assert!(r.classify(&mut s, None, "Reloading ...").is_none());
    let h = r
        .classify(
            &mut s,
            Some("haproxy"),
            "Server web/10.0.0.1 is DOWN, reason: x",
        )
        .unwrap();
    assert_eq!(h.kind, "haproxy_down");
    assert_eq!(r.rules().len(), rules().rules().len());
}

#[test]
fn invalid_rules_are_refused_with_the_rule_named() {
    let base = |extra: &str| {
        format!("[[rule]]\nname = \"mine\"\nkind = \"k\"\nseverity = \"info\"\n{extra}\n")
    };
    for (body, want) in [
        ("regex = '('", "bad regex"),
        ("regex = 'a'\nlabels = { colour = \"x\" }", "unknown label"),
        ("regex = 'a'\nlabels = { peer = \"p\" }", "lacks"),
        ("regex = 'a'\nsamples = [\"b\"]", "sample does not match"),
    ] {
        let e = user_rules(&base(body)).unwrap_err().to_string();
        assert!(e.contains("mine") && e.contains(want), "{e}");
    }
    assert!(user_rules("[[rule]]\nkind = \"k\"\nseverity = \"loud\"\nregex = 'a'\n").is_err());
}

/// The most frequent events must stay one-pass regexes (a single forward pass for their
/// captures): see the comment above check_succeeded in rules.toml and docs/benchmarks.md.
#[test]
fn the_hottest_rules_are_one_pass() {
    let r = rules();
    for name in [
        "vrrp_master",
        "vrrp_backup",
        "check_succeeded",
        "check_attempt_failed",
        "check_failed",
        "real_server_down",
        "real_server_up",
        "quorum_lost",
        "quorum_gained",
        "ipvs_no_destination",
    ] {
        let rule = r.rules().iter().find(|x| x.name == name).unwrap();
        assert!(
            regex_automata::dfa::onepass::DFA::new(rule.regex.as_str()).is_ok(),
            "{name} is not one-pass"
        );
    }
}

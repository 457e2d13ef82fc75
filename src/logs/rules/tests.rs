use super::*;
use crate::logs::frame::{frame, YearClock};

const KEEPALIVED: &str = include_str!("../../../tests/fixtures/logs/keepalived_lines.txt");
const KERNEL: &str = include_str!("../../../tests/fixtures/logs/kernel_lines.txt");

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
fn labels_name_the_shared_identity_whatever_the_wording() {
    use crate::model::{RealServerId, VirtualServiceId};
    let vs = |t: Option<&str>| VirtualServiceId::from_log(t.unwrap()).map(|v| v.to_string());
    let rs = |t: Option<&str>| RealServerId::from_log(t.unwrap()).map(|v| v.to_string());
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
    assert_eq!(
        rs(ev.label(Label::RealServer)).as_deref(),
        Some("10.2.0.12:80")
    );
    assert_eq!(
        vs(ev.label(Label::VirtualService)).as_deref(),
        Some("TCP 10.1.0.100:80")
    );
    let ev = r
        .classify(
            &mut s,
            Some("kernel"),
            "IPVS: sh: TCP [2001:db8:0::100]:443 - no destination available",
        )
        .unwrap();
    assert_eq!(
        vs(ev.label(Label::VirtualService)).as_deref(),
        Some("TCP [2001:db8::100]:443")
    );
    let ev = r
        .classify(
            &mut s,
            Some("kernel"),
            "IPVS: wlc: FWM 5 0x00000005 - no destination available",
        )
        .unwrap();
    assert_eq!(
        vs(ev.label(Label::VirtualService)).as_deref(),
        Some("FWM 5")
    );
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
        if let Some(i) = r.winner(&mut s, f.ident.as_deref(), &f.message) {
            *kinds.entry(r.rules()[i].kind.as_str()).or_default() += 1;
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

/// The most frequent events must stay on the fast matcher, without runs that give characters
/// back (see `logs::linear` and docs/benchmarks.md).
#[test]
fn the_hottest_rules_run_on_the_fast_matcher() {
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
        let p = rule.program.as_ref();
        assert!(p.is_some(), "{name} is not on the fast matcher");
        assert!(!p.unwrap().gives_back(), "{name} gives characters back");
    }
    let slow: Vec<&str> = r
        .rules()
        .iter()
        .filter(|x| !x.is_linear())
        .map(|x| x.name.as_str())
        .collect();
    assert!(slow.len() <= 4, "rules left to the regex crate: {slow:?}");
}

/// What the fast path (prefilter, fast matcher, reused buffers) gives for `message`, in the
/// reference's shape.
fn fast(
    r: &Rules,
    s: &mut Scratch,
    ident: Option<&str>,
    message: &str,
) -> Option<(usize, Vec<(Label, String)>)> {
    r.classify(s, ident, message).map(|e| {
        let labels = e.labels().map(|(l, v)| (l, v.to_string())).collect();
        (e.rule, labels)
    })
}

const CAPTURES: [&str; 5] = [
    include_str!("../../../tests/fixtures/logs/keepalived-2.2.7-check.log"),
    include_str!("../../../tests/fixtures/logs/keepalived-2.2.7-checkers.log"),
    include_str!("../../../tests/fixtures/logs/keepalived-2.2.7-lbA.log"),
    include_str!("../../../tests/fixtures/logs/keepalived-2.2.7-lbB.log"),
    include_str!("../../../tests/fixtures/logs/keepalived-2.2.7-lbC.log"),
];

/// Every line at hand: the samples, the reference lines, the real captures.
fn every_line(r: &Rules) -> Vec<(Option<String>, String)> {
    let clock = YearClock::fixed(2024);
    let mut out: Vec<(Option<String>, String)> = r
        .rules()
        .iter()
        .flat_map(|rule| {
            let ident = rule.idents.first().cloned();
            rule.samples.iter().map(move |s| (ident.clone(), s.clone()))
        })
        .collect();
    for text in [KEEPALIVED, KERNEL].into_iter().chain(CAPTURES) {
        for line in text.lines() {
            let f = frame(line.as_bytes(), &clock);
            out.push((f.ident.map(|i| i.into_owned()), f.message.into_owned()));
        }
    }
    out
}

#[test]
fn the_fast_path_classifies_every_line_at_hand_like_the_reference() {
    let r = rules();
    let mut s = r.scratch();
    let lines = every_line(&r);
    assert!(lines.len() > 800, "{}", lines.len());
    for (ident, msg) in &lines {
        assert_eq!(
            fast(&r, &mut s, ident.as_deref(), msg),
            r.classify_reference(ident.as_deref(), msg),
            "{ident:?} {msg:?}"
        );
    }
}

mod mutations {
    use super::*;
    use proptest::prelude::*;

    /// Characters that sit at the edges of the rules' runs and literals, plus wide ones.
    const PIECES: &[&str] = &[
        " ", "(", ")", ":", ".", "!", "[", "]", ",", "-", "0", "9", "x", "é", "\u{a0}", "\u{2028}",
        "١", "\t", "VS ", " from ",
    ];

    fn mutate(line: &str, edits: &[(usize, usize, usize)]) -> String {
        let mut chars: Vec<String> = line.chars().map(String::from).collect();
        for &(op, at, piece) in edits {
            if chars.is_empty() {
                break;
            }
            let at = at % (chars.len() + 1);
            match op % 4 {
                0 => chars.insert(at, PIECES[piece % PIECES.len()].to_string()),
                1 if at < chars.len() => {
                    chars.remove(at);
                }
                2 if at < chars.len() => chars[at] = PIECES[piece % PIECES.len()].to_string(),
                _ => chars.truncate(at),
            }
        }
        chars.concat()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn mutated_lines_classify_like_the_reference(
            pick in any::<usize>(),
            edits in proptest::collection::vec((0usize..4, any::<usize>(), any::<usize>()), 0..4),
        ) {
            let r = RULES.get_or_init(rules);
            let lines = LINES.get_or_init(|| every_line(r));
            let (ident, line) = &lines[pick % lines.len()];
            let msg = mutate(line, &edits);
            let mut s = r.scratch();
            prop_assert_eq!(
                fast(r, &mut s, ident.as_deref(), &msg),
                r.classify_reference(ident.as_deref(), &msg),
                "{:?}", msg
            );
        }
    }

    static RULES: std::sync::OnceLock<Rules> = std::sync::OnceLock::new();
    static LINES: std::sync::OnceLock<Vec<(Option<String>, String)>> = std::sync::OnceLock::new();
}

/// On the built-in library, not a copy of its regexes: a success line is not tried
/// against the rule for failures (its second literal set, ` failed.`, is missing), and
/// a failure line not against the rule for successes.
#[test]
fn the_builtin_prefilter_keeps_success_and_failure_lines_apart() {
    let r = Rules::builtin().unwrap();
    let tried = |msg: &str| -> Vec<String> {
        let mut s = r.scratch();
        r.prefilter.candidates(msg, &mut s.candidates);
        ones(r.prefilter.found(&s.candidates))
            .filter(|&i| r.prefilter.admits(i, &s.candidates))
            .map(|i| r.rules[i].kind.clone())
            .collect()
    };
    let ok = tried("TCP connection to [10.2.6.10]:tcp:80 success.");
    assert!(ok.iter().any(|k| k == "check_succeeded"), "{ok:?}");
    assert!(!ok.iter().any(|k| k == "check_attempt_failed"), "{ok:?}");
    let failed = tried("TCP connection to [10.2.6.10]:tcp:80 failed.");
    assert!(
        failed.iter().any(|k| k == "check_attempt_failed"),
        "{failed:?}"
    );
    assert!(!failed.iter().any(|k| k == "check_succeeded"), "{failed:?}");
}

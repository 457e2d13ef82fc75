//! Every wording keepalived 1.3 to 2.3 prints for a message an incident depends on.
//!
//! `tests/fixtures/logs/keepalived-formats.tsv` lists the format strings of keepalived's own
//! sources (every release tag from v1.3.0 to v2.3.4), each with the event kind it must give;
//! `scripts/keepalived-formats.sh` derives it from a clone of github.com/acassen/keepalived.
//! Here each format becomes a concrete line (realistic values put in for its conversions),
//! framed three ways the pipeline reads (syslog with keepalived's ident, `--log-console`
//! without one, `journalctl -o json`), and the rule library must give the expected kind and
//! the identity the format prints: the real server, the virtual service, the VRRP instance.

use lvsmon::logs::event::Event;
use lvsmon::logs::frame::YearClock;
use lvsmon::logs::pipeline::{Classifier, EventRef, Sink};
use lvsmon::logs::rules::Rules;
use std::collections::BTreeMap;
use std::sync::Arc;

const FORMATS: &str = include_str!("fixtures/logs/keepalived-formats.tsv");

const RS: &str = "10.2.0.12:80";
const VS: &str = "TCP 10.1.0.100:80";

struct Row<'a> {
    first: &'a str,
    last: &'a str,
    file: &'a str,
    kind: &'a str,
    args: Vec<&'a str>,
    format: &'a str,
}

fn rows() -> Vec<Row<'static>> {
    FORMATS
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let c: Vec<&str> = l.splitn(6, '\t').collect();
            assert_eq!(c.len(), 6, "bad fixture row {l:?}");
            Row {
                first: c[0],
                last: c[1],
                file: c[2],
                kind: c[3],
                args: if c[4] == "-" {
                    Vec::new()
                } else {
                    c[4].split(',').collect()
                },
                format: c[5],
            }
        })
        .collect()
}

/// What keepalived prints for an argument of that sort.
fn value(sort: &str) -> &'static str {
    match sort {
        "rs" => "[10.2.0.12]:tcp:80",
        "rs_pair" => "[10.2.0.12]:80",
        "vs" => "[10.1.0.100]:tcp:80",
        "vs_pair" => "[10.1.0.100]:80",
        "iname" => "VI_1",
        "ip" => "10.0.0.12",
        "ifname" => "eth0",
        "script" => "chk_lvs",
        "version" => "Keepalived v2.2.7 (01/16,2022)",
        "prog" => "Keepalived_vrrp",
        "child" => "VRRP",
        "signal" => "Killed",
        "num" => "3",
        "hex" => "1f",
        "float" => "1.5",
        _ => "x",
    }
}

/// The format with each conversion replaced by the value of its argument's sort (`%%` is a
/// percent sign; a `*` width takes no value of its own here, as the script lists none).
fn render(format: &str, args: &[&str]) -> String {
    let mut out = String::new();
    let mut args = args.iter();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'%') {
            chars.next();
            out.push('%');
            continue;
        }
        // flags, width, precision, length, then the conversion letter
        while let Some(&d) = chars.peek() {
            if d.is_ascii_alphabetic() && !"hlLzjtq".contains(d) {
                break;
            }
            chars.next();
        }
        chars.next();
        out.push_str(value(args.next().copied().unwrap_or("word")));
    }
    out
}

/// The ident keepalived's process of that source file logs under.
fn ident(file: &str) -> &'static str {
    if file.starts_with("keepalived/check/") {
        "Keepalived_healthcheckers"
    } else if file.starts_with("keepalived/vrrp/") {
        "Keepalived_vrrp"
    } else if file.starts_with("keepalived/bfd/") {
        "Keepalived_bfd"
    } else {
        "Keepalived"
    }
}

#[derive(Default)]
struct Got(Vec<Event>);

impl Sink for Got {
    fn line(&mut self, _cut: bool, _matched: bool) {}
    fn event(&mut self, ev: &EventRef<'_>) {
        self.0.push(ev.to_event());
    }
}

fn classify(lines: &[String]) -> Vec<Option<Event>> {
    let rules = Arc::new(Rules::builtin().expect("the built-in rules load"));
    let mut c = Classifier::new(rules, YearClock::fixed(2026), "wordings");
    lines
        .iter()
        .map(|l| {
            let mut got = Got::default();
            c.line(l.as_bytes(), false, &mut got);
            assert!(got.0.len() <= 1, "{l}: more than one event");
            got.0.pop()
        })
        .collect()
}

/// The three framings of one message.
fn framed(ident: &str, message: &str) -> [String; 3] {
    let json = serde_json::json!({
        "__REALTIME_TIMESTAMP": "1796220423000000",
        "_HOSTNAME": "lb1",
        "SYSLOG_IDENTIFIER": ident,
        "SYSLOG_PID": "1235",
        "MESSAGE": message,
    });
    [
        format!("Dec  2 14:07:03 lb1 {ident}[1235]: {message}"),
        format!("Wed Dec  2 14:07:03 2026: {message}"),
        json.to_string(),
    ]
}

/// Whether the format starts with the VRRP instance (`(%s) …`, `VRRP_Instance(%s) …`).
fn names_instance(row: &Row<'_>) -> bool {
    row.args.first() == Some(&"iname")
        && (row.format.starts_with("(%s)") || row.format.starts_with("VRRP_Instance(%s)"))
}

/// The kinds whose events name the real server or virtual service the incident is about.
fn carries_identity(kind: &str) -> bool {
    kind.starts_with("real_server_")
        || kind.starts_with("sorry_server_")
        || kind.starts_with("quorum_")
        || kind == "check_failed"
}

#[test]
fn every_keepalived_wording_gives_its_kind_and_identity() {
    let rows = rows();
    let mut lines = Vec::new();
    for r in &rows {
        lines.extend(framed(ident(r.file), &render(r.format, &r.args)));
    }
    let events = classify(&lines);
    let mut bad = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        for (j, ev) in events[i * 3..i * 3 + 3].iter().enumerate() {
            let line = &lines[i * 3 + j];
            let what = format!(
                "{}..{} {} {:?}\n    {line}",
                r.first, r.last, r.file, r.format
            );
            let Some(ev) = ev else {
                bad.push(format!("no event, expected {}: {what}", r.kind));
                continue;
            };
            if &*ev.kind != r.kind {
                bad.push(format!("{} instead of {}: {what}", ev.kind, r.kind));
                continue;
            }
            if !carries_identity(r.kind) {
                if names_instance(r) && ev.iname.as_deref() != Some("VI_1") {
                    bad.push(format!("instance {:?}, expected VI_1: {what}", ev.iname));
                }
                continue;
            }
            let rs = ev.real_server.map(|x| x.to_string());
            let vs = ev.virtual_service.map(|x| x.to_string());
            if r.args.iter().any(|a| *a == "rs" || *a == "rs_pair") && rs.as_deref() != Some(RS) {
                bad.push(format!("real server {rs:?}, expected {RS}: {what}"));
            }
            if r.args.contains(&"vs") && vs.as_deref() != Some(VS) {
                bad.push(format!("virtual service {vs:?}, expected {VS}: {what}"));
            }
            // Before v1.3.6 keepalived printed a service without its protocol: no identity
            // can be made of `[10.1.0.100]:80`, and none is guessed.
            if r.args.contains(&"vs_pair") && vs.is_some() {
                bad.push(format!("virtual service {vs:?} guessed: {what}"));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "{} of {} lines wrong:\n{}",
        bad.len(),
        lines.len(),
        bad.join("\n")
    );
}

/// The list covers what it claims: every release from v1.3.0 to v2.3.4, and every kind a
/// detector opens or closes an incident on that keepalived prints.
#[test]
fn the_format_list_covers_every_release_and_every_kind_the_detectors_use() {
    let rows = rows();
    assert!(rows.len() > 500, "only {} formats", rows.len());
    assert!(rows.iter().any(|r| r.first == "v1.3.0"));
    assert!(rows.iter().any(|r| r.last == "v2.3.4"));
    let mut per_kind: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &rows {
        *per_kind.entry(r.kind).or_default() += 1;
    }
    for kind in [
        "real_server_down",
        "real_server_up",
        "check_failed",
        "quorum_lost",
        "quorum_gained",
        "quorum_down_at_start",
        "sorry_server_on",
        "sorry_server_off",
        "vrrp_master",
        "vrrp_backup",
        "vrrp_fault",
        "vrrp_fault_reason",
        "vrrp_priority_zero_sent",
        "vrrp_script_failed",
        "link_down",
        "vrrp_auth_mismatch",
        "vrrp_vip_mismatch",
        "vrrp_vrid_conflict",
        "vrrp_advert_interval_mismatch",
        "vrrp_owner_conflict",
        "vrrp_lower_priority_advert",
        "vrrp_higher_priority_advert",
        "keepalived_started",
        "keepalived_stopped",
        "keepalived_child_died",
        "keepalived_child_exited",
        "keepalived_config_error",
    ] {
        assert!(
            per_kind.contains_key(kind),
            "no keepalived format for {kind}"
        );
    }
    // Every checker's final failure, in some wording.
    for checker in [
        "TCP_CHECK",
        "HTTP_CHECK",
        "SSL_CHECK",
        "Check on service",
        "Misc check",
        "DNS_CHECK",
        "SMTP_CHECK",
        "UDP_CHECK",
        "ICMP CHECK",
    ] {
        assert!(
            rows.iter()
                .any(|r| r.kind == "check_failed" && r.format.starts_with(checker)),
            "no check_failed wording of {checker}"
        );
    }
}

/// The one-pass matcher (prefilter, fast programs) picks the rule and captures that trying
/// every rule's regex in order would, on every wording (with and without an ident).
#[test]
fn the_fast_path_agrees_with_the_reference_on_every_wording() {
    let rules = Rules::builtin().expect("the built-in rules load");
    let mut scratch = rules.scratch();
    for r in rows() {
        let message = render(r.format, &r.args);
        for id in [Some(ident(r.file)), None] {
            let fast = rules.classify(&mut scratch, id, &message).map(|e| {
                let labels: Vec<(_, String)> =
                    e.labels().map(|(l, v)| (l, v.to_string())).collect();
                (e.rule, labels)
            });
            let mut reference = rules.classify_reference(id, &message);
            if let Some((_, l)) = reference.as_mut() {
                l.sort();
            }
            let fast = fast.map(|(i, mut l)| {
                l.sort();
                (i, l)
            });
            assert_eq!(fast, reference, "{id:?} {message:?}");
        }
    }
}

#[test]
fn a_format_renders_as_keepalived_prints_it() {
    assert_eq!(
        render("Removing service %s from VS %s", &["rs", "vs"]),
        "Removing service [10.2.0.12]:tcp:80 from VS [10.1.0.100]:tcp:80"
    );
    assert_eq!(
        render(
            "Lost quorum %u-%u=%ld > %ld for VS %s",
            &["num", "num", "num", "num", "vs"]
        ),
        "Lost quorum 3-3=3 > 3 for VS [10.1.0.100]:tcp:80"
    );
    assert_eq!(
        render("(%s) %.*s 100%%", &["iname", "word"]),
        "(VI_1) x 100%"
    );
}

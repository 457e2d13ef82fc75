//! The detectors on real keepalived 2.2.7 output: the three directors of
//! tests/logs_keepalived.rs (a crash, a failover, a preemption, a respawned VRRP child, a
//! third director with another password that makes itself MASTER) and the health checkers
//! of the VM harness. Each expected incident is checked with its start and end second.

use super::*;
use crate::logs::analyze::Analyzer;
use crate::logs::clock::parse_zone;
use crate::logs::frame::YearClock;
use crate::logs::rules::{Rules, Severity};
use std::sync::Arc;

const LB_A: &str = include_str!("../../../tests/fixtures/logs/keepalived-2.2.7-lbA.log");
const LB_B: &str = include_str!("../../../tests/fixtures/logs/keepalived-2.2.7-lbB.log");
const LB_C: &str = include_str!("../../../tests/fixtures/logs/keepalived-2.2.7-lbC.log");
/// tests/keepalived_incidents.rs: lbC's configuration has a line keepalived rejects, lbA's
/// track script fails, its link goes down, then lbB comes back with two VIPs where lbA has
/// one.
const FAULT_A: &str = include_str!("../../../tests/fixtures/logs/keepalived-2.2.7-fault-lbA.log");
const FAULT_B: &str = include_str!("../../../tests/fixtures/logs/keepalived-2.2.7-fault-lbB.log");
const FAULT_C: &str = include_str!("../../../tests/fixtures/logs/keepalived-2.2.7-fault-lbC.log");
/// The VM's `keepalived_flap` scenario: a real server's service stopped and started three
/// times.
const FLAP: &str = include_str!("../../../tests/fixtures/logs/keepalived-2.2.7-flap.log");
/// The VM's `keepalived_logs` scenario: a real server's HTTP server stopped and started.
const CHECK_LOGS: &str = include_str!("../../../tests/fixtures/logs/keepalived-2.2.7-check.log");
/// The VM's `keepalived_check` scenario: a real server taken out, quorum lost.
const CHECK_DEMO: &str = include_str!("../../../src/demo/logs/keepalived-2.2.7-check.log");

/// The incidents of several directors' console captures, read as `analyze` reads them
/// (`FILE@HOST`, zone-less times in UTC).
fn incidents(inputs: &[(&str, &str)]) -> Vec<Incident> {
    let rules = Arc::new(Rules::builtin().unwrap());
    let clock = YearClock::fixed(2026).with_zone(parse_zone("UTC").unwrap());
    let mut a = Analyzer::new(rules, clock, 1 << 16).with_incidents(Settings::default());
    for (host, text) in inputs {
        a.read_named(text.as_bytes(), host).unwrap();
    }
    a.summary().incidents
}

/// `kind host start end` (times as `HH:MM:SS`, `-` for none), with the identity if any.
fn row(i: &Incident) -> String {
    let t = |m: i64| crate::logs::event::rfc3339(m)[11..19].to_string();
    let who = i.host.clone().unwrap_or_else(|| i.hosts.join("+"));
    let mut r = format!(
        "{} {} {} {}",
        i.kind,
        who,
        t(i.start),
        i.end.map_or("-".into(), t)
    );
    for x in [&i.iname, &i.virtual_service, &i.real_server]
        .into_iter()
        .flatten()
    {
        r.push_str(&format!(" [{x}]"));
    }
    r
}

fn rows(v: &[Incident]) -> Vec<String> {
    v.iter().map(row).collect()
}

/// The incidents are these rows, in any order.
fn assert_rows(got: &[Incident], want: &[&str]) {
    let mut got_rows = rows(got);
    let mut want_rows: Vec<String> = want.iter().map(|s| s.to_string()).collect();
    got_rows.sort();
    want_rows.sort();
    assert_eq!(got_rows, want_rows, "{got:#?}");
}

#[test]
fn three_directors_tell_the_story_of_their_capture() {
    let got = incidents(&[("lb-a", LB_A), ("lb-b", LB_B), ("lb-c", LB_C)]);
    let want = [
        // lb-a is killed (no log line) and restarts at :24; lb-b took over at :24.
        "keepalived_crash lb-a 23:44:24 23:44:24",
        "vrrp_failover lb-a+lb-b 23:44:24 23:44:24 [VI_1]",
        // lb-a, back with the higher priority, preempts; lb-b's VRRP child is killed.
        "keepalived_crash lb-b 23:44:28 23:44:28",
        "vrrp_failover lb-b+lb-a 23:44:28 23:44:28 [VI_1]",
        // lb-c has another password: it rejects lb-a's adverts, and lb-a and lb-b its own.
        "vrrp_auth_mismatch lb-c 23:44:29 23:44:34 [VI_1]",
        // Hearing no valid advert, lb-c makes itself MASTER beside lb-a until both stop.
        "split_brain lb-a+lb-c 23:44:32 23:44:34 [VI_1]",
        "vrrp_auth_mismatch lb-a 23:44:32 23:44:34 [VI_1]",
        "vrrp_auth_mismatch lb-b 23:44:32 23:44:34 [VI_1]",
    ];
    assert_rows(&got, &want);
    let sb = got.iter().find(|i| i.kind == "split_brain").unwrap();
    assert_eq!(sb.severity, Severity::Critical);
    assert!(sb.summary.contains("two masters"), "{}", sb.summary);
    assert!(sb
        .evidence
        .iter()
        .any(|e| e.line.contains("Entering MASTER STATE")));
}

#[test]
fn faults_with_their_causes_and_a_split_brain_from_mismatched_vips() {
    let got = incidents(&[("lb-a", FAULT_A), ("lb-b", FAULT_B), ("lb-c", FAULT_C)]);
    let want = [
        // lbC's configuration has a keyword keepalived does not know (no repeat since).
        "keepalived_config_error lb-c 15:02:37 -",
        // lbA's track script fails at :41: FAULT, lbB takes over; it passes again at :42.
        "vrrp_fault lb-a 15:02:41 15:02:42 [VI_1]",
        "vrrp_failover lb-a+lb-b 15:02:41 15:02:41 [VI_1]",
        "vrrp_failover lb-b+lb-a 15:02:45 15:02:45 [VI_1]",
        // lbA's link goes down at :45 and up at :47; lbA preempts at :51.
        "vrrp_fault lb-a 15:02:45 15:02:47 [VI_1]",
        "vrrp_failover lb-a+lb-b 15:02:49 15:02:49 [VI_1]",
        "vrrp_failover lb-b+lb-a 15:02:51 15:02:51 [VI_1]",
        "vrrp_flapping lb-a 15:02:45 - [VI_1]",
        "vrrp_flapping lb-b 15:02:51 15:02:51 [VI_1]",
        // lbB restarts at :52 with two VIPs: lbA and lbC refuse its adverts and it
        // theirs; lbB is MASTER beside lbA from :55 until it stops at 15:03:06 (lbA's
        // keepalived was killed before, without a line: the logs cannot say when).
        "vrrp_config_mismatch lb-b 15:02:53 15:03:02 [VI_1]",
        "vrrp_config_mismatch lb-a 15:02:55 - [VI_1]",
        "vrrp_config_mismatch lb-c 15:02:55 15:03:05 [VI_1]",
        "split_brain lb-a+lb-b 15:02:55 15:03:06 [VI_1]",
        "vrrp_flapping lb-b 15:02:55 15:03:06 [VI_1]",
    ];
    assert_rows(&got, &want);
    let fault = |why: &str| {
        got.iter()
            .any(|i| i.kind == "vrrp_fault" && i.summary.contains(why))
    };
    assert!(fault("(track script chk_file failed)"), "{got:#?}");
    assert!(fault("(interface eth0 down)"), "{got:#?}");
    // Each FAULT's hint is its cause's, not the kind's.
    let hint_of = |why: &str| {
        got.iter()
            .find(|i| i.kind == "vrrp_fault" && i.summary.contains(why))
            .map(|i| i.hint)
            .unwrap()
    };
    let cause = |word: &str| {
        super::super::CAUSES
            .iter()
            .find(|c| c.kind == "vrrp_fault" && c.words.contains(&word))
            .unwrap()
            .hint
    };
    assert_eq!(hint_of("track script"), cause("script"));
    assert_eq!(hint_of("interface eth0"), cause("interface"));
    assert_ne!(cause("script"), kind("vrrp_fault").unwrap().hint);
    let sb = got.iter().find(|i| i.kind == "split_brain").unwrap();
    // Why, as both directors said it.
    assert!(
        sb.summary
            .contains("lb-b: received an unexpected ip number count 1, expected 2")
            && sb
                .summary
                .contains("lb-a: received an unexpected ip number count 2, expected 1"),
        "{}",
        sb.summary
    );
}

#[test]
fn one_director_tells_its_side_of_each_failover_as_it_happens() {
    // lbA's console alone, as `serve` beside it reads it: its first MASTER is the
    // election at start, not a failover; then it leaves MASTER for FAULT twice and takes
    // it back from lbB twice.
    let rules = Arc::new(Rules::builtin().unwrap());
    let clock = YearClock::fixed(2026).with_zone(parse_zone("UTC").unwrap());
    let engine = Engine::new(Settings::default()).one_director();
    let mut a = Analyzer::new(rules, clock, 1 << 16).with_engine(engine);
    a.read_named(FAULT_A.as_bytes(), "lb-a").unwrap();
    let got: Vec<Incident> = a
        .into_summary()
        .incidents
        .into_iter()
        .filter(|i| i.kind == "vrrp_failover")
        .collect();
    let said: Vec<(String, String)> = got.iter().map(|i| (row(i), i.summary.clone())).collect();
    assert_eq!(
        said,
        [
            (
                "vrrp_failover lb-a 15:02:41 15:02:41 [VI_1]",
                "VI_1: lb-a left MASTER (FAULT)"
            ),
            (
                "vrrp_failover lb-a 15:02:45 15:02:45 [VI_1]",
                "VI_1: MASTER moved to lb-a"
            ),
            (
                "vrrp_failover lb-a 15:02:51 15:02:51 [VI_1]",
                "VI_1: MASTER moved to lb-a"
            ),
        ]
        .map(|(a, b)| (a.to_string(), b.to_string())),
        "{got:#?}"
    );
}

#[test]
fn a_real_server_out_three_times_is_flapping_from_its_third_removal() {
    let got = incidents(&[("lb", FLAP)]);
    assert_rows(
        &got,
        &[
            "real_server_down lb 15:05:49 15:05:50 [TCP 10.0.0.100:8090] [10.1.0.12:8090]",
            "real_server_down lb 15:05:51 15:05:52 [TCP 10.0.0.100:8090] [10.1.0.12:8090]",
            "real_server_down lb 15:05:53 15:05:54 [TCP 10.0.0.100:8090] [10.1.0.12:8090]",
            // Open until `flapping-window` (600 s) passes without a removal; the capture
            // ends a few seconds later.
            "real_server_flapping lb 15:05:53 - [TCP 10.0.0.100:8090] [10.1.0.12:8090]",
        ],
    );
    let flap = got
        .iter()
        .find(|i| i.kind == "real_server_flapping")
        .unwrap();
    assert!(
        flap.summary.contains("went down 3 times"),
        "{}",
        flap.summary
    );
}

#[test]
fn a_real_server_out_and_back_with_its_checker_and_the_sorry_server() {
    let got = incidents(&[("director", CHECK_LOGS)]);
    assert_eq!(
        rows(&got),
        [
            "real_server_down director 00:25:10 00:25:11 [TCP 10.0.0.100:8080] [10.1.0.12:8080]",
            "virtual_service_down director 00:25:10 00:25:11 [TCP 10.0.0.100:8080]",
        ]
    );
    assert!(
        got[0].summary.contains("(TCP_CHECK failed)"),
        "{}",
        got[0].summary
    );
    assert!(
        got[1]
            .summary
            .contains("sorry server 10.1.0.11:8081 in use"),
        "{}",
        got[1].summary
    );
    assert!(got[0]
        .evidence
        .iter()
        .any(|e| e.line.contains("Adding service")));
}

#[test]
fn a_lost_quorum_is_a_virtual_service_down_until_the_input_ends() {
    let got = incidents(&[("director", CHECK_DEMO)]);
    let vsd = got
        .iter()
        .find(|i| i.kind == "virtual_service_down")
        .expect("virtual_service_down");
    assert_eq!(vsd.virtual_service.as_deref(), Some("TCP 10.0.0.100:80"));
    assert_eq!(vsd.end, None, "quorum never came back in the capture");
    assert_eq!(vsd.severity, Severity::Critical);
    let rsd: Vec<String> = got
        .iter()
        .filter(|i| i.kind == "real_server_down")
        .map(row)
        .collect();
    assert_eq!(
        rsd,
        [
            "real_server_down director 00:26:37 - [TCP 10.0.0.100:80] [10.1.0.12:80]",
            "real_server_down director 00:26:37 - [TCP 10.0.0.100:8080] [10.1.0.12:80]",
        ]
    );
    let first = got.iter().find(|i| i.kind == "real_server_down").unwrap();
    assert!(
        first.summary.contains("(TCP_CHECK failed)"),
        "{}",
        first.summary
    );
    // One director alone, MASTER once: no failover, no split brain.
    assert!(got
        .iter()
        .all(|i| i.kind != "split_brain" && i.kind != "vrrp_failover"));
}

#[test]
fn repeats_fold_into_one_incident_and_the_quiet_window_closes_it() {
    let lines: String = (0..5)
        .map(|i| {
            format!("Dec  2 10:00:0{i} lb1 kernel: nf_conntrack: table full, dropping packet\n")
        })
        .chain(std::iter::once(
            "Dec  2 10:05:00 lb1 Keepalived_vrrp[1]: (VI_1) Entering MASTER STATE\n".to_string(),
        ))
        .collect();
    let got = incidents(&[("x", &lines)]);
    let full = got
        .iter()
        .find(|i| i.kind == "conntrack_table_full")
        .unwrap();
    assert_eq!(full.count, 5);
    assert_eq!(full.host.as_deref(), Some("lb1"));
    assert_eq!(row(full), "conntrack_table_full lb1 10:00:00 10:00:04");
    // The first and the last lines are the evidence.
    assert_eq!(full.evidence.len(), 4);
    assert!(full.evidence[0].line.contains("10:00:00"));
    assert!(full.evidence[3].line.contains("10:00:04"));
}

/// The conntrack incidents of one director's lines, by start, with their counts.
fn conntrack_rows(text: &str) -> Vec<String> {
    let got = incidents(&[("x", text)]);
    let mut full: Vec<&Incident> = got
        .iter()
        .filter(|i| i.kind == "conntrack_table_full")
        .collect();
    full.sort_by_key(|i| i.start);
    full.iter()
        .map(|i| format!("{} x{}", row(i), i.count))
        .collect()
}

#[test]
fn a_repeat_moves_the_quiet_window_on_and_a_line_out_of_order_moves_it_back() {
    // Quiet for 60 s: the repeat at :50 keeps it open past 10:01:00 (the sweep at
    // 10:01:30, a line of the same director, closes nothing), so the line at 10:01:40 is
    // one more repeat, not a new incident.
    let text = "Dec  2 10:00:00 lb1 kernel: nf_conntrack: table full, dropping packet
Dec  2 10:00:50 lb1 kernel: nf_conntrack: table full, dropping packet
Dec  2 10:01:30 lb1 Keepalived_vrrp[1]: (VI_1) Entering BACKUP STATE
Dec  2 10:01:40 lb1 kernel: nf_conntrack: table full, dropping packet
Dec  2 10:05:00 lb1 Keepalived_vrrp[1]: (VI_1) Entering MASTER STATE
";
    assert_eq!(
        conntrack_rows(text),
        ["conntrack_table_full lb1 10:00:00 10:01:40 x3"]
    );
    // A repeat stamped earlier than the one before (lines out of order) brings the end
    // of the window back, here to 10:01:20, after the sweep at 10:01:10 had moved it on
    // to 10:01:50: the line at 10:01:30 finds it closed and opens another.
    let text = "Dec  2 10:00:00 lb1 kernel: nf_conntrack: table full, dropping packet
Dec  2 10:00:50 lb1 kernel: nf_conntrack: table full, dropping packet
Dec  2 10:01:10 lb1 Keepalived_vrrp[1]: (VI_1) Entering BACKUP STATE
Dec  2 10:00:20 lb1 kernel: nf_conntrack: table full, dropping packet
Dec  2 10:01:30 lb1 kernel: nf_conntrack: table full, dropping packet
Dec  2 10:05:00 lb1 Keepalived_vrrp[1]: (VI_1) Entering MASTER STATE
";
    assert_eq!(
        conntrack_rows(text),
        [
            "conntrack_table_full lb1 10:00:00 10:00:20 x3",
            "conntrack_table_full lb1 10:01:30 10:01:30 x1"
        ]
    );
}

/// Lines in keepalived 2.x's own wording (`vrrp_state.c`, `check_api.c`), one host.
fn syslog(lines: &[(&str, &str)]) -> String {
    lines
        .iter()
        .map(|(t, m)| format!("Dec  2 {t} lb1 Keepalived_vrrp[7]: {m}\n"))
        .collect()
}

#[test]
fn a_fault_names_its_cause_and_ends_when_the_instance_leaves_it() {
    let text = syslog(&[
        (
            "10:00:00",
            "(VI_1): entering FAULT state (interface eth1 down)",
        ),
        ("10:00:00", "(VI_1) Entering FAULT STATE"),
        ("10:00:30", "(VI_1) Entering BACKUP STATE"),
    ]);
    let got = incidents(&[("x", &text)]);
    let f = got
        .iter()
        .find(|i| i.kind == "vrrp_fault")
        .expect("vrrp_fault");
    assert_eq!(row(f), "vrrp_fault lb1 10:00:00 10:00:30 [VI_1]");
    assert!(f.summary.contains("(interface eth1 down)"), "{}", f.summary);
    assert_eq!(f.severity, Severity::Critical);
}

#[test]
fn every_removal_after_a_check_failure_names_the_checker() {
    // One failure line, then the server taken out twice: the second removal still has
    // the checker's word for it (the reason is lent to the first summary, not used up).
    let text = syslog(&[
        (
            "10:00:00",
            "TCP_CHECK on service [10.2.0.12]:tcp:80 failed after 1 retries.",
        ),
        (
            "10:00:00",
            "Removing service [10.2.0.12]:tcp:80 from VS [10.1.0.100]:tcp:80",
        ),
        (
            "10:00:20",
            "Adding service [10.2.0.12]:tcp:80 to VS [10.1.0.100]:tcp:80",
        ),
        (
            "10:00:40",
            "Removing service [10.2.0.12]:tcp:80 from VS [10.1.0.100]:tcp:80",
        ),
    ]);
    let got = incidents(&[("x", &text)]);
    let downs: Vec<&str> = got
        .iter()
        .filter(|i| i.kind == "real_server_down")
        .map(|i| i.summary.as_str())
        .collect();
    assert_eq!(downs.len(), 2, "{got:#?}");
    for s in downs {
        assert!(s.ends_with("on lb1 (TCP_CHECK failed)"), "{s}");
    }
}

#[test]
fn a_real_server_that_keeps_failing_is_flapping() {
    let mut lines = Vec::new();
    for m in 0..4 {
        lines.push((
            format!("10:0{m}:00"),
            "Removing service [10.2.0.12]:tcp:80 from VS [10.1.0.100]:tcp:80".to_string(),
        ));
        lines.push((
            format!("10:0{m}:20"),
            "Adding service [10.2.0.12]:tcp:80 to VS [10.1.0.100]:tcp:80".to_string(),
        ));
    }
    let refs: Vec<(&str, &str)> = lines
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let got = incidents(&[("x", &syslog(&refs))]);
    let downs = got.iter().filter(|i| i.kind == "real_server_down").count();
    assert_eq!(downs, 4, "one per removal, each closed when added back");
    let flap = got
        .iter()
        .find(|i| i.kind == "real_server_flapping")
        .expect("flapping");
    // The third removal within the window opens it; the fourth folds in.
    assert_eq!(
        flap.start,
        got.iter()
            .filter(|i| i.kind == "real_server_down")
            .nth(2)
            .unwrap()
            .start
    );
    assert_eq!(flap.count, 2);
    assert_eq!(flap.real_server.as_deref(), Some("10.2.0.12:80"));
    assert_eq!(
        flap.end, None,
        "still inside the window when the input ends"
    );
}

/// An engine fed line by line, as `serve` feeds it, as director `lb1`.
struct Feed(Engine);

impl crate::logs::pipeline::Sink for Feed {
    fn line(&mut self, _: bool, _: bool) {}
    fn event(&mut self, ev: &crate::logs::pipeline::EventRef<'_>) {
        self.0.event(ev, "lb1");
    }
}

/// The built-in rules, times in UTC.
fn classifier() -> crate::logs::pipeline::Classifier {
    let rules = Arc::new(Rules::builtin().unwrap());
    let clock = YearClock::fixed(2026).with_zone(parse_zone("UTC").unwrap());
    crate::logs::pipeline::Classifier::new(rules, clock, "x")
}

/// Hands each event to the engine, as `serve`'s bus does, as director `lb-a` when the
/// line names none.
struct FeedA<'a>(&'a mut Engine);

impl crate::logs::pipeline::Sink for FeedA<'_> {
    fn line(&mut self, _: bool, _: bool) {}
    fn event(&mut self, ev: &crate::logs::pipeline::EventRef<'_>) {
        self.0.event(ev, ev.host.unwrap_or("lb-a"));
    }
}

#[test]
fn a_faults_cause_and_its_hint_survive_a_save_and_a_restore() {
    use crate::logs::pipeline::Classifier;
    // lbA's console up to its first FAULT (its track script failed): open when saved.
    let upto = FAULT_A.find("Entering FAULT STATE").unwrap();
    let end = upto + FAULT_A[upto..].find('\n').unwrap();
    let rules = Arc::new(Rules::builtin().unwrap());
    let clock = YearClock::fixed(2026).with_zone(parse_zone("UTC").unwrap());
    let mut c = Classifier::new(rules, clock, "lb-a");
    let mut e = Engine::new(Settings::default()).one_director();
    for line in FAULT_A[..end].lines() {
        c.line(line.as_bytes(), false, &mut FeedA(&mut e));
    }
    let hint = |e: &Engine| {
        e.incidents()
            .into_iter()
            .find(|i| i.kind == "vrrp_fault" && i.end.is_none())
            .expect("the FAULT is open")
            .hint
    };
    let before = hint(&e);
    assert!(before.contains("track script"), "{before}");

    // Saved as `serve` saves it (JSON in the state directory), restored by a new engine.
    let text = serde_json::to_string(&e.save()).unwrap();
    let mut again = Engine::new(Settings::default()).one_director();
    again.restore(serde_json::from_str(&text).unwrap());
    assert_eq!(hint(&again), before);
    // A file saved before hints were kept restores the kind's.
    let old = text.replace(r#","hint":"#, r#","hint_dropped":"#);
    assert_ne!(old, text);
    let mut older = Engine::new(Settings::default()).one_director();
    older.restore(serde_json::from_str(&old).unwrap());
    let restored = older
        .incidents()
        .into_iter()
        .find(|i| i.kind == "vrrp_fault");
    assert_eq!(restored.unwrap().hint, kind("vrrp_fault").unwrap().hint);
}

#[test]
fn an_event_of_a_kind_no_detector_reads_only_moves_the_clock() {
    use crate::logs::pipeline::Classifier;
    // An engine with state of every sort: lbA's FAULTs and mismatches, a real server out
    // and a quorum lost with its sorry server (the VM's check scenario), all as lb-a.
    let rules = Arc::new(Rules::builtin().unwrap());
    let clock = YearClock::fixed(2026).with_zone(parse_zone("UTC").unwrap());
    let mut e = Engine::new(Settings::default());
    for text in [FAULT_A, CHECK_DEMO] {
        let mut c = Classifier::new(rules.clone(), clock, "lb-a");
        for line in text.lines() {
            c.line(line.as_bytes(), false, &mut FeedA(&mut e));
        }
    }
    let (host, last) = {
        let h = e.host_ref("lb-a").expect("lb-a seen");
        (h.name.clone(), h.last_time)
    };
    let vs = e.open.keys().find_map(|k| k.vs).expect("a service out");
    let rs: RealServerId = "10.1.0.12:80".parse().unwrap();
    // A sorry server in use, for the kinds that would take it away.
    e.host(&host).sorry.insert(vs, rs);
    let mut inames: Vec<Name> = e.host(&host).inames.clone();
    inames.sort();
    assert!(inames.len() >= 2, "{inames:?}");
    let mut kinds: Vec<&str> = rules.rules().iter().map(|r| r.kind.as_str()).collect();
    kinds.sort_unstable();
    kinds.dedup();
    let ignored: Vec<&str> = kinds.into_iter().filter(|k| !Engine::handles(k)).collect();
    assert!(ignored.contains(&"check_succeeded"), "{ignored:?}");
    // The same event, handled in full and ticked, at a time that closes quiet windows,
    // for an instance MASTER (VI_LB) and one not (VI_1).
    let time = last + 3_600_000_000;
    for (kind, iname) in ignored
        .iter()
        .flat_map(|k| inames.iter().map(move |i| (*k, i)))
    {
        let mut full = e.clone();
        full.seen(
            Seen {
                time: Some(time),
                kind,
                iname: Some(iname),
                vs: Some(vs),
                rs: Some(rs),
                script: Some("chk"),
                interface: Some("eth9"),
                peer: Some("10.0.0.9"),
                message: "(VI_1) Entering FAULT state (interface eth9 down)",
                line: b"a line",
            },
            &host,
        );
        let mut ticked = e.clone();
        ticked.tick(&host, Some(time));
        // What the director's next detected event does first.
        ticked.close_quiet(&host, time);
        // (Compared as text: the engine's state has no `PartialEq`, and its dump is long.)
        assert!(
            format!("{full:?}") == format!("{ticked:?}"),
            "a {kind} event of {iname}, which no detector reads, changed more than the clock"
        );
    }
}

#[test]
fn a_wrong_hint_of_where_a_director_is_is_not_believed() {
    let mut e = Engine::new(Settings::default());
    assert_eq!(e.host_hinted("lb-a", 0), 0);
    assert_eq!(e.host_hinted("lb-b", 0), 1, "lb-a's place is not lb-b's");
    assert_eq!(e.host_hinted("lb-a", 1), 0);
    assert_eq!(e.host_hinted("lb-b", 1), 1);
    assert_eq!(e.host_hinted("lb-c", 7), 2, "past the end: added");
    let names: Vec<&str> = e.hosts.iter().map(|h| &*h.name).collect();
    assert_eq!(names, ["lb-a", "lb-b", "lb-c"]);
}

#[test]
fn each_fault_takes_the_hint_of_its_own_cause() {
    let text = syslog(&[
        (
            "10:00:00",
            "VRRP_Script(chk_haproxy) failed (exited with status 1)",
        ),
        ("10:00:01", "(VI_1) Entering FAULT STATE"),
        ("10:00:10", "(VI_1) Entering BACKUP STATE"),
        (
            "10:01:00",
            "(VI_2): entering FAULT state (interface eth1 down)",
        ),
        ("10:01:00", "(VI_2) Entering FAULT STATE"),
        ("10:01:10", "(VI_2) Entering BACKUP STATE"),
        (
            "10:02:00",
            "VRRP_Script(chk_haproxy) failed (exited with status 1)",
        ),
        ("10:02:01", "(VI_1) Entering FAULT STATE"),
    ]);
    let got = incidents(&[("x", &text)]);
    let faults: Vec<(&str, &str)> = got
        .iter()
        .filter(|i| i.kind == "vrrp_fault")
        .map(|i| (i.summary.as_str(), i.hint))
        .collect();
    let script = hint_for("vrrp_fault", Some("track script chk_haproxy failed"));
    let link = hint_for("vrrp_fault", Some("interface eth1 down"));
    assert_ne!(script, link);
    assert_eq!(
        faults,
        [
            (
                "VI_1 is in FAULT on lb1 (track script chk_haproxy failed)",
                script
            ),
            ("VI_2 is in FAULT on lb1 (interface eth1 down)", link),
            (
                "VI_1 is in FAULT on lb1 (track script chk_haproxy failed)",
                script
            ),
        ]
    );
}

mod bounds;

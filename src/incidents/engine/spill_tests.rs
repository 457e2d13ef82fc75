//! The spilled way of keeping incidents (`analyze`) against the in-memory one: the same
//! incidents in the same order, and an engine whose memory does not grow with what closed.

use super::*;
use crate::logs::analyze::Analyzer;
use crate::logs::clock::parse_zone;
use crate::logs::frame::YearClock;
use crate::logs::rules::Rules;
use std::sync::Arc;

const FIXTURES: &[(&str, &str)] = &[
    (
        "lbA",
        include_str!("../../../tests/fixtures/logs/keepalived-2.2.7-lbA.log"),
    ),
    (
        "lbB",
        include_str!("../../../tests/fixtures/logs/keepalived-2.2.7-lbB.log"),
    ),
    (
        "lbC",
        include_str!("../../../tests/fixtures/logs/keepalived-2.2.7-lbC.log"),
    ),
    (
        "fA",
        include_str!("../../../tests/fixtures/logs/keepalived-2.2.7-fault-lbA.log"),
    ),
    (
        "fB",
        include_str!("../../../tests/fixtures/logs/keepalived-2.2.7-fault-lbB.log"),
    ),
    (
        "fC",
        include_str!("../../../tests/fixtures/logs/keepalived-2.2.7-fault-lbC.log"),
    ),
    (
        "flap",
        include_str!("../../../tests/fixtures/logs/keepalived-2.2.7-flap.log"),
    ),
];

fn analyzer() -> Analyzer {
    let rules = Arc::new(Rules::builtin().unwrap());
    let clock = YearClock::fixed(2026).with_zone(parse_zone("UTC").unwrap());
    Analyzer::new(rules, clock, 1 << 16).with_incidents(Settings::default())
}

/// (in memory, spilled with at most `limit` items in memory per sorter) over `inputs`.
fn both(inputs: &[(&str, &str)], limit: usize) -> (Vec<Incident>, Vec<Incident>) {
    let mut mem = analyzer();
    let mut disk = analyzer().spilling_into(Store::with_limits(limit, limit));
    for (host, text) in inputs {
        mem.read_named(text.as_bytes(), host).unwrap();
        disk.read_named(text.as_bytes(), host).unwrap();
    }
    let (_, found) = disk.into_found().unwrap();
    let mut spilled = Vec::new();
    found
        .unwrap()
        .each(&mut |i| spilled.push(i.clone()))
        .unwrap();
    (mem.into_summary().incidents, spilled)
}

#[test]
fn spilled_incidents_are_the_in_memory_ones_on_the_captures() {
    for limit in [1, 3, 10_000] {
        let (mem, disk) = both(FIXTURES, limit);
        assert!(mem.len() > 20, "{}", mem.len());
        assert_eq!(mem, disk, "limit {limit}");
    }
}

/// A log of three directors changing the state of four instances at random, with
/// mismatched adverts and real servers going and coming: failovers, split brains (some
/// explained by a mismatch), flapping, each director's file after the other's.
fn random_log(seed: u64, lines: usize) -> Vec<(String, String)> {
    let mut x = seed;
    let mut rnd = move |n: u64| {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (x >> 33) % n
    };
    let mut files = vec![String::new(), String::new(), String::new()];
    let mut secs = 0u64;
    for _ in 0..lines {
        secs += rnd(3);
        let h = rnd(3) as usize;
        let t = format!(
            "Nov 25 {:02}:{:02}:{:02}",
            10 + secs / 3600,
            secs / 60 % 60,
            secs % 60
        );
        let i = rnd(4);
        let msg = match rnd(9) {
            0..=2 => format!("Keepalived_vrrp[1]: (VI_{i}) Entering MASTER STATE"),
            3..=4 => format!("Keepalived_vrrp[1]: (VI_{i}) Entering BACKUP STATE"),
            5 => format!("Keepalived_vrrp[1]: (VI_{i}) received an invalid passwd!"),
            6 => format!(
                "Keepalived_vrrp[1]: (VI_{i}) received an unexpected ip number count {}, expected 1!",
                2 + rnd(2)
            ),
            7 => format!(
                "Keepalived_healthcheckers[2]: Removing service [10.2.0.{}]:tcp:80 from VS [10.1.0.1]:tcp:80",
                rnd(3)
            ),
            _ => format!(
                "Keepalived_healthcheckers[2]: Adding service [10.2.0.{}]:tcp:80 to VS [10.1.0.1]:tcp:80",
                rnd(3)
            ),
        };
        files[h].push_str(&format!("{t} lb{h} {msg}\n"));
    }
    files
        .into_iter()
        .enumerate()
        .map(|(h, f)| (format!("lb{h}"), f))
        .collect()
}

#[test]
fn spilled_incidents_are_the_in_memory_ones_on_random_directors() {
    for seed in 1..=12 {
        let files = random_log(seed, 1500);
        let inputs: Vec<(&str, &str)> = files
            .iter()
            .map(|(h, f)| (h.as_str(), f.as_str()))
            .collect();
        let (mem, disk) = both(&inputs, 5);
        let kinds: std::collections::BTreeSet<&str> = mem.iter().map(|i| i.kind).collect();
        for k in [
            "vrrp_failover",
            "split_brain",
            "vrrp_auth_mismatch",
            "real_server_down",
        ] {
            assert!(kinds.contains(k), "seed {seed}: no {k} in {kinds:?}");
        }
        assert!(
            mem.iter()
                .any(|i| i.kind == "split_brain" && i.summary.contains("; lb")),
            "seed {seed}: no explained split brain"
        );
        assert_eq!(mem, disk, "seed {seed}");
    }
}

/// `cycles` times: a real server out and back, a failover from lb1 to lb2 and back, and a
/// mismatch that closes after its quiet window. Returns what the engine and the store
/// hold in memory at the end, and how many incidents were found.
fn cycles(cycles: usize) -> (usize, usize, u64) {
    let mut e = Engine::new(Settings::default());
    let mut store = Store::with_limits(64, 64);
    let mut a = analyzer_lines();
    let mut t = 0u64;
    let mut line = |e: &mut Engine, store: &mut Store, host: &str, msg: &str, t: u64| {
        let l = format!(
            "Nov {:2} {:02}:{:02}:{:02} {host} {msg}",
            1 + t / 86400,
            t / 3600 % 24,
            t / 60 % 60,
            t % 60
        );
        a.feed(e, l.as_bytes(), host);
        store.take(e).unwrap();
    };
    for _ in 0..cycles {
        for (h, msg) in [
            ("lb1", "Keepalived_healthcheckers[2]: Removing service [10.2.0.1]:tcp:80 from VS [10.1.0.1]:tcp:80"),
            ("lb1", "Keepalived_healthcheckers[2]: Adding service [10.2.0.1]:tcp:80 to VS [10.1.0.1]:tcp:80"),
            ("lb1", "Keepalived_vrrp[1]: (VI_1) Entering MASTER STATE"),
            ("lb1", "Keepalived_vrrp[1]: (VI_1) received an invalid passwd!"),
            ("lb1", "Keepalived_vrrp[1]: (VI_1) Entering BACKUP STATE"),
            ("lb2", "Keepalived_vrrp[1]: (VI_1) Entering MASTER STATE"),
            ("lb2", "Keepalived_vrrp[1]: (VI_1) Entering BACKUP STATE"),
        ] {
            t += 5;
            line(&mut e, &mut store, h, msg, t);
        }
        // Past the quiet and flapping windows.
        t += 700;
    }
    let held = (e.held(), store.in_memory());
    let found = store.finish(e).unwrap();
    (held.0, held.1, found.len())
}

/// Classifies single lines into engine events (the pipeline `analyze` runs).
struct Lines {
    rules: Arc<Rules>,
    clock: YearClock,
}

fn analyzer_lines() -> Lines {
    Lines {
        rules: Arc::new(Rules::builtin().unwrap()),
        clock: YearClock::fixed(2026).with_zone(parse_zone("UTC").unwrap()),
    }
}

impl Lines {
    fn feed(&mut self, e: &mut Engine, line: &[u8], host: &str) {
        struct Into<'a>(&'a mut Engine, &'a str);
        impl crate::logs::pipeline::Sink for Into<'_> {
            fn line(&mut self, _: bool, _: bool) {}
            fn wants_labels(&self, _rule: usize) -> bool {
                true
            }
            fn event(&mut self, ev: &EventRef<'_>) {
                self.0.event(ev, self.1);
            }
        }
        let mut c = crate::logs::pipeline::Classifier::new(self.rules.clone(), self.clock, host);
        c.line(line, false, &mut Into(e, host));
    }
}

#[test]
fn memory_follows_open_incidents_not_closed_ones() {
    let (held_few, stored_few, found_few) = cycles(20);
    let (held_many, stored_many, found_many) = cycles(2000);
    // Each cycle closes a real_server_down, an auth mismatch, failovers, a split brain or
    // two; what the engine holds is the same after 20 cycles as after 2,000.
    assert!(
        found_many >= 100 * found_few / 2,
        "{found_few} then {found_many}"
    );
    assert!(found_few >= 20 * 3, "{found_few}");
    assert_eq!(
        held_many, held_few,
        "the engine holds more after more cycles"
    );
    assert!(held_many <= 8, "{held_many}");
    // The store holds at most its limit per sorter, whatever was found.
    assert!(
        stored_few < 3 * 64 && stored_many < 3 * 64,
        "{stored_few} {stored_many}"
    );
}

//! The timeline from real captures and from marks: lanes, split brains, folding, budgets.

use super::*;
use crate::logs::analyze::Analyzer;
use crate::logs::frame::YearClock;
use crate::logs::rules::Rules;
use crate::report::model::{fold_down, fold_states};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

const S: i64 = 1_000_000;

fn mark<'a>(host: &'a str, sec: i64, kind: &'a str, iname: Option<&'a str>) -> Mark<'a> {
    Mark {
        host,
        time: sec * S,
        kind,
        severity: Severity::Info,
        iname,
        service: None,
        message: "",
    }
}

/// A real server taken out by lb1's checker at `down` and put back at `up` (seconds).
fn out_and_back(t: &mut Timeline, svc: Option<Service>, down: i64, up: i64) {
    t.record(Mark {
        service: svc,
        ..mark("lb1", down, "real_server_down", None)
    });
    t.record(Mark {
        service: svc,
        ..mark("lb1", up, "real_server_up", None)
    });
}

/// The real two-director consoles through `analyze`'s pipeline into a timeline.
fn fault_captures() -> Report {
    let rules = Arc::new(Rules::builtin().unwrap());
    let clock = YearClock::fixed(2026).with_zone(jiff::tz::TimeZone::UTC);
    let t = Rc::new(RefCell::new(Timeline::new()));
    let mut a = Analyzer::new(rules, clock, 4096)
        .with_observer(Box::new(t.clone()))
        .with_incidents(crate::incidents::Settings::default());
    for (h, text) in [
        (
            "lb-a",
            include_str!("../../../tests/fixtures/logs/keepalived-2.2.7-fault-lbA.log"),
        ),
        (
            "lb-b",
            include_str!("../../../tests/fixtures/logs/keepalived-2.2.7-fault-lbB.log"),
        ),
        (
            "lb-c",
            include_str!("../../../tests/fixtures/logs/keepalived-2.2.7-fault-lbC.log"),
        ),
    ] {
        a.read_named(text.as_bytes(), h).unwrap();
    }
    let summary = a.into_summary();
    let t = std::mem::take(&mut *t.borrow_mut());
    t.report(&summary)
}

#[test]
fn real_captures_give_a_lane_per_director_and_instance_and_the_split_brain() {
    let r = fault_captures();
    let lanes: Vec<(&str, &str)> = r
        .vrrp
        .iter()
        .map(|l| (l.host.as_str(), l.iname.as_str()))
        .collect();
    assert_eq!(
        lanes,
        [("lb-a", "VI_1"), ("lb-b", "VI_1"), ("lb-c", "VI_1")]
    );
    // Each lane covers the whole axis, piece after piece (counted from its start).
    for l in &r.vrrp {
        assert_eq!(l.segments.first().unwrap().start, 0, "{l:?}");
        assert_eq!(l.segments.last().unwrap().end, r.end - r.start, "{l:?}");
        assert!(l.segments.windows(2).all(|w| w[0].end == w[1].start));
    }
    // lbA's track script and link put it in FAULT twice.
    let a = &r.vrrp[0];
    let faults = a
        .segments
        .iter()
        .filter(|s| s.state == State::Fault)
        .count();
    assert_eq!(faults, 2, "{a:?}");
    // lbA killed: its lane ends unknown after its last line, lbB stays MASTER.
    assert_eq!(a.segments.last().unwrap().state, State::Unknown);
    assert_eq!(r.vrrp[1].segments.last().unwrap().state, State::Master);
    // Where both lanes are MASTER: the split brain the engine found, drawn.
    assert_eq!(r.split_brain.len(), 1, "{:?}", r.split_brain);
    let o = &r.split_brain[0];
    assert_eq!(o.hosts, ["lb-a", "lb-b"]);
    let sb = r
        .incidents
        .iter()
        .find(|i| i.kind == "split_brain")
        .unwrap();
    assert_eq!(
        o.start * 1000,
        sb.start,
        "the overlap begins when the incident does"
    );
    assert!(o.end > o.start);
    assert!(r
        .incidents
        .iter()
        .any(|i| i.kind == "keepalived_config_error"));
    // Activity counted for every director.
    assert_eq!(r.activity.len(), 3);
    assert!(r.activity.iter().all(|a| !a.buckets.is_empty()));
}

#[test]
fn masters_that_only_touch_are_no_split_brain() {
    let mut t = Timeline::new();
    for m in [
        mark("a", 0, "vrrp_master", Some("VI_1")),
        mark("b", 0, "vrrp_backup", Some("VI_1")),
        mark("a", 10, "vrrp_backup", Some("VI_1")),
        mark("b", 10, "vrrp_master", Some("VI_1")),
        mark("a", 20, "vrrp_backup", Some("VI_1")),
        mark("b", 20, "vrrp_master", Some("VI_1")),
        // Another instance's MASTER on a is not b's partner.
        mark("a", 5, "vrrp_master", Some("VI_2")),
    ] {
        t.record(m);
    }
    let r = t.report(&Summary::default());
    assert!(r.split_brain.is_empty(), "{:?}", r.split_brain);
    let mut t = Timeline::new();
    for m in [
        mark("a", 0, "vrrp_master", Some("VI_1")),
        mark("b", 4, "vrrp_master", Some("VI_1")),
        mark("a", 9, "vrrp_backup", Some("VI_1")),
        mark("b", 20, "vrrp_master", Some("VI_1")),
    ] {
        t.record(m);
    }
    let r = t.report(&Summary::default());
    assert_eq!(r.split_brain.len(), 1);
    assert_eq!((r.split_brain[0].start, r.split_brain[0].end), (4000, 9000));
}

#[test]
fn keepalived_stopping_makes_its_instances_unknown() {
    let mut t = Timeline::new();
    t.record(mark("a", 0, "vrrp_master", Some("VI_1")));
    t.record(mark("a", 5, "keepalived_stopped", None));
    t.record(mark("a", 8, "keepalived_started", None));
    t.record(mark("a", 9, "vrrp_backup", Some("VI_1")));
    t.record(mark("a", 12, "vrrp_backup", None));
    let r = t.report(&Summary::default());
    let states: Vec<(i64, i64, State)> = r.vrrp[0]
        .segments
        .iter()
        .map(|s| (s.start, s.end, s.state))
        .collect();
    assert_eq!(
        states,
        [
            (0, 5000, State::Master),
            (5000, 9000, State::Unknown),
            (9000, 12000, State::Backup)
        ]
    );
}

#[test]
fn a_real_server_out_and_back_and_one_still_out() {
    let mut t = Timeline::new();
    let svc = |rs: &str| Some(("TCP 10.0.0.100:80".parse().unwrap(), rs.parse().unwrap()));
    for (sec, kind, rs) in [
        (0, "real_server_down", "10.1.0.11:80"),
        (1, "real_server_down", "10.1.0.11:80"),
        (7, "real_server_up", "10.1.0.11:80"),
        (8, "real_server_up", "10.1.0.11:80"),
        (3, "real_server_down", "10.1.0.12:80"),
        (10, "check_failed", "10.1.0.12:80"),
    ] {
        t.record(Mark {
            service: svc(rs),
            ..mark("lb1", sec, kind, None)
        });
    }
    let r = t.report(&Summary::default());
    assert_eq!(r.servers.len(), 2);
    let d = &r.servers[0].down;
    assert_eq!(d.len(), 1, "a repeated removal is one period: {d:?}");
    assert_eq!((d[0].start, d[0].end, d[0].open), (0, 7000, false));
    let d = &r.servers[1].down;
    assert_eq!((d[0].start, d[0].end, d[0].open), (3000, 10000, true));
    assert_eq!(r.hosts[d[0].host], "lb1");
}

#[test]
fn a_flapping_instance_is_folded_to_a_bounded_lane_that_counts_its_changes() {
    let mut t = Timeline::new();
    let n = 100_000;
    for k in 0..n {
        let kind = if k % 2 == 0 {
            "vrrp_master"
        } else {
            "vrrp_backup"
        };
        t.record(mark("a", k, kind, Some("VI_1")));
    }
    let r = t.report(&Summary::default());
    let l = &r.vrrp[0];
    assert!(l.folded);
    assert!(l.segments.len() <= MAX_SEGMENTS, "{}", l.segments.len());
    let hidden: u64 = l.segments.iter().map(|s| u64::from(s.changes)).sum();
    // Every change but those on a bucket's first instant is counted.
    assert!(
        hidden > (n as u64) * 9 / 10 && hidden < n as u64,
        "{hidden}"
    );
    assert_eq!(l.segments.first().unwrap().start, 0);
    assert_eq!(l.segments.last().unwrap().end, r.end - r.start);
    assert!(r.activity[0].buckets.len() <= ACTIVITY_BUCKETS);
}

#[test]
fn many_lanes_share_a_bounded_number_of_pieces_and_the_longest_out_are_drawn() {
    let mut t = Timeline::new();
    for k in 0..2_000i64 {
        let rs = format!("10.2.{}.{}:80", k / 250, k % 250 + 1);
        let svc = Some(("TCP 10.0.0.100:80".parse().unwrap(), rs.parse().unwrap()));
        // Server k is out for k seconds, twenty times.
        for c in 0..20 {
            let at = c * 10_000;
            out_and_back(&mut t, svc, at, at + k);
        }
    }
    for i in 0..100 {
        let iname = format!("VI_{i}");
        for k in 0..2_000 {
            let kind = if k % 2 == 0 {
                "vrrp_master"
            } else {
                "vrrp_backup"
            };
            t.record(mark("lb1", k * 100, kind, Some(&iname)));
        }
    }
    let r = t.report(&Summary::default());
    assert_eq!(r.servers.len(), MAX_SERVER_LANES);
    assert_eq!(r.servers_omitted, 2_000 - MAX_SERVER_LANES);
    // The ones drawn are those out longest.
    let index = |rs: &str| -> i64 {
        let ip = rs.trim_end_matches(":80");
        let parts: Vec<i64> = ip.split('.').map(|p| p.parse().unwrap()).collect();
        parts[2] * 250 + parts[3] - 1
    };
    let mut drawn: Vec<i64> = r.servers.iter().map(|l| index(&l.real_server)).collect();
    drawn.sort_unstable();
    assert_eq!(drawn, (1_600..2_000).collect::<Vec<i64>>());
    let pieces: usize = r.vrrp.iter().map(|l| l.segments.len()).sum::<usize>()
        + r.servers.iter().map(|l| l.down.len()).sum::<usize>();
    assert!(pieces <= MAX_PIECES, "{pieces}");
    let json = crate::report::script_json(&r).unwrap();
    assert!(json.len() < 3 << 20, "{} bytes", json.len());
}

#[test]
fn folding_passes_a_short_lane_through_and_merges_close_periods() {
    let segs = vec![Segment {
        start: 0,
        end: 10,
        state: State::Master,
        changes: 0,
    }];
    assert_eq!(fold_states(segs.clone(), 0, 10, 5), (segs, false));
    let down: Vec<DownPeriod> = (0..100)
        .map(|k| DownPeriod {
            start: k * 10,
            end: k * 10 + 2,
            host: 0,
            open: k == 99,
            count: 1,
        })
        .collect();
    let (folded, yes) = fold_down(down, 0, 1000, 10);
    assert!(yes);
    assert!(folded.len() <= 10, "{folded:?}");
    assert_eq!(folded.iter().map(|d| d.count).sum::<u32>(), 100);
    assert!(folded.last().unwrap().open);
}

/// The state a lane's pieces give at `t` (ms from the report's start).
fn state_at(segs: &[Segment], t: i64) -> State {
    segs.iter()
        .find(|s| s.start <= t && t < s.end)
        .map_or(State::Unknown, |s| s.state)
}

#[test]
fn a_lane_flapping_for_two_weeks_holds_bounded_points_and_is_drawn_like_the_exact_one() {
    // Two weeks, a change every few seconds in bursts, long calm stretches between: what
    // the page shows must not depend on whether the lane was coarsened on the way.
    let mut t = Timeline::new();
    let mut exact: Vec<(i64, State, u32)> = Vec::new();
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut sec = 0i64;
    let mut master = false;
    while sec < 14 * 86_400 {
        let burst = next() % 50 != 0;
        sec += if burst {
            1 + (next() % 5) as i64
        } else {
            600 + (next() % 3600) as i64
        };
        master = !master;
        let (kind, state) = if master {
            ("vrrp_master", State::Master)
        } else {
            ("vrrp_backup", State::Backup)
        };
        t.record(mark("lb1", sec, kind, Some("VI_1")));
        exact.push((sec * S, state, 0));
    }
    let n = exact.len();
    let lane = &t.hosts[0].vrrp["VI_1"];
    assert!(lane.coarsened());
    assert!(lane.len() <= bounded::lane_cap(1), "{} points", lane.len());
    let last = t.hosts[0].last;
    let r = t.report(&Summary::default());
    let drawn = &r.vrrp[0].segments;
    // The exact lane folded the way the page folds it, from every change.
    let (start, end) = (r.start, r.end);
    let (want, _) = fold_states(
        host_segments(&exact, last, start, end),
        start,
        end,
        MAX_SEGMENTS,
    );
    let want: Vec<Segment> = want
        .iter()
        .map(|s| Segment {
            start: s.start - start,
            end: s.end - start,
            ..*s
        })
        .collect();
    let samples = 10_000;
    let same = (0..samples)
        .map(|k| (end - start) * k / samples)
        .filter(|&at| state_at(drawn, at) == state_at(&want, at))
        .count();
    assert!(
        same * 1000 >= samples as usize * 995,
        "{same} of {samples} alike"
    );
    let counted: u64 = drawn.iter().map(|s| u64::from(s.changes)).sum();
    assert!(
        counted > n as u64 * 9 / 10 && counted <= n as u64,
        "{counted} of {n}"
    );
}

#[test]
fn a_real_server_out_a_million_times_keeps_bounded_periods_and_every_count() {
    let mut t = Timeline::new();
    let svc = Some((
        "TCP 10.0.0.100:80".parse().unwrap(),
        "10.2.0.11:80".parse().unwrap(),
    ));
    let n = 200_000i64;
    for k in 0..n {
        let at = k * 10;
        out_and_back(&mut t, svc, at, at + 3);
    }
    // Out for good at the end.
    t.record(Mark {
        service: svc,
        ..mark("lb1", n * 10, "real_server_down", None)
    });
    let lane = t.servers.values().next().unwrap();
    assert!(lane.periods().count() <= bounded::lane_cap(1));
    assert_eq!(
        lane.out_for(n * 10 * S),
        n * 3 * S,
        "closed periods exactly"
    );
    let r = t.report(&Summary::default());
    let down = &r.servers[0].down;
    assert!(r.servers[0].folded);
    assert!(down.len() <= MAX_SEGMENTS, "{}", down.len());
    assert_eq!(down.iter().map(|d| i64::from(d.count)).sum::<i64>(), n + 1);
    assert!(down.last().unwrap().open);
}

#[test]
fn a_year_of_lines_keeps_bounded_activity_cells_and_every_line() {
    let mut t = Timeline::new();
    let minutes = 365 * 24 * 60;
    for m in 0..minutes {
        t.record(mark("lb1", m * 60, "check_failed", None));
    }
    assert!(t.hosts[0].activity.len() <= 8 * ACTIVITY_BUCKETS);
    let r = t.report(&Summary::default());
    let a = &r.activity[0];
    assert!(
        a.buckets.len() <= ACTIVITY_BUCKETS + 1,
        "{}",
        a.buckets.len()
    );
    let lines: i64 = a.buckets.iter().map(|b| b[1] + b[2] + b[3]).sum();
    assert_eq!(lines, minutes);
}

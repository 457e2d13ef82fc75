//! The snapshot detectors on real captures of the VM harness: the kernel's table (its
//! /proc files and the netlink replies recorded in the same run) and keepalived's own
//! dumps.

use super::*;
use crate::incidents::observe::{Instance, Keepalived, Observation};
use crate::ipvs::netlink::Recording;
use crate::ipvs::source::ProcSource;
use crate::ipvs::{IpvsOptions, IpvsReader};
use crate::keepalived::dump;
use crate::keepalived::model::KeepalivedState;
use std::path::PathBuf;
use std::sync::Arc;

fn capture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/kernel")
        .join(name)
}

/// The kernel's table of a capture, read as `serve` reads it (netlink, from the recording).
fn ipvs(name: &str) -> crate::ipvs::reader::Snapshot {
    let dir = capture(name);
    let rec = Recording::parse(&std::fs::read_to_string(dir.join("netlink.rec")).unwrap()).unwrap();
    let opts = IpvsOptions {
        netlink_replay: Some(Arc::new(rec)),
        ..IpvsOptions::default()
    };
    let health = Arc::new(crate::health::Health::default());
    IpvsReader::new(ProcSource::Dir(dir.join("proc")), opts, health).read()
}

/// keepalived's dumps in `dir` (JSON, stats, check data), as the reader merges them.
fn keepalived(dir: &std::path::Path) -> crate::keepalived::Snapshot {
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
    let mut instances = dump::parse_json(&read("keepalived.json")).unwrap();
    for (iname, stats) in dump::parse_stats(&read("keepalived.stats")).unwrap() {
        if let Some(i) = instances.iter_mut().find(|i| i.iname == iname) {
            i.stats = Some(stats);
        }
    }
    crate::keepalived::Snapshot {
        up: true,
        state: KeepalivedState {
            instances,
            virtual_services: dump::parse_check_data(&read("keepalived_check.data")).unwrap(),
        },
        ..Default::default()
    }
}

const S: i64 = 1_000_000;

/// `(kind, vs, rs, open)` of every incident.
fn found(e: &Engine) -> Vec<(String, Option<String>, Option<String>, bool)> {
    e.incidents()
        .into_iter()
        .map(|i| {
            let open = i.end.is_none();
            (i.kind.to_string(), i.virtual_service, i.real_server, open)
        })
        .collect()
}

fn own(
    v: &[(&str, Option<&str>, Option<&str>, bool)],
) -> Vec<(String, Option<String>, Option<String>, bool)> {
    v.iter()
        .map(|(k, vs, rs, o)| {
            (
                k.to_string(),
                vs.map(str::to_string),
                rs.map(str::to_string),
                *o,
            )
        })
        .collect()
}

#[test]
fn a_checker_removed_real_server_is_out_after_two_looks_and_back_when_added_again() {
    let table = ipvs("keepalived_check");
    let ka = keepalived(&capture("keepalived_check").join("keepalived"));
    let obs = |t| Observation::of(&table, Some(&ka), t);
    let mut e = Engine::new(Settings::default());
    e.observe("lb", &obs(100 * S));
    assert!(
        found(&e).is_empty(),
        "one look opens nothing: {:?}",
        found(&e)
    );
    // Between looks only what holds is remembered (rs2 out of both services): the healthy
    // servers and services, and keepalived answering, keep no streak (on a large director
    // they were most of what the engine held at rest).
    let streaks = |e: &Engine| e.host_ref("lb").map_or(0, |h| h.watch.streak.len());
    assert_eq!(streaks(&e), 2);
    e.observe("lb", &obs(105 * S));
    // rs2 of port 80 left the table when its TCP_CHECK failed; rs1 still serves, so the
    // service is up (its quorum of 2 is the log's verdict, not the table's).
    let rs_down = (
        "real_server_down",
        Some("TCP 10.0.0.100:80"),
        Some("10.1.0.12:80"),
        true,
    );
    // rs2 left the table of both services when its TCP_CHECKs failed; rs1 still serves,
    // so the services are up (port 80's quorum of 2 is the log's verdict, not the table's).
    let rs_down2 = (rs_down.0, Some("TCP 10.0.0.100:8080"), rs_down.2, true);
    assert_eq!(found(&e), own(&[rs_down, rs_down2]));
    let inc = &e.incidents()[0];
    assert_eq!(inc.start, 105 * S);
    assert!(
        inc.summary.contains("not in the kernel's table"),
        "{}",
        inc.summary
    );
    assert!(
        inc.summary.contains("checker says it is down"),
        "{}",
        inc.summary
    );
    // Further looks change nothing (no repeat counted).
    e.observe("lb", &obs(110 * S));
    assert_eq!(e.incidents()[0].count, 1);

    // keepalived added it back: the same table with rs2 as keepalived's initial dump shows
    // it (weight 1), and the checker's verdict from that dump.
    let mut back = obs(115 * S);
    let before = keepalived(&capture("keepalived_check").join("keepalived/initial"));
    back.keepalived = Observation::of(&table, Some(&before), 0).keepalived;
    for svc in back.table.as_mut().unwrap() {
        let mut rs2 = svc.dests[0].clone();
        rs2.id = "10.1.0.12:80".parse().unwrap();
        svc.dests.push(rs2);
    }
    e.observe("lb", &back);
    assert!(found(&e)[0].3, "one look does not close");
    back.time = 120 * S;
    e.observe("lb", &back);
    let closed = |r: (
        &'static str,
        Option<&'static str>,
        Option<&'static str>,
        bool,
    )| (r.0, r.1, r.2, false);
    assert_eq!(found(&e), own(&[closed(rs_down), closed(rs_down2)]));
    assert_eq!(e.incidents()[0].end, Some(120 * S));
}

#[test]
fn an_event_opened_incident_is_not_closed_by_a_look() {
    // keepalived's "Lost quorum" opens virtual_service_down while rs1 still has a weight in
    // the table: a look must not close it; keepalived's "Gained quorum" will.
    let table = ipvs("keepalived_check");
    let ka = keepalived(&capture("keepalived_check").join("keepalived"));
    let mut e = Engine::new(Settings::default());
    let line = "Lost quorum 1-0=1 > 0 for VS [10.0.0.100]:tcp:80";
    let event = |kind| Seen {
        time: Some(100 * S),
        kind,
        iname: None,
        vs: Some("TCP 10.0.0.100:80".parse().unwrap()),
        rs: None,
        script: None,
        interface: None,
        peer: None,
        message: line,
        line: line.as_bytes(),
    };
    e.seen(event("quorum_lost"), "lb");
    for n in 1..=4 {
        e.observe(
            "lb",
            &Observation::of(&table, Some(&ka), (100 + n * 10) * S),
        );
    }
    let vs_down: Vec<_> = e
        .incidents()
        .into_iter()
        .filter(|i| i.kind == "virtual_service_down")
        .collect();
    assert_eq!(vs_down.len(), 1);
    assert_eq!(vs_down[0].end, None, "closed by a look: {vs_down:?}");
    assert_eq!(vs_down[0].start, 100 * S);
}

#[test]
fn a_nat_real_server_whose_replies_never_come_back_is_found_alone() {
    // broken_return: rs2's default route points away from the director; its SYNs arrive
    // (10 packets in) and nothing goes out. rs1 answers.
    let table = ipvs("broken_return");
    let mut e = Engine::new(Settings::default());
    e.observe("lb", &Observation::of(&table, None, 100 * S));
    e.observe("lb", &Observation::of(&table, None, 105 * S));
    assert_eq!(
        found(&e),
        own(&[(
            "nat_return_path_broken",
            Some("TCP 10.0.0.100:80"),
            Some("10.1.0.12:80"),
            true
        )])
    );
    let inc = &e.incidents()[0];
    assert!(
        inc.evidence[0].line.contains("10 packets in, 0 out"),
        "{:?}",
        inc.evidence
    );
    // Replies flow again: it closes.
    let mut fixed = Observation::of(&table, None, 110 * S);
    for s in fixed.table.as_mut().unwrap() {
        for d in &mut s.dests {
            if let Some((i, o)) = d.packets.as_mut() {
                *i += 20;
                *o += 15;
            }
        }
    }
    e.observe("lb", &fixed);
    fixed.time = 115 * S;
    e.observe("lb", &fixed);
    assert!(!found(&e)[0].3, "{:?}", found(&e));
}

#[test]
fn the_same_table_read_from_proc_has_no_counters_and_no_verdict() {
    let dir = capture("broken_return");
    let opts = IpvsOptions {
        source: crate::ipvs::reader::SourceChoice::Procfs,
        ..IpvsOptions::default()
    };
    let health = Arc::new(crate::health::Health::default());
    let table = IpvsReader::new(ProcSource::Dir(dir.join("proc")), opts, health).read();
    let mut e = Engine::new(Settings::default());
    for t in [100, 105, 110] {
        e.observe("lb", &Observation::of(&table, None, t * S));
    }
    assert!(found(&e).is_empty(), "{:?}", found(&e));
}

fn instance(master: bool, adverts_in: u64, become_master: u64) -> Keepalived {
    Keepalived {
        up: true,
        error: None,
        services: vec![],
        instances: vec![Instance {
            iname: "VI_WEB".into(),
            vrid: 51,
            master,
            adverts_in,
            become_master,
        }],
    }
}

#[test]
fn a_master_that_keeps_receiving_adverts_is_half_of_a_split_brain() {
    let mut e = Engine::new(Settings::default());
    let look = |e: &mut Engine, t: i64, k: Keepalived| {
        e.observe(
            "lb-a",
            &Observation {
                time: t * S,
                table: None,
                keepalived: Some(k),
            },
        )
    };
    // The real keepalived dump of a lone MASTER: no advert received.
    let ka = keepalived(&capture("keepalived_check").join("keepalived"));
    for t in [0, 5, 10] {
        e.observe(
            "lb-a",
            &Observation::of(&Default::default(), Some(&ka), t * S),
        );
    }
    assert!(found(&e).is_empty(), "{:?}", found(&e));
    // A lower-priority peer's single advert (it yields at once) is no split brain.
    look(&mut e, 15, instance(true, 1, 1));
    look(&mut e, 20, instance(true, 2, 1));
    look(&mut e, 25, instance(true, 2, 1));
    assert!(found(&e).is_empty(), "{:?}", found(&e));
    // Another master's adverts, one a second.
    look(&mut e, 30, instance(true, 7, 1));
    look(&mut e, 35, instance(true, 12, 1));
    let got = e.incidents();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(
        (got[0].kind, got[0].iname.as_deref(), got[0].host.as_deref()),
        ("split_brain", Some("VI_WEB"), Some("lb-a"))
    );
    assert_eq!(got[0].start, 35 * S);
    // It stops being MASTER: over.
    look(&mut e, 40, instance(false, 13, 1));
    look(&mut e, 45, instance(false, 13, 1));
    assert_eq!(e.incidents()[0].end, Some(45 * S));
}

#[test]
fn keepalived_not_answering_is_down_only_once_it_was_seen() {
    let mut e = Engine::new(Settings::default());
    let down = Keepalived {
        up: false,
        error: None,
        ..Keepalived::default()
    };
    let look = |e: &mut Engine, t: i64, k: &Keepalived| {
        e.observe(
            "lb",
            &Observation {
                time: t * S,
                table: None,
                keepalived: Some(k.clone()),
            },
        )
    };
    // A host without keepalived.
    for t in [0, 5, 10] {
        look(&mut e, t, &down);
    }
    assert!(found(&e).is_empty());
    let up = instance(true, 0, 1);
    look(&mut e, 15, &up);
    look(&mut e, 20, &down);
    look(&mut e, 25, &down);
    assert_eq!(found(&e), own(&[("keepalived_down", None, None, true)]));
    look(&mut e, 30, &up);
    look(&mut e, 35, &up);
    assert_eq!(found(&e), own(&[("keepalived_down", None, None, false)]));
}

#[test]
fn a_real_server_taken_out_of_the_configuration_is_no_longer_down() {
    // keepalived logs "Removing service" for a reload that drops a real server as for a
    // failed check; its next dump no longer lists it, and that ends the incident.
    let table = ipvs("keepalived_check");
    let mut ka = keepalived(&capture("keepalived_check").join("keepalived"));
    let mut e = Engine::new(Settings::default());
    let line = "Removing service [10.1.0.12]:tcp:80 from VS [10.0.0.100]:tcp:80";
    e.seen(
        Seen {
            time: Some(100 * S),
            kind: "real_server_down",
            iname: None,
            vs: Some("TCP 10.0.0.100:80".parse().unwrap()),
            rs: Some("10.1.0.12:80".parse().unwrap()),
            script: None,
            interface: None,
            peer: None,
            message: line,
            line: line.as_bytes(),
        },
        "lb",
    );
    e.observe("lb", &Observation::of(&table, Some(&ka), 105 * S));
    assert_eq!(
        e.incidents().iter().filter(|i| i.end.is_none()).count(),
        1,
        "still configured: down"
    );
    for vs in &mut ka.state.virtual_services {
        vs.real_servers
            .retain(|r| r.id() != Some("10.1.0.12:80".parse().unwrap()));
    }
    e.observe("lb", &Observation::of(&table, Some(&ka), 110 * S));
    let open: Vec<_> = e
        .incidents()
        .into_iter()
        .filter(|i| i.end.is_none())
        .collect();
    assert!(open.is_empty(), "{open:#?}");
    let closed = e
        .incidents()
        .into_iter()
        .find(|i| i.start == 100 * S)
        .unwrap();
    assert_eq!(closed.end, Some(110 * S));
    assert!(closed
        .evidence
        .iter()
        .any(|ev| ev.line.contains("no longer a real server")));
}

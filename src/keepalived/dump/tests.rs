//! The parsers against real dumps from the VM harness (`keepalived_check`, keepalived
//! 2.2.7): everything up (`initial/`), then rs2 taken out by its TCP_CHECK.

use super::*;
use crate::keepalived::model::VsAddress;

macro_rules! fixture {
    ($f:literal) => {
        include_str!(concat!(
            "../../../tests/fixtures/kernel/keepalived_check/keepalived/",
            $f
        ))
    };
}

const JSON: &str = fixture!("keepalived.json");
const STATS: &str = fixture!("keepalived.stats");
const CHECK: &str = fixture!("keepalived_check.data");
const CHECK_INITIAL: &str = fixture!("initial/keepalived_check.data");
const STATS_INITIAL: &str = fixture!("initial/keepalived.stats");
const JSON_INITIAL: &str = fixture!("initial/keepalived.json");

#[test]
fn the_json_dump_gives_state_priorities_and_counters() {
    let v = parse_json(JSON).unwrap();
    assert_eq!(v.len(), 1);
    let i = &v[0];
    assert_eq!(
        (i.iname.as_str(), i.vrid, i.interface.as_str()),
        ("VI_LB", 77, "c-dir")
    );
    assert_eq!(
        (i.state, i.wanted_state),
        (2, 2),
        "alone on its link: MASTER"
    );
    assert_eq!((i.priority_base, i.priority_effective), (120, 120));
    assert_eq!(i.vips, 1);
    assert!(i.last_transition > 1.7e9);
    let s = i.stats.as_ref().unwrap();
    assert_eq!(s.become_master, 1);
    assert!(s.advert_sent > 0);
}

#[test]
fn the_stats_file_agrees_with_the_json_counters() {
    // Both were dumped on the same signal round; adverts may tick between the two writes.
    for (json, stats) in [(JSON, STATS), (JSON_INITIAL, STATS_INITIAL)] {
        let j = parse_json(json).unwrap();
        let s = parse_stats(stats).unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].0, j[0].iname);
        let (js, ss) = (j[0].stats.clone().unwrap(), s[0].1.clone());
        assert!(ss.advert_sent.abs_diff(js.advert_sent) <= 1);
        assert_eq!(
            VrrpStats {
                advert_sent: 0,
                ..ss
            },
            VrrpStats {
                advert_sent: 0,
                ..js
            }
        );
    }
}

#[test]
fn version_2_roots_carry_the_same_instances() {
    let v2 = format!("{{\"vrrp\":{JSON},\"track_process\":[]}}");
    assert_eq!(parse_json(&v2).unwrap(), parse_json(JSON).unwrap());
}

#[test]
fn the_password_is_never_part_of_the_model() {
    assert!(
        JSON.contains("vmS3cret"),
        "the fixture carries the password in clear"
    );
    let v = parse_json(JSON).unwrap();
    assert!(!format!("{v:?}").contains("vmS3cret"));
    assert!(!serde_json::to_string(&v).unwrap().contains("vmS3cret"));
}

/// A prefix of the check data that reaches the checkers' section holds the whole topology;
/// any shorter prefix must be refused.
#[test]
fn every_prefix_of_a_dump_is_an_error_never_a_smaller_state() {
    let whole = JSON.trim_end().len();
    for n in 0..whole {
        let e = parse_json(&JSON[..n]).unwrap_err();
        // serde's message must not quote the cut-off text (the password is in there).
        assert!(!e.to_string().contains("vmS3"), "{e}");
    }
    for n in 0..STATS.len() {
        assert!(
            parse_stats(&STATS[..n]).is_err(),
            "stats prefix of {n} bytes parsed"
        );
    }
    let full = parse_check_data(CHECK).unwrap();
    let topology_end = CHECK.find("------< Health checkers").unwrap();
    for n in (0..CHECK.len()).filter(|n| CHECK.is_char_boundary(*n)) {
        match parse_check_data(&CHECK[..n]) {
            Ok(v) => assert!(n > topology_end && v == full, "check prefix of {n} bytes"),
            Err(_) => assert!(n < CHECK.len()),
        }
    }
}

#[test]
fn check_data_follows_the_checkers_and_ipvsadm() {
    let vs = parse_check_data(CHECK).unwrap();
    let names: Vec<_> = vs.iter().map(|v| v.canonical()).collect();
    assert_eq!(names, ["[10.0.0.100]:tcp:80", "[10.0.0.100]:tcp:8080"]);
    assert_eq!(
        vs[0].address,
        Some(VsAddress::Inet {
            ip: "10.0.0.100".parse().unwrap(),
            port: 80
        })
    );
    // quorum 2 with one real server left: lost; 8080 has keepalived's default of 1.
    assert_eq!(
        (vs[0].quorum, vs[0].quorum_up, vs[0].has_quorum()),
        (2, false, true)
    );
    assert!(!vs[1].has_quorum());
    // The oracle: ipvsadm -Ln taken with the dump lists exactly the alive real servers.
    let ipvsadm = fixture!("ipvsadm-Ln.txt");
    for v in &vs {
        for rs in &v.real_servers {
            let ip = rs.ip.unwrap();
            let listed = ipvsadm.contains(&format!("-> {ip}:{}", rs.port));
            assert_eq!(
                listed,
                rs.alive,
                "{} in {}",
                rs.canonical(v.protocol),
                v.canonical()
            );
        }
    }
    let rs2: Vec<_> = vs.iter().map(|v| v.real_servers[1].alive).collect();
    assert_eq!(rs2, [false, false]);
    let w: Vec<_> = vs[1].real_servers.iter().map(|r| r.weight).collect();
    assert_eq!(w, [3, 2]);
}

#[test]
fn before_the_kill_every_real_server_is_up_and_quorum_held() {
    let vs = parse_check_data(CHECK_INITIAL).unwrap();
    assert!(vs.iter().flat_map(|v| &v.real_servers).all(|r| r.alive));
    assert!(vs[0].quorum_up);
}

#[test]
fn ipv6_and_fwmark_services_get_keepalived_log_names() {
    let v6 = VirtualService {
        address: Some(VsAddress::Inet {
            ip: "fd00::1".parse().unwrap(),
            port: 443,
        }),
        protocol: Protocol::Udp,
        ..VirtualService::default()
    };
    assert_eq!(v6.canonical(), "[fd00::1]:udp:443");
    let fwm = VirtualService {
        address: Some(VsAddress::Fwmark(5)),
        ..VirtualService::default()
    };
    assert_eq!(fwm.canonical(), "FWM 5");
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    for s in ["", "x", "{}", "[{}]", "[1]", "{\"vrrp\":3}", "\u{0}"] {
        assert!(parse_json(s).is_err(), "{s:?}");
    }
    assert!(parse_stats("VRRP Instance: x\n  Sent: 1\n").is_err());
    assert!(parse_check_data("------< Real server >------\n RIP = x\n").is_err());
}

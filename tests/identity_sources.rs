//! One identity from every source: for every real-kernel capture, the services and real
//! servers the kernel's own `ipvsadm -Ln` printed (parsed as a person would type them) are
//! exactly those lvsmon's netlink reader and /proc reader produce; and keepalived's dumps
//! name the services and real servers the kernel of the same capture holds.

mod common;

use common::*;
use lvsmon::ipvs::netlink::Recording;
use lvsmon::ipvs::source::ProcSource;
use lvsmon::ipvs::{IpvsOptions, IpvsReader, SourceChoice};
use lvsmon::model::{FwmFamily, RealServerId, VirtualServiceId};
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

type Table = BTreeSet<(VirtualServiceId, Vec<RealServerId>)>;

/// `ipvsadm -Ln` as identities: service lines parsed by `FromStr` (`TCP  10.0.0.100:80 rr`,
/// `FWM  7 IPv6 sh`), `->` lines as real servers. A bare `FWM 7` is IPv4 to ipvsadm.
fn ipvsadm(text: &str) -> Table {
    let mut out = Vec::<(VirtualServiceId, Vec<RealServerId>)>::new();
    for line in text.lines().skip(3) {
        let tok: Vec<&str> = line.split_whitespace().collect();
        match tok.as_slice() {
            ["->", addr, ..] => {
                let rs: RealServerId = addr.parse().unwrap_or_else(|e| panic!("{line}: {e}"));
                out.last_mut().expect("a service first").1.push(rs);
            }
            ["FWM", mark, "IPv6", ..] => {
                out.push((format!("FWM {mark} IPv6").parse().unwrap(), vec![]));
            }
            ["FWM", mark, ..] => {
                let id: VirtualServiceId = format!("FWM {mark}").parse().unwrap();
                out.push((id.with_fwm_family(FwmFamily::V4), vec![]));
            }
            [proto, addr, ..] => {
                let id = format!("{proto} {addr}")
                    .parse()
                    .unwrap_or_else(|e| panic!("{line}: {e}"));
                out.push((id, vec![]));
            }
            [] | [_] => {}
        }
    }
    sorted(out)
}

fn sorted(v: Vec<(VirtualServiceId, Vec<RealServerId>)>) -> Table {
    v.into_iter()
        .map(|(s, mut r)| {
            r.sort();
            (s, r)
        })
        .collect()
}

/// What lvsmon's reader makes of the capture: over its recorded netlink replies when it
/// has them, else /proc.
fn lvsmon(capture: &Path, netlink: bool) -> Table {
    let mut opts = IpvsOptions {
        source: SourceChoice::Procfs,
        ..IpvsOptions::default()
    };
    if netlink {
        let rec = Recording::parse(&read(&capture.join("netlink.rec"))).unwrap();
        opts.netlink_replay = Some(Arc::new(rec));
    }
    let health = Arc::new(lvsmon::health::Health::default());
    let reader = IpvsReader::new(ProcSource::Dir(capture.join("proc")), opts, health);
    let snap = reader.read();
    assert!(snap.table_ok(), "{}: {:?}", capture.display(), snap.reads);
    let table = snap.table.expect("a table");
    sorted(
        table
            .services
            .iter()
            .map(|s| {
                (
                    s.id(),
                    s.dests
                        .iter()
                        .map(|d| RealServerId {
                            addr: d.addr,
                            port: d.port,
                        })
                        .collect(),
                )
            })
            .collect(),
    )
}

#[test]
fn netlink_and_ipvsadm_name_the_same_services_and_real_servers() {
    let mut checked = 0;
    for cap in kernel_captures() {
        if !cap.join("netlink.rec").exists() || !cap.join("ipvsadm/Ln.txt").exists() {
            continue;
        }
        let want = ipvsadm(&read(&cap.join("ipvsadm/Ln.txt")));
        let got = lvsmon(&cap, true);
        assert_eq!(got, want, "{}", cap.display());
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} captures with netlink replies");
}

#[test]
fn proc_names_them_too_except_the_family_of_a_firewall_mark() {
    for cap in kernel_captures() {
        if !cap.join("ipvsadm/Ln.txt").exists() {
            continue;
        }
        let want = ipvsadm(&read(&cap.join("ipvsadm/Ln.txt")));
        let got = lvsmon(&cap, false);
        // /proc prints `FWM 7` for both families: the identities match, not equal.
        assert_eq!(got.len(), want.len(), "{}", cap.display());
        for (id, servers) in &want {
            assert!(
                got.iter().any(|(g, s)| g.matches(id) && s == servers),
                "{}: {id} {servers:?} not read from /proc",
                cap.display()
            );
        }
    }
}

#[test]
fn keepalived_names_what_the_kernel_of_the_same_director_holds() {
    let cap = root().join("tests/fixtures/kernel/keepalived_check");
    let dump = read(&cap.join("keepalived/keepalived_check.data"));
    let services = lvsmon::keepalived::dump::parse_check_data(&dump).unwrap();
    let kernel = ipvsadm(&read(&cap.join("keepalived/ipvsadm-Ln.txt")));
    assert!(!services.is_empty());
    for vs in &services {
        let id = vs.id().expect("an identity");
        let (_, in_kernel) = kernel
            .iter()
            .find(|(k, _)| k.matches(&id))
            .unwrap_or_else(|| panic!("{id} not in the kernel: {kernel:?}"));
        // The kernel holds exactly the real servers keepalived's checkers call alive.
        let alive: Vec<RealServerId> = vs
            .real_servers
            .iter()
            .filter(|r| r.alive)
            .map(|r| r.id().expect("an address"))
            .collect();
        let mut alive = alive;
        alive.sort();
        assert_eq!(in_kernel, &alive, "{id}");
    }
}

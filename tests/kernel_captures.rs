//! lvsmon against real kernels: every capture under tests/fixtures/kernel/ (made by the VM
//! harness in tests/vm/ from a Debian kernel) is exported, and the result is compared with
//! what the kernel's own tool, ipvsadm, printed for the same table at the same moment.

mod common;

use common::*;
use lvsmon::ipvs::source::ProcSource;
use lvsmon::ipvs::IpvsOptions;
use lvsmon::metrics::{Exporter, Format};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// One service as `ipvsadm -Ln` prints it.
#[derive(Debug)]
struct AdmService {
    proto: String,
    addr: String,
    port: String,
    mark: String,
    /// `FWM 7 IPv6`: an IPv6 firewall-mark service.
    fwm_v6: bool,
    scheduler: String,
    persistent: bool,
    ops: bool,
    dests: Vec<AdmDest>,
}

#[derive(Debug)]
struct AdmDest {
    addr: String,
    port: String,
    forward: String,
    weight: f64,
    active: f64,
    inactive: f64,
}

fn split_addr(s: &str) -> (String, String) {
    let (a, p) = s.rsplit_once(':').unwrap();
    (
        a.trim_start_matches('[').trim_end_matches(']').to_string(),
        p.to_string(),
    )
}

fn parse_ipvsadm_ln(text: &str) -> Vec<AdmService> {
    let mut out: Vec<AdmService> = Vec::new();
    for line in text.lines().skip(3) {
        let tok: Vec<&str> = line.split_whitespace().collect();
        if tok.is_empty() {
            continue;
        }
        if tok[0] == "->" {
            let (addr, port) = split_addr(tok[1]);
            out.last_mut().unwrap().dests.push(AdmDest {
                addr,
                port,
                forward: tok[2].to_lowercase(),
                weight: tok[3].parse().unwrap(),
                active: tok[4].parse().unwrap(),
                inactive: tok[5].parse().unwrap(),
            });
            continue;
        }
        // ipvsadm writes `FWM  7 IPv6 sh` for an IPv6 firewall-mark service.
        let fwm_v6 = tok[0] == "FWM" && tok[2] == "IPv6";
        let tok: Vec<&str> = if fwm_v6 {
            [&tok[..2], &tok[3..]].concat()
        } else {
            tok
        };
        let (addr, port, mark) = if tok[0] == "FWM" {
            (String::new(), "0".to_string(), tok[1].to_string())
        } else {
            let (a, p) = split_addr(tok[1]);
            (a, p, String::new())
        };
        out.push(AdmService {
            proto: tok[0].to_string(),
            addr,
            port,
            mark,
            fwm_v6,
            scheduler: tok[2].to_string(),
            persistent: tok.contains(&"persistent"),
            ops: tok.contains(&"ops"),
            dests: Vec::new(),
        });
    }
    out
}

fn export(capture: &Path) -> Vec<Sample> {
    let opts = IpvsOptions {
        conntable: true,
        ..IpvsOptions::default()
    };
    let text =
        Exporter::ipvs(ProcSource::Dir(capture.join("proc")), opts).render(Format::Prometheus);
    parse_exposition(&text)
}

/// The pages to check for a capture: lvsmon run here on the captured files, and, when the
/// VM harness ran lvsmon inside the guest on the live /proc, the page it printed there.
fn pages(capture: &Path) -> Vec<(String, Vec<Sample>)> {
    let mut v = vec![(format!("{} (replayed)", capture.display()), export(capture))];
    let in_vm = capture.join("lvsmon-conntable.metrics");
    if in_vm.is_file() {
        v.push((
            format!("{} (in the VM)", capture.display()),
            parse_exposition(&read(&in_vm)),
        ));
    }
    v
}

/// The labels of an ipvsadm service on a page; over netlink an IPv6 firewall-mark service
/// is its own, at `local_address` `::`.
fn service_key(s: &AdmService, netlink: bool) -> Vec<(&str, &str)> {
    let addr = if netlink && s.fwm_v6 {
        "::"
    } else {
        s.addr.as_str()
    };
    vec![
        ("proto", s.proto.as_str()),
        ("local_address", addr),
        ("local_port", s.port.as_str()),
        ("local_mark", s.mark.as_str()),
    ]
}

#[test]
fn every_capture_parses_cleanly_and_every_collector_is_up() {
    for cap in kernel_captures() {
        for (name, samples) in pages(&cap) {
            for c in ["ipvs", "ipvs_stats", "ipvs_percpu", "ipvs_conntable"] {
                let up = one(&samples, "lvsmon_collector_up", &[("collector", c)]);
                assert_eq!(up.value, 1.0, "{name}: collector {c} down");
            }
        }
    }
}

#[test]
fn services_and_backends_equal_what_ipvsadm_printed() {
    for cap in kernel_captures() {
        let adm = parse_ipvsadm_ln(&read(&cap.join("ipvsadm/Ln.txt")));
        for (name, samples) in pages(&cap) {
            check_services(&name, &samples, &adm);
        }
    }
}

type Key<'a> = Vec<(&'a str, &'a str)>;

fn check_services(name: &str, samples: &[Sample], adm: &[AdmService]) {
    // ipvsadm lists an IPv4 and an IPv6 firewall-mark service with the same mark apart;
    // /proc cannot, and lvsmon exports them as one service identity there: group likewise.
    // Over netlink (the page lvsmon printed in the VM, as root) they are two.
    let netlink = find(samples, "lvsmon_ipvs_source_info", &[("source", "netlink")]).len() == 1;
    let mut groups: Vec<(Key, Vec<&AdmService>)> = Vec::new();
    let mut at: HashMap<Key, usize> = HashMap::new();
    for svc in adm {
        let key = service_key(svc, netlink);
        match at.get(&key) {
            Some(&i) => groups[i].1.push(svc),
            None => {
                at.insert(key.clone(), groups.len());
                groups.push((key, vec![svc]));
            }
        }
    }
    let idx = Index::new(samples);
    let mut dests = 0;
    let mut infos = 0;
    for (key, members) in &groups {
        let info = idx.get("ipvs_service_info", key);
        for svc in members {
            let mine: Vec<_> = info
                .iter()
                .filter(|i| i.label("scheduler") == svc.scheduler)
                .collect();
            assert!(
                !mine.is_empty(),
                "{name}: {key:?} has no info with scheduler {}",
                svc.scheduler
            );
            let flags = mine[0].label("flags");
            assert_eq!(
                flags.contains("persistent"),
                svc.persistent,
                "{name}: {key:?}"
            );
            // Kernels up to at least 6.1 print no `ops` on IPv6 service lines of
            // /proc/net/ip_vs (ip_vs_info_seq_show's IPv6 format has no slot for it); only
            // netlink can tell. For IPv4 and FWM the flag must match ipvsadm's.
            if svc.addr.contains(':') {
                assert!(!flags.contains("ops") || svc.ops, "{name}: {key:?}");
            } else {
                assert_eq!(flags.contains("ops"), svc.ops, "{name}: {key:?}");
            }
        }
        infos += info.len();
        let all: Vec<&AdmDest> = members.iter().flat_map(|s| &s.dests).collect();
        let n = idx.one("ipvs_service_backends", key).value;
        assert_eq!(n, all.len() as f64, "{name}: {key:?}");
        let avail = all.iter().filter(|d| d.weight > 0.0).count() as f64;
        assert_eq!(idx.one("ipvs_service_backends_available", key).value, avail);
        for d in all {
            dests += 1;
            let mut k = key.clone();
            k.push(("remote_address", &d.addr));
            k.push(("remote_port", &d.port));
            assert_eq!(
                idx.one("ipvs_backend_weight", &k).value,
                d.weight,
                "{name}: {k:?}"
            );
            assert_eq!(
                idx.one("ipvs_backend_connections_active", &k).value,
                d.active
            );
            assert_eq!(
                idx.one("ipvs_backend_connections_inactive", &k).value,
                d.inactive
            );
            assert_eq!(idx.one("ipvs_backend_info", &k).label("forward"), d.forward);
        }
    }
    assert_eq!(
        find(samples, "ipvs_service_info", &[]).len(),
        infos,
        "{name}: extra services"
    );
    assert_eq!(
        find(samples, "ipvs_service_backends", &[]).len(),
        groups.len(),
        "{name}: extra services"
    );
    assert_eq!(
        find(samples, "ipvs_backend_weight", &[]).len(),
        dests,
        "{name}: extra backends"
    );
}

#[test]
fn per_cpu_counters_add_up_to_the_kernels_totals() {
    // ip_vs_stats and ip_vs_stats_percpu are different files with different layouts; the
    // kernel computes both from the same per-CPU counters, so their sums must agree.
    for cap in kernel_captures() {
        let samples = export(&cap);
        for f in [
            "connections",
            "incoming_packets",
            "outgoing_packets",
            "incoming_bytes",
            "outgoing_bytes",
        ] {
            let total = one(&samples, &format!("ipvs_{f}_total"), &[]).value;
            let sum: f64 = find(&samples, &format!("ipvs_cpu_{f}_total"), &[])
                .iter()
                .map(|s| s.value)
                .sum();
            assert_eq!(total, sum, "{}: {f}", cap.display());
        }
        let cpus = find(&samples, "ipvs_cpu_connections_total", &[]).len();
        let meta = read(&cap.join("meta.txt"));
        let want = meta
            .lines()
            .find_map(|l| l.strip_prefix("cpus: "))
            .unwrap()
            .trim();
        assert_eq!(cpus.to_string(), want, "{}", cap.display());
    }
}

#[test]
fn the_connection_summary_matches_ipvsadm_connection_listing() {
    for cap in kernel_captures() {
        let samples = export(&cap);
        let listing = read(&cap.join("ipvsadm/connection.txt"));
        let mut want: BTreeMap<(String, String), f64> = BTreeMap::new();
        for line in listing.lines().skip(2) {
            let tok: Vec<&str> = line.split_whitespace().collect();
            if tok.len() >= 3 {
                *want
                    .entry((tok[0].to_string(), tok[2].to_string()))
                    .or_default() += 1.0;
            }
        }
        let got: BTreeMap<(String, String), f64> = find(&samples, "ipvs_connections", &[])
            .iter()
            .map(|s| {
                (
                    (s.label("proto").to_string(), s.label("state").to_string()),
                    s.value,
                )
            })
            .collect();
        assert_eq!(got, want, "{}", cap.display());
    }
}

#[test]
fn traffic_reached_the_counters_in_the_nat_capture() {
    // Guards the harness itself: the NAT scenario sends real traffic, so a capture with
    // zero counters means the scenario silently failed.
    let cap = captures_dir().join("nat4");
    let samples = export(&cap);
    assert!(one(&samples, "ipvs_connections_total", &[]).value > 0.0);
    assert!(one(&samples, "ipvs_outgoing_packets_total", &[]).value > 0.0);
}

#[test]
fn dual_stack_fwmark_services_share_one_identity_and_keep_every_backend() {
    // The mixed scenario has `-f 7` twice: IPv4 (rr) and IPv6 (sh), as keepalived builds a
    // dual-stack fwmark service. /proc prints both as `FWM  00000007`.
    let samples = export(&captures_dir().join("mixed"));
    let key = [("proto", "FWM"), ("local_mark", "7")];
    let mut scheds: Vec<_> = find(&samples, "ipvs_service_info", &key)
        .iter()
        .map(|s| s.label("scheduler").to_string())
        .collect();
    scheds.sort();
    assert_eq!(scheds, ["rr", "sh"]);
    assert_eq!(one(&samples, "ipvs_service_backends", &key).value, 2.0);
    let mut remotes: Vec<_> = find(&samples, "ipvs_backend_weight", &key)
        .iter()
        .map(|s| s.label("remote_address").to_string())
        .collect();
    remotes.sort();
    assert_eq!(remotes, ["10.3.6.7", "fd00:3::7"]);
}

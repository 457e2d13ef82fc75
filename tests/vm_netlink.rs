//! The netlink collector against the kernel's own tool: lvsmon's netlink page for each
//! real-kernel capture is compared with ipvsadm's `--stats --exact`, `--rate --exact`,
//! `--persistent-conn`, `--thresholds`, `--timeout` and `--daemon` for the same table.
//!
//! Where the page comes from: in the VM suite (scripts/test.sh, step `vm`, sets
//! LVSMON_CAPTURES_DIR and LVSMON_REQUIRE_VM_PAGES=1) it is the page lvsmon printed as root
//! inside the guest (`lvsmon-conntable.metrics`). For the committed fixtures, which keep no
//! lvsmon output, it is made here by replaying the kernel's recorded netlink replies
//! (`netlink.rec`, recorded by that same in-guest run) through the same decoder, so the
//! fast `cargo test` checks the netlink path against real kernel bytes too. Tests that need
//! more than one in-guest run (credentials, --ipvs.netns) check only in-VM captures.

mod common;

use common::*;
use lvsmon::ipvs::netlink::Recording;
use lvsmon::ipvs::source::ProcSource;
use lvsmon::ipvs::IpvsOptions;
use lvsmon::metrics::{Exporter, Format};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn require_vm() -> bool {
    std::env::var("LVSMON_REQUIRE_VM_PAGES").is_ok()
}

/// lvsmon's page for a capture, replayed from its netlink recording and /proc files.
fn replayed_page(cap: &Path) -> String {
    let rec = Recording::parse(&read(&cap.join("netlink.rec")))
        .unwrap_or_else(|e| panic!("{}: {e}", cap.display()));
    let opts = IpvsOptions {
        conntable: true,
        netlink_replay: Some(Arc::new(rec)),
        ..IpvsOptions::default()
    };
    Exporter::ipvs(ProcSource::Dir(cap.join("proc")), opts).render(Format::Prometheus)
}

/// (capture dir, page) for every capture: the in-VM page, or one replayed from the
/// capture's netlink recording. Made once per test binary (the scale capture alone has
/// 10,000 backends).
fn vm_pages() -> Vec<(PathBuf, Vec<Sample>)> {
    static PAGES: std::sync::OnceLock<Vec<(PathBuf, Vec<Sample>)>> = std::sync::OnceLock::new();
    PAGES.get_or_init(load_pages).clone()
}

fn load_pages() -> Vec<(PathBuf, Vec<Sample>)> {
    let mut out = Vec::new();
    for cap in kernel_captures() {
        let page = cap.join("lvsmon-conntable.metrics");
        if page.is_file() {
            out.push((cap, parse_exposition(&read(&page))));
        } else if !require_vm() && cap.join("netlink.rec").is_file() {
            let page = replayed_page(&cap);
            out.push((cap, parse_exposition(&page)));
        } else {
            assert!(
                !require_vm(),
                "{}: no page from lvsmon inside the VM",
                cap.display()
            );
            panic!("{}: neither an in-VM page nor netlink.rec", cap.display());
        }
    }
    out
}

/// Only the captures with lvsmon's own in-VM output (the VM suite's fresh ones).
fn in_vm_pages() -> Vec<(PathBuf, Vec<Sample>)> {
    let v: Vec<_> = vm_pages()
        .into_iter()
        .filter(|(cap, _)| cap.join("lvsmon-conntable.metrics").is_file())
        .collect();
    if v.is_empty() {
        eprintln!(
            "no in-VM lvsmon pages under {}: run the VM suite",
            captures_dir().display()
        );
    }
    v
}

#[test]
fn a_replayed_recording_gives_the_page_lvsmon_printed_in_the_vm() {
    // The families the netlink read makes; /proc's (global totals and rates, per-CPU,
    // the connection table) were read live by the in-VM run, after the capture's copy.
    let volatile = |l: &&str| {
        let name = l
            .trim_start_matches("# HELP ")
            .trim_start_matches("# TYPE ");
        [
            "ipvs_service",
            "ipvs_backend",
            "ipvs_timeout_seconds",
            "ipvs_sync_daemon",
            "ipvs_connection_table_size",
            "lvsmon_ipvs_",
        ]
        .iter()
        .any(|p| name.starts_with(p))
    };
    for (cap, _) in in_vm_pages() {
        let live = read(&cap.join("lvsmon-conntable.metrics"));
        let replayed = replayed_page(&cap);
        let (l, r): (Vec<&str>, Vec<&str>) = (
            live.lines().filter(volatile).collect(),
            replayed.lines().filter(volatile).collect(),
        );
        assert_eq!(l, r, "{}", cap.display());
    }
}

/// One row of an ipvsadm listing: identity labels and the numbers after the address.
#[derive(Debug)]
struct Row {
    key: Vec<(String, String)>,
    nums: Vec<f64>,
}

fn split_addr(s: &str) -> (String, String) {
    let (a, p) = s.rsplit_once(':').unwrap();
    (
        a.trim_start_matches('[').trim_end_matches(']').to_string(),
        p.to_string(),
    )
}

/// Parses an ipvsadm table (`--stats`, `--rate`, `--persistent-conn`, `--thresholds`):
/// service rows and destination rows, keyed like lvsmon's labels. Numbers are the
/// numeric fields that follow the address (a scheduler and flags are skipped).
fn ipvsadm_rows(text: &str) -> (Vec<Row>, Vec<Row>) {
    let (mut services, mut dests) = (Vec::new(), Vec::new());
    let mut svc_key: Vec<(String, String)> = Vec::new();
    for line in text.lines().skip(3) {
        let tok: Vec<&str> = line.split_whitespace().collect();
        if tok.is_empty() {
            continue;
        }
        let nums = |from: usize| -> Vec<f64> {
            tok[from..].iter().filter_map(|t| t.parse().ok()).collect()
        };
        if tok[0] == "->" {
            let (a, p) = split_addr(tok[1]);
            let mut key = svc_key.clone();
            key.push(("remote_address".into(), a));
            key.push(("remote_port".into(), p));
            dests.push(Row { key, nums: nums(2) });
            continue;
        }
        let (addr, port, mark, rest) = if tok[0] == "FWM" {
            // Netlink tells an IPv6 firewall-mark service from the IPv4 one with the same
            // mark: lvsmon gives it `local_address` `::`.
            let v6 = tok.get(2) == Some(&"IPv6");
            let addr = if v6 { "::" } else { "" };
            (
                addr.to_string(),
                "0".to_string(),
                tok[1].to_string(),
                2 + usize::from(v6),
            )
        } else {
            let (a, p) = split_addr(tok[1]);
            (a, p, String::new(), 2)
        };
        svc_key = vec![
            ("proto".into(), tok[0].to_string()),
            ("local_address".into(), addr),
            ("local_port".into(), port),
            ("local_mark".into(), mark),
        ];
        // Only --stats and --rate put numbers on the service line.
        services.push(Row {
            key: svc_key.clone(),
            nums: tok[rest..].iter().map_while(|t| t.parse().ok()).collect(),
        });
    }
    (services, dests)
}

/// `(String, String)` label pairs as the `&str` pairs [`Index`] looks up.
fn kv(key: &[(String, String)]) -> Vec<(&str, &str)> {
    key.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect()
}

fn value(ix: &Index, name: &str, key: &[(String, String)]) -> f64 {
    ix.one(name, &kv(key)).value
}

/// Sums service rows sharing a key (dual-stack fwmark services are one identity).
fn sum_by_key(rows: Vec<Row>) -> Vec<Row> {
    let mut out: Vec<Row> = Vec::new();
    let mut at: HashMap<Vec<(String, String)>, usize> = HashMap::new();
    for r in rows {
        match at.get(&r.key) {
            Some(&i) => {
                for (a, b) in out[i].nums.iter_mut().zip(&r.nums) {
                    *a += b;
                }
            }
            None => {
                at.insert(r.key.clone(), out.len());
                out.push(r);
            }
        }
    }
    out
}

const FIVE: [&str; 5] = [
    "connections",
    "incoming_packets",
    "outgoing_packets",
    "incoming_bytes",
    "outgoing_bytes",
];

fn check_five(cap: &Path, samples: &[Sample], file: &str, name: impl Fn(&str, &str) -> String) {
    let dir = if cap.join("ipvsadm").is_dir() {
        cap.join("ipvsadm")
    } else {
        cap.to_path_buf()
    };
    let (services, dests) = ipvsadm_rows(&read(&dir.join(file)));
    let ix = Index::new(samples);
    for (level, rows) in [("service", sum_by_key(services)), ("backend", dests)] {
        for r in rows {
            assert_eq!(r.nums.len(), 5, "{}: {file}: {r:?}", cap.display());
            for (i, f) in FIVE.iter().enumerate() {
                let n = name(level, f);
                assert_eq!(
                    value(&ix, &n, &r.key),
                    r.nums[i],
                    "{}: {n} {:?}",
                    cap.display(),
                    r.key
                );
            }
        }
    }
}

fn netlink_pages() -> Vec<(PathBuf, Vec<Sample>)> {
    vm_pages()
        .into_iter()
        .filter(|(cap, s)| {
            let src = one(s, "lvsmon_ipvs_source_info", &[])
                .label("source")
                .to_string();
            assert_eq!(
                src,
                "netlink",
                "{}: lvsmon as root in the VM must use netlink",
                cap.display()
            );
            true
        })
        .collect()
}

#[test]
fn counters_equal_ipvsadm_stats_exact() {
    for (cap, s) in netlink_pages() {
        // Traffic has stopped before the capture, so nothing may move around lvsmon's read.
        let (before, after) = (
            cap.join("ipvsadm/stats-before-lvsmon.txt"),
            cap.join("ipvsadm/stats-after-lvsmon.txt"),
        );
        assert_eq!(
            read(&before),
            read(&after),
            "{}: counters moved",
            cap.display()
        );
        check_five(&cap, &s, "stats-before-lvsmon.txt", |level, f| {
            format!("ipvs_{level}_{f}_total")
        });
    }
}

/// The same page as root's, for the families a capability decides about.
fn backend_weights(s: &[Sample]) -> Vec<String> {
    let mut v: Vec<String> = find(s, "ipvs_backend_weight", &[])
        .iter()
        .map(|x| format!("{:?} {}", x.labels, x.value))
        .collect();
    v.sort();
    v
}

/// [`backend_weights`] as /proc can tell them: an IPv6 firewall-mark service, its own
/// over netlink (`local_address` `::`), is one with the IPv4 service of its mark.
fn backend_weights_as_proc(s: &[Sample]) -> Vec<String> {
    let mut v: Vec<String> = find(s, "ipvs_backend_weight", &[])
        .iter()
        .map(|x| {
            let mut labels = x.labels.clone();
            if x.label("proto") == "FWM" {
                labels.insert("local_address".into(), String::new());
            }
            format!("{:?} {}", labels, x.value)
        })
        .collect();
    v.sort();
    v
}

#[test]
fn an_unprivileged_user_with_cap_net_admin_reads_netlink_and_without_it_falls_back() {
    for (cap, root_page) in in_vm_pages() {
        let status = read(&cap.join("lvsmon-capnetadmin.status"));
        assert_eq!(status.trim(), "exit 0", "{}", cap.display());
        let with = parse_exposition(&read(&cap.join("lvsmon-capnetadmin.metrics")));
        assert_eq!(
            one(&with, "lvsmon_ipvs_source_info", &[]).label("source"),
            "netlink",
            "{}: uid 65534 with CAP_NET_ADMIN",
            cap.display()
        );
        assert_eq!(backend_weights(&with), backend_weights(&root_page));

        let status = read(&cap.join("lvsmon-nocaps.status"));
        assert_eq!(status.trim(), "exit 0", "{}", cap.display());
        let without = parse_exposition(&read(&cap.join("lvsmon-nocaps.metrics")));
        assert_eq!(
            one(&without, "lvsmon_ipvs_source_info", &[]).label("source"),
            "procfs",
            "{}: uid 65534 without capabilities",
            cap.display()
        );
        assert!(find(&without, "ipvs_backend_incoming_packets_total", &[]).is_empty());
        assert_eq!(
            backend_weights(&without),
            backend_weights_as_proc(&root_page)
        );
        let log = read(&cap.join("lvsmon-nocaps.stderr"));
        assert_eq!(
            log.lines().filter(|l| l.contains("CAP_NET_ADMIN")).count(),
            1,
            "{}: one clear line naming the capability:\n{log}",
            cap.display()
        );
    }
}

#[test]
fn ipvs_netns_reads_the_other_namespace_without_moving() {
    let mut seen = 0;
    for (cap, _) in in_vm_pages() {
        let peer = cap.join("peer");
        if !peer.join("lvsmon.metrics").is_file() {
            continue;
        }
        assert_eq!(read(&peer.join("lvsmon.status")).trim(), "exit 0");
        let s = parse_exposition(&read(&peer.join("lvsmon.metrics")));
        assert_eq!(
            one(&s, "lvsmon_ipvs_source_info", &[]).label("source"),
            "netlink"
        );
        check_five(&peer, &s, "stats.txt", |level, f| {
            format!("ipvs_{level}_{f}_total")
        });
        seen += 1;
    }
    if require_vm() {
        assert_eq!(seen, 1, "the syncd scenario's peer page");
    }
}

#[test]
fn rates_equal_ipvsadm_rate_exact_when_the_estimator_did_not_move() {
    for (cap, s) in netlink_pages() {
        // The estimator updates every 2 s: compare only when ipvsadm read the same rates
        // just before and just after lvsmon.
        let (before, after) = (
            cap.join("ipvsadm/rate-before-lvsmon.txt"),
            cap.join("ipvsadm/rate-after-lvsmon.txt"),
        );
        if !before.is_file() || read(&before) != read(&after) {
            eprintln!(
                "{}: rates moved around lvsmon's read; not compared",
                cap.display()
            );
            continue;
        }
        check_five(&cap, &s, "rate-before-lvsmon.txt", |level, f| {
            format!("ipvs_{level}_rate_{f}_per_second")
        });
    }
}

#[test]
fn persistent_connections_and_thresholds_equal_ipvsadm() {
    for (cap, s) in netlink_pages() {
        let ix = Index::new(&s);
        let (_, dests) = ipvsadm_rows(&read(&cap.join("ipvsadm/persistent-conn.txt")));
        for d in dests {
            // Weight PersistConn ActiveConn InActConn
            assert_eq!(value(&ix, "ipvs_backend_weight", &d.key), d.nums[0]);
            assert_eq!(
                value(&ix, "ipvs_backend_connections_persistent", &d.key),
                d.nums[1],
                "{:?}",
                d.key
            );
        }
        let (_, dests) = ipvsadm_rows(&read(&cap.join("ipvsadm/thresholds.txt")));
        for d in dests {
            assert_eq!(
                value(&ix, "ipvs_backend_threshold_upper", &d.key),
                d.nums[0],
                "{:?}",
                d.key
            );
            assert_eq!(
                value(&ix, "ipvs_backend_threshold_lower", &d.key),
                d.nums[1],
                "{:?}",
                d.key
            );
        }
    }
}

#[test]
fn timeouts_and_sync_daemons_equal_ipvsadm() {
    for (cap, s) in netlink_pages() {
        let t = read(&cap.join("ipvsadm/timeout.txt"));
        let nums: Vec<f64> = t
            .split(':')
            .nth(1)
            .unwrap()
            .split_whitespace()
            .map(|x| x.parse().unwrap())
            .collect();
        for (proto, want) in ["tcp", "tcp_fin", "udp"].iter().zip(nums) {
            assert_eq!(
                one(&s, "ipvs_timeout_seconds", &[("protocol", proto)]).value,
                want
            );
        }
        let daemons = read(&cap.join("ipvsadm/daemon.txt"));
        let mut want = Vec::new();
        for line in daemons.lines().filter(|l| l.contains("sync daemon")) {
            let state = line.split_whitespace().next().unwrap();
            let inner = line.split_once('(').unwrap().1;
            let field = |k: &str| {
                inner
                    .split(", ")
                    .find_map(|p| p.strip_prefix(k))
                    .unwrap()
                    .trim_end_matches(')')
                    .to_string()
            };
            want.push((state.to_string(), field("mcast="), field("syncid=")));
        }
        let mut got: Vec<_> = find(&s, "ipvs_sync_daemon_info", &[])
            .iter()
            .map(|x| {
                (
                    x.label("state").into(),
                    x.label("interface").into(),
                    x.label("syncid").into(),
                )
            })
            .collect();
        want.sort();
        got.sort();
        assert_eq!(got, want, "{}", cap.display());
    }
}

#[test]
fn the_persistence_timeout_is_in_seconds_over_netlink() {
    for (cap, s) in netlink_pages() {
        let ix = Index::new(&s);
        let ln = read(&cap.join("ipvsadm/Ln.txt"));
        for line in ln.lines().filter(|l| l.contains(" persistent ")) {
            let tok: Vec<&str> = line.split_whitespace().collect();
            let secs: f64 = tok[tok.iter().position(|t| *t == "persistent").unwrap() + 1]
                .parse()
                .unwrap();
            let (svcs, _) = ipvsadm_rows(&format!("\n\n\n{line}\n"));
            let got = value(
                &ix,
                "ipvs_service_persistence_timeout_seconds",
                &svcs[0].key,
            );
            assert_eq!(got, secs, "{}: {line}", cap.display());
        }
    }
}

/// The identity of a service as `ipvsadm -Sn` writes it (`-t A:P`, `-u`, `--sctp-service`,
/// `-f MARK`), as lvsmon's labels.
fn save_service_key(opt: &dyn Fn(&str) -> Option<String>) -> Option<Vec<(String, String)>> {
    let (proto, addr) = ["-t", "-u", "--sctp-service", "-f"]
        .iter()
        .find_map(|o| opt(o).map(|a| (*o, a)))?;
    let kv = |k: &str, v: String| (k.to_string(), v);
    Some(if proto == "-f" {
        vec![
            kv("proto", "FWM".into()),
            kv("local_address", String::new()),
            kv("local_port", "0".into()),
            kv("local_mark", addr),
        ]
    } else {
        let (a, p) = split_addr(&addr);
        let name = match proto {
            "-t" => "TCP",
            "-u" => "UDP",
            _ => "SCTP",
        };
        vec![
            kv("proto", name.into()),
            kv("local_address", canonical(&a)),
            kv("local_port", p),
            kv("local_mark", String::new()),
        ]
    })
}

/// What `ipvsadm -Sn` (the only listing that shows them) says of scheduler flags,
/// persistence engines and tunnel types, against `ipvs_service_info` and
/// `ipvs_backend_info` from netlink.
#[test]
fn scheduler_flags_persistence_engines_and_tunnel_types_equal_ipvsadm_save() {
    let mut checked = 0;
    for (cap, s) in vm_pages() {
        let ix = Index::new(&s);
        for line in read(&cap.join("ipvsadm/save.txt")).lines() {
            let tok: Vec<&str> = line.split_whitespace().collect();
            let opt = |name: &str| {
                let i = tok.iter().position(|t| *t == name)?;
                tok.get(i + 1).map(|v| v.to_string())
            };
            let Some(mut key) = save_service_key(&opt) else {
                continue;
            };
            if key[0].1 == "FWM" && tok.contains(&"-6") {
                key[1].1 = "::".into();
            }
            if tok[0] == "-A" {
                let infos = ix.get("ipvs_service_info", &kv(&key));
                let want = (
                    opt("-s").unwrap_or_default(),
                    opt("-b").unwrap_or_default(),
                    opt("--pe").unwrap_or_default(),
                );
                // Any of the service infos under this key may be the one.
                let found = infos.iter().any(|i| {
                    let flags: Vec<&str> = i
                        .label("flags")
                        .split(',')
                        .filter(|f| !["persistent", "ops", ""].contains(f))
                        .collect();
                    (
                        i.label("scheduler"),
                        flags.join(",").as_str(),
                        i.label("persistence_engine"),
                    ) == (want.0.as_str(), want.1.as_str(), want.2.as_str())
                });
                assert!(found, "{}: {line}: {infos:?}", cap.display());
            } else if tok[0] == "-a" {
                let (ra, rp) = split_addr(&opt("-r").unwrap());
                key.push(("remote_address".into(), canonical(&ra)));
                key.push(("remote_port".into(), rp));
                let info = ix.get("ipvs_backend_info", &kv(&key));
                assert_eq!(info.len(), 1, "{}: {line}", cap.display());
                let want = opt("--tun-type").unwrap_or_default();
                assert_eq!(
                    info[0].label("tunnel_type"),
                    want,
                    "{}: {line}",
                    cap.display()
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 0);
}

/// ipvsadm prints IPv6 compressed already; lvsmon's labels are the canonical text form.
fn canonical(a: &str) -> String {
    a.parse::<std::net::IpAddr>()
        .map(|ip| ip.to_string())
        .unwrap_or_else(|_| a.to_string())
}

/// The churn scenario: ten netlink reads while a loop deletes and re-adds services and
/// real servers. Each read exits 0 and is either consistent (every service's
/// `ipvs_service_backends` equals its backend series) or reports the collector down.
#[test]
fn reads_while_the_table_changes_are_consistent_or_reported_down() {
    let mut pages = 0;
    for cap in kernel_captures() {
        for n in 0.. {
            let page = cap.join(format!("lvsmon-churn-{n}.metrics"));
            if !page.is_file() {
                break;
            }
            let status = read(&cap.join(format!("lvsmon-churn-{n}.status")));
            assert_eq!(status.trim(), "exit 0", "{}", page.display());
            let s = parse_exposition(&read(&page));
            let up = one(&s, "lvsmon_collector_up", &[("collector", "ipvs")]).value;
            if up == 0.0 {
                let log = read(&cap.join(format!("lvsmon-churn-{n}.stderr")));
                assert!(
                    log.contains("changed"),
                    "{}: down, but why?\n{log}",
                    page.display()
                );
            } else {
                // Backend series per service identity, against the service's own count.
                let service_of = |x: &Sample| -> Vec<String> {
                    ["proto", "local_address", "local_port", "local_mark"]
                        .iter()
                        .map(|k| x.label(k).to_string())
                        .collect()
                };
                let mut per_service: HashMap<Vec<String>, f64> = HashMap::new();
                for b in find(&s, "ipvs_backend_weight", &[]) {
                    *per_service.entry(service_of(b)).or_default() += 1.0;
                }
                for svc in find(&s, "ipvs_service_backends", &[]) {
                    let n = per_service.get(&service_of(svc)).copied().unwrap_or(0.0);
                    assert_eq!(n, svc.value, "{}: {:?}", page.display(), svc.labels);
                }
            }
            pages += 1;
        }
    }
    if require_vm() {
        assert_eq!(pages, 10, "the churn scenario's ten reads");
    }
}

/// The wide scenario pushes more than 2^32 bytes through one service: lvsmon's netlink
/// counter must be the kernel's 64-bit figure (ipvsadm --exact), not a wrapped 32-bit one.
#[test]
fn counters_past_32_bits_are_exact() {
    let mut seen = 0;
    for (cap, s) in vm_pages() {
        let (_, dests) = ipvsadm_rows(&read(&cap.join("ipvsadm/stats.txt")));
        let ix = Index::new(&s);
        for d in dests.iter().filter(|d| d.nums[3] > f64::from(u32::MAX)) {
            let got = value(&ix, "ipvs_backend_incoming_bytes_total", &d.key);
            assert_eq!(got, d.nums[3], "{}: {:?}", cap.display(), d.key);
            seen += 1;
        }
    }
    assert!(
        seen > 0,
        "no capture with a counter past 2^32 (the wide scenario)"
    );
}

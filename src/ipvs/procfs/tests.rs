//! Lines here are written with the kernel's own format strings (see `ip_vs_ctl.c`); the
//! real-kernel captures under `tests/fixtures/kernel/` are exercised by `tests/procfs.rs`.

use super::*;
use crate::model::{RealServerId, VirtualServiceId};

const HEADER: &str = "IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port Forward Weight ActiveConn InActConn
";

fn table(body: &str) -> Parsed<ServiceTable> {
    parse_services(format!("{HEADER}{body}").as_bytes())
}

#[test]
fn ipv4_service_with_ops_persistence_and_every_forwarding_method() {
    let t = table(
        "UDP  0A010064:0035 rr ops persistent 30000 FFFFFF00
  -> 0A020002:0035      Masq    1      0          3         
  -> 0A020003:0035      Route   0      0          0         
  -> 0A020004:0035      Tunnel  5      2          0         
  -> 7F000001:0035      Local   1      0          0         
",
    );
    assert_eq!(t.bad_lines, 0, "{:?}", t.first_error);
    assert_eq!(t.value.conn_table_size, Some(4096));
    let s = &t.value.services[0];
    assert_eq!(
        s.addr,
        ServiceAddr::Inet {
            protocol: Protocol::UDP,
            addr: "10.1.0.100".parse().unwrap(),
            port: 53
        }
    );
    assert!(s.one_packet);
    assert_eq!(
        s.persistence,
        Some(Persistence {
            timeout_jiffies: 30000,
            netmask: 0xFFFF_FF00
        })
    );
    let fwd: Vec<_> = s.dests.iter().map(|d| d.forward).collect();
    assert_eq!(
        fwd,
        [
            Forward::Masq,
            Forward::Route,
            Forward::Tunnel,
            Forward::Local
        ]
    );
    assert_eq!(s.dests[0].inactive_conns, 3);
    assert_eq!(s.dests[2].weight, 5);
    assert_eq!(s.available_dests(), 3);
}

#[test]
fn both_spellings_of_ops_are_accepted() {
    // Older kernels print "%s %s " (sched, "ops "), newer "%s%s " (sched, " ops").
    for line in [
        "TCP  0A010064:0050 wlc ops \n",
        "TCP  0A010064:0050 wlc  ops \n",
    ] {
        let t = table(line);
        assert_eq!(t.bad_lines, 0);
        assert!(t.value.services[0].one_packet);
    }
}

#[test]
fn ipv6_fwmark_sctp_and_numbered_protocols() {
    let t = table(
        "TCP  [2001:0db8:0000:0000:0000:0000:0000:0100]:0050 none 
  -> [2001:0db8:0000:0000:0000:0000:0000:0002]:0050      Masq    1      7          0         
SCTP  0A010064:0B59 sh 
  -> 0A020002:0B59      Masq    1      0          0         
IP_253  0A010064:0000 rr 
FWM  10001000 wlc persistent 360000 FFFFFFFF
  -> 0A020002:0CEA      Tunnel  20     64         1         
",
    );
    assert_eq!(t.bad_lines, 0, "{:?}", t.first_error);
    let s = &t.value.services;
    assert_eq!(s.len(), 4);
    assert_eq!(
        s[0].addr,
        ServiceAddr::Inet {
            protocol: Protocol::TCP,
            addr: "2001:db8::100".parse().unwrap(),
            port: 80
        }
    );
    assert_eq!(s[0].scheduler, "none");
    assert_eq!(s[0].dests[0].addr, "2001:db8::2".parse::<IpAddr>().unwrap());
    assert!(matches!(
        s[1].addr,
        ServiceAddr::Inet {
            protocol: Protocol::SCTP,
            port: 2905,
            ..
        }
    ));
    assert_eq!(
        s[1].dests.len(),
        1,
        "SCTP destinations stay with the SCTP service"
    );
    assert!(matches!(
        s[2].addr,
        ServiceAddr::Inet {
            protocol: Protocol(253),
            ..
        }
    ));
    assert!(s[2].dests.is_empty());
    assert_eq!(s[3].addr, ServiceAddr::Fwmark(0x1000_1000));
    assert_eq!(s[3].persistence.unwrap().timeout_jiffies, 360000);
}

#[test]
fn a_bad_service_line_takes_its_destinations_with_it_but_not_the_next_service() {
    let t = table(
        "TCP  0A010064:0050 rr 
  -> 0A020002:0050      Masq    1      0          0         
TCP  ZZZZ:0050 rr 
  -> 0A020003:0050      Masq    1      0          0         
  -> 0A020004:0050      Masq    1      0          0         
UDP  0A010064:0035 rr 
  -> 0A020002:0035      Masq    1      0          0         
",
    );
    assert_eq!(t.value.services.len(), 2);
    assert_eq!(t.value.services[1].dests.len(), 1);
    assert_eq!(t.bad_lines, 3);
    assert_eq!(
        t.first_error,
        Some(LineError {
            line: 6,
            reason: "bad service address:port"
        })
    );
}

#[test]
fn truncated_non_utf8_and_crlf_lines_are_bad_lines_not_panics() {
    let mut input =
        format!("{HEADER}TCP  0A010064:0050 rr \n  -> 0A020002:0050      Masq    1").into_bytes();
    input.extend_from_slice(b"\n\xff\xfe\nTCP  0A010065:0050 rr \r\n");
    let t = parse_services(&input);
    assert_eq!(t.value.services.len(), 1);
    assert!(t.value.services[0].dests.is_empty());
    assert_eq!(t.bad_lines, 3);
}

#[test]
fn an_empty_file_is_an_empty_table() {
    let t = parse_services(b"");
    assert_eq!(t.bad_lines, 0);
    assert!(t.value.services.is_empty());
}

const STATS: &str = "   Total Incoming Outgoing         Incoming         Outgoing
   Conns  Packets  Packets            Bytes            Bytes
 16AA370 E33656E5        0     51D8C8883AB3                0

 Conns/s   Pkts/s   Pkts/s          Bytes/s          Bytes/s
       4    1FB3C        0          1282A8F                0
";

#[test]
fn global_stats_totals_and_rates() {
    let p = parse_global_stats(STATS.as_bytes());
    assert_eq!(p.bad_lines, 0);
    let g = p.value.unwrap();
    assert_eq!(g.totals.conns, 23_765_872);
    assert_eq!(g.totals.in_packets, 3_811_989_221);
    assert_eq!(g.totals.in_bytes, 89_991_519_156_915);
    assert_eq!(g.rates.conns, 4);
    assert_eq!(g.rates.in_packets, 0x1FB3C);
    assert_eq!(g.rates.in_bytes, 0x1282A8F);
}

#[test]
fn truncated_global_stats_is_an_error() {
    let cut = &STATS[..STATS.find("Conns/s").unwrap()];
    let p = parse_global_stats(cut.as_bytes());
    assert!(p.value.is_none());
    assert_eq!(p.bad_lines, 1);
}

#[test]
fn percpu_lines_have_hex_cpu_numbers() {
    let text = "       Total Incoming Outgoing         Incoming         Outgoing
CPU    Conns  Packets  Packets            Bytes            Bytes
  0        5       10        8              3E8              7D0
  A        1        2        0               64                0
  ~        6        C        8              44C              7D0

     Conns/s   Pkts/s   Pkts/s          Bytes/s          Bytes/s
           0        0        0                0                0
";
    let p = parse_percpu_stats(text.as_bytes());
    assert_eq!(p.bad_lines, 0, "{:?}", p.first_error);
    assert_eq!(p.value.len(), 2);
    assert_eq!(p.value[1].cpu, 10);
    assert_eq!(p.value[0].totals.in_bytes, 1000);
    let cut = &text[..text.find("  ~").unwrap()];
    assert_eq!(parse_percpu_stats(cut.as_bytes()).bad_lines, 1);
}

/// Service and destination lines of every `ipvsadm -Ln` capture, the text forms of what
/// they list, and what /proc/net/ip_vs in the same capture gives.
#[test]
fn ipvsadm_listings_round_trip_and_agree_with_proc() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kernel");
    let mut dirs: Vec<std::path::PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("ipvsadm/Ln.txt").is_file())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 5, "{dirs:?}");
    let mut fwm_v6 = 0;
    for dir in dirs {
        let listing = std::fs::read_to_string(dir.join("ipvsadm/Ln.txt")).unwrap();
        let (mut services, mut dests) = (Vec::new(), Vec::new());
        for line in listing.lines() {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                ["->", "RemoteAddress:Port", ..] | [] => {}
                ["->", d, ..] => {
                    let id: RealServerId = d.parse().unwrap();
                    assert_eq!(id.to_string(), *d, "{}", dir.display());
                    dests.push(id);
                }
                ["FWM", mark, "IPv6", ..] => {
                    let text = format!("FWM {mark} IPv6");
                    assert_eq!(text.parse::<VirtualServiceId>().unwrap().to_string(), text);
                    fwm_v6 += 1;
                    services.push(text.parse::<VirtualServiceId>().unwrap());
                }
                ["FWM", mark, ..] => {
                    let text = format!("FWM {mark}");
                    assert_eq!(text.parse::<VirtualServiceId>().unwrap().to_string(), text);
                    services.push(text.parse::<VirtualServiceId>().unwrap());
                }
                [proto, addr, ..] if Protocol::from_name(proto).is_some() && addr.contains(':') => {
                    let text = format!("{proto} {addr}");
                    assert_eq!(
                        text.parse::<VirtualServiceId>().unwrap().to_string(),
                        text,
                        "{}",
                        dir.display()
                    );
                    services.push(text.parse::<VirtualServiceId>().unwrap());
                }
                _ => {}
            }
        }
        let proc = std::fs::read_to_string(dir.join("proc/net/ip_vs")).unwrap();
        let table = parse_services(proc.as_bytes()).value;
        let from_proc: Vec<VirtualServiceId> = table.services.iter().map(|s| s.id()).collect();
        assert_eq!(services.len(), from_proc.len(), "{}", dir.display());
        for s in &services {
            let n = from_proc.iter().filter(|p| p.matches(s)).count();
            assert!(n >= 1, "{s} not in /proc ({})", dir.display());
        }
        let proc_dests: std::collections::BTreeSet<RealServerId> = table
            .services
            .iter()
            .flat_map(|s| s.dests.iter().map(Dest::id))
            .collect();
        assert_eq!(
            dests.into_iter().collect::<std::collections::BTreeSet<_>>(),
            proc_dests,
            "{}",
            dir.display()
        );
    }
    assert!(fwm_v6 >= 1, "no `FWM n IPv6` service in any capture");
}

proptest::proptest! {
    /// The kernel's `%pI6` form is read directly, to the same address std's parser gives;
    /// anything else is left to std's parser, so the result is always std's.
    #[test]
    fn ipv6_as_the_kernel_prints_it_reads_as_std_reads_it(
        a in proptest::prelude::any::<u128>(),
        port in proptest::prelude::any::<u16>(),
        upper in proptest::prelude::any::<bool>(),
    ) {
        let addr = std::net::Ipv6Addr::from(a);
        let g = addr.segments();
        let mut text = g.iter().map(|g| format!("{g:04x}")).collect::<Vec<_>>().join(":");
        if upper {
            text = text.to_uppercase();
        }
        proptest::prop_assert_eq!(full_v6(&text), Some(addr));
        proptest::prop_assert_eq!(
            parse_addr_port(&format!("[{text}]:{port:04X}")),
            Some((IpAddr::V6(addr), port))
        );
        // The compressed form std writes is not the kernel's: std parses it, to the same.
        proptest::prop_assert_eq!(full_v6(&addr.to_string()).is_none(), addr.to_string().len() != 39);
        proptest::prop_assert_eq!(
            parse_addr_port(&format!("[{addr}]:{port:04X}")),
            Some((IpAddr::V6(addr), port))
        );
    }

    #[test]
    fn near_kernel_ipv6_text_reads_as_std_reads_it(
        s in "[0-9a-fA-F+-]{4}(:[0-9a-fA-F+ -]{4}){6}[:.][0-9a-fA-F+-]{4}"
    ) {
        let ours = parse_addr_port(&format!("[{s}]:0050")).map(|(a, _)| a);
        let std_ = s.parse::<std::net::Ipv6Addr>().ok().map(IpAddr::V6);
        proptest::prop_assert_eq!(ours, std_);
    }
}

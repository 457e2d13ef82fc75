//! `/proc/net/ip_vs`: no panic on any input, and cheap invariants:
//! - `bad_lines > 0` exactly when `first_error` is set, and that line exists;
//! - with no bad line, every destination line was attributed to a service;
//! - whatever was parsed renders back (in the kernel's format) to the same table.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lvsmon::ipvs::model::{ServiceAddr, ServiceTable};
use lvsmon::ipvs::procfs::parse_services;
use std::fmt::Write as _;
use std::net::IpAddr;

/// The parser's line split: one trailing `\n` is not a line.
fn lines(data: &[u8]) -> Vec<&[u8]> {
    let data = data.strip_suffix(b"\n").unwrap_or(data);
    if data.is_empty() {
        return Vec::new();
    }
    data.split(|&b| b == b'\n').collect()
}

fn v6(a: std::net::Ipv6Addr) -> String {
    let g: Vec<String> = a.segments().iter().map(|s| format!("{s:04x}")).collect();
    g.join(":")
}

fn addr_port(addr: IpAddr, port: u16) -> String {
    match addr {
        IpAddr::V4(a) => format!("{:08X}:{port:04X}", u32::from(a)),
        IpAddr::V6(a) => format!("[{}]:{port:04X}", v6(a)),
    }
}

/// The kernel's format (`ip_vs_info_seq_show`), timeouts as unsigned.
fn render(t: &ServiceTable) -> String {
    let mut s = String::new();
    if let Some(size) = t.conn_table_size {
        writeln!(s, "IP Virtual Server version 1.2.1 (size={size})").unwrap();
    }
    s.push_str("Prot LocalAddress:Port Scheduler Flags\n");
    s.push_str("  -> RemoteAddress:Port Forward Weight ActiveConn InActConn\n");
    for svc in &t.services {
        match svc.addr {
            ServiceAddr::Fwmark(m) => write!(s, "FWM  {m:08X} ").unwrap(),
            ServiceAddr::Inet {
                protocol,
                addr,
                port,
            } => write!(s, "{}  {} ", protocol.name(), addr_port(addr, port)).unwrap(),
        }
        write!(s, "{} {}", svc.scheduler, if svc.one_packet { "ops " } else { "" }).unwrap();
        match svc.persistence {
            Some(p) => writeln!(s, "persistent {} {:08X}", p.timeout_jiffies, p.netmask).unwrap(),
            None => s.push('\n'),
        }
        for d in &svc.dests {
            let fwd = match d.forward.label() {
                "masq" => "Masq",
                "route" => "Route",
                "tunnel" => "Tunnel",
                _ => "Local",
            };
            writeln!(
                s,
                "  -> {}      {fwd:<7} {:<6} {:<10} {:<10}",
                addr_port(d.addr, d.port),
                d.weight,
                d.active_conns,
                d.inactive_conns
            )
            .unwrap();
        }
    }
    s
}

fuzz_target!(|data: &[u8]| {
    let parsed = parse_services(data);
    let lines = lines(data);

    assert_eq!(parsed.bad_lines > 0, parsed.first_error.is_some());
    assert!(parsed.bad_lines <= lines.len());
    if let Some(e) = parsed.first_error {
        assert!(e.line >= 1 && e.line <= lines.len(), "{e:?}");
    }

    let dests: usize = parsed.value.services.iter().map(|s| s.dests.len()).sum();
    assert!(parsed.value.services.len() + dests <= lines.len());
    if parsed.bad_lines == 0 {
        // Every "->" line but the column header became a destination of some service.
        let dest_lines = lines
            .iter()
            .filter(|l| {
                let l = std::str::from_utf8(l).expect("no bad line, so UTF-8");
                let mut t = l.split_ascii_whitespace();
                t.next() == Some("->") && t.next() != Some("RemoteAddress:Port")
            })
            .count();
        assert_eq!(dests, dest_lines, "a destination was dropped without a bad line");
    }

    let text = render(&parsed.value);
    let again = parse_services(text.as_bytes());
    assert_eq!(again.first_error, None, "re-rendered:\n{text}");
    assert_eq!(again.value, parsed.value, "re-rendered:\n{text}");
});

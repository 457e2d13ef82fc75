//! Messages built attribute by attribute as the kernel's `ip_vs_genl_fill_*` writes them.
//! The real kernel's replies are checked against ipvsadm in the VM suite.

use super::*;

fn stats(wide: bool, v: [u64; 10]) -> Vec<u8> {
    let mut b = Vec::new();
    for (i, x) in v.iter().enumerate() {
        let kind = i as u16 + 1;
        if wide || kind == 4 || kind == 5 {
            put(&mut b, kind, &x.to_ne_bytes());
        } else {
            put(&mut b, kind, &(*x as u32).to_ne_bytes());
        }
    }
    b
}

fn service_msg(with64: bool) -> Vec<u8> {
    let mut m = Vec::new();
    put_nested(&mut m, CMD_ATTR_SERVICE, |b| {
        put(b, SVC_AF, &AF_INET.to_ne_bytes());
        put(b, SVC_PROTOCOL, &6u16.to_ne_bytes());
        let mut a = [0u8; 16];
        a[..4].copy_from_slice(&[10, 1, 0, 100]);
        put(b, SVC_ADDR, &a);
        put(b, SVC_PORT, &80u16.to_be_bytes());
        put(b, SVC_SCHED_NAME, b"wlc\0");
        let mut f = Vec::new();
        f.extend_from_slice(&(0x1u32 | 0x2 | 0x4).to_ne_bytes());
        f.extend_from_slice(&u32::MAX.to_ne_bytes());
        put(b, SVC_FLAGS, &f);
        put(b, SVC_TIMEOUT, &300u32.to_ne_bytes());
        put(b, SVC_NETMASK, &0xFFFF_FF00u32.to_be_bytes());
        let big = [5_000_000_000, 7, 8, 9_000_000_000, 10, 1, 2, 3, 4, 5];
        put_nested(b, SVC_STATS, |s| s.extend(stats(false, big)));
        if with64 {
            put_nested(b, SVC_STATS64, |s| s.extend(stats(true, big)));
        }
        put(b, 99, b"future attribute");
    });
    m
}

#[test]
fn a_service_with_stats64_keeps_counters_above_32_bits() {
    let mut skipped = Skipped::default();
    let s = parse_service_msg(&service_msg(true), &mut skipped).unwrap();
    assert_eq!(s.af, AF_INET);
    assert_eq!(
        s.service.addr,
        ServiceAddr::Inet {
            protocol: Protocol::TCP,
            addr: "10.1.0.100".parse().unwrap(),
            port: 80
        }
    );
    assert_eq!(s.service.scheduler, "wlc");
    assert!(s.service.one_packet);
    assert_eq!(s.service.persistence.unwrap().netmask, 0xFFFF_FF00);
    let d = s.service.detail.unwrap();
    assert_eq!(d.timeout_seconds, 300);
    assert_eq!(d.counters.totals.conns, 5_000_000_000);
    assert_eq!(d.counters.totals.in_bytes, 9_000_000_000);
    assert_eq!(d.counters.rates.out_bytes, 5);
    assert_eq!(skipped, Skipped(1), "only the unknown attribute is skipped");
}

#[test]
fn without_stats64_the_32_bit_stats_are_used_and_wrap_as_the_kernel_sent_them() {
    let mut skipped = Skipped::default();
    let s = parse_service_msg(&service_msg(false), &mut skipped).unwrap();
    let c = s.service.detail.unwrap().counters;
    assert_eq!(c.totals.conns, 5_000_000_000 % (1 << 32));
    assert_eq!(
        c.totals.in_bytes, 9_000_000_000,
        "byte counters are u64 even in STATS"
    );
}

#[test]
fn ipv6_destination_with_tunnel_and_thresholds() {
    let mut m = Vec::new();
    put_nested(&mut m, CMD_ATTR_DEST, |b| {
        put(
            b,
            DEST_ADDR,
            &"fd00::2".parse::<Ipv6Addr>().unwrap().octets(),
        );
        put(b, DEST_PORT, &443u16.to_be_bytes());
        put(b, DEST_FWD_METHOD, &2u32.to_ne_bytes());
        put(b, DEST_WEIGHT, &3u32.to_ne_bytes());
        put(b, DEST_U_THRESH, &100u32.to_ne_bytes());
        put(b, DEST_L_THRESH, &10u32.to_ne_bytes());
        put(b, DEST_ACTIVE_CONNS, &4u32.to_ne_bytes());
        put(b, DEST_INACT_CONNS, &(-1i32 as u32).to_ne_bytes());
        put(b, DEST_PERSIST_CONNS, &6u32.to_ne_bytes());
        put(b, DEST_ADDR_FAMILY, &AF_INET6.to_ne_bytes());
        put(b, DEST_TUN_TYPE, &[1]);
        put(b, DEST_TUN_PORT, &6080u16.to_be_bytes());
        put(b, DEST_TUN_FLAGS, &1u16.to_ne_bytes());
        put_nested(b, DEST_STATS64, |s| s.extend(stats(true, [1; 10])));
    });
    let mut skipped = Skipped::default();
    let d = parse_dest_msg(&m, AF_INET, &mut skipped).unwrap();
    assert_eq!(skipped, Skipped(0));
    assert_eq!(d.addr, "fd00::2".parse::<IpAddr>().unwrap());
    assert_eq!((d.port, d.forward, d.weight), (443, Forward::Tunnel, 3));
    assert_eq!(
        d.inactive_conns, -1,
        "the kernel's atomic_t can go negative"
    );
    let x = d.detail.unwrap();
    assert_eq!(
        (x.upper_threshold, x.lower_threshold, x.persistent_conns),
        (100, 10, 6)
    );
    assert_eq!(x.tunnel.unwrap().type_label(), "gue");
    assert_eq!(x.tunnel.unwrap().port, 6080);
}

#[test]
fn truncated_attributes_are_skipped_and_counted() {
    let mut m = service_msg(true);
    m.truncate(m.len() - 7);
    // Patch the outer length so the nest claims what is left; the inner walk then meets a
    // cut attribute.
    let len = m.len() as u16;
    m[..2].copy_from_slice(&len.to_ne_bytes());
    let mut skipped = Skipped::default();
    let s = parse_service_msg(&m, &mut skipped);
    assert!(s.is_some());
    assert!(skipped.0 >= 1);
}

#[test]
fn the_service_selector_round_trips_through_the_parser() {
    let addr = ServiceAddr::Inet {
        protocol: Protocol::SCTP,
        addr: "2001:db8::1".parse().unwrap(),
        port: 3868,
    };
    let sel = service_selector(AF_INET6, &addr);
    let mut skipped = Skipped::default();
    let back = parse_service_msg(&sel, &mut skipped).unwrap();
    assert_eq!(back.service.addr, addr);
    assert_eq!(back.service.scheduler, "none");
    let fw = service_selector(AF_INET, &ServiceAddr::Fwmark(7));
    assert_eq!(
        parse_service_msg(&fw, &mut skipped).unwrap().service.addr,
        ServiceAddr::Fwmark(7)
    );
}

#[test]
fn daemons_config_and_info() {
    let mut m = Vec::new();
    put_nested(&mut m, CMD_ATTR_DAEMON, |b| {
        put(b, DAEMON_STATE, &2u32.to_ne_bytes());
        put(b, DAEMON_MCAST_IFN, b"eth1\0");
        put(b, DAEMON_SYNC_ID, &7u32.to_ne_bytes());
        put(b, 4, &1472u16.to_ne_bytes());
    });
    let mut skipped = Skipped::default();
    let d = parse_daemon_msg(&m, &mut skipped).unwrap();
    assert_eq!(
        (d.state, d.interface.as_str(), d.syncid),
        ("backup", "eth1", 7)
    );
    let mut c = Vec::new();
    put(&mut c, CMD_ATTR_TIMEOUT_TCP, &900u32.to_ne_bytes());
    put(&mut c, CMD_ATTR_TIMEOUT_TCP_FIN, &120u32.to_ne_bytes());
    put(&mut c, CMD_ATTR_TIMEOUT_UDP, &300u32.to_ne_bytes());
    let t = parse_config_msg(&c, &mut skipped);
    assert_eq!((t.tcp, t.tcp_fin, t.udp), (900, 120, 300));
    let mut i = Vec::new();
    put(&mut i, INFO_VERSION, &0x010201u32.to_ne_bytes());
    put(&mut i, INFO_CONN_TAB_SIZE, &4096u32.to_ne_bytes());
    assert_eq!(parse_info_msg(&i, &mut skipped), (0x010201, 4096));
    assert_eq!(skipped, Skipped(0));
}

#[test]
fn garbage_never_panics() {
    let mut skipped = Skipped::default();
    for len in 0..64 {
        let junk: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
        let _ = parse_service_msg(&junk, &mut skipped);
        let _ = parse_dest_msg(&junk, AF_INET, &mut skipped);
        let _ = parse_daemon_msg(&junk, &mut skipped);
    }
}

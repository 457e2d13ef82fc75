//! The IPVS generic-netlink attributes (`include/uapi/linux/ip_vs.h`): building requests and
//! reading replies into the model. Pure functions over bytes, so they can be fuzzed.
//!
//! A reply attribute that is unknown, or too short for its type, is skipped and counted;
//! the rest of the message is still used. Newer kernels add attributes; older ones lack
//! STATS64, in which case the 32-bit STATS are used.

use crate::ipvs::model::{
    Counters, Dest, DestDetail, Forward, Protocol, Service, ServiceAddr, ServiceDetail, SyncDaemon,
    Timeouts, Tunnel,
};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub const CMD_GET_SERVICE: u8 = 4;
pub const CMD_GET_DEST: u8 = 8;
pub const CMD_GET_DAEMON: u8 = 11;
pub const CMD_GET_CONFIG: u8 = 13;
pub const CMD_GET_INFO: u8 = 15;

const CMD_ATTR_SERVICE: u16 = 1;
const CMD_ATTR_DEST: u16 = 2;
const CMD_ATTR_DAEMON: u16 = 3;
const CMD_ATTR_TIMEOUT_TCP: u16 = 4;
const CMD_ATTR_TIMEOUT_TCP_FIN: u16 = 5;
const CMD_ATTR_TIMEOUT_UDP: u16 = 6;

const SVC_AF: u16 = 1;
const SVC_PROTOCOL: u16 = 2;
const SVC_ADDR: u16 = 3;
const SVC_PORT: u16 = 4;
const SVC_FWMARK: u16 = 5;
const SVC_SCHED_NAME: u16 = 6;
const SVC_FLAGS: u16 = 7;
const SVC_TIMEOUT: u16 = 8;
const SVC_NETMASK: u16 = 9;
const SVC_STATS: u16 = 10;
const SVC_PE_NAME: u16 = 11;
const SVC_STATS64: u16 = 12;

const DEST_ADDR: u16 = 1;
const DEST_PORT: u16 = 2;
const DEST_FWD_METHOD: u16 = 3;
const DEST_WEIGHT: u16 = 4;
const DEST_U_THRESH: u16 = 5;
const DEST_L_THRESH: u16 = 6;
const DEST_ACTIVE_CONNS: u16 = 7;
const DEST_INACT_CONNS: u16 = 8;
const DEST_PERSIST_CONNS: u16 = 9;
const DEST_STATS: u16 = 10;
const DEST_ADDR_FAMILY: u16 = 11;
const DEST_STATS64: u16 = 12;
const DEST_TUN_TYPE: u16 = 13;
const DEST_TUN_PORT: u16 = 14;
const DEST_TUN_FLAGS: u16 = 15;

const DAEMON_STATE: u16 = 1;
const DAEMON_MCAST_IFN: u16 = 2;
const DAEMON_SYNC_ID: u16 = 3;

const INFO_VERSION: u16 = 1;
const INFO_CONN_TAB_SIZE: u16 = 2;

pub const AF_INET: u16 = 2;
pub const AF_INET6: u16 = 10;

/// `nla_type` without the NESTED and NET_BYTEORDER flag bits.
const NLA_TYPE_MASK: u16 = 0x3fff;

/// Counts what a parse had to leave out.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Skipped(pub u64);

/// The attributes in `bytes` as (kind, value); framing that does not add up ends the walk
/// and is counted.
fn attrs<'a>(mut bytes: &'a [u8], skipped: &mut Skipped) -> Vec<(u16, &'a [u8])> {
    let mut out = Vec::with_capacity(16);
    while bytes.len() >= 4 {
        let len = usize::from(u16::from_ne_bytes([bytes[0], bytes[1]]));
        let kind = u16::from_ne_bytes([bytes[2], bytes[3]]) & NLA_TYPE_MASK;
        if len < 4 || len > bytes.len() {
            skipped.0 += 1;
            return out;
        }
        out.push((kind, &bytes[4..len]));
        bytes = &bytes[((len + 3) & !3).min(bytes.len())..];
    }
    if !bytes.is_empty() {
        skipped.0 += 1;
    }
    out
}

/// Walks the attributes, counting those `f` did not use (unknown or too short).
fn each_attr<'a>(
    bytes: &'a [u8],
    skipped: &mut Skipped,
    mut f: impl FnMut(u16, &'a [u8], &mut Skipped) -> bool,
) {
    for (kind, value) in attrs(bytes, skipped) {
        if !f(kind, value, skipped) {
            skipped.0 += 1;
        }
    }
}

fn u16_ne(v: &[u8]) -> Option<u16> {
    Some(u16::from_ne_bytes(v.get(..2)?.try_into().ok()?))
}
fn u16_be(v: &[u8]) -> Option<u16> {
    Some(u16::from_be_bytes(v.get(..2)?.try_into().ok()?))
}
fn u32_ne(v: &[u8]) -> Option<u32> {
    Some(u32::from_ne_bytes(v.get(..4)?.try_into().ok()?))
}
fn u32_be(v: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(v.get(..4)?.try_into().ok()?))
}
fn u64_ne(v: &[u8]) -> Option<u64> {
    Some(u64::from_ne_bytes(v.get(..8)?.try_into().ok()?))
}
fn string(v: &[u8]) -> Option<String> {
    let end = v.iter().position(|&b| b == 0).unwrap_or(v.len());
    std::str::from_utf8(&v[..end]).ok().map(str::to_string)
}

/// Reads `value` into `slot`; false (skip) when it is too short.
fn set<T>(slot: &mut T, value: Option<T>) -> bool {
    match value {
        Some(v) => {
            *slot = v;
            true
        }
        None => false,
    }
}

fn addr(af: u16, v: &[u8]) -> Option<IpAddr> {
    match af {
        AF_INET => Some(IpAddr::V4(Ipv4Addr::from(
            <[u8; 4]>::try_from(v.get(..4)?).ok()?,
        ))),
        AF_INET6 => Some(IpAddr::V6(Ipv6Addr::from(
            <[u8; 16]>::try_from(v.get(..16)?).ok()?,
        ))),
        _ => None,
    }
}

/// Reads a STATS (`wide = false`: counters of 32 and 64 bits mixed) or STATS64 nest.
fn parse_stats(bytes: &[u8], wide: bool, skipped: &mut Skipped) -> Counters {
    let mut c = Counters::default();
    each_attr(bytes, skipped, |kind, v, _| {
        // In STATS, byte counters are u64 and the rest u32; in STATS64 everything is u64.
        let read = |is64: bool| {
            if is64 {
                u64_ne(v)
            } else {
                u32_ne(v).map(u64::from)
            }
        };
        let (slot, is64) = match kind {
            1 => (&mut c.totals.conns, wide),
            2 => (&mut c.totals.in_packets, wide),
            3 => (&mut c.totals.out_packets, wide),
            4 => (&mut c.totals.in_bytes, true),
            5 => (&mut c.totals.out_bytes, true),
            6 => (&mut c.rates.conns, wide),
            7 => (&mut c.rates.in_packets, wide),
            8 => (&mut c.rates.out_packets, wide),
            9 => (&mut c.rates.in_bytes, wide),
            10 => (&mut c.rates.out_bytes, wide),
            11 => return true, // padding
            _ => return false,
        };
        set(slot, read(is64))
    });
    c
}

/// A service read from a GET_SERVICE reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NlService {
    pub af: u16,
    pub service: Service,
}

/// Parses the attributes of one GET_SERVICE reply message (the genl payload).
pub fn parse_service_msg(payload: &[u8], skipped: &mut Skipped) -> Option<NlService> {
    let mut out = None;
    each_attr(payload, skipped, |kind, v, skipped| {
        if kind != CMD_ATTR_SERVICE {
            return false;
        }
        out = parse_service(v, skipped);
        out.is_some()
    });
    out
}

fn parse_service(bytes: &[u8], skipped: &mut Skipped) -> Option<NlService> {
    let (mut af, mut proto, mut port, mut fwmark) = (0u16, 0u16, 0u16, 0u32);
    let mut raw_addr: &[u8] = &[];
    let mut sched = String::new();
    let (mut flags, mut timeout, mut netmask) = (0u32, 0u32, 0u32);
    let mut pe_name = None;
    let (mut stats32, mut stats64) = (None, None);
    each_attr(bytes, skipped, |kind, v, _| match kind {
        SVC_AF => set(&mut af, u16_ne(v)),
        SVC_PROTOCOL => set(&mut proto, u16_ne(v)),
        SVC_ADDR => {
            raw_addr = v;
            true
        }
        SVC_PORT => set(&mut port, u16_be(v)),
        SVC_FWMARK => set(&mut fwmark, u32_ne(v)),
        SVC_SCHED_NAME => set(&mut sched, string(v)),
        SVC_FLAGS => set(&mut flags, u32_ne(v)),
        SVC_TIMEOUT => set(&mut timeout, u32_ne(v)),
        SVC_NETMASK => set(&mut netmask, u32_be(v)),
        SVC_PE_NAME => set(&mut pe_name, string(v).map(Some)),
        SVC_STATS => {
            stats32 = Some(v);
            true
        }
        SVC_STATS64 => {
            stats64 = Some(v);
            true
        }
        _ => false,
    });
    let addr = if fwmark != 0 {
        ServiceAddr::Fwmark(fwmark)
    } else {
        ServiceAddr::Inet {
            protocol: Protocol(u8::try_from(proto).ok()?),
            addr: addr(af, raw_addr)?,
            port,
        }
    };
    let counters = match (stats64, stats32) {
        (Some(b), _) => parse_stats(b, true, skipped),
        (None, Some(b)) => parse_stats(b, false, skipped),
        (None, None) => Counters::default(),
    };
    let persistence = (flags & crate::ipvs::model::svc_flags::PERSISTENT != 0).then_some(
        crate::ipvs::model::Persistence {
            // Netlink gives seconds; the /proc field is jiffies and stays unknown here.
            timeout_jiffies: 0,
            netmask,
        },
    );
    Some(NlService {
        af,
        service: Service {
            addr,
            scheduler: if sched.is_empty() {
                "none".into()
            } else {
                sched
            },
            one_packet: flags & crate::ipvs::model::svc_flags::ONEPACKET != 0,
            persistence,
            dests: Vec::new(),
            detail: Some(ServiceDetail {
                af,
                flags,
                timeout_seconds: timeout,
                pe_name,
                counters,
            }),
        },
    })
}

/// Parses one GET_DEST reply message; `svc_af` is used when the kernel predates
/// DEST_ADDR_FAMILY (destinations then share the service's family).
pub fn parse_dest_msg(payload: &[u8], svc_af: u16, skipped: &mut Skipped) -> Option<Dest> {
    let mut out = None;
    each_attr(payload, skipped, |kind, v, skipped| {
        if kind != CMD_ATTR_DEST {
            return false;
        }
        out = parse_dest(v, svc_af, skipped);
        out.is_some()
    });
    out
}

fn forward(method: u32) -> Forward {
    match method & 0x7 {
        1 => Forward::Local,
        2 => Forward::Tunnel,
        3 => Forward::Route,
        _ => Forward::Masq,
    }
}

fn parse_dest(bytes: &[u8], svc_af: u16, skipped: &mut Skipped) -> Option<Dest> {
    let mut af = svc_af;
    let mut raw_addr: &[u8] = &[];
    let (mut port, mut fwd, mut weight) = (0u16, 0u32, 0u32);
    let mut d = DestDetail::default();
    let (mut active, mut inactive) = (0u32, 0u32);
    let (mut tun_type, mut tun_port, mut tun_flags) = (None, 0u16, 0u16);
    let (mut stats32, mut stats64) = (None, None);
    each_attr(bytes, skipped, |kind, v, _| match kind {
        DEST_ADDR => {
            raw_addr = v;
            true
        }
        DEST_PORT => set(&mut port, u16_be(v)),
        DEST_FWD_METHOD => set(&mut fwd, u32_ne(v)),
        DEST_WEIGHT => set(&mut weight, u32_ne(v)),
        DEST_U_THRESH => set(&mut d.upper_threshold, u32_ne(v)),
        DEST_L_THRESH => set(&mut d.lower_threshold, u32_ne(v)),
        DEST_ACTIVE_CONNS => set(&mut active, u32_ne(v)),
        DEST_INACT_CONNS => set(&mut inactive, u32_ne(v)),
        DEST_PERSIST_CONNS => set(&mut d.persistent_conns, u32_ne(v)),
        DEST_ADDR_FAMILY => set(&mut af, u16_ne(v)),
        DEST_TUN_TYPE => set(&mut tun_type, v.first().copied().map(Some)),
        DEST_TUN_PORT => set(&mut tun_port, u16_be(v)),
        DEST_TUN_FLAGS => set(&mut tun_flags, u16_ne(v)),
        DEST_STATS => {
            stats32 = Some(v);
            true
        }
        DEST_STATS64 => {
            stats64 = Some(v);
            true
        }
        _ => false,
    });
    d.counters = match (stats64, stats32) {
        (Some(b), _) => parse_stats(b, true, skipped),
        (None, Some(b)) => parse_stats(b, false, skipped),
        (None, None) => Counters::default(),
    };
    let forward = forward(fwd);
    if forward == Forward::Tunnel {
        d.tunnel = tun_type.map(|kind| Tunnel {
            kind,
            port: tun_port,
            flags: tun_flags,
        });
    }
    Some(Dest {
        addr: addr(af, raw_addr)?,
        port,
        forward,
        // The kernel keeps these as signed ints and sends their bits as u32.
        weight: i64::from(weight as i32),
        active_conns: i64::from(active as i32),
        inactive_conns: i64::from(inactive as i32),
        detail: Some(d),
    })
}

/// Parses a GET_DAEMON reply message.
pub fn parse_daemon_msg(payload: &[u8], skipped: &mut Skipped) -> Option<SyncDaemon> {
    let mut out = None;
    each_attr(payload, skipped, |kind, v, skipped| {
        if kind != CMD_ATTR_DAEMON {
            return false;
        }
        let (mut state, mut ifn, mut syncid) = (0u32, String::new(), 0u32);
        each_attr(v, skipped, |k, v, _| match k {
            DAEMON_STATE => set(&mut state, u32_ne(v)),
            DAEMON_MCAST_IFN => set(&mut ifn, string(v)),
            DAEMON_SYNC_ID => set(&mut syncid, u32_ne(v)),
            // SYNC_MAXLEN, MCAST_GROUP(6), MCAST_PORT, MCAST_TTL: known, not exported.
            4..=8 => true,
            _ => false,
        });
        let state = match state {
            1 => "master",
            2 => "backup",
            _ => return false,
        };
        out = Some(SyncDaemon {
            state,
            interface: ifn,
            syncid,
        });
        true
    });
    out
}

/// Parses the GET_CONFIG reply: the three timeouts.
pub fn parse_config_msg(payload: &[u8], skipped: &mut Skipped) -> Timeouts {
    let mut t = Timeouts::default();
    each_attr(payload, skipped, |kind, v, _| match kind {
        CMD_ATTR_TIMEOUT_TCP => set(&mut t.tcp, u32_ne(v)),
        CMD_ATTR_TIMEOUT_TCP_FIN => set(&mut t.tcp_fin, u32_ne(v)),
        CMD_ATTR_TIMEOUT_UDP => set(&mut t.udp, u32_ne(v)),
        _ => false,
    });
    t
}

/// Parses the GET_INFO reply: (version code, connection table size).
pub fn parse_info_msg(payload: &[u8], skipped: &mut Skipped) -> (u32, u32) {
    let (mut version, mut size) = (0, 0);
    each_attr(payload, skipped, |kind, v, _| match kind {
        INFO_VERSION => set(&mut version, u32_ne(v)),
        INFO_CONN_TAB_SIZE => set(&mut size, u32_ne(v)),
        _ => false,
    });
    (version, size)
}

/// Appends one attribute (4-byte aligned) to `buf`.
pub fn put(buf: &mut Vec<u8>, kind: u16, value: &[u8]) {
    let len = 4 + value.len();
    buf.extend_from_slice(&(len as u16).to_ne_bytes());
    buf.extend_from_slice(&kind.to_ne_bytes());
    buf.extend_from_slice(value);
    buf.resize(buf.len() + (4 - len % 4) % 4, 0);
}

/// Appends a nested attribute whose content `fill` writes.
pub fn put_nested(buf: &mut Vec<u8>, kind: u16, fill: impl FnOnce(&mut Vec<u8>)) {
    let start = buf.len();
    buf.extend_from_slice(&[0; 4]);
    fill(buf);
    let len = (buf.len() - start) as u16;
    buf[start..start + 2].copy_from_slice(&len.to_ne_bytes());
    // No NLA_F_NESTED: the kernel sets none on its own nests and IPVS parses either way.
    buf[start + 2..start + 4].copy_from_slice(&kind.to_ne_bytes());
}

/// The GET_DEST request attributes that name a service.
pub fn service_selector(af: u16, addr: &ServiceAddr) -> Vec<u8> {
    let mut out = Vec::with_capacity(48);
    put_nested(&mut out, CMD_ATTR_SERVICE, |b| {
        put(b, SVC_AF, &af.to_ne_bytes());
        match *addr {
            ServiceAddr::Fwmark(m) => put(b, SVC_FWMARK, &m.to_ne_bytes()),
            ServiceAddr::Inet {
                protocol,
                addr,
                port,
            } => {
                put(b, SVC_PROTOCOL, &u16::from(protocol.0).to_ne_bytes());
                let mut raw = [0u8; 16];
                match addr {
                    IpAddr::V4(a) => raw[..4].copy_from_slice(&a.octets()),
                    IpAddr::V6(a) => raw.copy_from_slice(&a.octets()),
                }
                put(b, SVC_ADDR, &raw);
                put(b, SVC_PORT, &port.to_be_bytes());
            }
        }
    });
    out
}

#[cfg(test)]
mod tests;

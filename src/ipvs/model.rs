//! What an IPVS director's tables contain, independent of how they were read.

use crate::model::{FwmFamily, RealServerId, VirtualServiceId};
use std::net::IpAddr;

/// Defined with the other identity types in `crate::model`; re-exported so readers keep
/// their path.
pub use crate::model::identity::Protocol;

/// How a virtual service is addressed: by protocol, address and port, or by firewall mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ServiceAddr {
    Inet {
        protocol: Protocol,
        addr: IpAddr,
        port: u16,
    },
    Fwmark(u32),
}

impl ServiceAddr {
    /// The shared identity of a service as an IPVS reader saw it; `family` is what the reader
    /// knew of a firewall-mark service's address family (`FwmFamily::from_af(af)` for
    /// netlink, `Unknown` for /proc). An address-and-port service's family is its address's,
    /// so `family` is ignored there.
    pub fn id(&self, family: FwmFamily) -> VirtualServiceId {
        match *self {
            ServiceAddr::Inet {
                protocol,
                addr,
                port,
            } => VirtualServiceId::Inet {
                proto: protocol,
                addr,
                port,
            },
            ServiceAddr::Fwmark(mark) => VirtualServiceId::Fwmark { mark, family },
        }
    }
}

/// How packets reach a destination (the kernel's `IP_VS_CONN_F_FWD_MASK`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Forward {
    /// NAT (`Masq` in /proc, `-m` in ipvsadm).
    Masq,
    /// Direct routing (`Route`, `-g`).
    Route,
    /// IP-in-IP or GUE/GRE tunnel (`Tunnel`, `-i`).
    Tunnel,
    /// The destination is an address of the director itself (`Local`).
    Local,
}

impl Forward {
    /// The label value: `masq`, `route`, `tunnel` or `local`.
    pub fn label(self) -> &'static str {
        match self {
            Forward::Masq => "masq",
            Forward::Route => "route",
            Forward::Tunnel => "tunnel",
            Forward::Local => "local",
        }
    }

    /// Parses the name printed in `/proc/net/ip_vs`.
    pub fn from_proc_name(name: &str) -> Option<Forward> {
        Some(match name {
            "Masq" => Forward::Masq,
            "Route" => Forward::Route,
            "Tunnel" => Forward::Tunnel,
            "Local" => Forward::Local,
            _ => return None,
        })
    }
}

/// One real server ("destination") of a virtual service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dest {
    pub addr: IpAddr,
    pub port: u16,
    pub forward: Forward,
    /// The kernel keeps weights, and connection counts, as signed ints.
    pub weight: i64,
    pub active_conns: i64,
    pub inactive_conns: i64,
    /// What only netlink tells; `None` when read from /proc.
    pub detail: Option<DestDetail>,
}

impl Dest {
    /// The shared identity of the real server.
    pub fn id(&self) -> RealServerId {
        RealServerId {
            addr: self.addr,
            port: self.port,
        }
    }
}

/// A destination's figures that /proc does not show.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DestDetail {
    pub upper_threshold: u32,
    pub lower_threshold: u32,
    pub persistent_conns: u32,
    pub counters: Counters,
    pub tunnel: Option<Tunnel>,
}

/// How a tunnelled destination is reached (kernel 5.2+: GUE and GRE besides IP-in-IP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tunnel {
    /// `IP_VS_CONN_F_TUNNEL_TYPE_*`: 0 ipip, 1 gue, 2 gre.
    pub kind: u8,
    pub port: u16,
    pub flags: u16,
}

impl Tunnel {
    pub fn type_label(self) -> std::borrow::Cow<'static, str> {
        match self.kind {
            0 => "ipip".into(),
            1 => "gue".into(),
            2 => "gre".into(),
            n => format!("type{n}").into(),
        }
    }
}

/// Totals and the kernel's rate estimates for one service or destination.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    pub totals: Stats,
    pub rates: Stats,
}

/// Persistence settings as `/proc` shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Persistence {
    /// In kernel jiffies: the tick rate (HZ) is not known to userspace, so this is not seconds.
    pub timeout_jiffies: u32,
    /// The netmask, as the 32-bit value the kernel prints (an IPv4 mask, or a prefix for IPv6).
    pub netmask: u32,
}

/// One virtual service with its destinations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub addr: ServiceAddr,
    /// `none` when the service has no scheduler.
    pub scheduler: String,
    /// One-packet scheduling (`ops`).
    pub one_packet: bool,
    pub persistence: Option<Persistence>,
    pub dests: Vec<Dest>,
    /// What only netlink tells; `None` when read from /proc.
    pub detail: Option<ServiceDetail>,
}

/// A service's figures that /proc does not show (or shows in jiffies).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServiceDetail {
    /// The address family netlink gave (`AF_INET`, `AF_INET6`): what tells an IPv4
    /// firewall-mark service from an IPv6 one with the same mark.
    pub af: u16,
    /// `IP_VS_SVC_F_*` flags.
    pub flags: u32,
    pub timeout_seconds: u32,
    pub pe_name: Option<String>,
    pub counters: Counters,
}

/// Service flag bits (`IP_VS_SVC_F_*`).
pub mod svc_flags {
    pub const PERSISTENT: u32 = 0x1;
    pub const ONEPACKET: u32 = 0x4;
    pub const SCHED1: u32 = 0x8;
    pub const SCHED2: u32 = 0x10;
    pub const SCHED3: u32 = 0x20;
}

/// The connection timeouts set with `ipvsadm --set`, in seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timeouts {
    pub tcp: u32,
    pub tcp_fin: u32,
    pub udp: u32,
}

/// A running connection-synchronisation daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncDaemon {
    /// `master` or `backup`.
    pub state: &'static str,
    pub interface: String,
    pub syncid: u32,
}

impl Service {
    /// The shared identity: a firewall mark's family is known only when netlink read it.
    pub fn id(&self) -> VirtualServiceId {
        let family = self
            .detail
            .as_ref()
            .map_or(FwmFamily::Unknown, |d| FwmFamily::from_af(d.af));
        self.addr.id(family)
    }

    /// Destinations that can take new connections (weight above zero).
    pub fn available_dests(&self) -> usize {
        self.dests.iter().filter(|d| d.weight > 0).count()
    }
}

/// The kernel's five traffic figures, as totals or as per-second estimates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    pub conns: u64,
    pub in_packets: u64,
    pub out_packets: u64,
    pub in_bytes: u64,
    pub out_bytes: u64,
}

impl Stats {
    pub fn from_array(v: [u64; 5]) -> Stats {
        Stats {
            conns: v[0],
            in_packets: v[1],
            out_packets: v[2],
            in_bytes: v[3],
            out_bytes: v[4],
        }
    }
}

/// `/proc/net/ip_vs`: the connection table size and the services.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceTable {
    pub conn_table_size: Option<u64>,
    pub services: Vec<Service>,
}

/// `/proc/net/ip_vs_stats`: director-wide totals and rates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GlobalStats {
    pub totals: Stats,
    pub rates: Stats,
}

/// One line of `/proc/net/ip_vs_stats_percpu`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuStats {
    pub cpu: u32,
    pub totals: Stats,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_keep_what_the_reader_knew() {
        let fwm = ServiceAddr::Fwmark(7);
        assert_eq!(fwm.id(FwmFamily::Unknown).to_string(), "FWM 7");
        let v6 = fwm.id(FwmFamily::from_af(10));
        assert_eq!(v6.to_string(), "FWM 7 IPv6");
        let v4 = fwm.id(FwmFamily::from_af(2));
        assert_eq!(v4.to_string(), "FWM 7 IPv4");
        assert_eq!(FwmFamily::from_af(0), FwmFamily::Unknown);
        assert_ne!(v4, v6);
        assert!(v4.matches(&fwm.id(FwmFamily::Unknown)));
        assert!(fwm.id(FwmFamily::Unknown).matches(&v6));
        assert!(!v4.matches(&v6));
        assert_eq!(
            fwm.id(FwmFamily::Unknown).with_fwm_family(FwmFamily::V6),
            v6
        );
        let inet = ServiceAddr::Inet {
            protocol: Protocol::SCTP,
            addr: IpAddr::V6("fd00:2::1".parse().unwrap()),
            port: 3868,
        };
        let id = inet.id(FwmFamily::V4);
        assert_eq!(id.to_string(), "SCTP [fd00:2::1]:3868");
        assert_eq!(id.with_fwm_family(FwmFamily::V6), id);
    }

    #[test]
    fn a_dest_is_named_by_address_and_port() {
        let d = Dest {
            addr: "fd00::12".parse().unwrap(),
            port: 80,
            forward: Forward::Masq,
            weight: 1,
            active_conns: 0,
            inactive_conns: 0,
            detail: None,
        };
        assert_eq!(d.id().to_string(), "[fd00::12]:80");
    }
}

//! What lvsmon knows about keepalived: its VRRP instances (state, priorities, counters) and
//! its checkers' view of virtual and real servers. Built by `dump`, read by `collector` and
//! served as JSON by `/api/v1/state`; nothing secret is ever part of it.

use crate::model::{FwmFamily, Protocol as IpProto, RealServerId, VirtualServiceId};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::IpAddr;

/// One VRRP instance from the JSON dump.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VrrpInstance {
    pub iname: String,
    pub vrid: u32,
    pub interface: String,
    /// 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT (keepalived's own numbers).
    pub state: u32,
    pub wanted_state: u32,
    pub priority_base: u32,
    pub priority_effective: u32,
    /// Epoch seconds of the last state change.
    pub last_transition: f64,
    pub vips: u64,
    pub stats: Option<VrrpStats>,
    /// Known only from a notify FIFO line: `vrid`, `interface`, `priority_base`,
    /// `wanted_state` and `vips` are not known (no dump has shown the instance).
    pub from_notify: bool,
}

/// The counters of one instance, named as keepalived names them in JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VrrpStats {
    pub advert_rcvd: u64,
    pub advert_sent: u64,
    pub become_master: u64,
    pub release_master: u64,
    pub packet_len_err: u64,
    pub advert_interval_err: u64,
    pub ip_ttl_err: u64,
    pub invalid_type_rcvd: u64,
    pub addr_list_err: u64,
    pub invalid_authtype: u64,
    pub authtype_mismatch: u64,
    pub auth_failure: u64,
    pub pri_zero_rcvd: u64,
    pub pri_zero_sent: u64,
}

impl VrrpStats {
    /// How many counters a complete block has.
    pub const FIELDS: u32 = 14;
}

/// The transport protocol of a virtual service.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    #[default]
    Tcp,
    Udp,
    Sctp,
    /// Anything else keepalived may print one day.
    Other,
}

impl Protocol {
    pub fn parse(s: &str) -> Protocol {
        match s {
            "TCP" => Protocol::Tcp,
            "UDP" => Protocol::Udp,
            "SCTP" => Protocol::Sctp,
            _ => Protocol::Other,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => "sctp",
            Protocol::Other => "unknown",
        }
    }
}

/// How a virtual service is addressed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VsAddress {
    Inet { ip: IpAddr, port: u16 },
    Fwmark(u32),
    Group(String),
}

/// A virtual service and its real servers, as the checkers see them. In JSON it is named
/// by its identity's text form (`virtual_service: "TCP 10.1.0.100:80"`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(into = "VirtualServiceJson")]
pub struct VirtualService {
    pub address: Option<VsAddress>,
    pub protocol: Protocol,
    pub quorum: u32,
    pub quorum_up: bool,
    pub real_servers: Vec<RealServer>,
}

/// A real server: whether its checkers consider it alive, and its effective weight.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RealServer {
    pub ip: Option<IpAddr>,
    pub port: u16,
    pub alive: bool,
    pub weight: i64,
    /// Known only from a notify FIFO line: its weight is not known.
    pub from_notify: bool,
}

/// Brackets an address as keepalived's logs do: `[10.0.0.1]`, `[fd00::1]`.
struct Bracketed<'a>(&'a IpAddr);

impl fmt::Display for Bracketed<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}]", self.0)
    }
}

/// How `/api/v1/state` shows a virtual service: by the text forms of the shared identity.
#[derive(Serialize)]
struct VirtualServiceJson {
    /// `TCP 10.1.0.100:80`, `FWM 5`; null for a group or an unknown protocol.
    virtual_service: Option<String>,
    /// The virtual server group, for a group.
    #[serde(skip_serializing_if = "Option::is_none")]
    group: Option<String>,
    quorum: u32,
    quorum_up: bool,
    real_servers: Vec<RealServerJson>,
}

#[derive(Serialize)]
struct RealServerJson {
    /// `10.2.0.12:80`, `[fd00::12]:80`.
    real_server: Option<String>,
    alive: bool,
    /// null for a real server only a notify FIFO line has named.
    weight: Option<i64>,
}

impl From<VirtualService> for VirtualServiceJson {
    fn from(vs: VirtualService) -> VirtualServiceJson {
        VirtualServiceJson {
            virtual_service: vs.id().map(|i| i.to_string()),
            group: match &vs.address {
                Some(VsAddress::Group(g)) => Some(g.clone()),
                _ => None,
            },
            quorum: vs.quorum,
            quorum_up: vs.quorum_up,
            real_servers: vs
                .real_servers
                .iter()
                .map(|r| RealServerJson {
                    real_server: r.id().map(|i| i.to_string()),
                    alive: r.alive,
                    weight: (!r.from_notify).then_some(r.weight),
                })
                .collect(),
        }
    }
}

impl VirtualService {
    /// The shared identity; `None` for a virtual server group (several kernel services), a
    /// protocol keepalived could not name, or a service without an address.
    pub fn id(&self) -> Option<VirtualServiceId> {
        match self.address.as_ref()? {
            VsAddress::Inet { ip, port } => Some(VirtualServiceId::Inet {
                proto: match self.protocol {
                    Protocol::Tcp => IpProto::TCP,
                    Protocol::Udp => IpProto::UDP,
                    Protocol::Sctp => IpProto::SCTP,
                    Protocol::Other => return None,
                },
                addr: *ip,
                port: *port,
            }),
            // The dump does not give a firewall mark's family.
            VsAddress::Fwmark(mark) => Some(VirtualServiceId::Fwmark {
                mark: *mark,
                family: FwmFamily::Unknown,
            }),
            VsAddress::Group(_) => None,
        }
    }

    /// The canonical name keepalived's log lines use: `[10.0.0.100]:tcp:80`, `FWM 5`,
    /// `[GROUP]:port` style names for groups (here `[GROUP]`).
    pub fn canonical(&self) -> String {
        match &self.address {
            Some(VsAddress::Inet { ip, port }) => {
                format!("{}:{}:{port}", Bracketed(ip), self.protocol.name())
            }
            Some(VsAddress::Fwmark(m)) => format!("FWM {m}"),
            Some(VsAddress::Group(g)) => format!("[{g}]"),
            None => String::new(),
        }
    }

    /// Quorum is exported only where it was configured above keepalived's default of 1.
    pub fn has_quorum(&self) -> bool {
        self.quorum > 1
    }
}

impl RealServer {
    /// The shared identity; `None` without an address.
    pub fn id(&self) -> Option<RealServerId> {
        Some(RealServerId {
            addr: self.ip?,
            port: self.port,
        })
    }

    /// `[10.1.0.11]:tcp:80`, the protocol being the virtual service's.
    pub fn canonical(&self, proto: Protocol) -> String {
        match &self.ip {
            Some(ip) => format!("{}:{}:{}", Bracketed(ip), proto.name(), self.port),
            None => String::new(),
        }
    }
}

/// Everything one refresh read: the VRRP instances and, when keepalived runs checkers,
/// the virtual services.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct KeepalivedState {
    pub instances: Vec<VrrpInstance>,
    pub virtual_services: Vec<VirtualService>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities() {
        use super::Protocol as KProto;
        let svc = |address, protocol| VirtualService {
            address,
            protocol,
            ..VirtualService::default()
        };
        let ip: IpAddr = "10.1.0.100".parse().unwrap();
        let inet = Some(VsAddress::Inet { ip, port: 80 });
        let got = |v: &VirtualService| v.id().map(|i| i.to_string());
        assert_eq!(
            got(&svc(inet.clone(), KProto::Tcp)).as_deref(),
            Some("TCP 10.1.0.100:80")
        );
        assert_eq!(
            got(&svc(inet.clone(), KProto::Udp)).as_deref(),
            Some("UDP 10.1.0.100:80")
        );
        assert_eq!(
            got(&svc(inet.clone(), KProto::Sctp)).as_deref(),
            Some("SCTP 10.1.0.100:80")
        );
        assert_eq!(got(&svc(inet, KProto::Other)), None);
        assert_eq!(
            got(&svc(Some(VsAddress::Fwmark(5)), KProto::Other)).as_deref(),
            Some("FWM 5")
        );
        assert_eq!(
            got(&svc(Some(VsAddress::Group("VSG_1".into())), KProto::Tcp)),
            None
        );
        assert_eq!(got(&svc(None, KProto::Tcp)), None);

        // keepalived's own canonical names parse to the same identity.
        let v = svc(Some(VsAddress::Inet { ip, port: 443 }), KProto::Tcp);
        assert_eq!(VirtualServiceId::from_log(&v.canonical()), v.id());
        let r = RealServer {
            ip: Some("fd00::12".parse().unwrap()),
            port: 80,
            ..RealServer::default()
        };
        assert_eq!(r.id(), Some("[fd00::12]:80".parse().unwrap()));
        assert_eq!(
            RealServerId::from_log(&r.canonical(KProto::Tcp)),
            Some("[fd00::12]:80".parse().unwrap())
        );
        assert_eq!(RealServer::default().id(), None);
    }
}

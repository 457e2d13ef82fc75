//! What the snapshot detectors need of one look at the director: the kernel's table (who
//! is in it, with what weight, how it is forwarded, its packet counters) and keepalived's
//! view (which real servers it configures and whether its checkers pass, each VRRP
//! instance's state and the adverts it received). Built from the readers' snapshots by a
//! pure function, so the detectors can be fed a real capture in a test as well as a live
//! read under `serve`.

use crate::ipvs::model::Forward;
use crate::ipvs::reader::Snapshot as IpvsSnapshot;
use crate::keepalived::Snapshot as KeepalivedSnapshot;
use crate::model::{Protocol, RealServerId, VirtualServiceId};

/// One look at the director, at `time` (µs since the epoch).
#[derive(Debug, Clone, Default)]
pub struct Observation {
    pub time: i64,
    /// `None` when the kernel's table could not be read: nothing is judged from it then.
    pub table: Option<Vec<Service>>,
    /// `None` when the keepalived collector is off.
    pub keepalived: Option<Keepalived>,
}

/// A virtual service in the kernel's table.
#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    pub id: VirtualServiceId,
    pub dests: Vec<Dest>,
}

/// A real server of a virtual service in the kernel's table.
#[derive(Debug, Clone, PartialEq)]
pub struct Dest {
    pub id: RealServerId,
    pub weight: i64,
    /// Forwarded by NAT (masquerading): its replies come back through the director.
    pub masq: bool,
    /// Packets in and out since it was added (netlink only).
    pub packets: Option<(u64, u64)>,
}

/// keepalived's side.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Keepalived {
    /// It answered at this look. When it did not, the lists below are empty: a stale
    /// state proves nothing.
    pub up: bool,
    /// Why it did not answer, when that is known.
    pub error: Option<String>,
    pub services: Vec<KeepalivedService>,
    pub instances: Vec<Instance>,
}

/// A virtual service keepalived configures, with its real servers and their checkers'
/// verdicts.
#[derive(Debug, Clone, PartialEq)]
pub struct KeepalivedService {
    pub id: VirtualServiceId,
    /// (real server, its checkers pass).
    pub real_servers: Vec<(RealServerId, bool)>,
}

/// A VRRP instance.
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    pub iname: String,
    pub vrid: u32,
    pub master: bool,
    /// Adverts that reached it for its VRID, accepted or refused for their password: a
    /// MASTER that keeps getting them is not the only master.
    pub adverts_in: u64,
    /// Times it became MASTER: a change means it left and came back between two looks.
    pub become_master: u64,
}

impl Observation {
    /// The observation of the readers' snapshots taken at `time`.
    pub fn of(ipvs: &IpvsSnapshot, keepalived: Option<&KeepalivedSnapshot>, time: i64) -> Self {
        let table = ipvs.table.as_ref().filter(|_| ipvs.table_ok()).map(|t| {
            t.services
                .iter()
                .map(|s| Service {
                    id: s.id(),
                    dests: s
                        .dests
                        .iter()
                        .map(|d| Dest {
                            id: d.id(),
                            weight: d.weight,
                            masq: d.forward == Forward::Masq,
                            packets: d.detail.as_ref().map(|x| {
                                (x.counters.totals.in_packets, x.counters.totals.out_packets)
                            }),
                        })
                        .collect(),
                })
                .collect()
        });
        Observation {
            time,
            table,
            keepalived: keepalived.map(keepalived_of),
        }
    }
}

fn keepalived_of(k: &KeepalivedSnapshot) -> Keepalived {
    if !k.up {
        return Keepalived {
            up: false,
            error: k.collector_error.clone(),
            ..Keepalived::default()
        };
    }
    let services = k
        .state
        .virtual_services
        .iter()
        .filter_map(|vs| {
            Some(KeepalivedService {
                id: vs.id()?,
                real_servers: vs
                    .real_servers
                    .iter()
                    .filter_map(|r| Some((r.id()?, r.alive)))
                    .collect(),
            })
        })
        .collect();
    let instances = k
        .state
        .instances
        .iter()
        .map(|i| {
            let s = i.stats.clone().unwrap_or_default();
            Instance {
                iname: i.iname.clone(),
                vrid: i.vrid,
                master: i.state == 2,
                // keepalived counts an advert in `advert_rcvd` once its type, version and
                // length are right, but one refused before that only in the counter of
                // its fault: another VIP count, another password or auth type, another
                // interval (vrrp.c, vrrp_check_packet). Any of them came from a sender,
                // and a sender is a master. (A refusal after the count is counted twice:
                // more than enough is still enough.)
                adverts_in: s.advert_rcvd
                    + s.addr_list_err
                    + s.auth_failure
                    + s.authtype_mismatch
                    + s.invalid_authtype
                    + s.advert_interval_err,
                become_master: s.become_master,
            }
        })
        .collect();
    Keepalived {
        up: true,
        error: None,
        services,
        instances,
    }
}

impl Service {
    /// TCP, where every connection needs a reply: a NAT backend that takes packets and
    /// sends none back is broken, not quiet.
    pub fn is_tcp(&self) -> bool {
        matches!(self.id, VirtualServiceId::Inet { proto, .. } if proto == Protocol::TCP)
    }
}

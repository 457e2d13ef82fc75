//! What a check sees of a director, whichever way it was read: the virtual services with
//! their backends (and keepalived's checker verdict on each), keepalived's VRRP instances,
//! and the open incidents. [`Director`] is the one question every mode asks; [`Local`]
//! answers it from the same [`App`] `serve` builds (reading /proc, netlink and keepalived
//! now), `remote::Remote` from a running lvsmon's HTTP answers.

use crate::app::App;
use crate::ipvs::Stats;
use crate::model::{RealServerId, VirtualServiceId};
use std::collections::HashMap;

/// One backend of a virtual service.
#[derive(Debug, Clone, PartialEq)]
pub struct Backend {
    pub id: RealServerId,
    pub weight: i64,
    pub active: i64,
    pub inactive: i64,
    /// keepalived's checker verdict (up/down), when keepalived checks this backend.
    pub checker_up: Option<bool>,
}

/// One virtual service.
#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    pub id: VirtualServiceId,
    pub backends: Vec<Backend>,
    /// The kernel's per-second estimates (netlink only).
    pub rates: Option<Stats>,
}

impl Service {
    /// Backends that take new connections (weight above zero).
    pub fn available(&self) -> usize {
        self.backends.iter().filter(|b| b.weight > 0).count()
    }
}

/// One VRRP instance; `state` in keepalived's numbers (0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT).
#[derive(Debug, Clone, PartialEq)]
pub struct Vrrp {
    pub iname: String,
    pub vrid: u32,
    pub state: u32,
    pub priority: u32,
}

/// keepalived as a check sees it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KeepalivedView {
    pub up: bool,
    pub instances: Vec<Vrrp>,
}

/// keepalived's name for a VRRP state number.
pub fn vrrp_state_name(state: u32) -> &'static str {
    match state {
        0 => "INIT",
        1 => "BACKUP",
        2 => "MASTER",
        3 => "FAULT",
        _ => "UNKNOWN",
    }
}

/// One open incident.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenIncident {
    pub kind: String,
    /// `critical`, `warning` or `info`.
    pub severity: String,
    pub summary: String,
}

/// Why a director could not be read: the check answers UNKNOWN with this.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ReadError(pub String);

/// What every mode asks of a director.
pub trait Director {
    fn services(&self) -> Result<Vec<Service>, ReadError>;
    /// One service (a bare `FWM 42` matches a mark of either family); a reader that can
    /// skip the others does.
    fn service(&self, id: &VirtualServiceId) -> Result<Option<Service>, ReadError> {
        Ok(super::service::find(&self.services()?, id))
    }
    /// `None` when lvsmon does not collect keepalived (`--no-collector.keepalived`).
    fn keepalived(&self) -> Result<Option<KeepalivedView>, ReadError>;
    /// `None` when lvsmon follows no log (incidents come from logs).
    fn incidents(&self) -> Result<Option<Vec<OpenIncident>>, ReadError>;
}

/// The director read here, through the application state.
pub struct Local(pub App);

impl Director for Local {
    fn services(&self) -> Result<Vec<Service>, ReadError> {
        let snap = self.0.ipvs.read();
        let table = match (&snap.table, snap.table_ok()) {
            (Some(t), true) => t,
            _ => {
                let why = snap
                    .reads
                    .iter()
                    .find_map(|r| r.error.clone())
                    .unwrap_or_else(|| "the IPVS table could not be read".into());
                return Err(ReadError(why));
            }
        };
        let checker = self.checker_verdicts();
        Ok(table
            .services
            .iter()
            .map(|s| {
                let id = s.id();
                Service {
                    id,
                    backends: s
                        .dests
                        .iter()
                        .map(|d| Backend {
                            id: d.id(),
                            weight: d.weight,
                            active: d.active_conns,
                            inactive: d.inactive_conns,
                            checker_up: lookup(&checker, id, d.id()),
                        })
                        .collect(),
                    rates: s.detail.as_ref().map(|d| d.counters.rates),
                }
            })
            .collect())
    }

    fn keepalived(&self) -> Result<Option<KeepalivedView>, ReadError> {
        let Some(k) = &self.0.keepalived else {
            return Ok(None);
        };
        let snap = k.snapshot();
        Ok(Some(KeepalivedView {
            up: snap.up,
            instances: snap
                .state
                .instances
                .iter()
                .map(|i| Vrrp {
                    iname: i.iname.clone(),
                    vrid: i.vrid,
                    state: i.state,
                    priority: i.priority_effective,
                })
                .collect(),
        }))
    }

    fn incidents(&self) -> Result<Option<Vec<OpenIncident>>, ReadError> {
        Ok(self.0.incidents.as_ref().map(|live| {
            live.incidents()
                .into_iter()
                .filter(|i| i.end.is_none())
                .map(|i| OpenIncident {
                    kind: i.kind.to_string(),
                    severity: i.severity.as_str().to_string(),
                    summary: i.summary,
                })
                .collect()
        }))
    }
}

/// keepalived's checker verdicts by (service, backend).
type Verdicts = HashMap<(VirtualServiceId, RealServerId), bool>;

impl Local {
    fn checker_verdicts(&self) -> Verdicts {
        let mut v = Verdicts::new();
        let Some(k) = &self.0.keepalived else {
            return v;
        };
        for vs in &k.snapshot().state.virtual_services {
            let Some(sid) = vs.id() else { continue };
            let sid = sid.with_fwm_family(crate::model::FwmFamily::Unknown);
            for rs in &vs.real_servers {
                if let Some(rid) = rs.id() {
                    v.insert((sid, rid), rs.alive);
                }
            }
        }
        v
    }
}

/// A verdict for a kernel service: keepalived never knows a firewall mark's family, so a
/// mark is looked up without it.
pub fn lookup(v: &Verdicts, service: VirtualServiceId, backend: RealServerId) -> Option<bool> {
    let service = service.with_fwm_family(crate::model::FwmFamily::Unknown);
    v.get(&(service, backend)).copied()
}

//! keepalived's notify FIFO lines (`notify_fifo`, `vrrp_notify_fifo`, `lvs_notify_fifo` in
//! `global_defs`), parsed by a pure function, and what each does to a [`KeepalivedState`].
//!
//! keepalived 2.2.7 writes exactly these forms (vrrp/vrrp_notify.c `notify_fifo`,
//! check/ipwrapper.c `notify_fifo_vs`/`notify_fifo_rs`):
//!
//! ```text
//! INSTANCE "VI_1" MASTER 150         state MASTER|BACKUP|FAULT|STOP|DELETED, effective priority
//! INSTANCE "VI_1" MASTER_PRIORITY 90 priority change (also BACKUP_PRIORITY, MASTER_RX_LOWER_PRI)
//! GROUP "VG_1" BACKUP 0              a sync group (priority always 0)
//! VS [10.1.0.100]:tcp:80 DOWN        a virtual server's quorum; `FWM 5`, `[VSG_1]:80` too
//! RS [10.2.0.11]:tcp:80 [10.1.0.100]:tcp:80 UP   a real server as its checkers see it
//! ```
//!
//! Services and real servers are named by src/model's identities, so a line joins the dump's
//! state and the kernel's. Nothing here opens a FIFO (that is `fifo`).

use super::model::{KeepalivedState, RealServer, VirtualService, VrrpInstance, VsAddress};
use crate::model::{Protocol as IpProto, RealServerId, VirtualServiceId};

/// Why a line is not one keepalived writes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoticeError {
    #[error("empty line")]
    Empty,
    #[error("unknown line type (want INSTANCE, GROUP, VS or RS)")]
    Kind,
    #[error("the name is not in double quotes")]
    Name,
    #[error("unknown VRRP state or event")]
    State,
    #[error("bad priority")]
    Priority,
    #[error("want UP or DOWN at the end")]
    UpDown,
    #[error("not a virtual server keepalived names")]
    VirtualServer,
    #[error("not a real server keepalived names")]
    RealServer,
}

/// The state or event word of an `INSTANCE`/`GROUP` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VrrpEvent {
    Master,
    Backup,
    Fault,
    /// keepalived stops the instance (shutdown, reload without it).
    Stop,
    /// The instance was removed by a reload (with `notify_deleted`).
    Deleted,
    /// A MASTER heard a lower-priority advert: an event, no change of state.
    MasterRxLowerPri,
    /// The effective priority of a MASTER (resp. BACKUP) changed.
    MasterPriority,
    BackupPriority,
}

impl VrrpEvent {
    fn parse(s: &str) -> Option<VrrpEvent> {
        Some(match s {
            "MASTER" => VrrpEvent::Master,
            "BACKUP" => VrrpEvent::Backup,
            "FAULT" => VrrpEvent::Fault,
            "STOP" => VrrpEvent::Stop,
            "DELETED" => VrrpEvent::Deleted,
            "MASTER_RX_LOWER_PRI" => VrrpEvent::MasterRxLowerPri,
            "MASTER_PRIORITY" => VrrpEvent::MasterPriority,
            "BACKUP_PRIORITY" => VrrpEvent::BackupPriority,
            _ => return None,
        })
    }

    /// keepalived's state number (as in its JSON dump) the event leaves the instance in.
    pub fn state(self) -> Option<u32> {
        match self {
            VrrpEvent::Backup | VrrpEvent::BackupPriority => Some(1),
            VrrpEvent::Master | VrrpEvent::MasterPriority => Some(2),
            VrrpEvent::Fault => Some(3),
            _ => None,
        }
    }
}

/// How a notify line names a virtual server.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum VsName {
    Id(VirtualServiceId),
    /// A virtual server group, `[VSG_1]:80` (no one kernel service).
    Group {
        name: String,
        port: u16,
    },
}

impl VsName {
    fn parse(s: &str) -> Option<VsName> {
        if let Some(id) = VirtualServiceId::from_log(s) {
            return Some(VsName::Id(id));
        }
        let (name, port) = s.strip_prefix('[')?.rsplit_once("]:")?;
        let port = port
            .parse()
            .ok()
            .filter(|_| port.bytes().all(|b| b.is_ascii_digit()))?;
        // `[10.1.0.100]:80` is keepalived 1.2's service without a protocol, not a group.
        let ip = name.parse::<std::net::IpAddr>().is_ok();
        (!name.is_empty() && !ip).then(|| VsName::Group {
            name: name.into(),
            port,
        })
    }

    /// Whether `vs` (from a dump) is the service this name means.
    fn names(&self, vs: &VirtualService) -> bool {
        match (self, &vs.address) {
            (VsName::Group { name, .. }, Some(VsAddress::Group(g))) => name == g,
            (VsName::Id(id), _) => vs.id().is_some_and(|v| v.matches(id)),
            _ => false,
        }
    }

    /// A service for a line that names one no dump has shown yet.
    fn service(&self) -> VirtualService {
        let (address, protocol) = match *self {
            VsName::Id(VirtualServiceId::Inet { proto, addr, port }) => (
                VsAddress::Inet { ip: addr, port },
                match proto {
                    IpProto::TCP => super::model::Protocol::Tcp,
                    IpProto::UDP => super::model::Protocol::Udp,
                    IpProto::SCTP => super::model::Protocol::Sctp,
                    _ => super::model::Protocol::Other,
                },
            ),
            VsName::Id(VirtualServiceId::Fwmark { mark, .. }) => {
                (VsAddress::Fwmark(mark), super::model::Protocol::Other)
            }
            VsName::Group { ref name, .. } => (
                VsAddress::Group(name.clone()),
                super::model::Protocol::Other,
            ),
        };
        VirtualService {
            address: Some(address),
            protocol,
            // Up until a line says otherwise: keepalived sends VS lines only on changes.
            quorum_up: true,
            ..VirtualService::default()
        }
    }
}

/// One line of a notify FIFO.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    Instance {
        iname: String,
        event: VrrpEvent,
        priority: u32,
    },
    Group {
        gname: String,
        event: VrrpEvent,
    },
    VirtualServer {
        vs: VsName,
        up: bool,
    },
    RealServer {
        rs: RealServerId,
        vs: VsName,
        up: bool,
    },
}

/// What a later line of the same key replaces: the latest line per key is all that matters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NoticeKey {
    Instance(String),
    VirtualServer(VsName),
    RealServer(VsName, RealServerId),
}

impl Notice {
    /// `None` for lines that change no state (sync groups, events without a state).
    pub fn key(&self) -> Option<NoticeKey> {
        match self {
            Notice::Instance { event, .. } if *event == VrrpEvent::MasterRxLowerPri => None,
            Notice::Instance { iname, .. } => Some(NoticeKey::Instance(iname.clone())),
            Notice::Group { .. } => None,
            Notice::VirtualServer { vs, .. } => Some(NoticeKey::VirtualServer(vs.clone())),
            Notice::RealServer { rs, vs, .. } => Some(NoticeKey::RealServer(vs.clone(), *rs)),
        }
    }
}

/// Parses one line (without its newline; a trailing `\r` or spaces are tolerated).
pub fn parse_line(line: &str) -> Result<Notice, NoticeError> {
    let line = line.trim_end();
    let (kind, rest) = line.split_once(' ').ok_or(if line.is_empty() {
        NoticeError::Empty
    } else {
        NoticeError::Kind
    })?;
    match kind {
        "INSTANCE" | "GROUP" => {
            // The name is keepalived's word in quotes; state and priority follow it.
            let mut tail = rest.rsplitn(3, ' ');
            let priority = tail.next().ok_or(NoticeError::Priority)?;
            let event = tail.next().ok_or(NoticeError::State)?;
            let quoted = tail.next().ok_or(NoticeError::Name)?;
            let name = quoted
                .strip_prefix('"')
                .and_then(|n| n.strip_suffix('"'))
                .filter(|n| !n.is_empty())
                .ok_or(NoticeError::Name)?;
            let event = VrrpEvent::parse(event).ok_or(NoticeError::State)?;
            let priority: u32 = priority
                .parse()
                .ok()
                .filter(|p| *p <= 255 && priority.bytes().all(|b| b.is_ascii_digit()))
                .ok_or(NoticeError::Priority)?;
            Ok(if kind == "GROUP" {
                Notice::Group {
                    gname: name.into(),
                    event,
                }
            } else {
                Notice::Instance {
                    iname: name.into(),
                    event,
                    priority,
                }
            })
        }
        "VS" => {
            let (vs, up) = up_down(rest)?;
            let vs = VsName::parse(vs).ok_or(NoticeError::VirtualServer)?;
            Ok(Notice::VirtualServer { vs, up })
        }
        "RS" => {
            let (rest, up) = up_down(rest)?;
            let (rs, vs) = rest.split_once(' ').ok_or(NoticeError::VirtualServer)?;
            let rs = RealServerId::from_log(rs).ok_or(NoticeError::RealServer)?;
            let vs = VsName::parse(vs).ok_or(NoticeError::VirtualServer)?;
            Ok(Notice::RealServer { rs, vs, up })
        }
        _ => Err(NoticeError::Kind),
    }
}

fn up_down(s: &str) -> Result<(&str, bool), NoticeError> {
    let (head, word) = s.rsplit_once(' ').ok_or(NoticeError::UpDown)?;
    match word {
        "UP" => Ok((head, true)),
        "DOWN" => Ok((head, false)),
        _ => Err(NoticeError::UpDown),
    }
}

/// Applies `n`, received at `at` (Unix seconds), to `state`: what the line says wins over
/// what the last dump said. An instance or server no dump has shown is added with what the
/// line tells (marked `from_notify`: its VRID, interface, base priority and weight are not
/// known). Sync group lines change nothing (their instances get lines of their own).
pub fn apply(state: &mut KeepalivedState, n: &Notice, at: f64) {
    match n {
        Notice::Instance {
            iname,
            event,
            priority,
        } => {
            let pos = state.instances.iter().position(|i| &i.iname == iname);
            if matches!(event, VrrpEvent::Stop | VrrpEvent::Deleted) {
                if let Some(p) = pos {
                    state.instances.remove(p);
                }
                return;
            }
            let Some(new) = event.state() else { return };
            let inst = match pos {
                Some(p) => &mut state.instances[p],
                None => {
                    state.instances.push(VrrpInstance {
                        iname: iname.clone(),
                        vrid: 0,
                        interface: String::new(),
                        state: new,
                        wanted_state: new,
                        priority_base: *priority,
                        priority_effective: *priority,
                        last_transition: at,
                        vips: 0,
                        stats: None,
                        from_notify: true,
                    });
                    return;
                }
            };
            if inst.state != new {
                inst.state = new;
                inst.last_transition = at;
            }
            inst.wanted_state = new;
            inst.priority_effective = *priority;
        }
        Notice::Group { .. } => {}
        Notice::VirtualServer { vs, up } => service(state, vs).quorum_up = *up,
        Notice::RealServer { rs, vs, up } => {
            let svc = service(state, vs);
            match svc.real_servers.iter_mut().find(|r| r.id() == Some(*rs)) {
                Some(r) => r.alive = *up,
                None => svc.real_servers.push(RealServer {
                    ip: Some(rs.addr),
                    port: rs.port,
                    alive: *up,
                    weight: 0,
                    from_notify: true,
                }),
            }
        }
    }
}

fn service<'a>(state: &'a mut KeepalivedState, name: &VsName) -> &'a mut VirtualService {
    let pos = state.virtual_services.iter().position(|v| name.names(v));
    let pos = pos.unwrap_or_else(|| {
        state.virtual_services.push(name.service());
        state.virtual_services.len() - 1
    });
    &mut state.virtual_services[pos]
}

#[cfg(test)]
mod tests;

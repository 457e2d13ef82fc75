//! A blocking generic-netlink client for the IPVS family: resolves the family, sends a
//! request, collects every reply of a (possibly multi-part) dump.
//!
//! Every IPVS command, reads included, needs CAP_NET_ADMIN in the socket's network
//! namespace; EPERM is reported as such, naming the capability.

use super::attrs::{self, NlService, Skipped};
use super::recording::{Exchange, Recording};
use crate::ipvs::model::{Dest, SyncDaemon, Timeouts};
use netlink_packet_core::{
    DecodeError, Emitable, NetlinkBuffer, NetlinkMessage, NetlinkPayload, ParseableParametrized,
    NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST,
};
use netlink_packet_generic::ctrl::nlas::GenlCtrlAttrs;
use netlink_packet_generic::ctrl::{GenlCtrl, GenlCtrlCmd};
use netlink_packet_generic::{GenlFamily, GenlHeader, GenlMessage};
use netlink_sys::{protocols::NETLINK_GENERIC, Socket, SocketAddr};
use std::io;
use std::sync::Arc;

/// The dump changed under us (`NLM_F_DUMP_INTR`): the caller restarts the whole read.
const NLM_F_DUMP_INTR: u16 = 0x10;

#[derive(Debug, thiserror::Error)]
pub enum NetlinkError {
    #[error("cannot open a generic netlink socket: {0}")]
    Socket(#[source] io::Error),
    #[error("the kernel has no IPVS generic netlink family (no IPVS in this kernel, or the ip_vs module is not loaded)")]
    NoFamily,
    #[error("permission denied: reading IPVS over netlink needs CAP_NET_ADMIN (grant it, e.g. AmbientCapabilities=CAP_NET_ADMIN, or use --ipvs.source procfs)")]
    Permission,
    #[error("netlink {what} failed: {source}")]
    Kernel {
        what: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("the IPVS table changed during every one of {0} dump attempts")]
    Interrupted(u32),
    #[error("bad netlink reply to {what}: {reason}")]
    Decode { what: &'static str, reason: String },
}

/// An IPVS request or reply: the command and its raw attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpvsMsg {
    pub cmd: u8,
    pub attrs: Vec<u8>,
}

impl GenlFamily for IpvsMsg {
    fn family_name() -> &'static str {
        "IPVS"
    }
    fn command(&self) -> u8 {
        self.cmd
    }
    fn version(&self) -> u8 {
        1
    }
}

impl Emitable for IpvsMsg {
    fn buffer_len(&self) -> usize {
        self.attrs.len()
    }
    fn emit(&self, buffer: &mut [u8]) {
        buffer[..self.attrs.len()].copy_from_slice(&self.attrs);
    }
}

impl ParseableParametrized<[u8], GenlHeader> for IpvsMsg {
    fn parse_with_param(buf: &[u8], header: GenlHeader) -> Result<Self, DecodeError> {
        Ok(IpvsMsg {
            cmd: header.cmd,
            attrs: buf.to_vec(),
        })
    }
}

/// Why a transaction stopped early.
enum Outcome {
    Done(Vec<Vec<u8>>),
    Interrupted,
}

/// Where requests go: the kernel, or a recorded conversation (`--demo`).
enum Transport {
    Kernel(Socket),
    Replay {
        recording: Arc<Recording>,
        cursor: usize,
    },
}

pub struct Client {
    transport: Transport,
    family: u16,
    seq: u32,
    /// Reply attributes skipped since the client was made (unknown or truncated).
    pub skipped: Skipped,
    /// When recording: every exchange with the kernel since the last `take_recording`.
    recorder: Option<Recording>,
}

fn kernel_error(what: &'static str, code: i32) -> NetlinkError {
    match -code {
        libc::EPERM | libc::EACCES => NetlinkError::Permission,
        libc::ENOENT if what == "family lookup" => NetlinkError::NoFamily,
        errno => NetlinkError::Kernel {
            what,
            source: io::Error::from_raw_os_error(errno),
        },
    }
}

impl Client {
    /// Opens a socket in the calling thread's network namespace and resolves the family.
    pub fn connect() -> Result<Client, NetlinkError> {
        let mut socket = Socket::new(NETLINK_GENERIC).map_err(NetlinkError::Socket)?;
        socket.bind_auto().map_err(NetlinkError::Socket)?;
        socket
            .connect(&SocketAddr::new(0, 0))
            .map_err(NetlinkError::Socket)?;
        let mut c = Client {
            transport: Transport::Kernel(socket),
            family: 0,
            seq: 0,
            skipped: Skipped::default(),
            recorder: None,
        };
        c.family = c.resolve_family()?;
        Ok(c)
    }

    /// A client that answers from a recorded conversation instead of the kernel.
    pub fn replay(recording: Arc<Recording>) -> Client {
        Client {
            transport: Transport::Replay {
                recording,
                cursor: 0,
            },
            family: 0,
            seq: 0,
            skipped: Skipped::default(),
            recorder: None,
        }
    }

    /// Starts (or restarts) recording every exchange with the kernel.
    pub fn record(&mut self) {
        self.recorder = Some(Recording::default());
    }

    /// What was recorded since `record`, leaving the recorder running and empty.
    pub fn take_recording(&mut self) -> Option<Recording> {
        self.recorder.as_mut().map(std::mem::take)
    }

    fn socket(&mut self, what: &'static str) -> Result<&mut Socket, NetlinkError> {
        match &mut self.transport {
            Transport::Kernel(s) => Ok(s),
            Transport::Replay { .. } => Err(NetlinkError::Decode {
                what,
                reason: "a replayed conversation has no socket".into(),
            }),
        }
    }

    fn send<T>(
        &mut self,
        payload: GenlMessage<T>,
        flags: u16,
        what: &'static str,
    ) -> Result<u32, NetlinkError>
    where
        T: GenlFamily + Emitable + std::fmt::Debug,
    {
        self.seq = self.seq.wrapping_add(1);
        let mut msg = NetlinkMessage::from(payload);
        msg.header.flags = flags;
        msg.header.sequence_number = self.seq;
        msg.finalize();
        let mut buf = vec![0; msg.buffer_len()];
        msg.serialize(&mut buf);
        self.socket(what)?
            .send(&buf, 0)
            .map_err(|source| NetlinkError::Kernel { what, source })?;
        Ok(self.seq)
    }

    /// Receives every message answering `seq`, handing each decoded one to `take`, until
    /// DONE (dumps) or the single reply / ACK (plain requests).
    fn receive<T>(
        &mut self,
        seq: u32,
        dump: bool,
        what: &'static str,
        mut take: impl FnMut(T),
    ) -> Result<bool, NetlinkError>
    where
        T: ParseableParametrized<[u8], GenlHeader> + std::fmt::Debug + GenlFamily,
    {
        let mut interrupted = false;
        loop {
            let (data, _) = self
                .socket(what)?
                .recv_from_full()
                .map_err(|source| NetlinkError::Kernel { what, source })?;
            let mut off = 0;
            while off < data.len() {
                let len = NetlinkBuffer::new_checked(&data[off..])
                    .map(|b| b.length() as usize)
                    .map_err(|e| NetlinkError::Decode {
                        what,
                        reason: e.to_string(),
                    })?;
                if len == 0 || off + len > data.len() {
                    return Err(NetlinkError::Decode {
                        what,
                        reason: "bad message length".into(),
                    });
                }
                let chunk = &data[off..off + len];
                off += (len + 3) & !3;
                let msg = NetlinkMessage::<GenlMessage<T>>::deserialize(chunk).map_err(|e| {
                    NetlinkError::Decode {
                        what,
                        reason: e.to_string(),
                    }
                })?;
                if msg.header.sequence_number != seq {
                    continue; // a late answer to an earlier request
                }
                interrupted |= msg.header.flags & NLM_F_DUMP_INTR != 0;
                match msg.payload {
                    NetlinkPayload::Done(_) => return Ok(interrupted),
                    NetlinkPayload::Error(e) => match e.code {
                        Some(code) => return Err(kernel_error(what, code.get())),
                        None if !dump => return Ok(interrupted),
                        None => {}
                    },
                    NetlinkPayload::InnerMessage(m) => {
                        take(m.payload);
                        if !dump {
                            // A plain request is answered by one message, then an ACK.
                            continue;
                        }
                    }
                    NetlinkPayload::Overrun(_) => {
                        return Err(NetlinkError::Decode {
                            what,
                            reason: "overrun".into(),
                        })
                    }
                    _ => {}
                }
            }
        }
    }

    fn resolve_family(&mut self) -> Result<u16, NetlinkError> {
        const WHAT: &str = "family lookup";
        let req = GenlMessage::from_payload(GenlCtrl {
            cmd: GenlCtrlCmd::GetFamily,
            nlas: vec![GenlCtrlAttrs::FamilyName(IpvsMsg::family_name().into())],
        });
        let seq = self.send(req, NLM_F_REQUEST | NLM_F_ACK, WHAT)?;
        let mut id = None;
        self.receive::<GenlCtrl>(seq, false, WHAT, |m| {
            for nla in m.nlas {
                if let GenlCtrlAttrs::FamilyId(v) = nla {
                    id = Some(v);
                }
            }
        })?;
        id.ok_or(NetlinkError::NoFamily)
    }

    fn transact(
        &mut self,
        cmd: u8,
        attrs: Vec<u8>,
        dump: bool,
        what: &'static str,
    ) -> Result<Outcome, NetlinkError> {
        if let Transport::Replay { recording, cursor } = &mut self.transport {
            return match recording.answer(cursor, cmd, &attrs) {
                Some(replies) => Ok(Outcome::Done(replies.to_vec())),
                None => Err(NetlinkError::Decode {
                    what,
                    reason: "the recording has no answer to this request".into(),
                }),
            };
        }
        let request = self.recorder.is_some().then(|| attrs.clone());
        let mut msg = GenlMessage::from_payload(IpvsMsg { cmd, attrs });
        msg.set_resolved_family_id(self.family);
        let flags = NLM_F_REQUEST | if dump { NLM_F_DUMP } else { NLM_F_ACK };
        let seq = self.send(msg, flags, what)?;
        let mut out = Vec::new();
        let interrupted = self.receive::<IpvsMsg>(seq, dump, what, |m| out.push(m.attrs))?;
        if let (Some(rec), Some(request), false) = (&mut self.recorder, request, interrupted) {
            rec.exchanges.push(Exchange {
                cmd,
                request,
                replies: out.clone(),
            });
        }
        Ok(if interrupted {
            Outcome::Interrupted
        } else {
            Outcome::Done(out)
        })
    }

    /// Every service with its destinations. `None` when a dump was interrupted (the
    /// table changed): the caller retries.
    pub fn services_once(&mut self) -> Result<Option<Vec<NlService>>, NetlinkError> {
        let Outcome::Done(msgs) =
            self.transact(attrs::CMD_GET_SERVICE, Vec::new(), true, "service dump")?
        else {
            return Ok(None);
        };
        let mut services = Vec::with_capacity(msgs.len());
        for m in msgs {
            match attrs::parse_service_msg(&m, &mut self.skipped) {
                Some(s) => services.push(s),
                None => self.skipped.0 += 1,
            }
        }
        for s in &mut services {
            match self.dests(s.af, &s.service.addr)? {
                Some(d) => s.service.dests = d,
                None => return Ok(None),
            }
        }
        Ok(Some(services))
    }

    fn dests(
        &mut self,
        af: u16,
        addr: &crate::ipvs::ServiceAddr,
    ) -> Result<Option<Vec<Dest>>, NetlinkError> {
        let sel = attrs::service_selector(af, addr);
        match self.transact(attrs::CMD_GET_DEST, sel, true, "destination dump") {
            Ok(Outcome::Done(msgs)) => {
                let mut v = Vec::with_capacity(msgs.len());
                for m in msgs {
                    match attrs::parse_dest_msg(&m, af, &mut self.skipped) {
                        Some(d) => v.push(d),
                        None => self.skipped.0 += 1,
                    }
                }
                Ok(Some(v))
            }
            Ok(Outcome::Interrupted) => Ok(None),
            // The service was deleted between the two dumps: the table changed, retry.
            Err(NetlinkError::Kernel { source, .. })
                if source.raw_os_error() == Some(libc::ESRCH) =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Services and destinations, retrying a dump the kernel flags as interrupted.
    pub fn services(&mut self, attempts: u32) -> Result<Vec<NlService>, NetlinkError> {
        for _ in 0..attempts {
            if let Some(s) = self.services_once()? {
                return Ok(s);
            }
        }
        Err(NetlinkError::Interrupted(attempts))
    }

    /// (version code, connection table size).
    pub fn info(&mut self) -> Result<(u32, u32), NetlinkError> {
        match self.transact(attrs::CMD_GET_INFO, Vec::new(), false, "info")? {
            Outcome::Done(m) => Ok(m
                .first()
                .map_or((0, 0), |m| attrs::parse_info_msg(m, &mut self.skipped))),
            Outcome::Interrupted => Err(NetlinkError::Interrupted(1)),
        }
    }

    pub fn timeouts(&mut self) -> Result<Timeouts, NetlinkError> {
        match self.transact(attrs::CMD_GET_CONFIG, Vec::new(), false, "config")? {
            Outcome::Done(m) => Ok(m.first().map_or_else(Timeouts::default, |m| {
                attrs::parse_config_msg(m, &mut self.skipped)
            })),
            Outcome::Interrupted => Err(NetlinkError::Interrupted(1)),
        }
    }

    pub fn daemons(&mut self) -> Result<Vec<SyncDaemon>, NetlinkError> {
        match self.transact(attrs::CMD_GET_DAEMON, Vec::new(), true, "daemon dump")? {
            Outcome::Done(m) => Ok(m
                .iter()
                .filter_map(|m| attrs::parse_daemon_msg(m, &mut self.skipped))
                .collect()),
            Outcome::Interrupted => Err(NetlinkError::Interrupted(1)),
        }
    }
}

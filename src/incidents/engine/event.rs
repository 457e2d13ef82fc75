//! An event as the detectors see it: [`Seen`], what they need of the pipeline's borrowed
//! event (`analyze`) or of an owned one from the bus (`serve`), and [`In`], the same with
//! the director's clock and its shared names resolved, and how it becomes evidence.

use super::*;

/// One event as the detectors see it.
pub(super) struct In<'a> {
    pub(super) time: i64,
    /// The director's previous event's time.
    pub(super) prev: i64,
    pub(super) host: &'a str,
    /// The director's place in [`Engine::hosts`], looked up once per event: consecutive
    /// events are of several directors in a merged input, so the cache of the last one
    /// mostly missed, and each detector hashed the name again.
    pub(super) hx: usize,
    /// Where the instance's shared name is in its director's list ([`Host::iname_at`]):
    /// a key copies it from there (`Engine::key`). The event holds no shared name itself:
    /// taking and dropping the director's and the instance's at every event, two locked
    /// increments and two locked decrements, made each event wait for the stores of the
    /// one before (1.5–3 % of `analyze`, by turns).
    pub(super) iname_ix: Option<u32>,
    /// How the detectors read it (`None`: they do not).
    pub(super) read: Option<Read>,
    pub(super) iname: Option<&'a str>,
    pub(super) vs: Option<VirtualServiceId>,
    pub(super) rs: Option<RealServerId>,
    pub(super) script: Option<&'a str>,
    pub(super) interface: Option<&'a str>,
    pub(super) peer: Option<&'a str>,
    /// The message, after the transport's time, host and ident.
    pub(super) message: &'a str,
    pub(super) line: &'a [u8],
}

impl In<'_> {
    pub(super) fn evidence(&self) -> Evidence {
        let mut ev = Evidence {
            time: None,
            host: String::new(),
            line: String::new(),
        };
        self.write_evidence(&mut ev);
        ev
    }

    /// This event as evidence, into `ev`'s buffers (a repeat reuses the oldest's). Its
    /// host is left empty: an event's evidence is always for an incident of its own
    /// director, whose name is written in when the incident is made ([`made::finish`],
    /// the store). A copy of the name per line was an allocation per line kept, two
    /// per real server taken out and back.
    pub(super) fn write_evidence(&self, ev: &mut Evidence) {
        ev.time = Some(self.time);
        ev.host.clear();
        bounded_line_into(&mut ev.line, self.line, EVIDENCE_LINE);
    }
}

/// What the detectors need of an event, from the pipeline's borrowed one (`analyze`) or
/// an owned one from the bus (`serve`).
pub struct Seen<'a> {
    pub time: Option<i64>,
    pub kind: &'a str,
    pub iname: Option<&'a str>,
    pub vs: Option<VirtualServiceId>,
    pub rs: Option<RealServerId>,
    pub script: Option<&'a str>,
    pub interface: Option<&'a str>,
    /// The other director an advert came from.
    pub peer: Option<&'a str>,
    pub message: &'a str,
    pub line: &'a [u8],
}

impl<'a> Seen<'a> {
    pub fn of(ev: &'a EventRef<'a>) -> Seen<'a> {
        Seen {
            time: ev.time,
            kind: ev.kind,
            iname: ev.iname(),
            vs: ev.virtual_service().ok().flatten(),
            rs: ev.real_server().ok().flatten(),
            script: ev.label(Label::Script),
            interface: ev.label(Label::Interface),
            peer: ev.label(Label::Peer),
            message: ev.message,
            line: ev.line,
        }
    }

    pub fn of_event(ev: &'a crate::logs::event::Event) -> Seen<'a> {
        let detail = |name: &str| ev.detail.get(name).map(String::as_str);
        Seen {
            time: ev.time,
            kind: &ev.kind,
            iname: ev.iname.as_deref(),
            vs: ev.virtual_service,
            rs: ev.real_server,
            script: detail("script"),
            interface: detail("interface"),
            peer: detail("peer"),
            message: &ev.message,
            line: ev.line.as_bytes(),
        }
    }
}

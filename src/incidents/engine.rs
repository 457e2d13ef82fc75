//! The detectors. Per director, as events arrive: an incident opens on the event that
//! starts it and closes on the one that ends it (a real server added back, quorum regained,
//! the instance leaving FAULT) or, for messages that repeat while something is wrong
//! (mismatched adverts, a full conntrack table), after a quiet window. Across directors,
//! from the VRRP transitions kept on the way (a handful per instance, not the lines): who
//! was MASTER when, so failovers name the old and the new master and overlapping masters
//! are a split brain — the logs of several directors may come one file after another, so
//! this is decided when the input ends.
//!
//! Memory is bounded by what is open and by the transitions, never by lines.

use super::{cause_index, hint_at, hint_for, kind, Evidence, Incident, Settings};
use crate::logs::event::{bounded_line, bounded_line_into};
use crate::logs::linear::bytes_eq;
use crate::logs::pipeline::EventRef;
use crate::logs::rules::Label;
use crate::model::{RealServerId, VirtualServiceId};
use std::collections::{BTreeMap, VecDeque};

/// The engine's maps are looked up several times per event: foldhash, not SipHash (SipHash
/// was a tenth of `analyze`, callgrind), seeded per map.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
type HashSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;

/// Longest evidence line kept, in bytes.
const EVIDENCE_LINE: usize = 300;

/// MASTER transitions kept per closed incident of history under `serve` (a failover is
/// two transitions; a split brain two or four).
const TRANSITIONS_PER_INCIDENT: usize = 4;

/// A director's or an instance's name, shared by every key that names it: building a key
/// for each event must not allocate.
type Name = std::sync::Arc<str>;

/// Instance names kept shared per director; beyond this (a log inventing names) each key
/// gets its own copy.
const MAX_INAMES: usize = 4096;

/// Event times are microseconds; settings are seconds.
fn micros(seconds: u64) -> i64 {
    i64::try_from(seconds).unwrap_or(i64::MAX / 2_000_000) * 1_000_000
}

/// The recent times of a flapping count, oldest first (`detect::push_recent`): as many
/// as the threshold, held inline up to four (the defaults are three and four). A list
/// of its own per real server was an allocation at each first down and, for the sweep
/// of old downs, a cache miss per real server (6.43 → 6.12 s on ten directors' logs, by
/// turns).
type Recent = smallvec::SmallVec<[i64; 4]>;

/// What identifies one open incident.
// The hand-written equality is the derived one, only quicker (names that are one are
// equal), so the derived hash, which reads the text, agrees with it.
#[allow(clippy::derived_hash_with_manual_eq)]
#[derive(Debug, Clone, Eq, Hash, PartialOrd, Ord)]
struct Key {
    kind: &'static str,
    host: Name,
    iname: Option<Name>,
    vs: Option<VirtualServiceId>,
    rs: Option<RealServerId>,
}

/// Equal fields, as derived, but a name shared by both keys (the usual case: each
/// director's names are kept once, [`Host::iname_ix`]) is equal without reading it: the
/// open incidents' table compares keys at every lookup (`Key::eq`, reading the names'
/// text, was 1.5 % of `analyze`'s time, perf).
impl PartialEq for Key {
    fn eq(&self, o: &Key) -> bool {
        fn same(a: &Name, b: &Name) -> bool {
            std::sync::Arc::ptr_eq(a, b) || a == b
        }
        (std::ptr::eq(self.kind, o.kind) || self.kind == o.kind)
            && same(&self.host, &o.host)
            && match (&self.iname, &o.iname) {
                (Some(a), Some(b)) => same(a, b),
                (a, b) => a.is_none() && b.is_none(),
            }
            && self.vs == o.vs
            && self.rs == o.rs
    }
}

/// An open incident — what its key does not say — and how it closes. It becomes an
/// [`Incident`], its key's director, instance and identities written out as text, only
/// when it closes or is listed ([`made::finish`]): hundreds of thousands can be open at
/// once (real servers taken out and never back), and each held a whole `Incident` with
/// its key's fields again as strings, four allocations and 150 bytes more apiece.
#[derive(Debug, Clone)]
struct Open {
    start: i64,
    /// Set while open only for a zero-length incident.
    end: Option<i64>,
    /// Repetitions folded in.
    count: u64,
    severity: crate::logs::rules::Severity,
    summary: String,
    hint: &'static str,
    /// The first evidence lines.
    evidence: Vec<Evidence>,
    /// Closes after this many seconds without a repeat (`None`: only its end event closes
    /// it).
    quiet: Option<u64>,
    last: i64,
    /// The newest evidence, kept apart so the first lines stay.
    tail: VecDeque<Evidence>,
    /// Its number in its director's [`Host::deadlines`].
    seq: u64,
    /// Opened by a look at the director (not by an event): only a look closes it.
    by_look: bool,
}

impl Open {
    /// When its quiet window ends (µs), if it has one.
    fn deadline(&self) -> Option<i64> {
        self.quiet.map(|q| self.last.saturating_add(micros(q)))
    }
}

/// What the engine remembers of one director.
#[derive(Debug, Default, Clone)]
struct Host {
    name: Name,
    /// Its instances' names, each shared by every key that names it, and where each is.
    inames: Vec<Name>,
    iname_index: HashMap<Name, u32>,
    /// keepalived is running (a start was seen, and no stop after it).
    running: bool,
    last_time: i64,
    /// Per instance: the times of its recent state changes.
    changes: HashMap<String, Recent>,
    /// Per real server: the times it was taken down recently. Swept of those not taken
    /// down for two windows (`detect::sweep_downs`): one entry per real server ever
    /// taken down grew with the input, not with what is open (ten directors' logs: a
    /// quarter of a million entries, each down a cache miss into them).
    downs: HashMap<(Option<VirtualServiceId>, RealServerId), Recent>,
    /// How many [`Host::downs`] held after the last sweep.
    downs_swept: usize,
    /// Per real server: the checker's last failure, for the reason.
    failures: HashMap<RealServerId, String>,
    /// Per virtual service: the sorry server in use.
    sorry: HashMap<VirtualServiceId, RealServerId>,
    /// Why an instance went to FAULT (a track script, a link), last seen.
    fault_reason: Option<String>,
    /// Instances MASTER now (a director can be MASTER of dozens: looked up at every state
    /// change, where a list was scanned name by name).
    masters: std::collections::BTreeSet<Name>,
    /// What the snapshot detectors remember between looks.
    watch: snapshot::Watch,
    /// Per instance: it was BACKUP (not the BACKUP keepalived starts in) or in FAULT at its
    /// last change, so becoming MASTER takes the role from another director.
    standby: HashSet<Name>,
    /// Instances that changed state since keepalived started: the first change is its
    /// start (keepalived 2.2.7 does not always mark it "(init)").
    since_start: HashSet<Name>,
    /// Per instance: the last director heard claiming MASTER with a better priority.
    better_peer: HashMap<Name, String>,
    /// The open incidents that close after a quiet window, by when: a sweep at each event
    /// looks only at those due (checking every open incident at every line made `analyze`
    /// quadratic). An entry may be earlier than its incident's deadline, never later: a
    /// repeat leaves it, and the sweep moves it when it comes due.
    deadlines: std::collections::BTreeSet<(i64, u64)>,
    /// No deadline in [`Host::deadlines`] is earlier. It may be earlier than the first (a
    /// deadline moved or dropped leaves it; the sweep then reads the first and catches
    /// up): the sweep at every event reads this field of a director it has just touched,
    /// not the tree, whose first node was a cache miss per event (7 % of the engine's
    /// time on ten directors' logs, counted with the time-stamp counter).
    next_due: i64,
}

/// The incident engine over one stream of events (one `serve`, one `analyze` run).
#[derive(Debug, Clone)]
pub struct Engine {
    s: Settings,
    /// What is open, by key ([`table::OpenTable`]).
    open: table::OpenTable,
    /// Closed incidents, not yet made into [`Incident`]s: `analyze`'s store writes each
    /// straight from its key and what it held open, never making the texts of its
    /// director, instance and identities (four allocations an incident, a million
    /// incidents on ten directors' logs); [`Engine::finish`] makes them.
    done: VecDeque<(Key, Open)>,
    /// Closed incidents kept (`None`: all, as `analyze` wants).
    history: Option<usize>,
    /// Incidents opened by the event being handled, kept only while a caller counts them
    /// ([`Engine::seen_counting`]): `analyze` never takes them, and the list grew with
    /// every incident opened (half a million on ten directors' logs).
    opened: Vec<(&'static str, &'static str)>,
    /// Set while [`Engine::seen_counting`] or [`Engine::observe_counting`] runs.
    counting: bool,
    /// The key of each incident in a director's [`Host::deadlines`].
    by_seq: HashMap<u64, Key>,
    seq: u64,
    /// Bumped at every change, so a saver knows when to write.
    version: u64,
    /// Bumped when an incident opens or closes (not when one repeats): what an
    /// Alertmanager push must tell.
    shifts: u64,
    /// Per director, in order of first sight; [`Engine::host`] finds one by name.
    hosts: Vec<Host>,
    host_index: HashMap<Name, usize>,
    /// The director of the last lookup: consecutive events are mostly one director's, and
    /// a name compared costs less than a name hashed (the lookups were 3 % of `analyze`'s
    /// instructions, callgrind).
    last_host: usize,
    transitions: Vec<Transition>,
    /// One director's events (`serve`): a failover is told from its side, as it happens,
    /// not decided across directors at the end.
    one_director: bool,
}

impl Host {
    /// Adds the deadline of the open incident numbered `seq`.
    fn due(&mut self, deadline: i64, seq: u64) {
        self.deadlines.insert((deadline, seq));
        self.next_due = self.next_due.min(deadline);
    }

    /// Where the shared copy of an instance's name is, made the first time it is seen
    /// (`None` beyond [`MAX_INAMES`]).
    fn iname_ix(&mut self, iname: &str) -> Option<u32> {
        if let Some(&i) = self.iname_index.get(iname) {
            return Some(i);
        }
        if self.inames.len() >= MAX_INAMES {
            return None;
        }
        let i = u32::try_from(self.inames.len()).ok()?;
        let n: Name = iname.into();
        self.inames.push(n.clone());
        self.iname_index.insert(n, i);
        Some(i)
    }

    /// The shared copy of instance name `iname` at `ix` ([`Host::iname_ix`]), or a copy
    /// of its own when it has none.
    fn iname_at(&self, ix: Option<u32>, iname: &str) -> Name {
        match ix.and_then(|i| self.inames.get(i as usize)) {
            Some(n) => n.clone(),
            None => iname.into(),
        }
    }
}

impl Engine {
    pub fn new(s: Settings) -> Engine {
        Engine {
            s,
            open: table::OpenTable::default(),
            done: VecDeque::new(),
            history: None,
            opened: Vec::new(),
            counting: false,
            by_seq: HashMap::default(),
            seq: 0,
            version: 0,
            shifts: 0,
            hosts: Vec::new(),
            host_index: HashMap::default(),
            last_host: 0,
            transitions: Vec::new(),
            one_director: false,
        }
    }

    /// One event. `host` names the director when the line does not (`analyze`'s input
    /// name); events without a wall-clock time take the director's last one.
    pub fn event(&mut self, ev: &EventRef<'_>, host: &str) {
        self.seen(Seen::of(ev), host);
    }

    /// [`Engine::event`] with where the caller believes the director is in the engine's
    /// list, its directors in order of first sight (`analyze`'s tally numbers them the
    /// same way): checked by name, and looked up when wrong. In a merged input
    /// consecutive events are of different directors, and the lookup hashed the name at
    /// every event.
    pub fn event_at(&mut self, ev: &EventRef<'_>, host: &str, hint: usize) {
        let hx = self.host_hinted(host, hint);
        self.seen_of(Seen::of(ev), host, hx);
    }

    /// [`Engine::tick`] with a hint, as [`Engine::event_at`].
    pub fn tick_at(&mut self, host: &str, time: Option<i64>, hint: usize) {
        let hx = self.host_hinted(host, hint);
        let h = &mut self.hosts[hx];
        h.last_time = time.map_or(h.last_time, |t| h.last_time.max(t));
    }

    /// An event of a kind no detector reads ([`Engine::handles`]): only the director's
    /// clock moves (what a later event without a time, a crash's "last seen" and the end
    /// of the input's quiet windows go by). Its quiet windows close at the director's next
    /// event the detectors read, before that event is handled, so what closes and in which
    /// order is the same as if this event had been handled.
    pub fn tick(&mut self, host: &str, time: Option<i64>) {
        self.tick_at(host, time, self.last_host);
    }

    /// One director's engine (`serve`): its failovers are told as they happen, from its
    /// side ("VI_1: MASTER moved to lb-b", "VI_1: lb-a left MASTER for 10.0.0.2").
    pub fn one_director(mut self) -> Engine {
        self.one_director = true;
        self
    }

    /// Makes room for `n` open real-server incidents at once (`analyze`, sized by its
    /// input; more still fit). A table that grows is copied at each doubling into fresh
    /// memory the kernel zeroes: ten directors' logs, a quarter of a million real servers
    /// out at the end, ran 4 to 6 % faster with room made for 930 thousand (by turns, on
    /// two hours; system time 0.66-1.02 -> 0.43-0.55 s), and their peak RSS fell 256 ->
    /// 231 MB (no copy beside the table it replaces). Room never used costs address
    /// space; only the table's index (about 18 bytes a place) is written.
    pub fn with_room_for_real_servers(mut self, n: usize) -> Engine {
        self.open.reserve_real_servers(n);
        self
    }

    /// Keeps only the newest `n` closed incidents (a long-running `serve`).
    pub fn with_history(mut self, n: usize) -> Engine {
        self.history = Some(n);
        self
    }

    /// [`Engine::seen`], returning the (kind, severity) of the incidents it opened.
    pub fn seen_counting(&mut self, ev: Seen<'_>, host: &str) -> Vec<(&'static str, &'static str)> {
        self.opened.clear();
        self.counting = true;
        self.seen(ev, host);
        self.counting = false;
        std::mem::take(&mut self.opened)
    }

    /// [`Engine::observe`], returning the (kind, severity) of the incidents it opened.
    pub fn observe_counting(
        &mut self,
        host: &str,
        obs: &crate::incidents::observe::Observation,
    ) -> Vec<(&'static str, &'static str)> {
        self.opened.clear();
        self.counting = true;
        self.observe(host, obs);
        self.counting = false;
        std::mem::take(&mut self.opened)
    }

    /// The windows and thresholds it runs with.
    pub fn settings(&self) -> &Settings {
        &self.s
    }

    /// Closes every director's incidents whose quiet window has passed by `now` (µs).
    pub fn close_quiet_all(&mut self, now: i64) {
        for h in 0..self.hosts.len() {
            self.close_quiet_of(h, now);
        }
    }

    /// Keeps a MASTER transition for the cross-director verdicts. With a bounded history
    /// (`serve`, running for months) only the newest are kept: the verdicts are made
    /// again from them at every look, and they must not grow without end.
    fn transition(&mut self, t: Transition) {
        self.transitions.push(t);
        if let Some(n) = self.history {
            let keep = n.saturating_mul(TRANSITIONS_PER_INCIDENT);
            if self.transitions.len() > keep {
                let extra = self.transitions.len() - keep;
                self.transitions.drain(..extra);
            }
        }
    }

    /// Entries the engine holds for incidents and verdicts: open incidents, closed ones not
    /// yet taken, MASTER transitions, pending quiet-window deadlines. With a [`Store`]
    /// taking what closes, this follows what is open, not what was found.
    pub fn held(&self) -> usize {
        self.open.len()
            + self.done.len()
            + self.transitions.len()
            + self.by_seq.len()
            + self.hosts.iter().map(|h| h.deadlines.len()).sum::<usize>()
    }

    /// Changes so far: equal numbers mean nothing to save.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Openings and closings so far: equal numbers mean nothing new to push.
    pub fn shifts(&self) -> u64 {
        self.shifts
    }

    /// Moves a closed incident to the history, dropping the oldest beyond its bound.
    fn closed(&mut self, k: Key, o: Open) {
        self.version += 1;
        self.shifts += 1;
        self.done.push_back((k, o));
        if let Some(n) = self.history {
            while self.done.len() > n {
                self.done.pop_front();
            }
        }
    }

    /// One event, as [`Seen`].
    pub fn seen(&mut self, ev: Seen<'_>, host: &str) {
        let hx = self.host_at(host);
        self.seen_of(ev, host, hx);
    }

    /// [`Engine::seen`] of the director at `hx` in [`Engine::hosts`].
    fn seen_of(&mut self, ev: Seen<'_>, host: &str, hx: usize) {
        let h = &mut self.hosts[hx];
        let prev = h.last_time;
        let time = ev.time.unwrap_or(prev);
        h.last_time = prev.max(time);
        let iname_ix = ev.iname.and_then(|i| h.iname_ix(i));
        let e = In {
            time,
            prev,
            host,
            hx,
            iname_ix,
            read: Read::of(ev.kind),
            iname: ev.iname,
            vs: ev.vs,
            rs: ev.rs,
            script: ev.script,
            interface: ev.interface,
            peer: ev.peer,
            message: ev.message,
            line: ev.line,
        };
        self.close_quiet_of(hx, time);
        self.detect(&e);
    }

    /// The state of the director of event `e`.
    fn at(&mut self, e: &In<'_>) -> &mut Host {
        &mut self.hosts[e.hx]
    }

    /// [`Engine::at`], to read.
    fn at_ref(&self, e: &In<'_>) -> &Host {
        &self.hosts[e.hx]
    }

    /// The director's state (allocating its name only the first time it is seen).
    fn host(&mut self, host: &str) -> &mut Host {
        let i = self.host_at(host);
        &mut self.hosts[i]
    }

    /// The director's place in [`Engine::hosts`], added when it is new.
    fn host_at(&mut self, host: &str) -> usize {
        self.host_hinted(host, self.last_host)
    }

    /// [`Engine::host_at`], trying `hint` first.
    fn host_hinted(&mut self, host: &str, hint: usize) -> usize {
        let i = self.index_hinted(host, hint).unwrap_or_else(|| {
            let name: Name = host.into();
            self.host_index.insert(name.clone(), self.hosts.len());
            self.hosts.push(Host {
                name,
                ..Host::default()
            });
            self.hosts.len() - 1
        });
        self.last_host = i;
        i
    }

    /// The director's place in [`Engine::hosts`], if it has been seen: the last one looked
    /// up first.
    fn index_of(&self, host: &str) -> Option<usize> {
        self.index_hinted(host, self.last_host)
    }

    /// [`Engine::index_of`], trying the place `hint` first (checked by name).
    fn index_hinted(&self, host: &str, hint: usize) -> Option<usize> {
        match self.hosts.get(hint) {
            Some(h) if bytes_eq(h.name.as_bytes(), host.as_bytes()) => Some(hint),
            _ => self.host_index.get(host).copied(),
        }
    }

    /// The director's state, if it has been seen (the tests look into it; the detectors
    /// reach it by [`Engine::at_ref`]).
    #[cfg(test)]
    fn host_ref(&self, host: &str) -> Option<&Host> {
        self.hosts.get(self.index_of(host)?)
    }

    /// The director's state, if it has been seen.
    fn host_mut(&mut self, host: &str) -> Option<&mut Host> {
        let i = self.index_of(host)?;
        self.hosts.get_mut(i)
    }

    /// The incidents so far (closed and open), as [`Engine::finish`] would give them now.
    pub fn incidents(&self) -> Vec<Incident> {
        self.clone().finish()
    }

    /// The incidents found so far and still open, oldest first, with the cross-director
    /// verdicts (failovers, split brains) decided from every director's transitions.
    pub fn finish(mut self) -> Vec<Incident> {
        self.close_quiet_at_ends();
        let mut out: Vec<Incident> = std::mem::take(&mut self.done)
            .into_iter()
            .chain(std::mem::take(&mut self.open))
            .map(|(k, o)| finish(&k, o))
            .collect();
        let cross = self.cross_director();
        out.extend(cross);
        cross::explain_split_brains(&mut out);
        // Oldest first; ties in a stable order, so two runs print the same.
        out.sort_by(|a, b| {
            (
                a.start,
                a.kind,
                &a.host,
                &a.hosts,
                &a.iname,
                &a.virtual_service,
                &a.real_server,
            )
                .cmp(&(
                    b.start,
                    b.kind,
                    &b.host,
                    &b.hosts,
                    &b.iname,
                    &b.virtual_service,
                    &b.real_server,
                ))
        });
        out
    }
}

mod cross;
mod detect;
mod event;
mod made;
mod open;
mod reads;
mod saved;
mod snapshot;
mod spill;
mod table;

pub use saved::Saved;
pub use spill::{Found, Store};

use cross::Transition;
use event::In;
pub use event::Seen;
use made::*;
use reads::Read;

#[cfg(test)]
mod snapshot_tests;
#[cfg(test)]
mod spill_tests;
#[cfg(test)]
mod tests;

//! `analyze`'s way of keeping what the engine found: closed incidents (each encoded once,
//! [`record`]) and MASTER transitions leave the engine as they come and wait, sorted, in
//! temporary files ([`crate::extsort`]), so memory follows what is open, not what was
//! found. At the end the
//! cross-director verdicts are made in one pass over the transitions, instance by instance
//! in time order, holding only the MASTER intervals that can still overlap a later one; the
//! split brains are explained in one pass over them and the mismatches, both by start.
//!
//! The result is exactly [`Engine::finish`]'s: the same incidents, fields and order (a test
//! compares them).

use super::*;
use crate::extsort::{ExtSort, Records, Sorted, SortedRecords};
use crate::logs::rules::Severity;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::io;

mod record;
mod verdicts;
use record::Slot;
use verdicts::verdicts;

/// Items held in memory per sorter before a run goes to disk.
const INCIDENTS_IN_MEMORY: usize = 4096;
const TRANSITIONS_IN_MEMORY: usize = 16384;

/// A mismatch incident as a split brain's explanation needs it, by instance then start.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
struct Mismatch {
    iname: String,
    start: i64,
    seq: u64,
    host: String,
    end: Option<i64>,
    /// What its first evidence line says (`None`: it has none).
    said: Option<String>,
}

/// A split brain as its explanation needs it, by instance then the earliest start of a
/// mismatch that can explain it. The split brain itself goes to the incidents' sorter once,
/// as every other incident does; what explains it is joined to it there when the
/// incidents are read ([`Found::each`]). (Spilling the whole incident here and again
/// there was a tenth of `analyze` on ten directors' logs, where half the incidents are
/// split brains, perf.)
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
struct Brain {
    iname: String,
    from: i64,
    start: i64,
    hosts: Vec<String>,
    seq: [u64; 3],
    end: Option<i64>,
}

/// What explains a split brain (`"; lb-a: …"`, added to its summary), in the incidents'
/// order: split brains share their kind, host and identities, so the incidents' order
/// among them ([`record`]) is by start, directors, instance and sequence, the fields here. (A split brain
/// always names its instance, [`cross::cross`].)
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
struct Explained {
    start: i64,
    hosts: Vec<String>,
    iname: String,
    seq: [u64; 3],
    why: String,
}

impl Explained {
    /// Whether it is `s`'s explanation.
    fn explains(&self, s: &Slot) -> bool {
        let i = &s.inc;
        i.kind == "split_brain"
            && (self.start, &self.hosts, Some(self.iname.as_str()), self.seq)
                == (i.start, &i.hosts, i.iname.as_deref(), s.seq)
    }
}

/// Where an `analyze` engine's closed incidents and transitions go.
#[derive(Debug)]
pub struct Store {
    /// Each incident encoded once ([`record`]), sorted as bytes.
    incidents: Records,
    /// MASTER transitions ([`record::transition_key`]), sorted as bytes too.
    transitions: Records,
    mismatches: ExtSort<Mismatch>,
    seq: u64,
    /// Incidents held in memory by each sorter of [`Store::finish`].
    limit: usize,
}

impl Default for Store {
    fn default() -> Store {
        Store::new()
    }
}

impl Store {
    pub fn new() -> Store {
        Store::with_limits(INCIDENTS_IN_MEMORY, TRANSITIONS_IN_MEMORY)
    }

    /// A store holding at most `incidents` incidents and `transitions` transitions (and
    /// as many mismatches) in memory at once.
    pub fn with_limits(incidents: usize, transitions: usize) -> Store {
        Store {
            incidents: Records::new(incidents),
            transitions: Records::new(transitions),
            mismatches: ExtSort::new(transitions),
            seq: 0,
            limit: incidents,
        }
    }

    /// Moves the engine's closed incidents and transitions here (cheap when there are
    /// none: call it after every event).
    pub fn take(&mut self, e: &mut Engine) -> io::Result<()> {
        // Popped, not taken: the queue keeps its buffer for the next event's incidents
        // (taking it freed the buffer and the next close allocated one again).
        while let Some(i) = e.done.pop_front() {
            self.incident(i)?;
        }
        for t in e.transitions.drain(..) {
            self.seq += 1;
            let seq = self.seq;
            self.transitions.push_with(
                |k| record::transition_key(&t, seq, k),
                |p| record::transition_payload(&t, p),
            )?;
        }
        Ok(())
    }

    fn incident(&mut self, i: Incident) -> io::Result<()> {
        self.seq += 1;
        if let (true, Some(iname), Some(host)) = (
            matches!(i.kind, "vrrp_config_mismatch" | "vrrp_auth_mismatch"),
            &i.iname,
            &i.host,
        ) {
            self.mismatches.push(Mismatch {
                iname: iname.clone(),
                start: i.start,
                seq: self.seq,
                host: host.clone(),
                end: i.end,
                said: i.evidence.first().map(|e| cross::said(&e.line).to_string()),
            })?;
        }
        self.push(&i, [0, self.seq, 0])
    }

    /// `i` into the incidents' sorter.
    fn push(&mut self, i: &Incident, seq: [u64; 3]) -> io::Result<()> {
        self.incidents.push_with(
            |k| record::encode_key(i, seq, k),
            |p| record::encode_payload(i, p),
        )
    }

    /// Items held in memory now, all sorters together (for the test that memory does
    /// not grow with closed incidents).
    pub fn in_memory(&self) -> usize {
        self.incidents.in_memory() + self.transitions.in_memory() + self.mismatches.in_memory()
    }

    /// [`Engine::finish`] with what was moved here: every incident, in its order.
    pub fn finish(mut self, mut e: Engine) -> io::Result<Found> {
        e.close_quiet_at_ends();
        self.take(&mut e)?;
        // In the order they opened: each open incident's blocks were allocated about when
        // it opened, beside those of the ones opened then, so this walk reads memory
        // mostly forward. In the table's order each one was a few cache misses (a
        // quarter of a million still open at the end of ten directors' logs).
        let mut open: Vec<(Key, Open)> = std::mem::take(&mut e.open).into_iter().collect();
        open.sort_unstable_by_key(|(_, o)| o.seq);
        for (k, o) in open {
            self.incident(finish(&k, o))?;
        }
        let min_overlap = micros(e.s.split_brain_min_overlap);
        let transitions = std::mem::replace(&mut self.transitions, Records::new(1)).finish()?;
        let mut brains = ExtSort::new(self.limit);
        {
            let mut out = |inc: Incident, seq: [u64; 3]| -> io::Result<()> {
                self.push(&inc, seq)?;
                if inc.kind == "split_brain" {
                    brains.push(Brain {
                        iname: inc.iname.unwrap_or_default(),
                        from: inc.start - cross::EXPLAINS_FROM,
                        start: inc.start,
                        hosts: inc.hosts,
                        seq,
                        end: inc.end,
                    })?;
                }
                Ok(())
            };
            verdicts(&transitions, min_overlap, &e.s, &mut out)?;
        }
        drop(transitions);
        let mismatches = std::mem::replace(&mut self.mismatches, ExtSort::new(1)).finish()?;
        let mut explained = ExtSort::new(self.limit);
        explain(&brains.finish()?, &mismatches, &mut |x| explained.push(x))?;
        let len = self.incidents.len();
        Ok(Found {
            sorted: self.incidents.finish()?,
            explained: explained.finish()?,
            len,
        })
    }
}

/// Every incident an `analyze` run found, in [`Engine::finish`]'s order, read from disk.
#[derive(Debug)]
pub struct Found {
    sorted: SortedRecords,
    /// What explains some of the split brains, in the same order.
    explained: Sorted<Explained>,
    len: u64,
}

impl Found {
    /// How many (before any filter).
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Each incident in order, handed to `f`, with its explanation when it is a split
    /// brain that has one (both are in the same order: a merge join). Each is decoded
    /// into the buffers of the one before.
    pub fn each(&self, f: &mut dyn FnMut(&Incident)) -> io::Result<()> {
        let mut why = self.explained.iter()?.peekable();
        let mut s = Slot::default();
        self.sorted.each(&mut |key, payload| {
            record::decode(key, payload, &mut s)?;
            if s.inc.kind == "split_brain" {
                if let Some(x) = why.next_if(|x| x.as_ref().map_or(true, |x| x.explains(&s))) {
                    s.inc.summary.push_str(&x?.why);
                }
            }
            f(&s.inc);
            Ok(())
        })
    }
}

/// [`cross::explain_split_brains`] as a sweep over split brains and mismatches, both in
/// order of instance and time: a split brain takes what its directors' mismatches said
/// from 10 s before its start to its end. Only the mismatches and split brains that
/// overlap the sweep's time are held. `out` gets the split brains that something explains.
fn explain(
    brains: &Sorted<Brain>,
    mismatches: &Sorted<Mismatch>,
    out: &mut dyn FnMut(Explained) -> io::Result<()>,
) -> io::Result<()> {
    let mut bs = brains.iter()?.peekable();
    let mut ms = mismatches.iter()?.peekable();
    // Within the current instance: the brains not yet ended, with what explains them, and
    // the mismatches not yet ended.
    let mut iname = String::new();
    let mut active: Vec<(Brain, BTreeSet<String>)> = Vec::new();
    let mut current: Vec<Mismatch> = Vec::new();
    let done = |(b, why): (Brain, BTreeSet<String>),
                out: &mut dyn FnMut(Explained) -> io::Result<()>| {
        if why.is_empty() {
            return Ok(());
        }
        let why: Vec<String> = why.into_iter().collect();
        out(Explained {
            start: b.start,
            hosts: b.hosts,
            iname: b.iname,
            seq: b.seq,
            why: format!("; {}", why.join("; ")),
        })
    };
    // Whether mismatch `m` explains brain `b`: its director, and their times meet.
    let meets = |m: &Mismatch, b: &Brain| {
        b.hosts.contains(&m.host)
            && m.end.is_none_or(|e| e >= b.from)
            && b.end.is_none_or(|e| m.start <= e)
    };
    loop {
        // The next item by (instance, time); either on a tie.
        let take_m = match (ms.peek(), bs.peek()) {
            (None, None) => break,
            (Some(Err(_)), _) => true,
            (_, Some(Err(_))) => false,
            (Some(Ok(m)), Some(Ok(b))) => (&m.iname, m.start) <= (&b.iname, b.from),
            (Some(_), None) => true,
            (None, Some(_)) => false,
        };
        let (m, b) = if take_m {
            (ms.next().transpose()?, None)
        } else {
            (None, bs.next().transpose()?)
        };
        let (inst, t) = match (&m, &b) {
            (Some(m), _) => (&m.iname, m.start),
            (_, Some(b)) => (&b.iname, b.from),
            _ => break,
        };
        if *inst != iname {
            for a in active.drain(..) {
                done(a, out)?;
            }
            current.clear();
            iname.clone_from(inst);
        }
        // What ended before now cannot meet what starts now.
        current.retain(|m| m.end.is_none_or(|e| e >= t));
        let mut n = 0;
        while n < active.len() {
            if active[n].0.end.is_some_and(|e| e < t) {
                // Their order does not matter: the output is sorted.
                let a = active.swap_remove(n);
                done(a, out)?;
            } else {
                n += 1;
            }
        }
        if let Some(m) = m {
            // A mismatch starting now explains the brains still on, of its director.
            if let Some(s) = &m.said {
                for (b, why) in &mut active {
                    if meets(&m, b) {
                        why.insert(format!("{}: {s}", m.host));
                    }
                }
            }
            current.push(m);
        }
        if let Some(b) = b {
            // A brain whose window starts now takes the mismatches still on.
            let mut why = BTreeSet::new();
            for m in &current {
                if let (true, Some(s)) = (meets(m, &b), &m.said) {
                    why.insert(format!("{}: {s}", m.host));
                }
            }
            active.push((b, why));
        }
    }
    for a in active {
        done(a, out)?;
    }
    Ok(())
}

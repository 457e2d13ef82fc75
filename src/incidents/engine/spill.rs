//! `analyze`'s way of keeping what the engine found: closed incidents (each encoded once,
//! [`record`]) and MASTER transitions leave the engine as they come and wait, sorted, in
//! temporary files ([`crate::extsort`]), so memory follows what is open, not what was
//! found. At the end the cross-director verdicts are made in one pass over the
//! transitions, instance by instance in time order, holding only the MASTER intervals that
//! can still overlap a later one; the mismatches, by instance and start too, are read in
//! step, so each split brain is explained as it is decided ([`verdicts()`]).
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

/// Where an `analyze` engine's closed incidents and transitions go.
#[derive(Debug)]
pub struct Store {
    /// Each incident encoded once ([`record`]), sorted as bytes.
    incidents: Records,
    /// MASTER transitions ([`record::transition_key`]), sorted as bytes too.
    transitions: Records,
    mismatches: ExtSort<Mismatch>,
    seq: u64,
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
        let mismatches = std::mem::replace(&mut self.mismatches, ExtSort::new(1)).finish()?;
        verdicts(
            &transitions,
            &mismatches,
            min_overlap,
            &e.s,
            &mut |inc, seq| self.push(&inc, seq),
        )?;
        drop(transitions);
        let len = self.incidents.len();
        Ok(Found {
            sorted: self.incidents.finish()?,
            len,
        })
    }
}

/// Every incident an `analyze` run found, in [`Engine::finish`]'s order, read from disk.
#[derive(Debug)]
pub struct Found {
    sorted: SortedRecords,
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

    /// Each incident in order, handed to `f`. Each is decoded into the buffers of the one
    /// before.
    pub fn each(&self, f: &mut dyn FnMut(&Incident)) -> io::Result<()> {
        let mut s = Slot::default();
        self.sorted.each(&mut |key, payload| {
            record::decode(key, payload, &mut s)?;
            f(&s.inc);
            Ok(())
        })
    }
}

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

/// An incident with nothing in it, whose buffers are filled again and again (the
/// incidents read back, the verdicts being made).
fn blank() -> Incident {
    Incident {
        id: String::new(),
        kind: "",
        severity: Severity::Info,
        host: None,
        hosts: Vec::new(),
        iname: None,
        virtual_service: None,
        real_server: None,
        start: 0,
        end: None,
        count: 0,
        evidence: Vec::new(),
        summary: String::new(),
        hint: "",
    }
}

/// `v` made `n` lines long, the buffers of those it had kept for the new ones.
fn evidence_slots(v: &mut Vec<Evidence>, n: usize) -> &mut [Evidence] {
    v.truncate(n);
    v.resize_with(n, || Evidence {
        time: None,
        host: String::new(),
        line: String::new(),
    });
    v
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
    /// The virtual service's and the real server's text of the incident being written.
    vs_text: String,
    rs_text: String,
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
            vs_text: String::new(),
            rs_text: String::new(),
        }
    }

    /// Moves the engine's closed incidents and transitions here (cheap when there are
    /// none: call it after every event).
    pub fn take(&mut self, e: &mut Engine) -> io::Result<()> {
        // Popped, not taken: the queue keeps its buffer for the next event's incidents
        // (taking it freed the buffer and the next close allocated one again).
        while let Some((k, o)) = e.done.pop_front() {
            self.made(&k, &o)?;
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

    /// Incident `k`, closed or still open at the end, into the sorters: written from the
    /// engine's key and what it held open, as [`made::finish`] would make it, without
    /// making its texts (only its identities are written out, into buffers kept here).
    fn made(&mut self, k: &Key, o: &Open) -> io::Result<()> {
        self.seq += 1;
        if let (true, Some(iname)) = (
            matches!(k.kind, "vrrp_config_mismatch" | "vrrp_auth_mismatch"),
            &k.iname,
        ) {
            self.mismatches.push(Mismatch {
                iname: iname.to_string(),
                start: o.start,
                seq: self.seq,
                host: k.host.to_string(),
                end: o.end,
                said: o.evidence.first().map(|e| cross::said(&e.line).to_string()),
            })?;
        }
        let (vs, rs) = (&mut self.vs_text, &mut self.rs_text);
        if let Some(v) = k.vs {
            vs.clear();
            v.push_text(vs);
        }
        if let Some(r) = k.rs {
            rs.clear();
            r.push_text(rs);
        }
        let head = record::Head {
            start: o.start,
            kind: k.kind,
            host: Some(&k.host),
            hosts: &[],
            iname: k.iname.as_deref(),
            virtual_service: k.vs.map(|_| vs.as_str()),
            real_server: k.rs.map(|_| rs.as_str()),
        };
        let (newest, newer) = o.tail.as_slices();
        let body = record::Body {
            severity: o.severity,
            hint: o.hint,
            end: o.end,
            count: o.count,
            evidence: [&o.evidence, newest, newer],
            host: &k.host,
            summary: &o.summary,
        };
        let seq = [0, self.seq, 0];
        self.incidents.push_with(
            |key| record::encode_key(&head, seq, key),
            |p| record::encode_payload(&body, o.start, p),
        )
    }

    /// `i` into the incidents' sorter.
    fn push(&mut self, i: &Incident, seq: [u64; 3]) -> io::Result<()> {
        self.incidents.push_with(
            |k| record::encode_key(&record::Head::of(i), seq, k),
            |p| record::encode_payload(&record::Body::of(i), i.start, p),
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
        // The real servers' incidents in the table's order: the order they opened in,
        // but for those moved into a removed one's place, so this walk reads their
        // blocks mostly forward, and it copies nothing. Sorted by opening into a vector
        // of their own, the quarter of a million still open at the end of ten
        // directors' logs were 80 MB of fresh pages. Their order here cannot show: no
        // two open incidents have the same key, so none sort as equals. The rest, a
        // handful, by opening: mismatches among them are numbered in that order.
        let (real_servers, rest) = std::mem::take(&mut e.open).into_parts();
        for (k, o) in real_servers {
            self.made(&k, &o)?;
        }
        let mut rest: Vec<(Key, Open)> = rest.into_iter().collect();
        rest.sort_unstable_by_key(|(_, o)| o.seq);
        for (k, o) in rest {
            self.made(&k, &o)?;
        }
        let min_overlap = micros(e.s.split_brain_min_overlap);
        let transitions = std::mem::replace(&mut self.transitions, Records::new(1)).finish()?;
        let mismatches = std::mem::replace(&mut self.mismatches, ExtSort::new(1)).finish()?;
        verdicts(
            &transitions,
            &mismatches,
            min_overlap,
            &e.s,
            &mut |inc, seq| self.push(inc, seq),
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

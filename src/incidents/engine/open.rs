//! Opening, repeating and closing incidents: the engine's table of what is open and the
//! quiet windows' deadlines beside it. (What an open incident holds is in `made`; which
//! event opens or closes which, in `detect` and `snapshot`.)

use super::*;

impl Engine {
    /// Opens an incident, or folds a repeat into the open one.
    pub(super) fn open_or_repeat(
        &mut self,
        k: Key,
        e: &In<'_>,
        quiet: Option<u64>,
        summary: impl FnOnce() -> String,
    ) {
        self.open_or_fold(k, e.hx, e.time, quiet, summary, |ev| e.write_evidence(ev));
    }

    /// [`Engine::open_or_repeat`] from a time and an evidence line (the snapshot
    /// detectors have no event).
    pub(super) fn open_at(
        &mut self,
        k: Key,
        time: i64,
        evidence: Evidence,
        quiet: Option<u64>,
        summary: impl FnOnce() -> String,
    ) {
        let hx = self.host_at(&k.host);
        self.open_or_fold(k, hx, time, quiet, summary, move |ev| *ev = evidence);
    }

    /// Opens incident `k` of director `hx` at `time`, or folds a repeat into the open one
    /// (one more, its evidence kept, its quiet window started again). `fill` writes the
    /// evidence, into the buffers of an old line when there are enough. One lookup in the
    /// open incidents either way: a lookup, a second one and an insert missed the cache
    /// in turn when hundreds of thousands were open.
    pub(super) fn open_or_fold(
        &mut self,
        k: Key,
        hx: usize,
        time: i64,
        quiet: Option<u64>,
        summary: impl FnOnce() -> String,
        fill: impl FnOnce(&mut Evidence),
    ) {
        use table::Entry;
        self.version += 1;
        let keep = self.s.evidence_lines;
        match self.open.entry(k) {
            Entry::Occupied(mut slot) => {
                let o = slot.get_mut();
                push_evidence_with(o, keep, fill);
                let old = o.deadline();
                o.count += 1;
                o.last = time;
                // A later deadline is left for the sweep to find: it meets the old one
                // first and puts it back at the new time ([`Engine::close_quiet_of`]);
                // moving it at every repeat was two walks of the tree per repeated line. An
                // earlier one (a line out of order) must move now, or the sweep would
                // come too late.
                if let (Some(old), Some(new), Some(h)) = (old, o.deadline(), self.hosts.get_mut(hx))
                {
                    if new < old {
                        h.deadlines.remove(&(old, o.seq));
                        h.due(new, o.seq);
                    }
                }
            }
            Entry::Vacant(slot) => {
                self.shifts += 1;
                let mut first = Evidence {
                    time: None,
                    host: String::new(),
                    line: String::new(),
                };
                fill(&mut first);
                let k = slot.key();
                let severity = self.s.severity_of(k.kind);
                if self.counting {
                    self.opened.push((k.kind, severity.as_str()));
                }
                self.seq += 1;
                let mut o = Open::new(k, time, summary(), first, severity);
                o.quiet = quiet;
                o.seq = self.seq;
                schedule(self.hosts.get_mut(hx), &mut self.by_seq, k, &o);
                slot.insert(o);
            }
        }
    }

    /// Adds an open incident, with its quiet window's deadline when it has one.
    pub(super) fn insert_open(&mut self, k: Key, o: Open) {
        let hx = self.host_at(&k.host);
        schedule(self.hosts.get_mut(hx), &mut self.by_seq, &k, &o);
        self.open.insert(k, o);
    }

    /// A zero-length incident (a crash, a failover).
    pub(super) fn instant(&mut self, k: Key, e: &In<'_>, summary: impl FnOnce() -> String) {
        self.open_or_repeat(k.clone(), e, Some(0), summary);
        if let Some(o) = self.open.get_mut(&k) {
            o.end = Some(e.time);
        }
    }

    pub(super) fn close(&mut self, k: &Key, e: &In<'_>) {
        self.close_at(k, e.time, || e.evidence());
    }

    /// Closes the open incident `k`, if there is one, at `time`, `evidence` saying why.
    /// The evidence is made only then: most events that end something find nothing open
    /// (a BACKUP with no FAULT before it, a real server added that was never out), and
    /// making its two strings for nothing was 0.9 % of `analyze`'s instructions
    /// (callgrind).
    pub(super) fn close_at(&mut self, k: &Key, time: i64, evidence: impl FnOnce() -> Evidence) {
        if let Some((k, mut o)) = self.open.remove_entry(k) {
            o.end = Some(time);
            let keep = self.s.evidence_lines;
            push_evidence(&mut o, evidence(), keep);
            self.closed(k, o);
        }
    }

    /// keepalived stopped on `host`: its VRRP incidents end there — those made of repeated
    /// messages at the last repeat, the others (a FAULT) at the stop.
    pub(super) fn close_host(&mut self, host: &str, e: &In<'_>) {
        let keys: Vec<Key> = self
            .open
            .keys()
            .filter(|k| &*k.host == host && k.kind.starts_with("vrrp_"))
            .cloned()
            .collect();
        for k in keys {
            match self.open.get(&k).map(|o| o.quiet.is_some()) {
                Some(true) => {
                    if let Some((k, o)) = self.open.remove_entry(&k) {
                        self.close_quietly(k, o);
                    }
                }
                Some(false) => self.close(&k, e),
                None => {}
            }
        }
    }

    /// Closes `host`'s incidents whose quiet window has passed by `now`.
    pub(super) fn close_quiet(&mut self, host: &str, now: i64) {
        if let Some(h) = self.index_of(host) {
            self.close_quiet_of(h, now);
        }
    }

    /// [`Engine::close_quiet`] of the director at `h` in [`Engine::hosts`].
    pub(super) fn close_quiet_of(&mut self, h: usize, now: i64) {
        loop {
            let Some(host) = self.hosts.get_mut(h) else {
                return;
            };
            if host.next_due >= now {
                return;
            }
            let set = &mut host.deadlines;
            let Some(&(due, seq)) = set.first() else {
                host.next_due = i64::MAX;
                return;
            };
            if due >= now {
                host.next_due = due;
                return;
            }
            set.pop_first();
            let Some(k) = self.by_seq.remove(&seq) else {
                continue;
            };
            // Closed another way meanwhile (its end event, keepalived's stop)? Or repeated
            // since, so that its deadline is later (repeats do not move it, `open_or_fold`)?
            match self.open.get(&k) {
                Some(o) if o.seq == seq => {
                    if let Some(d) = o.deadline().filter(|&d| d > due) {
                        host.due(d, seq);
                        self.by_seq.insert(seq, k);
                        continue;
                    }
                }
                _ => continue,
            }
            if let Some((k, o)) = self.open.remove_entry(&k) {
                self.close_quietly(k, o);
            }
        }
    }

    /// Closes open incident `k`, taken out of the table, without an end event: a
    /// zero-length incident keeps its end, a quiet one ends at its last repeat.
    fn close_quietly(&mut self, k: Key, mut o: Open) {
        o.end = Some(o.end.unwrap_or(o.last));
        self.closed(k, o);
    }

    /// The input ended: every director's incidents whose quiet window passed by its last
    /// event close.
    pub(super) fn close_quiet_at_ends(&mut self) {
        for h in 0..self.hosts.len() {
            let last = self.hosts[h].last_time;
            self.close_quiet_of(h, last);
        }
    }
}

/// Puts the quiet window's deadline of open incident `k`, when it has one, among its
/// director's deadlines (`h`) and in [`Engine::by_seq`].
fn schedule(h: Option<&mut Host>, by_seq: &mut HashMap<u64, Key>, k: &Key, o: &Open) {
    if let Some(d) = o.deadline() {
        if let Some(h) = h {
            h.due(d, o.seq);
        }
        by_seq.insert(o.seq, k.clone());
    }
}

//! The verdicts across directors as a stream: [`Engine::cross_director`]'s failovers and
//! split brains from MASTER transitions sorted by instance and time, each made as soon as
//! the end it needs is known, holding only the intervals a verdict may still need. The
//! mismatches, sorted by instance and start too, are read in step with the transitions,
//! so a split brain leaves already explained ([`cross::explain_split_brains`]).

use super::*;

/// A MASTER interval of one director, while a verdict may still need it.
#[derive(Debug)]
struct Interval {
    idx: u64,
    /// Its director's number in [`Hosts`]: each MASTER transition is compared with every
    /// interval still alive, and comparing names there was most of the verdicts' time
    /// on ten directors' logs (perf).
    host: u32,
    start: i64,
    end: Option<i64>,
    line: String,
    /// The other intervals of split brains with this one waiting for an end.
    pairs: Vec<u64>,
    /// The next interval, whose failover from this one waits for this one's end.
    failover: Option<u64>,
    /// Its own failover waits for the previous interval's end.
    waits_prev: bool,
}

impl Interval {
    /// No verdict waits for it.
    fn idle(&self) -> bool {
        self.pairs.is_empty() && self.failover.is_none() && !self.waits_prev
    }
}

/// [`Engine::cross_director`] over transitions sorted by instance and time
/// ([`record::transition_key`]), handing each verdict to `out` as soon as the ends it
/// needs are known: lent, in buffers the next one reuses, and without its id (the store
/// makes ids on reading). Returns the most it held at once (what its memory follows: the
/// intervals and mismatches that overlap, not the transitions).
pub(super) fn verdicts(
    transitions: &SortedRecords,
    mismatches: &Sorted<Mismatch>,
    min_overlap: i64,
    s: &Settings,
    out: &mut Out<'_>,
) -> io::Result<Held> {
    let mut t = cross::Transition::default();
    let mut inst: Option<Instance> = None;
    let mut hosts = Hosts::default();
    let mut why = Why::new(mismatches)?;
    let mut most = 0;
    // The incident buffers, handed from one instance to the next.
    let mut done_scratch: Option<Incident> = None;
    transitions.each(&mut |key, payload| {
        record::decode_transition(key, payload, &mut t)?;
        most = inst.as_ref().map_or(most, |i| most.max(i.alive.len()));
        let cur = match &mut inst {
            Some(i) if i.iname == t.iname => i,
            _ => {
                if let Some(done) = inst.take() {
                    let (h, scratch) = done.end(&mut why, out)?;
                    hosts = h;
                    done_scratch = Some(scratch);
                }
                why.clear();
                inst.insert(Instance {
                    scratch: done_scratch.take().unwrap_or_else(blank),
                    iname: t.iname.clone(),
                    min_overlap,
                    failover: s.severity_of("vrrp_failover"),
                    split_brain: s.severity_of("split_brain"),
                    alive: std::collections::VecDeque::new(),
                    open: Vec::new(),
                    next: 0,
                    hosts: std::mem::take(&mut hosts),
                    last: None,
                })
            }
        };
        why.read(&cur.iname, t.time)?;
        cur.step(&t, &mut why, out)
    })?;
    if let Some(done) = inst {
        most = most.max(done.alive.len());
        done.end(&mut why, out)?;
    }
    Ok(Held {
        intervals: most,
        mismatches: why.most,
    })
}

/// The most [`verdicts()`] held at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Held {
    pub(super) intervals: usize,
    pub(super) mismatches: usize,
}

/// The mismatches of the instance being decided, read in step with its transitions: a
/// split brain decided at a transition ends by then, so every mismatch that can explain
/// it has begun by then and is held ([`Why::read`]); only those that may still meet a
/// split brain to come are kept. (Before, the split brains went through a sorter of their
/// own to meet the mismatches, and their explanations through another to meet them
/// again: a tenth of `analyze` on ten directors' logs, where half the incidents are
/// split brains, perf.)
struct Why<'m> {
    mismatches: std::iter::Peekable<Box<dyn Iterator<Item = io::Result<Mismatch>> + 'm>>,
    /// The instance's mismatches begun by the last transition read and not known to end
    /// before every split brain still to come.
    held: Vec<Mismatch>,
    /// How many were held after the last sweep ([`Why::sweep`]).
    swept: usize,
    /// The most held at once.
    most: usize,
}

impl<'m> Why<'m> {
    fn new(mismatches: &'m Sorted<Mismatch>) -> io::Result<Why<'m>> {
        Ok(Why {
            mismatches: mismatches.iter()?.peekable(),
            held: Vec::new(),
            swept: 0,
            most: 0,
        })
    }

    /// A new instance: nothing held is its.
    fn clear(&mut self) {
        self.held.clear();
        self.swept = 0;
    }

    /// The next mismatch of instance `iname` begun by `until`, those of instances before
    /// it passed over.
    fn next(&mut self, iname: &str, until: i64) -> io::Result<Option<Mismatch>> {
        loop {
            let take = match self.mismatches.peek() {
                None => return Ok(None),
                Some(Err(_)) => true,
                Some(Ok(m)) if m.iname.as_str() < iname => {
                    self.mismatches.next();
                    continue;
                }
                Some(Ok(m)) => m.iname == iname && m.start <= until,
            };
            return if take {
                self.mismatches.next().transpose()
            } else {
                Ok(None)
            };
        }
    }

    /// Holds the mismatches of `iname` begun by `t`.
    fn read(&mut self, iname: &str, t: i64) -> io::Result<()> {
        while let Some(m) = self.next(iname, t)? {
            if m.said.is_some() {
                self.held.push(m);
            }
        }
        self.most = self.most.max(self.held.len());
        Ok(())
    }

    /// Drops the mismatches ended before `from`, once as many were added as kept
    /// (amortised: one pass per as many mismatches as it keeps).
    fn sweep(&mut self, from: i64) {
        if self.held.len() > self.swept.saturating_mul(2).max(64) {
            self.held.retain(|m| m.end.is_none_or(|e| e >= from));
            self.swept = self.held.len();
        }
    }

    /// Adds to `why` what mismatch `m` says, if it explains split brain `b`: one of its
    /// directors, and their times meet (from [`cross::EXPLAINS_FROM`] before its start to
    /// its end).
    fn add(m: &Mismatch, b: &Incident, why: &mut BTreeSet<String>) {
        let from = b.start - cross::EXPLAINS_FROM;
        // The times first: most held mismatches are of other times, and comparing the
        // directors' names of each against every split brain was 1.3 % of `analyze`
        // (memcmp, perf).
        if let (true, Some(s)) = (
            m.end.is_none_or(|e| e >= from)
                && b.end.is_none_or(|e| m.start <= e)
                && b.hosts.contains(&m.host),
            &m.said,
        ) {
            why.insert(format!("{}: {s}", m.host));
        }
    }

    /// What the held mismatches say of split brain `b`.
    fn of(&self, b: &Incident) -> BTreeSet<String> {
        let mut why = BTreeSet::new();
        for m in &self.held {
            Why::add(m, b, &mut why);
        }
        why
    }

    /// The rest of instance `iname`'s mismatches (its transitions ran out), each offered
    /// to the split brains decided at its end, and not held.
    fn rest(&mut self, iname: &str, brains: &mut [Pending]) -> io::Result<()> {
        while let Some(m) = self.next(iname, i64::MAX)? {
            for (b, _, why) in brains.iter_mut() {
                Why::add(&m, b, why);
            }
        }
        Ok(())
    }
}

/// A split brain decided at its instance's end, its sequence, and what explains it so far.
type Pending = (Incident, [u64; 3], BTreeSet<String>);

/// Split brain `b` with what explains it: `"; lb-a: …; lb-b: …"` after its summary.
fn explain(b: &mut Incident, why: BTreeSet<String>) {
    for w in why {
        b.summary.push_str("; ");
        b.summary.push_str(&w);
    }
}

/// [`cross::cross`]'s incident, its summary aside, written into `inc`'s buffers: half the
/// incidents of ten directors' logs are split brains, and each made anew was a dozen
/// allocations. Its id is left empty: the store makes ids when it reads incidents back.
/// `evidence` is each line's time, director and text.
fn fill(
    inc: &mut Incident,
    (kind_name, severity): (&'static str, Severity),
    iname: &str,
    hosts: [&str; 2],
    (start, end): (i64, Option<i64>),
    evidence: &[(i64, &str, &str)],
) {
    inc.id.clear();
    inc.kind = kind_name;
    inc.severity = severity;
    inc.host = None;
    set_texts(&mut inc.hosts, &hosts);
    set_text(inc.iname.get_or_insert_with(String::new), iname);
    inc.virtual_service = None;
    inc.real_server = None;
    inc.start = start;
    inc.end = end;
    inc.count = 1;
    let slots = evidence_slots(&mut inc.evidence, evidence.len());
    for (e, &(time, host, line)) in slots.iter_mut().zip(evidence) {
        e.time = Some(time);
        set_text(&mut e.host, host);
        set_text(&mut e.line, line);
    }
    inc.summary.clear();
    inc.hint = kind(kind_name).map_or("", |s| s.hint);
}

fn set_text(out: &mut String, s: &str) {
    out.clear();
    out.push_str(s);
}

fn set_texts(out: &mut Vec<String>, texts: &[&str]) {
    out.resize_with(texts.len(), String::new);
    for (o, t) in out.iter_mut().zip(texts) {
        set_text(o, t);
    }
}

/// The directors' names, each numbered once for the whole pass.
#[derive(Default)]
struct Hosts {
    names: Vec<String>,
    numbers: HashMap<String, u32>,
}

impl Hosts {
    fn number(&mut self, host: &str) -> u32 {
        if let Some(&n) = self.numbers.get(host) {
            return n;
        }
        // More than 2^32 directors cannot be told apart here; a log naming that many is
        // not a fleet's.
        let n = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        self.names.push(host.to_string());
        self.numbers.insert(host.to_string(), n);
        n
    }

    fn name(&self, n: u32) -> &str {
        self.names.get(n as usize).map_or("", String::as_str)
    }
}

/// One instance's verdicts in progress.
struct Instance {
    iname: String,
    min_overlap: i64,
    /// The severities of the two kinds made here.
    failover: Severity,
    split_brain: Severity,
    /// Intervals in order of start that a verdict may still need.
    alive: std::collections::VecDeque<Interval>,
    /// Per director (by its number), its intervals not yet ended (the newest last).
    open: Vec<Vec<u64>>,
    next: u64,
    /// The directors' numbers, handed from one instance to the next.
    hosts: Hosts,
    /// Split brains decided at the instance's end, waiting for the rest of its mismatches
    /// (`None` before the end).
    last: Option<Vec<Pending>>,
    /// The verdict being made ([`fill`]).
    scratch: Incident,
}

/// Where each verdict goes, with its sequence.
type Out<'o> = dyn FnMut(&Incident, [u64; 3]) -> io::Result<()> + 'o;

impl Instance {
    fn pos(&self, idx: u64) -> Option<usize> {
        // `alive` is in order of idx.
        let (a, b) = self.alive.as_slices();
        match a.binary_search_by_key(&idx, |v| v.idx) {
            Ok(i) => Some(i),
            Err(_) => b
                .binary_search_by_key(&idx, |v| v.idx)
                .ok()
                .map(|i| i + a.len()),
        }
    }

    fn get(&self, idx: u64) -> Option<&Interval> {
        self.alive.get(self.pos(idx)?)
    }

    fn get_mut(&mut self, idx: u64) -> Option<&mut Interval> {
        let i = self.pos(idx)?;
        self.alive.get_mut(i)
    }

    fn step(
        &mut self,
        t: &cross::Transition,
        why: &mut Why<'_>,
        out: &mut Out<'_>,
    ) -> io::Result<()> {
        // A split brain still to come starts no earlier than the oldest interval held.
        if let Some(v) = self.alive.front() {
            why.sweep(v.start - cross::EXPLAINS_FROM);
        }
        let host = self.hosts.number(&t.host);
        if !t.master {
            let Some(idx) = self.open.get_mut(host as usize).and_then(Vec::pop) else {
                return Ok(());
            };
            if let Some(v) = self.get_mut(idx) {
                v.end = Some(t.time);
            }
            return self.ended(idx, why, out);
        }
        // Intervals no later one can overlap and no verdict waits for go; the newest stays
        // (the next one's failover looks at it).
        let now = t.time;
        let newest = self.next.checked_sub(1);
        self.alive
            .retain(|v| !(v.idle() && Some(v.idx) != newest && v.end.is_some_and(|e| e <= now)));
        let idx = self.next;
        self.next += 1;
        // A failover from the previous interval: now when it has ended (usually: the
        // old master leaves, then the new one takes over), else once it ends. Left to
        // wait for an end already past, it was decided only when the instance's
        // transitions ran out, and every interval of the instance stayed alive until
        // then: hundreds, each walked at every transition (a third of the verdicts'
        // time on ten directors' logs, and memory that grew with the input).
        let mut waits_prev = false;
        let mut failover_now = None;
        if let Some(prev) = newest.and_then(|p| self.get_mut(p)) {
            if prev.host != host {
                if prev.end.is_some() {
                    failover_now = Some(prev.idx);
                } else {
                    prev.failover = Some(idx);
                    waits_prev = true;
                }
            }
        }
        // A split brain with every interval of another director not ended by now.
        let mut pairs = Vec::new();
        for a in self.alive.iter_mut() {
            if a.host != host && a.end.is_none_or(|e| now < e) {
                a.pairs.push(idx);
                pairs.push(a.idx);
            }
        }
        self.alive.push_back(Interval {
            idx,
            host,
            start: t.time,
            end: None,
            line: t.line.clone(),
            pairs,
            failover: None,
            waits_prev,
        });
        let h = host as usize;
        if self.open.len() <= h {
            self.open.resize_with(h + 1, Vec::new);
        }
        self.open[h].push(idx);
        match failover_now {
            Some(prev) => self.failover(prev, idx, out),
            None => Ok(()),
        }
    }

    /// Interval `idx` ended: the verdicts that waited for it are made.
    fn ended(&mut self, idx: u64, why: &Why<'_>, out: &mut Out<'_>) -> io::Result<()> {
        let Some(v) = self.get_mut(idx) else {
            return Ok(());
        };
        let pairs = std::mem::take(&mut v.pairs);
        let next = v.failover.take();
        if let Some(cur) = next {
            self.failover(idx, cur, out)?;
        }
        // A split brain ends when the first of its two intervals does: the other, still
        // MASTER now, can only end at this time or later (transitions come in time
        // order). So it is decided now, and an interval that stays MASTER to the end
        // does not keep every later one waiting.
        for other in pairs {
            self.pair(idx.min(other), idx.max(other), why, out)?;
        }
        Ok(())
    }

    /// The failover into interval `cur` from `prev`, whose end is known (or never will be).
    fn failover(&mut self, prev: u64, cur: u64, out: &mut Out<'_>) -> io::Result<()> {
        if let Some(c) = self.get_mut(cur) {
            c.waits_prev = false;
        }
        // Taken out and put back: `p` and `c` borrow the rest of `self`.
        let mut inc = std::mem::replace(&mut self.scratch, blank());
        let (Some(p), Some(c)) = (self.get(prev), self.get(cur)) else {
            self.scratch = inc;
            return Ok(());
        };
        let overlap = p.end.map_or(i64::MAX, |end| end - c.start);
        if overlap >= self.min_overlap {
            self.scratch = inc;
            return Ok(());
        }
        let (ph, ch) = (self.hosts.name(p.host), self.hosts.name(c.host));
        fill(
            &mut inc,
            ("vrrp_failover", self.failover),
            &self.iname,
            [ph, ch],
            (c.start, Some(c.start)),
            &[(c.start, ch, &c.line)],
        );
        for piece in [&self.iname, ": MASTER moved from ", ph, " to ", ch] {
            inc.summary.push_str(piece);
        }
        let r = out(&inc, [1, cur, 0]);
        self.scratch = inc;
        r
    }

    /// The split brain of intervals `a` < `b`, the first end known (or never to be);
    /// neither waits for the other any more.
    fn pair(&mut self, a: u64, b: u64, why: &Why<'_>, out: &mut Out<'_>) -> io::Result<()> {
        for (x, y) in [(a, b), (b, a)] {
            if let Some(v) = self.get_mut(x) {
                v.pairs.retain(|&o| o != y);
            }
        }
        // Taken out and put back: the intervals borrow the rest of `self`.
        let mut inc = std::mem::replace(&mut self.scratch, blank());
        let mut r = Ok(());
        if let (Some(x), Some(y)) = (self.get(a), self.get(b)) {
            let names = [self.hosts.name(x.host), self.hosts.name(y.host)];
            let sev = self.split_brain;
            if split_brain(&mut inc, &self.iname, [x, y], names, self.min_overlap, sev) {
                let w = why.of(&inc);
                match &mut self.last {
                    Some(last) => last.push((inc.clone(), [1, a, b], w)),
                    None => {
                        explain(&mut inc, w);
                        r = out(&inc, [1, a, b]);
                    }
                }
            }
        }
        self.scratch = inc;
        r
    }

    /// The input ended: what still waits is decided with the ends unknown. Gives back
    /// the directors' numbers and the incident buffers.
    fn end(mut self, why: &mut Why<'_>, out: &mut Out<'_>) -> io::Result<(Hosts, Incident)> {
        self.last = Some(Vec::new());
        let idxs: Vec<u64> = self.alive.iter().map(|v| v.idx).collect();
        for idx in idxs {
            let Some(v) = self.get_mut(idx) else { continue };
            let next = v.failover.take();
            let later: Vec<u64> = v.pairs.iter().copied().filter(|&o| o > idx).collect();
            if let Some(cur) = next {
                self.failover(idx, cur, out)?;
            }
            for other in later {
                self.pair(idx, other, why, out)?;
            }
        }
        let mut last = self.last.take().unwrap_or_default();
        why.rest(&self.iname, &mut last)?;
        for (mut b, seq, w) in last {
            explain(&mut b, w);
            out(&b, seq)?;
        }
        Ok((self.hosts, self.scratch))
    }
}

/// [`Engine::cross_director`]'s split brain between intervals `a` and `b`, into `inc`,
/// if they overlap long enough.
fn split_brain(
    inc: &mut Incident,
    iname: &str,
    [a, b]: [&Interval; 2],
    names: [&str; 2],
    min_overlap: i64,
    severity: Severity,
) -> bool {
    let start = a.start.max(b.start);
    let end = match (a.end, b.end) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (Some(x), None) | (None, Some(x)) => Some(x),
        (None, None) => None,
    };
    if end.is_some_and(|e| e - start < min_overlap) {
        return false;
    }
    let mut hosts = names;
    hosts.sort();
    fill(
        inc,
        ("split_brain", severity),
        iname,
        hosts,
        (start, end),
        &[(a.start, names[0], &a.line), (b.start, names[1], &b.line)],
    );
    cross::push_split_brain_summary(&mut inc.summary, iname, hosts);
    true
}

#[cfg(test)]
#[path = "verdicts_tests.rs"]
mod tests;

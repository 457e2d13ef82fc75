//! The verdicts across directors as a stream: [`Engine::cross_director`]'s failovers and
//! split brains from MASTER transitions sorted by instance and time, each made as soon as
//! the end it needs is known, holding only the intervals a verdict may still need.

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
/// needs are known. Returns the most intervals it held at once (what its memory follows:
/// the intervals that overlap, not the transitions).
pub(super) fn verdicts(
    transitions: &SortedRecords,
    min_overlap: i64,
    s: &Settings,
    out: &mut dyn FnMut(Incident, [u64; 3]) -> io::Result<()>,
) -> io::Result<usize> {
    let mut t = cross::Transition::default();
    let mut inst: Option<Instance> = None;
    let mut hosts = Hosts::default();
    let mut most = 0;
    transitions.each(&mut |key, payload| {
        record::decode_transition(key, payload, &mut t)?;
        most = inst.as_ref().map_or(most, |i| most.max(i.alive.len()));
        let cur = match &mut inst {
            Some(i) if i.iname == t.iname => i,
            _ => {
                if let Some(done) = inst.take() {
                    hosts = done.end(out)?;
                }
                inst.insert(Instance {
                    iname: t.iname.clone(),
                    min_overlap,
                    failover: s.severity_of("vrrp_failover"),
                    split_brain: s.severity_of("split_brain"),
                    alive: std::collections::VecDeque::new(),
                    open: Vec::new(),
                    next: 0,
                    hosts: std::mem::take(&mut hosts),
                })
            }
        };
        cur.step(&t, out)
    })?;
    if let Some(done) = inst {
        most = most.max(done.alive.len());
        done.end(out)?;
    }
    Ok(most)
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
}

type Out<'o> = dyn FnMut(Incident, [u64; 3]) -> io::Result<()> + 'o;

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

    fn step(&mut self, t: &cross::Transition, out: &mut Out<'_>) -> io::Result<()> {
        let host = self.hosts.number(&t.host);
        if !t.master {
            let Some(idx) = self.open.get_mut(host as usize).and_then(Vec::pop) else {
                return Ok(());
            };
            if let Some(v) = self.get_mut(idx) {
                v.end = Some(t.time);
            }
            return self.ended(idx, out);
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
    fn ended(&mut self, idx: u64, out: &mut Out<'_>) -> io::Result<()> {
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
            self.pair(idx.min(other), idx.max(other), out)?;
        }
        Ok(())
    }

    /// The failover into interval `cur` from `prev`, whose end is known (or never will be).
    fn failover(&mut self, prev: u64, cur: u64, out: &mut Out<'_>) -> io::Result<()> {
        if let Some(c) = self.get_mut(cur) {
            c.waits_prev = false;
        }
        let (Some(p), Some(c)) = (self.get(prev), self.get(cur)) else {
            return Ok(());
        };
        let overlap = p.end.map_or(i64::MAX, |end| end - c.start);
        if overlap >= self.min_overlap {
            return Ok(());
        }
        let (ph, ch) = (self.hosts.name(p.host), self.hosts.name(c.host));
        let summary = format!("{}: MASTER moved from {ph} to {ch}", self.iname);
        let inc = cross::cross(
            ("vrrp_failover", self.failover),
            &self.iname,
            vec![ph.to_string(), ch.to_string()],
            c.start,
            Some(c.start),
            summary,
            vec![Evidence {
                time: Some(c.start),
                host: ch.to_string(),
                line: c.line.clone(),
            }],
        );
        out(inc, [1, cur, 0])
    }

    /// The split brain of intervals `a` < `b`, the first end known (or never to be);
    /// neither waits for the other any more.
    fn pair(&mut self, a: u64, b: u64, out: &mut Out<'_>) -> io::Result<()> {
        for (x, y) in [(a, b), (b, a)] {
            if let Some(v) = self.get_mut(x) {
                v.pairs.retain(|&o| o != y);
            }
        }
        if let (Some(x), Some(y)) = (self.get(a), self.get(b)) {
            let names = [self.hosts.name(x.host), self.hosts.name(y.host)];
            if let Some(inc) = split_brain(
                &self.iname,
                [x, y],
                names,
                self.min_overlap,
                self.split_brain,
            ) {
                out(inc, [1, a, b])?;
            }
        }
        Ok(())
    }

    /// The input ended: what still waits is decided with the ends unknown. Gives back
    /// the directors' numbers.
    fn end(mut self, out: &mut Out<'_>) -> io::Result<Hosts> {
        let idxs: Vec<u64> = self.alive.iter().map(|v| v.idx).collect();
        for idx in idxs {
            let Some(v) = self.get_mut(idx) else { continue };
            let next = v.failover.take();
            let later: Vec<u64> = v.pairs.iter().copied().filter(|&o| o > idx).collect();
            if let Some(cur) = next {
                self.failover(idx, cur, out)?;
            }
            for other in later {
                self.pair(idx, other, out)?;
            }
        }
        Ok(self.hosts)
    }
}

/// [`Engine::cross_director`]'s split brain between intervals `a` and `b`, if they overlap
/// long enough.
fn split_brain(
    iname: &str,
    [a, b]: [&Interval; 2],
    names: [&str; 2],
    min_overlap: i64,
    severity: Severity,
) -> Option<Incident> {
    let start = a.start.max(b.start);
    let end = match (a.end, b.end) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (Some(x), None) | (None, Some(x)) => Some(x),
        (None, None) => None,
    };
    if end.is_some_and(|e| e - start < min_overlap) {
        return None;
    }
    let mut hosts = vec![names[0].to_string(), names[1].to_string()];
    hosts.sort();
    let summary = cross::split_brain_summary(iname, [&hosts[0], &hosts[1]]);
    let evidence = [(a, names[0]), (b, names[1])]
        .iter()
        .map(|(x, host)| Evidence {
            time: Some(x.start),
            host: host.to_string(),
            line: x.line.clone(),
        })
        .collect();
    Some(cross::cross(
        ("split_brain", severity),
        iname,
        hosts,
        start,
        end,
        summary,
        evidence,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The verdicts over `n` handovers of one instance between two directors, the old
    /// master leaving a second before the new one takes over: the failovers found and
    /// the most intervals held at once.
    fn handovers(n: i64) -> (usize, usize) {
        let mut r = Records::new(64);
        let mut seq = 0;
        for i in 0..n {
            let host = ["lb-a", "lb-b"][(i % 2) as usize];
            for (dt, master) in [(0, true), (9, false)] {
                let t = cross::Transition {
                    time: (i * 10 + dt) * 1_000_000,
                    host: host.to_string(),
                    iname: "VI_1".to_string(),
                    master,
                    line: format!("{host} line {i}"),
                };
                seq += 1;
                r.push_with(
                    |k| record::transition_key(&t, seq, k),
                    |p| record::transition_payload(&t, p),
                )
                .unwrap();
            }
        }
        let sorted = r.finish().unwrap();
        let mut failovers = 0;
        let most = verdicts(&sorted, 2_000_000, &Settings::default(), &mut |i, _| {
            failovers += usize::from(i.kind == "vrrp_failover");
            Ok(())
        })
        .unwrap();
        (failovers, most)
    }

    #[test]
    fn intervals_are_held_while_a_verdict_needs_them_not_to_the_end() {
        let (few, held_few) = handovers(10);
        let (many, held_many) = handovers(5_000);
        assert_eq!(
            (few, many),
            (9, 4_999),
            "one failover per handover after the first"
        );
        assert!(
            held_many <= 3,
            "{held_many} intervals held for 5,000 handovers"
        );
        assert_eq!(held_few, held_many);
    }
}

//! What the timeline keeps per lane while `analyze` reads, bounded whatever the input: a
//! VRRP lane's state changes, a real server's down periods and a director's lines per
//! second. Each is exact until it outgrows its cap; then it is coarsened in place to a
//! resolution well below what the page can draw, since the page folds every lane to at
//! most [`MAX_SEGMENTS`] pieces (fewer when lanes share [`MAX_PIECES`]) and activity to
//! [`ACTIVITY_BUCKETS`] buckets at the end anyway. A week of flapping on ten directors then
//! costs what a day does, and a log that stays small is drawn exactly as before.

use super::super::model::{State, ACTIVITY_BUCKETS, MAX_PIECES, MAX_SEGMENTS, MIN_SEGMENTS};
use smallvec::SmallVec;
use std::collections::BTreeMap;

/// Points one lane may hold while there are `lanes` lanes: twelve times the pieces it gets
/// on the page, so that a coarsened lane (in a sixth of its cap spans, at most five points
/// each) is still at least twice as fine as the page's folding. The VRRP lanes together
/// hold at most 12 × [`MAX_PIECES`] points of 16 bytes (15 MB), more only with more than
/// [`MAX_PIECES`] / [`MIN_SEGMENTS`] lanes, each then capped at 12 × [`MIN_SEGMENTS`]; a
/// real server at most 12 × [`MIN_SEGMENTS`] periods once there are more than 1,333 lanes.
pub fn lane_cap(lanes: usize) -> usize {
    (12 * MAX_PIECES / lanes.max(1)).clamp(12 * MIN_SEGMENTS, 12 * MAX_SEGMENTS)
}

/// A VRRP lane's changes: (time µs, state from then on, changes folded into the point).
#[derive(Debug, Default, Clone)]
pub struct StateLane {
    points: Vec<(i64, State, u32)>,
    coarsened: bool,
}

impl StateLane {
    /// Records a change to `state` at `time` (nothing when it is the state already).
    pub fn push(&mut self, time: i64, state: State, cap: usize) {
        if self.points.last().map(|p| p.1) == Some(state) {
            return;
        }
        self.points.push((time, state, 0));
        if self.points.len() > cap {
            self.coarsen(cap / 6);
        }
    }

    /// The points in time order, each with the changes folded into it.
    pub fn sorted(&self) -> Vec<(i64, State, u32)> {
        let mut v = self.points.clone();
        // Lines of one director are nearly in order; files given out of order are not.
        v.sort_by_key(|p| p.0);
        v
    }

    /// Whether changes were folded on the way.
    pub fn coarsened(&self) -> bool {
        self.coarsened
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// To at most five points per each of `buckets` equal spans of the lane's time. Where
    /// a span holds several changes, its states follow one another from its first change,
    /// longest first, each lasting as long as it did in all (so a lane flapping between
    /// MASTER and BACKUP keeps how long it was each, which is what the page's folding
    /// weighs), then the state from its last change on; the first point stands for the
    /// changes folded. The state between spans stays exact.
    fn coarsen(&mut self, buckets: usize) {
        self.points.sort_by_key(|p| p.0);
        let (Some(first), Some(last)) = (self.points.first(), self.points.last()) else {
            return;
        };
        let (first, last) = (first.0, last.0);
        let width = ((last - first) / buckets.max(1) as i64).max(1);
        let points = std::mem::take(&mut self.points);
        let mut out: Vec<(i64, State, u32)> = Vec::with_capacity(3 * buckets + 3);
        let mut i = 0;
        while i < points.len() {
            let b = (points[i].0 - first) / width;
            let mut j = i + 1;
            while j < points.len() && (points[j].0 - first) / width == b {
                j += 1;
            }
            let group = &points[i..j];
            i = j;
            let [.., (tn, end_state, _)] = *group else {
                continue;
            };
            if group.len() == 1 {
                out.extend_from_slice(group);
                continue;
            }
            let mut lasted = [0i64; 4];
            for w in group.windows(2) {
                lasted[w[0].1 as usize] += w[1].0 - w[0].0;
            }
            let mut order = [State::Unknown, State::Backup, State::Master, State::Fault];
            order.sort_by_key(|&s| std::cmp::Reverse(lasted[s as usize]));
            let start = out.len();
            let mut at = group[0].0;
            for state in order.into_iter().filter(|&s| lasted[s as usize] > 0) {
                push_change(&mut out, at, state);
                at += lasted[state as usize];
            }
            push_change(&mut out, tn, end_state);
            let kept = u32::try_from(out.len() - start).unwrap_or(u32::MAX);
            let folded = group
                .iter()
                .fold(0u32, |n, p| n.saturating_add(p.2).saturating_add(1));
            // On its first point, or on the point before when the span adds none.
            let at = start.min(out.len().saturating_sub(1));
            if let Some(p) = out.get_mut(at) {
                p.2 = p.2.saturating_add(folded.saturating_sub(kept));
            }
        }
        self.points = out;
        self.coarsened = true;
    }
}

/// Appends a change unless the lane is in that state already.
fn push_change(out: &mut Vec<(i64, State, u32)>, at: i64, state: State) {
    if out.last().map(|p| p.1) != Some(state) {
        out.push((at, state, 0));
    }
}

/// A real server out: start, end (`None` while out), index of the director that said so,
/// periods folded into it.
pub type Out = (i64, Option<i64>, usize, u32);

/// A real server's down periods, and exactly how long its closed ones lasted (which
/// servers are drawn is decided by that, so merging periods must not change it).
#[derive(Debug, Default, Clone)]
pub struct DownLane {
    /// Closed periods: start, end, director, periods folded into it.
    closed: Vec<(i64, i64, usize, u32)>,
    /// Open ones, at most one per director (start, director): mostly one, kept inline.
    open: SmallVec<[(i64, usize); 1]>,
    closed_out: i64,
    coarsened: bool,
}

impl DownLane {
    /// A checker took it out at `time` (nothing if `host` has it out already).
    pub fn down(&mut self, time: i64, host: usize) {
        if !self.open.iter().any(|p| p.1 == host) {
            self.open.push((time, host));
        }
    }

    /// `host` put it back at `time`.
    pub fn up(&mut self, time: i64, host: usize, cap: usize) {
        let Some(k) = self.open.iter().position(|p| p.1 == host) else {
            return;
        };
        let (start, host) = self.open.swap_remove(k);
        let end = time.max(start);
        self.closed_out = self.closed_out.saturating_add(end - start);
        self.closed.push((start, end, host, 1));
        if self.closed.len() > cap {
            self.coarsen(cap / 2);
        }
    }

    /// How long it was out in all, open periods counted to `end` (µs).
    pub fn out_for(&self, end: i64) -> i64 {
        let open: i64 = self.open.iter().map(|p| end - p.0).sum();
        self.closed_out.saturating_add(open)
    }

    /// Every period, closed then open.
    pub fn periods(&self) -> impl Iterator<Item = Out> + '_ {
        let closed = self.closed.iter().map(|&(s, e, h, n)| (s, Some(e), h, n));
        closed.chain(self.open.iter().map(|&(s, h)| (s, None, h, 1)))
    }

    pub fn coarsened(&self) -> bool {
        self.coarsened
    }

    /// Closed periods closer than 1/`buckets` of their span merge, as the page's own
    /// folding merges them (closer than one of its wider buckets), so merging early
    /// changes nothing it would not have merged.
    fn coarsen(&mut self, buckets: usize) {
        let first = self.closed.iter().map(|p| p.0).min().unwrap_or(0);
        let last = self.closed.iter().map(|p| p.1).max().unwrap_or(0);
        let width = ((last - first) / buckets.max(1) as i64).max(1);
        let mut closed = std::mem::take(&mut self.closed);
        closed.sort_by_key(|p| (p.0, p.2));
        let mut out: Vec<(i64, i64, usize, u32)> = Vec::with_capacity(buckets + 1);
        for p in closed {
            match out.last_mut() {
                Some(l) if p.0 <= l.1.saturating_add(width) => {
                    l.1 = l.1.max(p.1);
                    l.3 = l.3.saturating_add(p.3);
                }
                _ => out.push(p),
            }
        }
        self.closed = out;
        self.coarsened = true;
    }
}

/// Cells a director's activity keeps before they are made twice as wide.
const ACTIVITY_CELLS: usize = 8 * ACTIVITY_BUCKETS;

/// A director's lines by severity (critical, warning, info) per cell of `width` seconds,
/// keyed by the cell's first second. Starts at one second; doubles the width when the
/// log's span needs more than [`ACTIVITY_CELLS`] cells, so a cell stays at most a quarter
/// of the page's bucket.
#[derive(Debug, Clone)]
pub struct ActivityCells {
    width: i64,
    cells: BTreeMap<i64, [u32; 3]>,
}

impl Default for ActivityCells {
    fn default() -> ActivityCells {
        ActivityCells {
            width: 1,
            cells: BTreeMap::new(),
        }
    }
}

impl ActivityCells {
    pub fn add(&mut self, sec: i64, severity: usize) {
        let cell = sec.div_euclid(self.width) * self.width;
        let slot = self.cells.entry(cell).or_default();
        slot[severity] = slot[severity].saturating_add(1);
        while self.cells.len() > ACTIVITY_CELLS {
            self.widen();
        }
    }

    fn widen(&mut self) {
        self.width = self.width.saturating_mul(2);
        let w = self.width;
        let mut cells: BTreeMap<i64, [u32; 3]> = BTreeMap::new();
        for (sec, n) in std::mem::take(&mut self.cells) {
            let slot = cells.entry(sec.div_euclid(w) * w).or_default();
            for k in 0..3 {
                slot[k] = slot[k].saturating_add(n[k]);
            }
        }
        self.cells = cells;
    }

    /// (first second of the cell, counts), in time order.
    pub fn cells(&self) -> impl Iterator<Item = (i64, &[u32; 3])> {
        self.cells.iter().map(|(s, n)| (*s, n))
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.cells.len()
    }
}

//! The report's data: one JSON document the page draws from. Times are UTC milliseconds
//! (JavaScript's own unit); the pieces of lanes count them from the report's `start`
//! (shorter numbers: they are most of the document). Everything is bounded: all lanes
//! together hold at most [`MAX_PIECES`] pieces, one lane at most [`MAX_SEGMENTS`] (more are
//! folded into buckets of equal width, each saying how many changes it hides), at most
//! [`MAX_SERVER_LANES`] real servers are drawn (those out longest), activity is
//! [`ACTIVITY_BUCKETS`] buckets per director, and at most [`MAX_INCIDENTS`] incidents are
//! given whole, so ten directors' million lines each stay a few megabytes whatever they say.

use crate::incidents::Incident;
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;

/// Most pieces drawn per lane: about one per pixel of a wide screen.
pub const MAX_SEGMENTS: usize = 1500;
/// Most pieces of all lanes together (about 20 bytes each in the JSON).
pub const MAX_PIECES: usize = 80_000;
/// Fewest pieces a lane is folded to, however many lanes share [`MAX_PIECES`].
pub const MIN_SEGMENTS: usize = 60;
/// Real-server lanes drawn: the ones out longest; the others are counted.
pub const MAX_SERVER_LANES: usize = 400;
/// Buckets of the activity lanes.
pub const ACTIVITY_BUCKETS: usize = 600;
/// Incidents given whole (their evidence included, and a table row each); more are
/// counted by kind.
pub const MAX_INCIDENTS: usize = 1000;

/// A VRRP instance's state as keepalived logged it; `Unknown` before its first line,
/// after its last, and while keepalived is stopped or restarting. Its number in JSON
/// (0 unknown, 1 BACKUP, 2 MASTER, 3 FAULT).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Unknown,
    Backup,
    Master,
    Fault,
}

impl Serialize for State {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(*self as u8)
    }
}

/// A piece of a VRRP lane: `[start, end, state, changes]` in JSON, where `changes` > 0
/// means a folded bucket that hid that many changes (`state` then is the one that lasted
/// longest in it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    pub start: i64,
    pub end: i64,
    pub state: State,
    pub changes: u32,
}

impl Serialize for Segment {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (self.start, self.end, self.state, self.changes).serialize(s)
    }
}

/// One lane per (director, VRRP instance).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VrrpLane {
    pub host: String,
    pub iname: String,
    pub segments: Vec<Segment>,
    /// Whether the lane was folded into buckets.
    pub folded: bool,
}

/// A time when two or more directors were MASTER of the same instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Overlap {
    pub iname: String,
    pub start: i64,
    pub end: i64,
    pub hosts: Vec<String>,
}

/// A real server out: `[start, end, host index, open, count]` in JSON (`open`: still out
/// at the end of the input; `count` > 1: a folded bucket of that many periods).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DownPeriod {
    pub start: i64,
    pub end: i64,
    pub host: usize,
    pub open: bool,
    pub count: u32,
}

impl Serialize for DownPeriod {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (self.start, self.end, self.host, self.open, self.count).serialize(s)
    }
}

/// One lane per (virtual service, real server); its periods name the director whose
/// checker took it out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerLane {
    pub virtual_service: String,
    pub real_server: String,
    pub down: Vec<DownPeriod>,
    pub folded: bool,
}

/// A director's lines per bucket of `width` ms: `[bucket, critical, warning, info]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Activity {
    pub host: String,
    pub width: i64,
    pub buckets: Vec<[i64; 4]>,
}

/// The whole document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub version: &'static str,
    /// The time axis: the first and last instant of the input (ms).
    pub start: i64,
    pub end: i64,
    pub lines: u64,
    pub matched: u64,
    /// Events with no wall-clock time: counted, not drawn.
    pub untimed: u64,
    pub hosts: Vec<String>,
    pub vrrp: Vec<VrrpLane>,
    pub split_brain: Vec<Overlap>,
    pub servers: Vec<ServerLane>,
    /// Real servers out at some time but not drawn (beyond [`MAX_SERVER_LANES`]).
    pub servers_omitted: usize,
    pub activity: Vec<Activity>,
    /// Oldest first, as the engine made them (times RFC 3339, as in `--format json`).
    pub incidents: Vec<Incident>,
    /// Incidents beyond [`MAX_INCIDENTS`], per kind.
    pub incidents_omitted: BTreeMap<&'static str, u64>,
}

/// A lane of at most `max` pieces: as it is when it fits, else `max` buckets of equal width
/// over [start, end], each with the state that lasted longest in it and the number of
/// changes it hides; neighbours with the same state and no change merge again.
pub fn fold_states(segs: Vec<Segment>, start: i64, end: i64, max: usize) -> (Vec<Segment>, bool) {
    if segs.len() <= max {
        return (segs, false);
    }
    let width = ((end - start) / max as i64).max(1);
    let mut out: Vec<Segment> = Vec::with_capacity(max);
    let mut i = 0;
    let mut b0 = start;
    while b0 < end {
        let b1 = (b0 + width).min(end);
        let mut lasted = [0i64; 4];
        let mut changes = 0u32;
        // Pieces overlapping [b0, b1); the last may go on into the next bucket.
        let mut j = i;
        while j < segs.len() && segs[j].start < b1 {
            let s = &segs[j];
            lasted[s.state as usize] += s.end.min(b1) - s.start.max(b0);
            if s.start > b0 {
                changes += 1;
            }
            // Changes it already stands for (folded while reading), counted once: in the
            // bucket it starts in.
            if s.start >= b0 {
                changes = changes.saturating_add(s.changes);
            }
            j += 1;
        }
        i = if j > i && segs[j - 1].end > b1 {
            j - 1
        } else {
            j
        };
        let best = (0..4).max_by_key(|&k| (lasted[k], k)).unwrap_or(0);
        let state = [State::Unknown, State::Backup, State::Master, State::Fault][best];
        match out.last_mut() {
            Some(l) if l.state == state && l.changes == 0 && changes == 0 => l.end = b1,
            _ => out.push(Segment {
                start: b0,
                end: b1,
                state,
                changes,
            }),
        }
        b0 = b1;
    }
    (out, true)
}

/// Down periods, at most `max`: when more, periods closer than one bucket width
/// ((end - start) / max) merge into one that counts them.
pub fn fold_down(
    down: Vec<DownPeriod>,
    start: i64,
    end: i64,
    max: usize,
) -> (Vec<DownPeriod>, bool) {
    if down.len() <= max {
        return (down, false);
    }
    let width = ((end - start) / max as i64).max(1);
    let mut out: Vec<DownPeriod> = Vec::new();
    for d in down {
        match out.last_mut() {
            Some(l) if d.start <= l.end + width => {
                l.end = l.end.max(d.end);
                l.open |= d.open;
                l.count = l.count.saturating_add(d.count);
            }
            _ => out.push(d),
        }
    }
    (out, true)
}

/// Where two or more directors were MASTER of one instance at once, from the lanes.
pub fn split_brains(lanes: &[VrrpLane]) -> Vec<Overlap> {
    let mut by_iname: BTreeMap<&str, Vec<(i64, i64, &str)>> = BTreeMap::new();
    for l in lanes {
        for s in l.segments.iter().filter(|s| s.state == State::Master) {
            by_iname
                .entry(&l.iname)
                .or_default()
                .push((s.start, s.end, &l.host));
        }
    }
    let mut out = Vec::new();
    for (iname, masters) in by_iname {
        // Sweep the boundaries in time order, keeping who is MASTER between two of them.
        let mut edges: Vec<(i64, bool, &str)> = masters
            .iter()
            .flat_map(|m| [(m.0, true, m.2), (m.1, false, m.2)])
            .collect();
        // At one instant, ends before starts: pieces that only touch do not overlap.
        edges.sort_by_key(|e| (e.0, e.1));
        let mut active: BTreeMap<&str, u32> = BTreeMap::new();
        let mut k = 0;
        while k < edges.len() {
            let t = edges[k].0;
            while k < edges.len() && edges[k].0 == t {
                let (_, begins, host) = edges[k];
                let n = active.entry(host).or_default();
                if begins {
                    *n += 1;
                } else {
                    *n = n.saturating_sub(1);
                    if *n == 0 {
                        active.remove(host);
                    }
                }
                k += 1;
            }
            let Some(&(next, _, _)) = edges.get(k) else {
                break;
            };
            if active.len() < 2 {
                continue;
            }
            let hosts: Vec<String> = active.keys().map(|h| h.to_string()).collect();
            match out.last_mut() {
                Some(Overlap {
                    iname: i,
                    end,
                    hosts: h,
                    ..
                }) if i == iname && *end == t && *h == hosts => *end = next,
                _ => out.push(Overlap {
                    iname: iname.to_string(),
                    start: t,
                    end: next,
                    hosts,
                }),
            }
        }
    }
    out
}

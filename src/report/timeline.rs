//! What the report draws, gathered while `analyze` reads: per director, each VRRP
//! instance's state changes, the real servers keepalived took out and put back, and how
//! many lines of each severity it wrote when. Only changes are kept (never the lines), and
//! each lane only up to a cap (`bounded`), so memory follows the instances and real
//! servers there are, not how much was logged or over how long; the [`Report`] is made
//! from it at the end, with everything that cannot be seen at full zoom folded.

use super::model::{
    fold_down, fold_states, split_brains, Activity, DownPeriod, Report, Segment, ServerLane, State,
    VrrpLane, ACTIVITY_BUCKETS, MAX_INCIDENTS, MAX_PIECES, MAX_SEGMENTS, MAX_SERVER_LANES,
    MIN_SEGMENTS,
};
use crate::incidents::Incident;
use crate::logs::analyze::{Each, Observer, Summary};
use crate::logs::pipeline::EventRef;
use crate::logs::rules::Severity;
use crate::model::{RealServerId, VirtualServiceId};
use bounded::{lane_cap, DownLane, StateLane};
use std::collections::BTreeMap;

/// One director's part of the timeline.
#[derive(Debug, Default)]
struct Host {
    name: String,
    /// Its first and last timed event (UTC µs): its lanes say "unknown" outside them.
    first: Option<i64>,
    last: Option<i64>,
    /// Per VRRP instance, its state changes.
    vrrp: BTreeMap<String, StateLane>,
    /// Lines per second (UTC seconds) by severity, in wider cells over a long log.
    activity: bounded::ActivityCells,
}

/// A real server of a virtual service: what a down lane is for. Kept as identities, not
/// text (a log that takes out a hundred thousand real servers holds one of these each).
pub type Service = (VirtualServiceId, RealServerId);

/// One event as the timeline needs it (time in UTC µs).
#[derive(Debug, Clone)]
pub struct Mark<'a> {
    pub host: &'a str,
    pub time: i64,
    pub kind: &'a str,
    pub severity: Severity,
    pub iname: Option<&'a str>,
    /// (virtual service, real server).
    pub service: Option<Service>,
    /// The message after the transport's time, host and ident.
    pub message: &'a str,
}

/// The recorder `analyze --format html` plugs into the analyzer ([`Observer`]).
#[derive(Debug, Default)]
pub struct Timeline {
    hosts: Vec<Host>,
    /// Per (virtual service, real server): its down periods.
    servers: BTreeMap<Service, DownLane>,
    /// Events without a wall-clock time (not drawn, counted).
    untimed: u64,
    /// VRRP lanes so far (of all directors): with the real servers', they share the
    /// points kept.
    vrrp_lanes: usize,
}

impl Timeline {
    pub fn new() -> Timeline {
        Timeline::default()
    }

    fn host(&mut self, name: &str) -> usize {
        // A capture holds a handful of directors: the last one first, then a short search.
        if let Some(i) = self.hosts.iter().rposition(|h| h.name == name) {
            return i;
        }
        self.hosts.push(Host {
            name: name.to_string(),
            ..Host::default()
        });
        self.hosts.len() - 1
    }

    /// Records one event.
    pub fn record(&mut self, m: Mark<'_>) {
        let Mark {
            host,
            time,
            kind,
            severity,
            iname,
            service,
            message,
        } = m;
        let h = self.host(host);
        let hs = &mut self.hosts[h];
        hs.first = Some(hs.first.map_or(time, |f| f.min(time)));
        hs.last = Some(hs.last.map_or(time, |l| l.max(time)));
        let sev = match severity {
            Severity::Critical => 0,
            Severity::Warning => 1,
            Severity::Info => 2,
        };
        hs.activity.add(time.div_euclid(1_000_000), sev);
        // A VRRP lane's points as the page will share its pieces (with at most
        // MAX_SERVER_LANES real servers drawn); a real server's as all of them share them:
        // its periods only merge when closer than the page's buckets, which changes
        // nothing drawn, and the servers not drawn are ranked by an exact sum.
        let servers = self.servers.len();
        let vrrp_cap = lane_cap(self.vrrp_lanes + servers.min(MAX_SERVER_LANES));
        let server_cap = lane_cap(self.vrrp_lanes + servers);
        let state = match kind {
            "vrrp_master" => Some(State::Master),
            "vrrp_backup" => Some(State::Backup),
            "vrrp_fault" => Some(State::Fault),
            _ => None,
        };
        if let (Some(state), Some(i)) = (state, iname) {
            let lane = match hs.vrrp.get_mut(i) {
                Some(lane) => lane,
                None => {
                    self.vrrp_lanes += 1;
                    hs.vrrp.entry(i.to_string()).or_default()
                }
            };
            lane.push(time, state, vrrp_cap);
            return;
        }
        // keepalived (or its VRRP child) starting, stopping or dying: nothing is known of
        // its instances until it says again.
        let vrrp_gone = match kind {
            "keepalived_started" | "keepalived_stopped" => true,
            "keepalived_child_died" => message.starts_with("VRRP"),
            "keepalived_child_exited" => message.starts_with("Keepalived_vrrp"),
            _ => false,
        };
        if vrrp_gone {
            for lane in hs.vrrp.values_mut() {
                lane.push(time, State::Unknown, vrrp_cap);
            }
            return;
        }
        let Some(key) = service else { return };
        match kind {
            "real_server_down" => self.servers.entry(key).or_default().down(time, h),
            "real_server_up" => {
                if let Some(lane) = self.servers.get_mut(&key) {
                    lane.up(time, h, server_cap);
                }
            }
            _ => {}
        }
    }

    /// The report: these lanes, with the incidents and counts of `summary`.
    pub fn report(self, summary: &Summary) -> Report {
        let each: Each<'_> = &|f| {
            summary.incidents.iter().for_each(f);
            Ok(())
        };
        // A list in memory cannot fail.
        self.report_each(summary, each)
            .unwrap_or_else(|_| Timeline::new().report(&Summary::default()))
    }

    /// [`Timeline::report`] with the incidents `each` gives (one pass): the first
    /// [`MAX_INCIDENTS`] kept, the others counted.
    pub fn report_each(self, summary: &Summary, each: Each<'_>) -> std::io::Result<Report> {
        let (mut start, mut end) = (i64::MAX, i64::MIN);
        for t in self.hosts.iter().flat_map(|h| [h.first, h.last]).flatten() {
            start = start.min(t);
            end = end.max(t);
        }
        let mut incidents: Vec<Incident> = Vec::new();
        let mut omitted: BTreeMap<&'static str, u64> = BTreeMap::new();
        each(&mut |i| {
            for t in [Some(i.start), i.end].into_iter().flatten() {
                start = start.min(t);
                end = end.max(t);
            }
            if incidents.len() < MAX_INCIDENTS {
                incidents.push(i.clone());
            } else {
                *omitted.entry(i.kind).or_default() += 1;
            }
        })?;
        if start > end {
            (start, end) = (0, 0);
        }
        let ms = |us: i64| us.div_euclid(1000);
        let (start_ms, end_ms) = (ms(start), ms(end).max(ms(start) + 1));
        // Real servers: those out longest, when there are too many to draw.
        let mut servers: Vec<(Service, DownLane)> = self.servers.into_iter().collect();
        let servers_omitted = servers.len().saturating_sub(MAX_SERVER_LANES);
        if servers_omitted > 0 {
            servers.sort_by_key(|(_, p)| std::cmp::Reverse(p.out_for(end)));
            servers.truncate(MAX_SERVER_LANES);
            servers.sort_by_key(|a| a.0);
        }
        // The lanes share the pieces.
        let lanes = self.hosts.iter().map(|h| h.vrrp.len()).sum::<usize>() + servers.len();
        let per_lane = (MAX_PIECES / lanes.max(1)).clamp(MIN_SEGMENTS, MAX_SEGMENTS);
        let mut vrrp = Vec::new();
        for h in &self.hosts {
            for (iname, lane) in &h.vrrp {
                let segs = host_segments(&lane.sorted(), h.last, start_ms, end_ms);
                let (segments, folded) = fold_states(segs, start_ms, end_ms, per_lane);
                vrrp.push(VrrpLane {
                    host: h.name.clone(),
                    iname: iname.clone(),
                    segments,
                    folded: folded || lane.coarsened(),
                });
            }
        }
        // An instance's directors next to each other: a split brain is between them.
        vrrp.sort_by(|a, b| (&a.iname, &a.host).cmp(&(&b.iname, &b.host)));
        let split_brain = split_brains(&vrrp);
        let servers: Vec<ServerLane> = servers
            .into_iter()
            .map(|((vs, rs), lane)| {
                let mut down: Vec<DownPeriod> = lane
                    .periods()
                    .map(|(s, e, h, count)| DownPeriod {
                        start: ms(s),
                        end: e.map_or(end_ms, ms),
                        open: e.is_none(),
                        host: h,
                        count,
                    })
                    .collect();
                down.sort_by_key(|d| (d.start, d.host));
                let (down, folded) = fold_down(down, start_ms, end_ms, per_lane);
                ServerLane {
                    virtual_service: vs.to_string(),
                    real_server: rs.to_string(),
                    down,
                    folded: folded || lane.coarsened(),
                }
            })
            .collect();
        // Pieces count from the start (shorter numbers in the JSON).
        for l in &mut vrrp {
            for s in &mut l.segments {
                s.start -= start_ms;
                s.end -= start_ms;
            }
        }
        let mut servers = servers;
        for l in &mut servers {
            for d in &mut l.down {
                d.start -= start_ms;
                d.end -= start_ms;
            }
        }
        let activity = activity(&self.hosts, start_ms, end_ms);
        incidents.sort_by_key(|i| i.start);
        Ok(Report {
            version: crate::metrics::VERSION,
            start: start_ms,
            end: end_ms,
            lines: summary.lines,
            matched: summary.matched,
            untimed: self.untimed,
            hosts: self.hosts.iter().map(|h| h.name.clone()).collect(),
            vrrp,
            split_brain,
            servers,
            servers_omitted,
            activity,
            incidents,
            incidents_omitted: omitted,
        })
    }
}

/// One lane's segments over [start, end] (ms): unknown before the director's first line
/// and after its last (a killed keepalived writes nothing more), then each state until the
/// next change. `changes` is in time order; a change that stands for folded ones gives its
/// segment that count.
fn host_segments(
    changes: &[(i64, State, u32)],
    last: Option<i64>,
    start: i64,
    end: i64,
) -> Vec<Segment> {
    let ms = |us: i64| us.div_euclid(1000);
    let last = last.map_or(end, ms);
    let mut out: Vec<Segment> = Vec::new();
    // Folded changes of a piece too short to draw go to the next one.
    let mut carried = 0u32;
    let mut push = |s: i64, e: i64, state: State, hidden: u32| {
        let hidden = hidden.saturating_add(std::mem::take(&mut carried));
        if e <= s {
            carried = hidden;
            return;
        }
        match out.last_mut() {
            Some(l) if l.state == state && l.end == s => {
                l.end = e;
                l.changes = l.changes.saturating_add(hidden);
            }
            _ => out.push(Segment {
                start: s,
                end: e,
                state,
                changes: hidden,
            }),
        }
    };
    let mut at = start;
    let mut state = State::Unknown;
    let mut hidden = 0;
    for &(t, next, folded) in changes {
        let t = ms(t);
        push(at, t, state, hidden);
        at = t;
        state = next;
        hidden = folded;
    }
    push(at, last.max(at), state, hidden);
    push(last.max(at), end, State::Unknown, 0);
    out
}

/// Each director's lines per bucket, by severity, over [start, end] (ms).
fn activity(hosts: &[Host], start: i64, end: i64) -> Vec<Activity> {
    let span = (end - start).max(1);
    // Whole seconds: the counts are kept per second.
    let width = ((span / ACTIVITY_BUCKETS as i64).max(1000) + 999) / 1000 * 1000;
    hosts
        .iter()
        .map(|h| {
            let mut buckets: BTreeMap<i64, [u32; 3]> = BTreeMap::new();
            let last = (end - start).div_euclid(width);
            for (sec, n) in h.activity.cells() {
                // A cell wider than a second may begin before the first line or run past
                // the last: its lines are inside, so is its bucket.
                let b = (sec.saturating_mul(1000) - start)
                    .div_euclid(width)
                    .clamp(0, last);
                let slot = buckets.entry(b).or_default();
                for k in 0..3 {
                    slot[k] = slot[k].saturating_add(n[k]);
                }
            }
            Activity {
                host: h.name.clone(),
                width,
                buckets: buckets
                    .into_iter()
                    .map(|(b, n)| [b, i64::from(n[0]), i64::from(n[1]), i64::from(n[2])])
                    .collect(),
            }
        })
        .collect()
}

impl Observer for Timeline {
    fn event(&mut self, ev: &EventRef<'_>, host: &str) {
        let Some(time) = ev.time else {
            self.untimed += 1;
            return;
        };
        // Only a real server going out or coming back is drawn.
        let service = match ev.kind {
            "real_server_down" | "real_server_up" => {
                match (ev.virtual_service(), ev.real_server()) {
                    (Ok(Some(vs)), Ok(Some(rs))) => Some((vs, rs)),
                    _ => None,
                }
            }
            _ => None,
        };
        self.record(Mark {
            host,
            time,
            kind: ev.kind,
            severity: ev.severity,
            iname: ev.iname(),
            service,
            message: ev.message,
        });
    }
}

mod bounded;

#[cfg(test)]
mod tests;

//! Counters of the log pipeline, shared by the sources (which count) and the collector
//! (which reports at scrape time).
//!
//! Event label values come from log lines, which an attacker or a misconfiguration can make
//! unbounded; so identities are parsed (never copied as text: a mangled address leaves the
//! identity empty and is counted in `identities_dropped`), and the number of
//! `lvsmon_log_events_total` series is capped: once the cap is reached, events that would
//! open a new series are counted in their kind's overflow series. The kind itself comes from
//! the rules, a bounded set.

use super::pipeline::EventRef;
use crate::model::{RealServerId, VirtualServiceId};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// The value the `iname` label of an overflow series takes (its identity labels are all
/// `overflow` too, see `metrics::logs`).
pub const OVERFLOW: &str = "overflow";

/// The identity of one `lvsmon_log_events_total` series.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventKey {
    pub kind: Arc<str>,
    pub iname: String,
    pub virtual_service: Option<VirtualServiceId>,
    pub real_server: Option<RealServerId>,
    /// The kind's overflow series (beyond the cap).
    pub overflow: bool,
}

/// Per-source counters.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SourceCounts {
    pub lines: u64,
    pub unmatched: u64,
    pub truncated: u64,
    pub up: bool,
    /// Rotations by kind: `rename`, `delete`, `truncate`.
    pub rotations: BTreeMap<&'static str, u64>,
}

#[derive(Debug, Default)]
struct Inner {
    events: HashMap<EventKey, u64>,
    sources: BTreeMap<String, SourceCounts>,
    kmsg_lost: u64,
    identities_dropped: u64,
}

/// All counters of the log pipeline.
#[derive(Debug)]
pub struct LogStats {
    inner: Mutex<Inner>,
    max_series: usize,
}

impl LogStats {
    pub fn new(max_series: usize) -> LogStats {
        LogStats {
            inner: Mutex::new(Inner::default()),
            max_series,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts one line from `source`.
    pub fn line(&self, source: &str, cut: bool, matched: bool) {
        let mut g = self.lock();
        let s = source_entry(&mut g, source);
        s.lines += 1;
        s.truncated += u64::from(cut);
        s.unmatched += u64::from(!matched);
    }

    /// Counts one event in its series.
    pub fn event(&self, ev: &EventRef<'_>) {
        let (vs, rs) = (ev.virtual_service(), ev.real_server());
        let dropped = u64::from(vs.is_err()) + u64::from(rs.is_err());
        let key = EventKey {
            kind: ev.kind_arc(),
            iname: ev.iname().unwrap_or("").to_string(),
            virtual_service: vs.ok().flatten(),
            real_server: rs.ok().flatten(),
            overflow: false,
        };
        let mut g = self.lock();
        g.identities_dropped += dropped;
        let cap = self.max_series;
        let key = if g.events.contains_key(&key) || g.events.len() < cap {
            key
        } else {
            EventKey {
                kind: key.kind,
                iname: OVERFLOW.into(),
                virtual_service: None,
                real_server: None,
                overflow: true,
            }
        };
        *g.events.entry(key).or_insert(0) += 1;
    }

    pub fn set_up(&self, source: &str, up: bool) {
        source_entry(&mut self.lock(), source).up = up;
    }

    pub fn rotation(&self, source: &str, kind: &'static str) {
        *source_entry(&mut self.lock(), source)
            .rotations
            .entry(kind)
            .or_insert(0) += 1;
    }

    pub fn kmsg_lost(&self, n: u64) {
        self.lock().kmsg_lost += n;
    }

    /// A copy of everything, for the collector and tests.
    pub fn snapshot(&self) -> Snapshot {
        let g = self.lock();
        let mut events: Vec<(EventKey, u64)> =
            g.events.iter().map(|(k, v)| (k.clone(), *v)).collect();
        events.sort();
        Snapshot {
            events,
            sources: g.sources.clone(),
            kmsg_lost: g.kmsg_lost,
            identities_dropped: g.identities_dropped,
        }
    }
}

fn source_entry<'a>(g: &'a mut Inner, source: &str) -> &'a mut SourceCounts {
    if !g.sources.contains_key(source) {
        g.sources
            .insert(source.to_string(), SourceCounts::default());
    }
    // Just inserted if it was missing.
    g.sources.get_mut(source).expect("source entry")
}

/// A point-in-time copy of [`LogStats`].
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub events: Vec<(EventKey, u64)>,
    pub sources: BTreeMap<String, SourceCounts>,
    pub kmsg_lost: u64,
    /// Virtual services or real servers named in lines that could not be parsed.
    pub identities_dropped: u64,
}

impl Snapshot {
    /// Events of one kind, all series summed.
    pub fn kind(&self, kind: &str) -> u64 {
        self.events
            .iter()
            .filter(|(k, _)| &*k.kind == kind)
            .map(|(_, n)| n)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::pipeline::{Classifier, EventRef, Sink};
    use crate::logs::rules::Rules;

    struct Count<'a>(&'a LogStats);
    impl Sink for Count<'_> {
        fn line(&mut self, cut: bool, matched: bool) {
            self.0.line("f", cut, matched);
        }
        fn event(&mut self, ev: &EventRef<'_>) {
            self.0.event(ev);
        }
    }

    fn feed(stats: &LogStats, lines: &[&str]) {
        let rules = std::sync::Arc::new(Rules::builtin().unwrap());
        let mut c = Classifier::new(rules, crate::logs::frame::YearClock::fixed(2025), "f");
        for l in lines {
            c.line(l.as_bytes(), false, &mut Count(stats));
        }
    }

    #[test]
    fn series_beyond_the_cap_go_to_the_overflow_series_of_their_kind() {
        let stats = LogStats::new(3);
        let lines: Vec<String> = (0..10)
            .map(|i| format!("(VI_{i}) Entering MASTER STATE"))
            .collect();
        feed(
            &stats,
            &lines.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        stats.line("f", true, false);
        let snap = stats.snapshot();
        assert_eq!(snap.events.len(), 4);
        assert_eq!(snap.kind("vrrp_master"), 10);
        let over = snap.events.iter().find(|(k, _)| k.overflow).unwrap();
        assert_eq!((over.0.iname.as_str(), over.1), (OVERFLOW, 7));
        let f = &snap.sources["f"];
        assert_eq!((f.lines, f.unmatched, f.truncated), (11, 1, 1));
    }

    #[test]
    fn a_mangled_address_leaves_the_identity_empty_and_is_counted() {
        let stats = LogStats::new(100);
        feed(
            &stats,
            &[
                "Removing service [10.2.0.12]:tcp:80 from VS [10.1.0.100]:tcp:80",
                "Removing service [10.2.0.999]:tcp:80 from VS [10.1.0.100]:tcp:80",
            ],
        );
        let snap = stats.snapshot();
        assert_eq!(snap.kind("real_server_down"), 2);
        assert_eq!(snap.identities_dropped, 1);
        let servers: Vec<_> = snap
            .events
            .iter()
            .map(|(k, _)| k.real_server.map(|r| r.to_string()))
            .collect();
        assert!(servers.contains(&Some("10.2.0.12:80".into())));
        assert!(servers.contains(&None));
    }
}

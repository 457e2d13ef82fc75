//! Counters of the log pipeline, shared by the sources (which count) and the collector
//! (which reports at scrape time).
//!
//! Event label values come from log lines, which an attacker or a misconfiguration can make
//! unbounded; so the number of `lvsmon_log_events_total` series is capped: once the cap is
//! reached, events that would open a new series are counted in their kind's overflow series
//! (`instance`, `virtual_service` and `real_server` all `overflow`). The kind itself comes
//! from the rules, a bounded set.

use super::rules::{Event, Label};
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

/// The value every label of an overflow series takes.
pub const OVERFLOW: &str = "overflow";

/// The identity of one `lvsmon_log_events_total` series.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventKey {
    pub kind: String,
    pub instance: String,
    pub virtual_service: String,
    pub real_server: String,
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

    /// Counts one line from `source` and the event it gave, if any.
    pub fn line(&self, source: &str, event: Option<&Event<'_>>, cut: bool) {
        let mut g = self.lock();
        let s = source_entry(&mut g, source);
        s.lines += 1;
        s.truncated += u64::from(cut);
        let Some(ev) = event else {
            s.unmatched += 1;
            return;
        };
        let label = |l| ev.label(l).unwrap_or("").to_string();
        let key = EventKey {
            kind: ev.kind.to_string(),
            instance: label(Label::Instance),
            virtual_service: label(Label::VirtualService),
            real_server: label(Label::RealServer),
        };
        let cap = self.max_series;
        let key = if g.events.contains_key(&key) || g.events.len() < cap {
            key
        } else {
            EventKey {
                kind: key.kind,
                instance: OVERFLOW.into(),
                virtual_service: OVERFLOW.into(),
                real_server: OVERFLOW.into(),
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
}

impl Snapshot {
    /// Events of one kind, all series summed.
    pub fn kind(&self, kind: &str) -> u64 {
        self.events
            .iter()
            .filter(|(k, _)| k.kind == kind)
            .map(|(_, n)| n)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::rules::Rules;

    #[test]
    fn series_beyond_the_cap_go_to_the_overflow_series_of_their_kind() {
        let rules = Rules::builtin().unwrap();
        let mut s = rules.scratch();
        let stats = LogStats::new(3);
        for i in 0..10 {
            let line = format!("(VI_{i}) Entering MASTER STATE");
            let ev = rules.classify(&mut s, None, &line);
            stats.line("f", ev.as_ref(), false);
        }
        stats.line("f", None, true);
        let snap = stats.snapshot();
        assert_eq!(snap.events.len(), 4);
        assert_eq!(snap.kind("vrrp_master"), 10);
        let over = snap
            .events
            .iter()
            .find(|(k, _)| k.instance == OVERFLOW)
            .unwrap();
        assert_eq!(over.1, 7);
        let f = &snap.sources["f"];
        assert_eq!((f.lines, f.unmatched, f.truncated), (11, 1, 1));
    }
}

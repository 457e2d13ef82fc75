//! Where log lines come from while serving: followed files (`file`), the kernel ring
//! (`kmsg`) and the systemd journal (`journal`). Each source runs in its own thread and
//! feeds its lines through a [`Pipeline`] (frame, classify, count); a failing source marks
//! itself down and retries, and never affects the others.
//!
//! Positions (file offsets, the journal cursor, the kernel ring's sequence) survive
//! restarts in `--log.state-dir` (`crate::statedir`).

pub mod file;
pub mod journal;
pub mod kmsg;

pub use crate::statedir::{fnv1a, Fnv1a, StateError, StateStore};

use super::bus::EventBus;
use super::frame::YearClock;
use super::pipeline::{Classifier, EventRef, Sink};
use super::rules::Rules;
use super::stats::LogStats;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// What every source of one process shares: the rules, the counters, the consumers' bus
/// and the clock settings (the zone of timestamps that carry none).
#[derive(Debug)]
pub struct LogPipeline {
    pub rules: Arc<Rules>,
    pub stats: Arc<LogStats>,
    pub bus: EventBus,
    /// The zone (and any fixed year) of timestamps that carry none; `now` is renewed per
    /// source and per tick.
    clock: YearClock,
}

impl LogPipeline {
    pub fn new(rules: Arc<Rules>, stats: Arc<LogStats>) -> LogPipeline {
        LogPipeline {
            rules,
            stats,
            bus: EventBus::default(),
            clock: YearClock::now(),
        }
    }

    /// Timestamps without a zone are read in `clock`'s zone (`--log.timezone`).
    pub fn with_clock(mut self, clock: YearClock) -> LogPipeline {
        self.clock = clock;
        self
    }
}

/// The serve-side sink: counts every line and event, and offers events to the bus.
struct Counting<'a> {
    shared: &'a LogPipeline,
    source: &'a str,
}

impl Sink for Counting<'_> {
    fn line(&mut self, cut: bool, matched: bool) {
        self.shared.stats.line(self.source, cut, matched);
    }

    fn event(&mut self, ev: &EventRef<'_>) {
        self.shared.stats.event(ev);
        self.shared.bus.publish(ev);
    }
}

/// Frames, classifies and counts the lines of one source.
pub struct Pipeline {
    classifier: Classifier,
    shared: Arc<LogPipeline>,
    source: Arc<str>,
}

impl Pipeline {
    /// A pipeline for `source` over `shared`.
    pub fn for_source(shared: Arc<LogPipeline>, source: &str) -> Pipeline {
        Pipeline {
            classifier: Classifier::new(shared.rules.clone(), shared.clock.renewed(), source),
            shared,
            source: Arc::from(source),
        }
    }

    /// A pipeline with counters only (no consumers), for tests and tools.
    pub fn new(rules: Arc<Rules>, stats: Arc<LogStats>, source: impl Into<String>) -> Pipeline {
        Pipeline::for_source(Arc::new(LogPipeline::new(rules, stats)), &source.into())
    }

    /// Kernel times since boot become wall times from this instant (µs since the epoch).
    pub fn with_boot(mut self, boot: Option<i64>) -> Pipeline {
        self.classifier = self.classifier.with_boot(boot);
        self
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn stats(&self) -> &LogStats {
        &self.shared.stats
    }

    /// One line, without its newline.
    pub fn line(&mut self, bytes: &[u8], cut: bool) {
        let Pipeline {
            classifier,
            shared,
            source,
        } = self;
        let mut sink = Counting { shared, source };
        classifier.line(bytes, cut, &mut sink);
    }

    /// Keeps the year inference current in a long-running process.
    pub fn tick(&mut self) {
        self.classifier.set_clock(self.shared.clock.renewed());
    }
}

/// A flag that asks the source threads to stop (they save their position first).
#[derive(Debug, Clone, Default)]
pub struct Stop(Arc<AtomicBool>);

impl Stop {
    pub fn stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    pub fn stopped(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

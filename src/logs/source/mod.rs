//! Where log lines come from while serving: followed files (`file`), the kernel ring
//! (`kmsg`) and the systemd journal (`journal`). Each source runs in its own thread and
//! feeds its lines through a [`Pipeline`] (frame, classify, count); a failing source marks
//! itself down and retries, and never affects the others.
//!
//! Positions (file offsets, the journal cursor) survive restarts in `--log.state-dir`,
//! written atomically (temporary file, fsync, rename).

pub mod file;
pub mod journal;
pub mod kmsg;

use super::bus::EventBus;
use super::frame::YearClock;
use super::pipeline::{Classifier, EventRef, Sink};
use super::rules::Rules;
use super::stats::LogStats;
use std::io::Write;
use std::path::{Path, PathBuf};
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

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot write state file {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Small named records in `--log.state-dir`.
#[derive(Debug, Clone)]
pub struct StateStore {
    dir: PathBuf,
}

impl StateStore {
    pub fn new(dir: &Path) -> StateStore {
        StateStore {
            dir: dir.to_path_buf(),
        }
    }

    /// The file holding `key` (a source name; hashed so any path makes a file name).
    fn path(&self, key: &str) -> PathBuf {
        self.dir
            .join(format!("{:016x}.state", fnv1a(key.as_bytes())))
    }

    pub fn load(&self, key: &str) -> Option<String> {
        std::fs::read_to_string(self.path(key)).ok()
    }

    /// Writes atomically: a reader (or a restart after a crash) sees the old or the new
    /// record, never a torn one.
    pub fn save(&self, key: &str, value: &str) -> Result<(), StateError> {
        let path = self.path(key);
        let tmp = path.with_extension("tmp");
        let err = |source| StateError::Write {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(&self.dir).map_err(err)?;
        let mut f = std::fs::File::create(&tmp).map_err(err)?;
        f.write_all(value.as_bytes()).map_err(err)?;
        f.sync_all().map_err(err)?;
        std::fs::rename(&tmp, &path).map_err(err)
    }
}

/// FNV-1a, 64 bits: file-name hashing and content fingerprints (not security).
pub fn fnv1a(data: &[u8]) -> u64 {
    let mut h = Fnv1a::default();
    h.write(data);
    h.finish()
}

/// [`fnv1a`] over several pieces, without joining them first.
#[derive(Debug, Clone, Copy)]
pub struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Fnv1a {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv1a {
    pub fn write(&mut self, data: &[u8]) {
        for &b in data {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    pub fn finish(self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_is_saved_atomically_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let s = StateStore::new(&dir.path().join("sub"));
        assert_eq!(s.load("/var/log/syslog"), None);
        s.save("/var/log/syslog", "one").unwrap();
        s.save("/var/log/syslog", "two").unwrap();
        assert_eq!(s.load("/var/log/syslog").as_deref(), Some("two"));
        let names: Vec<_> = std::fs::read_dir(dir.path().join("sub")).unwrap().collect();
        assert_eq!(names.len(), 1, "no temporary file left behind");
    }
}

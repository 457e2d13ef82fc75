//! The health of reads, as plain data: whether each reader's last read worked, how long it
//! took, how many failed; and [`OnceLog`], the one rule for telling a person about it — a
//! failure is logged once per cause, its recovery once, never at every scrape or line.
//!
//! Readers (`ipvs`, `keepalived`, `logs`) record here; the metrics layer only encodes
//! [`Health::entries`]. Nothing here knows about Prometheus.

use std::sync::Mutex;
use std::time::Duration;

/// Logs a failure the first time its cause is seen (WARN), and its recovery once (INFO).
/// Counts and line numbers vary from one read to the next for the same fault, so they are
/// left out when comparing causes.
#[derive(Debug, Default, Clone)]
pub struct OnceLog {
    /// The cause last logged; cleared when the thing recovers.
    logged: Option<String>,
}

impl OnceLog {
    /// A failure of `what`: logged at WARN unless the same cause was the last one logged.
    /// Returns whether it was logged.
    pub fn failed(&mut self, what: &str, msg: &str) -> bool {
        let cause = cause_of(msg);
        if self.logged.as_deref() == Some(cause.as_str()) {
            tracing::debug!(what, "still failing: {msg}");
            return false;
        }
        tracing::warn!(what, "{msg}");
        self.logged = Some(cause);
        true
    }

    /// Like [`OnceLog::failed`] at INFO: for expected absences (no keepalived on this host,
    /// no log file yet) that are worth one line, not a warning.
    pub fn absent(&mut self, what: &str, msg: &str) -> bool {
        let cause = cause_of(msg);
        if self.logged.as_deref() == Some(cause.as_str()) {
            return false;
        }
        tracing::info!(what, "{msg}");
        self.logged = Some(cause);
        true
    }

    /// A success: logs the recovery if a failure had been logged.
    pub fn ok(&mut self, what: &str, recovered: &str) {
        if self.logged.take().is_some() {
            tracing::info!(what, "{recovered}");
        }
    }

    /// Whether a failure is currently logged (not yet recovered).
    pub fn failing(&self) -> bool {
        self.logged.is_some()
    }
}

/// One reader's last read, as [`Health::entries`] reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub name: &'static str,
    pub up: bool,
    pub duration: Duration,
    pub errors: u64,
}

#[derive(Debug, Clone)]
struct Slot {
    entry: Entry,
    log: OnceLog,
}

/// Health of every reader, shared by the readers (which record) and the consumers that
/// report it (`lvsmon_collector_*`, `/api`, check modes).
#[derive(Debug, Default)]
pub struct Health {
    slots: Mutex<Vec<Slot>>,
}

impl Health {
    /// Records one read. A failure is logged once per cause; recovery once.
    pub fn record(&self, name: &'static str, duration: Duration, result: Result<(), String>) {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        let idx = match slots.iter().position(|s| s.entry.name == name) {
            Some(i) => i,
            None => {
                slots.push(Slot {
                    entry: Entry {
                        name,
                        up: true,
                        duration,
                        errors: 0,
                    },
                    log: OnceLog::default(),
                });
                slots.len() - 1
            }
        };
        let s = &mut slots[idx];
        s.entry.duration = duration;
        s.entry.up = result.is_ok();
        match result {
            Ok(()) => s.log.ok(name, "collector recovered"),
            Err(msg) => {
                s.entry.errors += 1;
                s.log.failed(name, &format!("collector failed: {msg}"));
            }
        }
    }

    /// The last recorded state of a reader: (up, errors).
    pub fn state(&self, name: &str) -> Option<(bool, u64)> {
        self.entries()
            .into_iter()
            .find(|e| e.name == name)
            .map(|e| (e.up, e.errors))
    }

    /// Every reader's last read, in the order they first reported.
    pub fn entries(&self) -> Vec<Entry> {
        let slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        slots.iter().map(|s| s.entry.clone()).collect()
    }
}

/// The part of a message that identifies the cause: line numbers and counts vary from read
/// to read for the same fault, so they are left out of the comparison.
fn cause_of(msg: &str) -> String {
    msg.chars().filter(|c| !c.is_ascii_digit()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_count_and_recovery_resets_up() {
        let h = Health::default();
        h.record("ipvs", Duration::ZERO, Err("x:3: bad".into()));
        h.record("ipvs", Duration::ZERO, Err("x:4: bad".into()));
        assert_eq!(h.state("ipvs"), Some((false, 2)));
        h.record("ipvs", Duration::ZERO, Ok(()));
        assert_eq!(h.state("ipvs"), Some((true, 2)));
    }

    #[test]
    fn causes_ignore_line_numbers() {
        assert_eq!(
            cause_of("/proc/net/ip_vs:12: bad"),
            cause_of("/proc/net/ip_vs:97: bad")
        );
        assert_ne!(cause_of("a: bad"), cause_of("b: bad"));
    }

    #[test]
    fn a_cause_is_logged_once_until_it_recovers() {
        let mut l = OnceLog::default();
        assert!(l.failed("t", "a.log:3: gone"));
        assert!(!l.failed("t", "a.log:9: gone"));
        assert!(l.failed("t", "other cause"));
        l.ok("t", "back");
        assert!(!l.failing());
        assert!(l.failed("t", "other cause"));
    }
}

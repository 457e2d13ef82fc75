//! Per-collector health: whether the last collection worked, how long it took, how many
//! collections failed, and the rule that a failure is logged once, not at every scrape.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use std::sync::Mutex;
use std::time::Duration;

#[derive(Debug, Clone)]
struct Entry {
    name: &'static str,
    up: bool,
    duration: Duration,
    errors: u64,
    /// The failure last logged; cleared when the collector recovers.
    logged: Option<String>,
}

/// Health of every collector, shared by the collectors (which record) and the exporter's
/// own metrics (which report).
#[derive(Debug, Default)]
pub struct Health {
    entries: Mutex<Vec<Entry>>,
}

impl Health {
    /// Records one collection. A failure is logged at WARN the first time it happens (and
    /// again only if the cause changes); recovery is logged at INFO.
    pub fn record(&self, name: &'static str, duration: Duration, result: Result<(), String>) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let idx = match entries.iter().position(|e| e.name == name) {
            Some(i) => i,
            None => {
                entries.push(Entry {
                    name,
                    up: true,
                    duration,
                    errors: 0,
                    logged: None,
                });
                entries.len() - 1
            }
        };
        let e = &mut entries[idx];
        e.duration = duration;
        e.up = result.is_ok();
        match result {
            Ok(()) => {
                if e.logged.take().is_some() {
                    tracing::info!(collector = name, "collector recovered");
                }
            }
            Err(msg) => {
                e.errors += 1;
                let cause = cause_of(&msg);
                if e.logged.as_deref() != Some(cause.as_str()) {
                    tracing::warn!(collector = name, "collector failed: {msg}");
                    e.logged = Some(cause);
                } else {
                    tracing::debug!(collector = name, "collector still failing: {msg}");
                }
            }
        }
    }

    /// The last recorded state of a collector: (up, errors).
    pub fn state(&self, name: &str) -> Option<(bool, u64)> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .iter()
            .find(|e| e.name == name)
            .map(|e| (e.up, e.errors))
    }
}

/// The part of a message that identifies the cause: line numbers and counts vary from scrape
/// to scrape for the same fault, so they are left out of the comparison.
fn cause_of(msg: &str) -> String {
    msg.chars().filter(|c| !c.is_ascii_digit()).collect()
}

/// Encodes `lvsmon_collector_*`; registered after the collectors so it reports this scrape.
#[derive(Debug)]
pub struct HealthCollector(pub std::sync::Arc<Health>);

impl Collector for HealthCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> std::fmt::Result {
        let entries = self
            .0
            .entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let mut m = enc.encode_descriptor(
            "lvsmon_collector_up",
            "Whether the collector's last collection succeeded (1) or not (0).",
            None,
            MetricType::Gauge,
        )?;
        for e in &entries {
            ConstGauge::new(i64::from(e.up)).encode(m.encode_family(&[("collector", e.name)])?)?;
        }
        let mut m = enc.encode_descriptor(
            "lvsmon_collector_duration_seconds",
            "How long the collector's last collection took.",
            None,
            MetricType::Gauge,
        )?;
        for e in &entries {
            ConstGauge::new(e.duration.as_secs_f64())
                .encode(m.encode_family(&[("collector", e.name)])?)?;
        }
        let mut m = enc.encode_descriptor(
            "lvsmon_collector_errors",
            "Collections that failed or found malformed input, since start.",
            None,
            MetricType::Counter,
        )?;
        for e in &entries {
            ConstCounter::new(e.errors).encode(m.encode_family(&[("collector", e.name)])?)?;
        }
        Ok(())
    }
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
}

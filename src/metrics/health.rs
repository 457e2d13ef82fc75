//! `lvsmon_collector_*`: each reader's last read, from the shared [`Health`].

use crate::health::Health;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use std::sync::Arc;

/// Encodes `lvsmon_collector_*`; registered after the collectors so it reports this scrape.
#[derive(Debug)]
pub struct HealthCollector(pub Arc<Health>);

impl Collector for HealthCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> std::fmt::Result {
        let entries = self.0.entries();
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

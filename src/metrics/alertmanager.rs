//! `lvsmon_alertmanager_pushes_total{alertmanager}` and
//! `lvsmon_alertmanager_errors_total{alertmanager}`: pushes of incidents that each
//! Alertmanager took, and those that failed (refused, timed out, unreachable).

use crate::alertmanager::Targets;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::MetricType;
use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::Arc;

#[derive(Debug)]
pub struct AlertmanagerCollector(pub Arc<Targets>);

impl Collector for AlertmanagerCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> fmt::Result {
        for (name, help, pick) in [
            (
                "lvsmon_alertmanager_pushes",
                "Pushes of the incidents that the Alertmanager accepted.",
                0,
            ),
            (
                "lvsmon_alertmanager_errors",
                "Pushes that failed (refused, timed out, unreachable); retried with backoff.",
                1,
            ),
        ] {
            let mut m = enc.encode_descriptor(name, help, None, MetricType::Counter)?;
            for t in &self.0 .0 {
                let n = if pick == 0 { &t.sent } else { &t.errors };
                ConstCounter::new(n.load(Ordering::Relaxed))
                    .encode(m.encode_family(&[("alertmanager", t.name.as_str())])?)?;
            }
        }
        Ok(())
    }
}

//! The log pipeline's families, read from its shared counters at scrape time:
//! `lvsmon_log_events_total{kind, instance, virtual_service, real_server}`,
//! `lvsmon_log_lines_total{source}`, `lvsmon_log_lines_unmatched_total{source}`,
//! `lvsmon_log_lines_truncated_total{source}`, `lvsmon_log_source_up{source}`,
//! `lvsmon_log_rotations_total{source, kind}` and `lvsmon_kmsg_lost_total`.

use crate::logs::stats::{LogStats, SourceCounts};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use std::fmt;
use std::sync::Arc;

#[derive(Debug)]
pub struct LogCollector(pub Arc<LogStats>);

impl Collector for LogCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> fmt::Result {
        let snap = self.0.snapshot();
        let mut m = enc.encode_descriptor(
            "lvsmon_log_events",
            "Log lines classified as this event kind (series beyond the cap count as 'overflow').",
            None,
            MetricType::Counter,
        )?;
        for (k, n) in &snap.events {
            let labels = [
                ("kind", k.kind.as_str()),
                ("instance", k.instance.as_str()),
                ("virtual_service", k.virtual_service.as_str()),
                ("real_server", k.real_server.as_str()),
            ];
            ConstCounter::new(*n).encode(m.encode_family(&labels)?)?;
        }
        per_source(
            &mut enc,
            &snap.sources,
            "lvsmon_log_lines",
            "Log lines read.",
            |s| s.lines,
        )?;
        per_source(
            &mut enc,
            &snap.sources,
            "lvsmon_log_lines_unmatched",
            "Log lines no rule matched.",
            |s| s.unmatched,
        )?;
        per_source(
            &mut enc,
            &snap.sources,
            "lvsmon_log_lines_truncated",
            "Log lines longer than --log.max-line-bytes, cut.",
            |s| s.truncated,
        )?;
        let mut m = enc.encode_descriptor(
            "lvsmon_log_source_up",
            "Whether the log source is readable now (1) or not (0).",
            None,
            MetricType::Gauge,
        )?;
        for (name, s) in &snap.sources {
            ConstGauge::new(i64::from(s.up))
                .encode(m.encode_family(&[("source", name.as_str())])?)?;
        }
        let mut m = enc.encode_descriptor(
            "lvsmon_log_rotations",
            "Rotations seen on a followed file: rename, delete or truncate (copytruncate).",
            None,
            MetricType::Counter,
        )?;
        for (name, s) in &snap.sources {
            for (kind, n) in &s.rotations {
                ConstCounter::new(*n)
                    .encode(m.encode_family(&[("source", name.as_str()), ("kind", kind)])?)?;
            }
        }
        let m = enc.encode_descriptor(
            "lvsmon_kmsg_lost",
            "Kernel ring records lost before lvsmon read them (gaps in /dev/kmsg sequence numbers).",
            None,
            MetricType::Counter,
        )?;
        ConstCounter::new(snap.kmsg_lost).encode(m)
    }
}

fn per_source(
    enc: &mut DescriptorEncoder,
    sources: &std::collections::BTreeMap<String, SourceCounts>,
    name: &str,
    help: &str,
    value: impl Fn(&SourceCounts) -> u64,
) -> fmt::Result {
    let mut m = enc.encode_descriptor(name, help, None, MetricType::Counter)?;
    for (src, s) in sources {
        ConstCounter::new(value(s)).encode(m.encode_family(&[("source", src.as_str())])?)?;
    }
    Ok(())
}

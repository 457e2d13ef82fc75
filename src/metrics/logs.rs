//! The log pipeline's families, read from its shared counters at scrape time:
//! `lvsmon_log_events_total{kind, iname, proto, local_address, local_port, local_mark,
//! remote_address, remote_port}` (the identity labels of every other family, so it joins
//! with `ipvs_*` and `keepalived_*` as written), `lvsmon_log_events_dropped_total{consumer}`,
//! `lvsmon_log_identities_dropped_total`,
//! `lvsmon_log_lines_total{source}`, `lvsmon_log_lines_unmatched_total{source}`,
//! `lvsmon_log_lines_truncated_total{source}`, `lvsmon_log_source_up{source}`,
//! `lvsmon_log_rotations_total{source, kind}` and `lvsmon_kmsg_lost_total`.

use crate::logs::source::LogPipeline;
use crate::logs::stats::{EventKey, SourceCounts, OVERFLOW};
use crate::model::{REAL_SERVER_LABELS, SERVICE_LABELS};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use std::fmt;
use std::sync::Arc;

#[derive(Debug)]
pub struct LogCollector(pub Arc<LogPipeline>);

/// The eight label values of one event series.
fn event_labels(k: &EventKey) -> [(&'static str, String); 8] {
    let over = |s: &str| {
        if k.overflow {
            OVERFLOW.to_string()
        } else {
            s.to_string()
        }
    };
    let vs = k.virtual_service.map(|v| v.labels());
    let [proto, addr, port, mark] = match &vs {
        Some(l) => l.as_array().map(over),
        None => std::array::from_fn(|_| over("")),
    };
    let (raddr, rport) = match k.real_server {
        Some(r) => r.labels(),
        None => (over(""), over("")),
    };
    [
        ("kind", k.kind.to_string()),
        ("iname", k.iname.clone()),
        (SERVICE_LABELS[0], proto),
        (SERVICE_LABELS[1], addr),
        (SERVICE_LABELS[2], port),
        (SERVICE_LABELS[3], mark),
        (REAL_SERVER_LABELS[0], raddr),
        (REAL_SERVER_LABELS[1], rport),
    ]
}

impl Collector for LogCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> fmt::Result {
        let snap = self.0.stats.snapshot();
        let mut m = enc.encode_descriptor(
            "lvsmon_log_events",
            "Log lines classified as this event kind (series beyond the cap count as 'overflow').",
            None,
            MetricType::Counter,
        )?;
        for (k, n) in &snap.events {
            let labels = event_labels(k);
            let labels: [(&str, &str); 8] = std::array::from_fn(|i| (labels[i].0, &*labels[i].1));
            ConstCounter::new(*n).encode(m.encode_family(&labels)?)?;
        }
        let mut m = enc.encode_descriptor(
            "lvsmon_log_events_dropped",
            "Events a consumer did not get because its queue was full (the tailers never wait).",
            None,
            MetricType::Counter,
        )?;
        for c in self.0.bus.stats() {
            ConstCounter::new(c.dropped).encode(m.encode_family(&[("consumer", c.name)])?)?;
        }
        let m = enc.encode_descriptor(
            "lvsmon_log_identities_dropped",
            "Virtual services or real servers named in log lines that could not be parsed (the event is kept without them).",
            None,
            MetricType::Counter,
        )?;
        ConstCounter::new(snap.identities_dropped).encode(m)?;
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

//! The incident engine's families: `lvsmon_incident_active{kind, severity, iname, proto,
//! local_address, local_port, local_mark, remote_address, remote_port}` (1 while open; the
//! series goes when it closes) and `lvsmon_incidents_total{kind, severity}` (opened since
//! start). The identity labels are those of every other family, so an incident joins
//! `ipvs_*` and `keepalived_*` as written.

use crate::incidents::Live;
use crate::model::{RealServerId, VirtualServiceId, REAL_SERVER_LABELS, SERVICE_LABELS};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use std::fmt;
use std::sync::Arc;

/// The labels of `lvsmon_incident_active`: the incident's, then the identity's.
const NAMES: [&str; 9] = [
    "kind",
    "severity",
    "iname",
    SERVICE_LABELS[0],
    SERVICE_LABELS[1],
    SERVICE_LABELS[2],
    SERVICE_LABELS[3],
    REAL_SERVER_LABELS[0],
    REAL_SERVER_LABELS[1],
];

#[derive(Debug)]
pub struct IncidentCollector(pub Arc<Live>);

impl Collector for IncidentCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> fmt::Result {
        let all = self.0.incidents();
        let mut m = enc.encode_descriptor(
            "lvsmon_incident_active",
            "1 while the incident is open (the series goes when it closes).",
            None,
            MetricType::Gauge,
        )?;
        // One series per open incident's labels (two open incidents that differ only in
        // their hosts, a split brain seen twice, are one series).
        let mut seen = std::collections::BTreeSet::new();
        for i in all.iter().filter(|i| i.end.is_none()) {
            let vs = i
                .virtual_service
                .as_deref()
                .and_then(|t| t.parse::<VirtualServiceId>().ok())
                .map(|v| v.labels().as_array().map(str::to_string))
                .unwrap_or_default();
            let (ra, rp) = i
                .real_server
                .as_deref()
                .and_then(|t| t.parse::<RealServerId>().ok())
                .map(|r| r.labels())
                .unwrap_or_default();
            let values = [
                i.kind.to_string(),
                i.severity.as_str().to_string(),
                i.iname.clone().unwrap_or_default(),
                vs[0].clone(),
                vs[1].clone(),
                vs[2].clone(),
                vs[3].clone(),
                ra,
                rp,
            ];
            if !seen.insert(values.clone()) {
                continue;
            }
            let labels: [(&str, &str); 9] = std::array::from_fn(|n| (NAMES[n], values[n].as_str()));
            ConstGauge::new(1).encode(m.encode_family(&labels)?)?;
        }
        let mut m = enc.encode_descriptor(
            "lvsmon_incidents",
            "Incidents opened since lvsmon started, by kind and severity.",
            None,
            MetricType::Counter,
        )?;
        for ((kind, severity), n) in self.0.opened() {
            ConstCounter::new(n)
                .encode(m.encode_family(&[("kind", kind), ("severity", severity)])?)?;
        }
        Ok(())
    }
}

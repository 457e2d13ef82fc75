//! The keepalived families: `keepalived_up`, `keepalived_vrrp_*` (labelled by `iname`,
//! `vrid`, `interface`), the checker families (`keepalived_checker`) and
//! `lvsmon_keepalived_dump_*`, encoded from the shared reader's snapshot at scrape time.

use crate::keepalived::model::{VrrpInstance, VrrpStats};
use crate::keepalived::notices::FifoStatus;
use crate::keepalived::Keepalived;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use std::fmt;
use std::sync::Arc;

/// The keepalived collector: one refresh (or cached state) per scrape.
#[derive(Debug)]
pub struct KeepalivedCollector(pub Arc<Keepalived>);

type Labels<'a> = [(&'static str, &'a str); 3];

impl Collector for KeepalivedCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> fmt::Result {
        let snap = self.0.snapshot();
        gauge(
            &mut enc,
            "keepalived_up",
            "1 when keepalived answered and a fresh dump was read, else 0.",
            &[(&[], i64::from(snap.up) as f64)],
        )?;
        let mut own = Vec::new();
        if let Some(a) = snap.dump_age_seconds {
            own.push((&[][..], a));
        }
        gauge(
            &mut enc,
            "lvsmon_keepalived_dump_age_seconds",
            "Seconds since keepalived wrote the dump the exported state comes from.",
            &own,
        )?;
        gauge(
            &mut enc,
            "lvsmon_keepalived_dump_duration_seconds",
            "How long the last refresh took, from the signal to a parsed dump.",
            &[(&[], snap.dump_duration_seconds)],
        )?;
        encode_notify(&mut enc, &snap.notify_fifos)?;
        encode_vrrp(&mut enc, &snap.state.instances)?;
        super::keepalived_checker::encode(&mut enc, &snap.state.virtual_services)
    }
}

/// Encodes one gauge family from (labels, value) pairs.
pub(crate) fn gauge(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    samples: &[(&[(&str, &str)], f64)],
) -> fmt::Result {
    let mut m = enc.encode_descriptor(name, help, None, MetricType::Gauge)?;
    for (labels, v) in samples {
        ConstGauge::new(*v).encode(m.encode_family(labels)?)?;
    }
    Ok(())
}

/// The notify FIFOs: whether each is open, and the lines read from it.
fn encode_notify(enc: &mut DescriptorEncoder, fifos: &[FifoStatus]) -> fmt::Result {
    if fifos.is_empty() {
        return Ok(());
    }
    let paths: Vec<String> = fifos.iter().map(|f| f.path.display().to_string()).collect();
    let labels: Vec<[(&str, &str); 1]> = paths.iter().map(|p| [("path", p.as_str())]).collect();
    let up: Vec<(&[(&str, &str)], f64)> = labels
        .iter()
        .zip(fifos)
        .map(|(l, f)| (&l[..], f64::from(u8::from(f.open))))
        .collect();
    gauge(
        enc,
        "lvsmon_keepalived_notify_fifo_up",
        "1 while the keepalived notify FIFO is open for reading, else 0.",
        &up,
    )?;
    let mut m = enc.encode_descriptor(
        "lvsmon_keepalived_notify_lines",
        "Lines read from a keepalived notify FIFO: result ok (a line keepalived writes) or bad.",
        None,
        MetricType::Counter,
    )?;
    for (p, f) in paths.iter().zip(fifos) {
        for (result, n) in [("ok", f.lines), ("bad", f.bad_lines)] {
            let l = [("path", p.as_str()), ("result", result)];
            ConstCounter::new(n).encode(m.encode_family(&l)?)?;
        }
    }
    Ok(())
}

fn encode_vrrp(enc: &mut DescriptorEncoder, instances: &[VrrpInstance]) -> fmt::Result {
    // An instance only a notify FIFO line has named has no known VRID: an empty label.
    let vrids: Vec<String> = instances
        .iter()
        .map(|i| match i.from_notify {
            true => String::new(),
            false => i.vrid.to_string(),
        })
        .collect();
    let labels: Vec<Labels> = instances
        .iter()
        .zip(&vrids)
        .map(|(i, v)| {
            [
                ("iname", i.iname.as_str()),
                ("vrid", v),
                ("interface", &i.interface),
            ]
        })
        .collect();

    for (name, help, f) in GAUGES {
        let samples: Vec<(&[(&str, &str)], f64)> = instances
            .iter()
            .zip(&labels)
            .filter(|(i, _)| !i.from_notify || NOTIFY_TELLS.contains(&name))
            .map(|(i, l)| (&l[..], f(i)))
            .collect();
        gauge(enc, name, help, &samples)?;
    }
    for (name, help, f) in COUNTERS {
        let mut m = enc.encode_descriptor(name, help, None, MetricType::Counter)?;
        for (i, l) in instances.iter().zip(&labels) {
            if let Some(s) = &i.stats {
                ConstCounter::new(f(s)).encode(m.encode_family(l)?)?;
            }
        }
    }
    Ok(())
}

/// What a notify FIFO line tells of an instance no dump has shown.
const NOTIFY_TELLS: [&str; 3] = [
    "keepalived_vrrp_state",
    "keepalived_vrrp_priority_effective",
    "keepalived_vrrp_last_transition_timestamp_seconds",
];

type Gauge = (&'static str, &'static str, fn(&VrrpInstance) -> f64);

const GAUGES: [Gauge; 6] = [
    (
        "keepalived_vrrp_state",
        "VRRP state: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT.",
        |i| i.state as f64,
    ),
    (
        "keepalived_vrrp_wanted_state",
        "The state the instance is moving to (same numbers).",
        |i| i.wanted_state as f64,
    ),
    (
        "keepalived_vrrp_priority_base",
        "Configured VRRP priority.",
        |i| i.priority_base as f64,
    ),
    (
        "keepalived_vrrp_priority_effective",
        "VRRP priority after tracking adjustments.",
        |i| i.priority_effective as f64,
    ),
    (
        "keepalived_vrrp_last_transition_timestamp_seconds",
        "When the instance last changed state (Unix time).",
        |i| i.last_transition,
    ),
    (
        "keepalived_vrrp_vips",
        "Virtual IP addresses configured on the instance.",
        |i| i.vips as f64,
    ),
];

type Counter = (&'static str, &'static str, fn(&VrrpStats) -> u64);

/// Prometheus names (without `_total`, which the encoder adds) of the JSON `stats` fields.
const COUNTERS: [Counter; 14] = [
    (
        "keepalived_vrrp_advertisements_received",
        "VRRP adverts received.",
        |s| s.advert_rcvd,
    ),
    (
        "keepalived_vrrp_advertisements_sent",
        "VRRP adverts sent.",
        |s| s.advert_sent,
    ),
    (
        "keepalived_vrrp_become_master",
        "Transitions to MASTER.",
        |s| s.become_master,
    ),
    (
        "keepalived_vrrp_release_master",
        "Transitions away from MASTER.",
        |s| s.release_master,
    ),
    (
        "keepalived_vrrp_packet_length_errors",
        "Adverts with a bad length.",
        |s| s.packet_len_err,
    ),
    (
        "keepalived_vrrp_advertisement_interval_errors",
        "Adverts whose interval differs from ours.",
        |s| s.advert_interval_err,
    ),
    (
        "keepalived_vrrp_ip_ttl_errors",
        "Adverts with an IP TTL other than 255.",
        |s| s.ip_ttl_err,
    ),
    (
        "keepalived_vrrp_invalid_type_received",
        "Packets with an invalid VRRP type.",
        |s| s.invalid_type_rcvd,
    ),
    (
        "keepalived_vrrp_address_list_errors",
        "Adverts whose address list differs from ours.",
        |s| s.addr_list_err,
    ),
    (
        "keepalived_vrrp_invalid_authtype",
        "Adverts with an unknown authentication type.",
        |s| s.invalid_authtype,
    ),
    (
        "keepalived_vrrp_authtype_mismatch",
        "Adverts with another authentication type than ours.",
        |s| s.authtype_mismatch,
    ),
    (
        "keepalived_vrrp_auth_failure",
        "Adverts that failed authentication.",
        |s| s.auth_failure,
    ),
    (
        "keepalived_vrrp_priority_zero_received",
        "Priority-0 adverts received (a MASTER leaving).",
        |s| s.pri_zero_rcvd,
    ),
    (
        "keepalived_vrrp_priority_zero_sent",
        "Priority-0 adverts sent.",
        |s| s.pri_zero_sent,
    ),
];

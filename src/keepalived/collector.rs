//! keepalived at scrape time: refresh the dumps at most once per `min_interval`, keep the
//! last complete state when a refresh fails, and encode the `keepalived_*` families plus
//! `lvsmon_keepalived_dump_*`. The same snapshot answers `GET /api/v1/state`.

use super::model::{KeepalivedState, VrrpInstance, VrrpStats};
use super::signal::{DumpSource, Reading, Signums};
use crate::metrics::health::Health;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use serde::Serialize;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

const NAME: &str = "keepalived";

/// Where the collector's state comes from.
#[derive(Debug, Clone)]
pub enum Origin {
    /// A running keepalived (or, passive, the dumps something else asks it for).
    Live(DumpSource),
    /// A fixed reading (`--demo`), its age counted from when lvsmon started.
    Fixed(KeepalivedState),
}

/// The collector's settings.
#[derive(Debug, Clone)]
pub struct KeepalivedOptions {
    pub origin: Origin,
    /// No refresh (and so no signal) more often than this, however many scrapers ask.
    pub min_interval: Duration,
}

/// What a scrape or `/api/v1/state` sees.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Snapshot {
    /// keepalived answered and a fresh dump was read at the last refresh.
    pub up: bool,
    /// The last refresh failed for a reason other than keepalived being absent.
    pub collector_error: Option<String>,
    /// Seconds since the state's JSON dump was written (absent without a state).
    pub dump_age_seconds: Option<f64>,
    /// How long the last refresh took (signal to parsed state).
    pub dump_duration_seconds: f64,
    #[serde(flatten)]
    pub state: KeepalivedState,
}

#[derive(Debug, Default)]
struct Cache {
    last_refresh: Option<Instant>,
    up: bool,
    error: Option<String>,
    good: Option<Reading>,
    duration: Duration,
    /// The absence last logged, so a host without keepalived logs it once.
    absent_logged: Option<String>,
}

/// keepalived's state with its refresh policy; shared by the collector and the HTTP API.
#[derive(Debug)]
pub struct Keepalived {
    opts: KeepalivedOptions,
    health: Arc<Health>,
    signums: Signums,
    cache: Mutex<Cache>,
}

impl Keepalived {
    pub fn new(opts: KeepalivedOptions, health: Arc<Health>) -> Keepalived {
        let cache = match &opts.origin {
            Origin::Fixed(state) => Cache {
                up: true,
                good: Some(Reading {
                    state: state.clone(),
                    dumped_at: SystemTime::now(),
                }),
                ..Cache::default()
            },
            Origin::Live(_) => Cache::default(),
        };
        Keepalived {
            opts,
            health,
            signums: Signums::default(),
            cache: Mutex::new(cache),
        }
    }

    /// Refreshes if the last refresh is older than `min_interval`, then returns the state.
    pub fn snapshot(&self) -> Snapshot {
        let mut c = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        let refreshed = match &self.opts.origin {
            Origin::Live(src) => {
                let due = c
                    .last_refresh
                    .is_none_or(|t| t.elapsed() >= self.opts.min_interval);
                if due {
                    self.refresh(src, &mut c);
                }
                due
            }
            Origin::Fixed(_) => true,
        };
        // Health counts collections: a scrape answered from the cache is not one.
        if refreshed {
            let result = c.error.clone().map_or(Ok(()), Err);
            self.health.record(NAME, c.duration, result);
        }
        Snapshot {
            up: c.up,
            collector_error: c.error.clone(),
            dump_age_seconds: c.good.as_ref().map(|g| age(g.dumped_at)),
            dump_duration_seconds: c.duration.as_secs_f64(),
            state: c.good.as_ref().map(|g| g.state.clone()).unwrap_or_default(),
        }
    }

    fn refresh(&self, src: &DumpSource, c: &mut Cache) {
        let t0 = Instant::now();
        let result = src.read(&self.signums);
        c.duration = t0.elapsed();
        c.last_refresh = Some(Instant::now());
        match result {
            Ok(r) => {
                c.up = true;
                c.error = None;
                c.good = Some(r);
                c.absent_logged = None;
            }
            // No keepalived: nothing to keep, and no failure of the collector.
            Err(e) if e.is_absent() => {
                let msg = e.to_string();
                if c.absent_logged.as_deref() != Some(msg.as_str()) {
                    tracing::info!(collector = NAME, "{msg}: keepalived_up 0");
                    c.absent_logged = Some(msg);
                }
                c.up = false;
                c.error = None;
                c.good = None;
            }
            // A dump that did not arrive or did not parse: keep serving the last good one.
            Err(e) => {
                c.up = false;
                // Every SourceError names its cause (and the file) in its message.
                c.error = Some(e.to_string());
            }
        }
    }
}

fn age(t: SystemTime) -> f64 {
    SystemTime::now()
        .duration_since(t)
        .unwrap_or_default()
        .as_secs_f64()
}

/// The collector registered in the exporter.
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
        encode_vrrp(&mut enc, &snap.state.instances)?;
        super::checker_metrics::encode(&mut enc, &snap.state.virtual_services)
    }
}

/// Encodes one gauge family from (labels, value) pairs.
pub(super) fn gauge(
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

fn encode_vrrp(enc: &mut DescriptorEncoder, instances: &[VrrpInstance]) -> fmt::Result {
    let vrids: Vec<String> = instances.iter().map(|i| i.vrid.to_string()).collect();
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

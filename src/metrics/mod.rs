//! Prometheus exposition: the registry of collectors and the two text formats.
//!
//! Collectors read at scrape time; there is no background polling. They are registered in
//! the order they must run: the IPVS readers first, the tool's own health last, so that
//! `lvsmon_collector_*` describes the scrape it is part of.

pub mod health;
pub mod ipvs;
pub mod ipvs_families;
pub mod labels;
pub mod logs;
pub mod process;

use health::{Health, HealthCollector};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use std::fmt;
use std::sync::Arc;

pub use ipvs::{IpvsCollector, IpvsOptions, SourceChoice};

/// The exposition formats lvsmon serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `text/plain; version=0.0.4`, the default.
    Prometheus,
    /// OpenMetrics 1.0.0, when the `Accept` header asks for it.
    OpenMetrics,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Prometheus => prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }

    /// Picks the format from an `Accept` header: OpenMetrics only when asked for by name.
    pub fn negotiate(accept: Option<&str>) -> Format {
        match accept {
            Some(a) if a.contains("application/openmetrics-text") => Format::OpenMetrics,
            _ => Format::Prometheus,
        }
    }
}

/// The version this binary was built from.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The git revision, set by build.rs (`unknown` outside a git checkout).
pub const REVISION: &str = env!("LVSMON_REVISION");
const RUSTC: &str = env!("LVSMON_RUSTC");

#[derive(Debug)]
struct BuildInfo;

impl Collector for BuildInfo {
    fn encode(&self, mut enc: DescriptorEncoder) -> fmt::Result {
        let mut m = enc.encode_descriptor(
            "lvsmon_build_info",
            "lvsmon's version, git revision and compiler; always 1.",
            None,
            MetricType::Gauge,
        )?;
        let labels = [
            ("version", VERSION),
            ("revision", REVISION),
            ("rustc", RUSTC),
        ];
        ConstGauge::new(1).encode(m.encode_family(&labels)?)
    }
}

/// A registry holding every collector, ready to encode.
#[derive(Debug)]
pub struct Exporter {
    registry: Registry,
    health: Arc<Health>,
    keepalived: Option<Arc<crate::keepalived::Keepalived>>,
}

impl Exporter {
    /// Builds the exporter. `collectors` run in order, before the tool's own metrics.
    pub fn new(health: Arc<Health>, collectors: Vec<Box<dyn Collector>>) -> Exporter {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(BuildInfo));
        for c in collectors {
            registry.register_collector(c);
        }
        registry.register_collector(Box::new(process::ProcessCollector));
        registry.register_collector(Box::new(HealthCollector(health.clone())));
        Exporter {
            registry,
            health,
            keepalived: None,
        }
    }

    /// Builds the exporter with keepalived's collector after `collectors` (when `keepalived`
    /// is given) and keeps its state at hand for `/api/v1/state`.
    pub fn with_keepalived(
        health: Arc<Health>,
        mut collectors: Vec<Box<dyn Collector>>,
        keepalived: Option<crate::keepalived::KeepalivedOptions>,
    ) -> Exporter {
        let ka =
            keepalived.map(|o| Arc::new(crate::keepalived::Keepalived::new(o, health.clone())));
        if let Some(k) = &ka {
            collectors.push(Box::new(crate::keepalived::KeepalivedCollector(k.clone())));
        }
        let mut e = Exporter::new(health, collectors);
        e.keepalived = ka;
        e
    }

    /// keepalived's state, when its collector is on.
    pub fn keepalived(&self) -> Option<&Arc<crate::keepalived::Keepalived>> {
        self.keepalived.as_ref()
    }

    /// The IPVS exporter reading from `source` (and netlink, as `opts.source` says).
    pub fn ipvs(source: crate::ipvs::source::ProcSource, opts: IpvsOptions) -> Exporter {
        Exporter::ipvs_and_keepalived(source, opts, None)
    }

    /// The IPVS exporter plus keepalived's collector (when `keepalived` is given).
    pub fn ipvs_and_keepalived(
        source: crate::ipvs::source::ProcSource,
        opts: IpvsOptions,
        keepalived: Option<crate::keepalived::KeepalivedOptions>,
    ) -> Exporter {
        let health = Arc::new(Health::default());
        let ipvs = IpvsCollector::new(source, opts, health.clone());
        Exporter::with_keepalived(health, vec![Box::new(ipvs)], keepalived)
    }

    /// The IPVS exporter reading inside the network namespace at `netns`.
    pub fn ipvs_in_netns(
        netns: &std::path::Path,
        opts: IpvsOptions,
        keepalived: Option<crate::keepalived::KeepalivedOptions>,
    ) -> Result<Exporter, crate::ipvs::netns::NetnsError> {
        let health = Arc::new(Health::default());
        let worker = crate::ipvs::netns::NetnsWorker::start(netns)?;
        let ipvs = IpvsCollector::in_netns(worker, opts, health.clone())?;
        Ok(Exporter::with_keepalived(
            health,
            vec![Box::new(ipvs)],
            keepalived,
        ))
    }

    /// Adds a collector after those given to [`Exporter::new`] (the log pipeline's).
    pub fn add_collector(&mut self, c: Box<dyn Collector>) {
        self.registry.register_collector(c);
    }

    pub fn health(&self) -> &Health {
        &self.health
    }

    /// Runs every collector and writes the page.
    pub fn encode<W: fmt::Write>(&self, format: Format, out: &mut W) -> fmt::Result {
        match format {
            Format::Prometheus => {
                prometheus_client::encoding::prometheus_text::encode(out, &self.registry)
            }
            Format::OpenMetrics => prometheus_client::encoding::text::encode(out, &self.registry),
        }
    }

    /// Convenience for tests and `dump`: the whole page as a string.
    pub fn render(&self, format: Format) -> String {
        let mut s = String::new();
        // Writing to a String cannot fail; a collector error would be a bug, shown in the page.
        if let Err(e) = self.encode(format, &mut s) {
            s.push_str(&format!("# encoding error: {e}\n"));
        }
        s
    }
}

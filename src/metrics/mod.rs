//! Prometheus exposition: the collectors, the one place that registers them, and the two
//! text formats. This layer only encodes: the readers of [`App`] own their state, and a
//! collector asks one for a snapshot at scrape time (there is no background polling).
//!
//! Collectors are registered in the order they must run: the readers first, the tool's own
//! health last, so that `lvsmon_collector_*` describes the scrape it is part of.

pub mod alertmanager;
pub mod health;
pub mod http;
pub mod incidents;
pub mod ipvs;
pub mod ipvs_families;
pub mod ipvs_options;
pub mod keepalived;
pub mod keepalived_checker;
pub mod labels;
pub mod logs;
pub mod process;

use crate::app::App;
use health::HealthCollector;
use ipvs_options::IpvsExport;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use std::fmt;
use std::sync::Arc;

pub use ipvs::IpvsCollector;

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

/// A registry holding every collector, ready to encode. Shared by every scrape: encoding
/// takes `&self`, and each reader serialises its own reads.
#[derive(Debug)]
pub struct Exporter {
    registry: Registry,
}

impl Exporter {
    /// Registers a collector for each reader `app` has, in scrape order. This is the only
    /// place collectors are registered.
    pub fn new(app: &App) -> Exporter {
        Exporter::build(app, &IpvsExport::default(), None)
    }

    /// [`Exporter::new`] with the operator's cardinality controls (`dump`).
    pub fn with_options(app: &App, ipvs: &IpvsExport) -> Exporter {
        Exporter::build(app, ipvs, None)
    }

    /// [`Exporter::with_options`] plus the HTTP server's own counters (`lvsmon_http_*`),
    /// for `serve`.
    pub fn serving(app: &App, ipvs: &IpvsExport, http: Arc<http::HttpStats>) -> Exporter {
        Exporter::build(app, ipvs, Some(http))
    }

    fn build(app: &App, ipvs: &IpvsExport, http: Option<Arc<http::HttpStats>>) -> Exporter {
        let mut collectors: Vec<Box<dyn Collector>> = vec![
            Box::new(BuildInfo),
            Box::new(ipvs::IpvsCollector(
                app.ipvs.clone(),
                Arc::new(ipvs.clone()),
            )),
        ];
        if let Some(k) = &app.keepalived {
            collectors.push(Box::new(keepalived::KeepalivedCollector(k.clone())));
        }
        if let Some(l) = &app.logs {
            collectors.push(Box::new(logs::LogCollector(l.clone())));
        }
        if let Some(i) = &app.incidents {
            collectors.push(Box::new(incidents::IncidentCollector(i.clone())));
        }
        if let Some(a) = &app.alertmanager {
            collectors.push(Box::new(alertmanager::AlertmanagerCollector(a.clone())));
        }
        if let Some(h) = http {
            collectors.push(Box::new(http::HttpCollector(h)));
        }
        collectors.push(Box::new(process::ProcessCollector));
        collectors.push(Box::new(HealthCollector(app.health.clone())));
        let mut registry = Registry::default();
        for c in collectors {
            registry.register_collector(c);
        }
        Exporter { registry }
    }

    /// The IPVS exporter alone over `source`, every family on (tests, benchmarks, replayed
    /// captures: everything the kernel said).
    pub fn ipvs(
        source: crate::ipvs::source::ProcSource,
        opts: crate::ipvs::IpvsOptions,
    ) -> Exporter {
        Exporter::with_options(&App::ipvs_only(source, opts), &IpvsExport::everything())
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

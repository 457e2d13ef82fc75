//! The standard `process_*` metrics for lvsmon itself, read from the real `/proc/self`
//! (never from `--path.procfs`, which may point at a replayed capture).

use procfs::process::{LimitValue, Process};
use procfs::WithCurrentSystemInfo;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use std::fmt;

#[derive(Debug, Default)]
pub struct ProcessCollector;

struct Figures {
    cpu_seconds: f64,
    resident: u64,
    virtual_bytes: u64,
    start_time: f64,
    open_fds: Option<u64>,
    max_fds: Option<u64>,
}

fn read() -> procfs::ProcResult<Figures> {
    let me = Process::myself()?;
    let stat = me.stat()?;
    let ticks = procfs::ticks_per_second() as f64;
    let boot = procfs::boot_time_secs()? as f64;
    let max_fds = me
        .limits()
        .ok()
        .and_then(|l| match l.max_open_files.soft_limit {
            LimitValue::Value(v) => Some(v),
            LimitValue::Unlimited => None,
        });
    Ok(Figures {
        cpu_seconds: (stat.utime + stat.stime) as f64 / ticks,
        resident: stat.rss_bytes().get(),
        virtual_bytes: stat.vsize,
        start_time: boot + stat.starttime as f64 / ticks,
        open_fds: me.fd_count().ok().map(|n| n as u64),
        max_fds,
    })
}

impl Collector for ProcessCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> fmt::Result {
        let Ok(f) = read() else {
            // Without /proc/self there is nothing to report; the scrape goes on.
            return Ok(());
        };
        let m = enc.encode_descriptor(
            "process_cpu_seconds",
            "Total user and system CPU time spent in seconds.",
            None,
            MetricType::Counter,
        )?;
        ConstCounter::new(f.cpu_seconds).encode(m)?;
        let gauges: [(&str, &str, Option<f64>); 5] = [
            (
                "process_resident_memory_bytes",
                "Resident memory size in bytes.",
                Some(f.resident as f64),
            ),
            (
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes.",
                Some(f.virtual_bytes as f64),
            ),
            (
                "process_start_time_seconds",
                "Start time of the process since unix epoch in seconds.",
                Some(f.start_time),
            ),
            (
                "process_open_fds",
                "Number of open file descriptors.",
                f.open_fds.map(|v| v as f64),
            ),
            (
                "process_max_fds",
                "Maximum number of open file descriptors.",
                f.max_fds.map(|v| v as f64),
            ),
        ];
        for (name, help, value) in gauges {
            if let Some(v) = value {
                let m = enc.encode_descriptor(name, help, None, MetricType::Gauge)?;
                ConstGauge::new(v).encode(m)?;
            }
        }
        Ok(())
    }
}

//! The IPVS collector: reads `/proc/net/ip_vs*` at scrape time and encodes `ipvs_*`.
//!
//! Each file is its own collector for health purposes (`ipvs`, `ipvs_stats`, `ipvs_percpu`,
//! `ipvs_conntable`): one that fails reports `lvsmon_collector_up 0` and the others still
//! export. A file with bad lines exports what it could parse and reports itself down.

use super::health::Health;
use super::labels::{service_flags, BackendLabels, ServiceLabels, With};
use crate::ipvs::conntable::{self, ConnSummary};
use crate::ipvs::model::{CpuStats, GlobalStats, ServiceTable};
use crate::ipvs::procfs::{self, Parsed, ReadError};
use crate::ipvs::source::ProcSource;
use crate::ipvs::{Service, ServiceAddr, Stats};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use std::collections::HashMap;
use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Instant;

/// What the IPVS collector reads beyond the always-on files.
#[derive(Debug, Clone)]
pub struct IpvsOptions {
    /// Summarise `/proc/net/ip_vs_conn` (can be millions of lines: opt-in).
    pub conntable: bool,
    /// Stop reading `ip_vs_conn` after this many connections.
    pub conntable_max_lines: u64,
}

impl Default for IpvsOptions {
    fn default() -> Self {
        IpvsOptions {
            conntable: false,
            conntable_max_lines: 1_000_000,
        }
    }
}

#[derive(Debug)]
pub struct IpvsCollector {
    source: ProcSource,
    opts: IpvsOptions,
    health: Arc<Health>,
}

/// Everything read in one scrape; `None` where the file could not be read at all.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub table: Option<ServiceTable>,
    pub stats: Option<GlobalStats>,
    pub percpu: Option<Vec<CpuStats>>,
    pub conns: Option<ConnSummary>,
}

fn io_error(source: &ProcSource, rel: &str, e: io::Error) -> String {
    let hint = if e.kind() == io::ErrorKind::NotFound {
        " (no IPVS in this kernel or network namespace: is the ip_vs module loaded?)"
    } else {
        ""
    };
    let err = ReadError::Io {
        path: source.display_path(rel),
        source: e,
    };
    format!("{err}{hint}")
}

impl IpvsCollector {
    pub fn new(source: ProcSource, opts: IpvsOptions, health: Arc<Health>) -> Self {
        IpvsCollector {
            source,
            opts,
            health,
        }
    }

    /// Times `read`, records the collector's health, and returns what it read.
    fn timed<T>(
        &self,
        name: &'static str,
        read: impl FnOnce() -> (Option<T>, Result<(), String>),
    ) -> Option<T> {
        let start = Instant::now();
        let (value, result) = read();
        self.health.record(name, start.elapsed(), result);
        value
    }

    fn read_parsed<T>(
        &self,
        rel: &str,
        parse: fn(&[u8]) -> Parsed<T>,
    ) -> (Option<T>, Result<(), String>) {
        match self.source.read(rel) {
            Err(e) => (None, Err(io_error(&self.source, rel, e))),
            Ok(bytes) => {
                let parsed = parse(&bytes);
                let err = ReadError::from_parsed(self.source.display_path(rel), &parsed);
                (
                    Some(parsed.value),
                    err.map_or(Ok(()), |e| Err(e.to_string())),
                )
            }
        }
    }

    fn read_conns(&self) -> (Option<ConnSummary>, Result<(), String>) {
        const REL: &str = "net/ip_vs_conn";
        let summary = self
            .source
            .open(REL)
            .and_then(|mut r| conntable::summarize(&mut r, self.opts.conntable_max_lines));
        match summary {
            Err(e) => (None, Err(io_error(&self.source, REL, e))),
            Ok(s) => {
                let err = s.first_error.map(|(line, reason)| {
                    format!(
                        "{}:{line}: {reason} ({} bad line(s) skipped)",
                        self.source.display_path(REL).display(),
                        s.bad_lines
                    )
                });
                (Some(s), err.map_or(Ok(()), Err))
            }
        }
    }

    /// Reads every file this collector is configured for.
    pub fn collect(&self) -> Snapshot {
        let table = self.timed("ipvs", || {
            self.read_parsed("net/ip_vs", procfs::parse_services)
        });
        let stats = self
            .timed("ipvs_stats", || {
                self.read_parsed("net/ip_vs_stats", procfs::parse_global_stats)
            })
            .flatten();
        let percpu = self.timed("ipvs_percpu", || {
            self.read_parsed("net/ip_vs_stats_percpu", procfs::parse_percpu_stats)
        });
        let conns = if self.opts.conntable {
            self.timed("ipvs_conntable", || self.read_conns())
        } else {
            None
        };
        Snapshot {
            table,
            stats,
            percpu,
            conns,
        }
    }
}

impl Collector for IpvsCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> fmt::Result {
        let snap = self.collect();
        encode_snapshot(&snap, &mut enc)
    }
}

/// Encodes a snapshot; families of files that could not be read are left out.
pub fn encode_snapshot(snap: &Snapshot, enc: &mut DescriptorEncoder) -> fmt::Result {
    if let Some(table) = &snap.table {
        encode_table(table, enc)?;
    }
    if let Some(stats) = &snap.stats {
        encode_global(stats, enc)?;
    }
    if let Some(percpu) = &snap.percpu {
        encode_percpu(percpu, enc)?;
    }
    if let Some(conns) = &snap.conns {
        encode_conns(conns, enc)?;
    }
    Ok(())
}

/// (name without `_total`, help, field) for the kernel's five figures.
type StatField = (&'static str, &'static str, fn(&Stats) -> u64);

const TOTALS: [StatField; 5] = [
    ("connections", "Connections scheduled", |s| s.conns),
    ("incoming_packets", "Packets received from clients", |s| {
        s.in_packets
    }),
    (
        "outgoing_packets",
        "Packets sent to clients (NAT replies)",
        |s| s.out_packets,
    ),
    ("incoming_bytes", "Bytes received from clients", |s| {
        s.in_bytes
    }),
    (
        "outgoing_bytes",
        "Bytes sent to clients (NAT replies)",
        |s| s.out_bytes,
    ),
];

fn gauge(enc: &mut DescriptorEncoder, name: &str, help: &str, value: i64) -> fmt::Result {
    let m = enc.encode_descriptor(name, help, None, MetricType::Gauge)?;
    ConstGauge::new(value).encode(m)
}

fn clamp(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Services grouped by their label identity. An IPv4 and an IPv6 firewall-mark service with
/// the same mark (the usual dual-stack setup) print identically in /proc, so they share
/// one identity: their backends are all listed, their counts add up.
struct Group<'a> {
    labels: ServiceLabels,
    members: Vec<&'a Service>,
}

impl Group<'_> {
    fn dests(&self) -> impl Iterator<Item = &crate::ipvs::Dest> {
        self.members.iter().flat_map(|s| s.dests.iter())
    }
}

fn group_services(table: &ServiceTable) -> Vec<Group<'_>> {
    let mut groups: Vec<Group> = Vec::with_capacity(table.services.len());
    let mut index: HashMap<ServiceAddr, usize> = HashMap::with_capacity(table.services.len());
    for svc in &table.services {
        match index.get(&svc.addr) {
            Some(&i) => groups[i].members.push(svc),
            None => {
                index.insert(svc.addr, groups.len());
                groups.push(Group {
                    labels: ServiceLabels::of(svc),
                    members: vec![svc],
                });
            }
        }
    }
    groups
}

fn encode_table(table: &ServiceTable, enc: &mut DescriptorEncoder) -> fmt::Result {
    if let Some(size) = table.conn_table_size {
        gauge(
            enc,
            "ipvs_connection_table_size",
            "Buckets in the kernel's IPVS connection hash table (size= in /proc/net/ip_vs).",
            clamp(size),
        )?;
    }
    let groups = group_services(table);
    let mut m = enc.encode_descriptor(
        "ipvs_service",
        "Virtual service, with its scheduler and flags (persistent, ops).",
        None,
        MetricType::Info,
    )?;
    for g in &groups {
        let mut seen: Vec<(&str, &str)> = Vec::with_capacity(1);
        for svc in &g.members {
            let extra = (svc.scheduler.as_str(), service_flags(svc));
            if seen.contains(&extra) {
                continue;
            }
            seen.push(extra);
            m.encode_info(&With {
                base: &g.labels,
                extra: [("scheduler", extra.0), ("flags", extra.1)],
            })?;
        }
    }
    type Count = fn(&Group) -> usize;
    let counts: [(&str, &str, Count); 2] = [
        (
            "ipvs_service_backends",
            "Real servers configured for the virtual service.",
            |g| g.dests().count(),
        ),
        (
            "ipvs_service_backends_available",
            "Real servers of the virtual service with a weight above zero.",
            |g| g.dests().filter(|d| d.weight > 0).count(),
        ),
    ];
    for (name, help, count) in counts {
        let mut m = enc.encode_descriptor(name, help, None, MetricType::Gauge)?;
        for g in &groups {
            ConstGauge::new(count(g) as i64).encode(m.encode_family(&g.labels)?)?;
        }
    }
    encode_backends(&groups, enc)
}

fn encode_backends(groups: &[Group], enc: &mut DescriptorEncoder) -> fmt::Result {
    type Field = fn(&crate::ipvs::Dest) -> i64;
    let fields: [(&str, &str, Field); 3] = [
        ("ipvs_backend_weight", "Weight of the real server.", |d| {
            d.weight
        }),
        (
            "ipvs_backend_connections_active",
            "Active connections to the real server (ActiveConn).",
            |d| d.active_conns,
        ),
        (
            "ipvs_backend_connections_inactive",
            "Inactive connections to the real server (InActConn).",
            |d| d.inactive_conns,
        ),
    ];
    for (name, help, field) in fields {
        let mut m = enc.encode_descriptor(name, help, None, MetricType::Gauge)?;
        for g in groups {
            for dest in g.dests() {
                let l = BackendLabels {
                    service: &g.labels,
                    dest,
                };
                ConstGauge::new(field(dest)).encode(m.encode_family(&l)?)?;
            }
        }
    }
    let mut m = enc.encode_descriptor(
        "ipvs_backend",
        "Real server of a virtual service, with its forwarding method.",
        None,
        MetricType::Info,
    )?;
    for g in groups {
        for dest in g.dests() {
            let l = BackendLabels {
                service: &g.labels,
                dest,
            };
            m.encode_info(&With {
                base: &l,
                extra: [("forward", dest.forward.label())],
            })?;
        }
    }
    Ok(())
}

fn encode_global(g: &GlobalStats, enc: &mut DescriptorEncoder) -> fmt::Result {
    for (name, help, field) in TOTALS {
        let name = format!("ipvs_{name}");
        let m = enc.encode_descriptor(
            &name,
            &format!("{help}, since boot."),
            None,
            MetricType::Counter,
        )?;
        ConstCounter::new(field(&g.totals)).encode(m)?;
    }
    for (name, help, field) in TOTALS {
        gauge(
            enc,
            &format!("ipvs_rate_{name}_per_second"),
            &format!("{help}: the kernel's rate estimate (0 until its estimator has run)."),
            clamp(field(&g.rates)),
        )?;
    }
    Ok(())
}

fn encode_percpu(cpus: &[CpuStats], enc: &mut DescriptorEncoder) -> fmt::Result {
    for (name, help, field) in TOTALS {
        let name = format!("ipvs_cpu_{name}");
        let mut m = enc.encode_descriptor(
            &name,
            &format!("{help} on this CPU, since boot."),
            None,
            MetricType::Counter,
        )?;
        for c in cpus {
            ConstCounter::new(field(&c.totals)).encode(m.encode_family(&[("cpu", c.cpu)])?)?;
        }
    }
    Ok(())
}

fn encode_conns(s: &ConnSummary, enc: &mut DescriptorEncoder) -> fmt::Result {
    let mut m = enc.encode_descriptor(
        "ipvs_connections",
        "Entries in the IPVS connection table, by protocol and state.",
        None,
        MetricType::Gauge,
    )?;
    for (proto, state, count) in &s.counts {
        let labels = [("proto", proto.name()), ("state", state.as_str().into())];
        ConstGauge::new(clamp(*count)).encode(m.encode_family(&labels)?)?;
    }
    gauge(
        enc,
        "lvsmon_conntable_truncated",
        "1 when the connection-table summary stopped at its line cap.",
        i64::from(s.truncated),
    )
}

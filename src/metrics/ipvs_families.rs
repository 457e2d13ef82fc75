//! Encoding of the IPVS snapshot into `ipvs_*` families. Families whose source could not
//! be read are left out; netlink-only families appear when the table came from netlink.

use super::labels::{service_flags, BackendLabels, BackendTexts, ServiceLabels, With};
use crate::ipvs::conntable::ConnSummary;
use crate::ipvs::model::{
    Counters, CpuStats, DestDetail, GlobalStats, ServiceTable, SyncDaemon, Timeouts,
};
use crate::ipvs::Snapshot;
use crate::ipvs::{Service, Stats};
use crate::model::VirtualServiceId;
mod summed;

use super::ipvs_options::IpvsExport;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, MetricEncoder};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use std::collections::HashMap;
use std::fmt;

/// The descriptor encoder with the operator's choice of families: `family` is `None` for
/// a family turned off, so its series are never written.
pub struct Families<'a, 'b> {
    enc: &'a mut DescriptorEncoder<'b>,
    pub opts: &'a IpvsExport,
}

impl Families<'_, '_> {
    fn family<'s>(
        &'s mut self,
        name: &'s str,
        help: &str,
        t: MetricType,
    ) -> Result<Option<MetricEncoder<'s>>, fmt::Error> {
        // Operators name families as they appear on the page: info families with `_info`.
        let on = match t {
            MetricType::Info => self.opts.on(&format!("{name}_info")),
            _ => self.opts.on(name),
        };
        if !on {
            return Ok(None);
        }
        self.enc.encode_descriptor(name, help, None, t).map(Some)
    }
}

/// Encodes a snapshot; families of files that could not be read are left out, and so are
/// the families, services and backend labels `opts` leaves out.
pub fn encode_snapshot(
    snap: &Snapshot,
    opts: &IpvsExport,
    enc: &mut DescriptorEncoder,
) -> fmt::Result {
    let enc = &mut Families { enc, opts };
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
    if let Some(t) = &snap.timeouts {
        encode_timeouts(t, enc)?;
    }
    if let Some(d) = &snap.daemons {
        encode_daemons(d, enc)?;
    }
    encode_source(snap, enc)
}

fn encode_timeouts(t: &Timeouts, enc: &mut Families) -> fmt::Result {
    let Some(mut m) = enc.family(
        "ipvs_timeout_seconds",
        "Connection timeouts set with ipvsadm --set (tcp, tcp_fin, udp).",
        MetricType::Gauge,
    )?
    else {
        return Ok(());
    };
    for (proto, v) in [("tcp", t.tcp), ("tcp_fin", t.tcp_fin), ("udp", t.udp)] {
        ConstGauge::new(i64::from(v)).encode(m.encode_family(&[("protocol", proto)])?)?;
    }
    Ok(())
}

fn encode_daemons(daemons: &[SyncDaemon], enc: &mut Families) -> fmt::Result {
    let Some(mut m) = enc.family(
        "ipvs_sync_daemon",
        "A running connection-synchronisation daemon.",
        MetricType::Info,
    )?
    else {
        return Ok(());
    };
    for d in daemons {
        let syncid = d.syncid.to_string();
        let labels = [
            ("state", d.state),
            ("interface", d.interface.as_str()),
            ("syncid", syncid.as_str()),
        ];
        m.encode_info(&labels)?;
    }
    Ok(())
}

fn encode_source(snap: &Snapshot, enc: &mut Families) -> fmt::Result {
    if snap.table_source.is_empty() {
        return Ok(());
    }
    if let Some(mut m) = enc.family(
        "lvsmon_ipvs_source",
        "Where the IPVS service table is read from: netlink or procfs.",
        MetricType::Info,
    )? {
        m.encode_info(&[("source", snap.table_source)])?;
    }
    if snap.table_source == "netlink" {
        if let Some(m) = enc.family(
            "lvsmon_ipvs_netlink_attributes_skipped",
            "Netlink reply attributes skipped as unknown or truncated, since start.",
            MetricType::Counter,
        )? {
            ConstCounter::new(snap.skipped_attributes).encode(m)?;
        }
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

fn gauge(enc: &mut Families, name: &str, help: &str, value: i64) -> fmt::Result {
    match enc.family(name, help, MetricType::Gauge)? {
        Some(m) => ConstGauge::new(value).encode(m),
        None => Ok(()),
    }
}

fn clamp(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Services grouped by their identity (`Service::id`). An IPv4 and an IPv6 firewall-mark
/// service with the same mark (the usual dual-stack setup) print identically in /proc, so
/// there they share one identity: their backends are all listed, their counts add up.
/// Netlink tells them apart, and they are two services (the IPv6 one at `local_address`
/// `::`).
struct Group<'a> {
    id: VirtualServiceId,
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
    let mut index: HashMap<VirtualServiceId, usize> = HashMap::with_capacity(table.services.len());
    for svc in &table.services {
        let id = svc.id();
        match index.get(&id) {
            Some(&i) => groups[i].members.push(svc),
            None => {
                index.insert(id, groups.len());
                groups.push(Group {
                    id,
                    labels: ServiceLabels::of(svc),
                    members: vec![svc],
                });
            }
        }
    }
    groups
}

fn encode_table(table: &ServiceTable, enc: &mut Families) -> fmt::Result {
    if let Some(size) = table.conn_table_size {
        gauge(
            enc,
            "ipvs_connection_table_size",
            "Buckets in the kernel's IPVS connection hash table (size= in /proc/net/ip_vs).",
            clamp(size),
        )?;
    }
    let mut groups = group_services(table);
    groups.retain(|g| enc.opts.service(&g.id));
    encode_service_info(&groups, enc)?;
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
        let Some(mut m) = enc.family(name, help, MetricType::Gauge)? else {
            continue;
        };
        for g in &groups {
            ConstGauge::new(count(g) as i64).encode(m.encode_family(&g.labels)?)?;
        }
    }
    encode_service_detail(&groups, enc)?;
    if !enc.opts.all_labels() {
        return summed::encode(&groups, enc);
    }
    // Every backend's address and port as text, once for all of its families.
    let texts = BackendTexts::render(groups.iter().flat_map(|g| g.dests()));
    encode_backends(&groups, &texts, enc)?;
    encode_backend_detail(&groups, &texts, enc)
}

fn encode_service_info(groups: &[Group], enc: &mut Families) -> fmt::Result {
    let Some(mut m) = enc.family(
        "ipvs_service",
        "Virtual service, with its scheduler and flags (persistent, ops).",
        MetricType::Info,
    )?
    else {
        return Ok(());
    };
    for g in groups {
        let mut seen: Vec<(&str, String, &str)> = Vec::with_capacity(1);
        for svc in &g.members {
            let pe = svc
                .detail
                .as_ref()
                .and_then(|d| d.pe_name.as_deref())
                .unwrap_or("");
            let extra = (svc.scheduler.as_str(), service_flags(svc), pe);
            if seen.contains(&extra) {
                continue;
            }
            let labels = With {
                base: &g.labels,
                extra: [("scheduler", extra.0), ("flags", extra.1.as_str())],
            };
            if pe.is_empty() {
                m.encode_info(&labels)?;
            } else {
                m.encode_info(&With {
                    base: &labels,
                    extra: [("persistence_engine", pe)],
                })?;
            }
            seen.push(extra);
        }
    }
    Ok(())
}

/// Totals of a group's members, when netlink gave them.
fn group_counters(g: &Group) -> Option<Counters> {
    let mut sum: Option<Counters> = None;
    for d in g.members.iter().filter_map(|s| s.detail.as_ref()) {
        let acc = sum.get_or_insert_with(Counters::default);
        for (a, b) in [
            (&mut acc.totals, &d.counters.totals),
            (&mut acc.rates, &d.counters.rates),
        ] {
            a.conns += b.conns;
            a.in_packets += b.in_packets;
            a.out_packets += b.out_packets;
            a.in_bytes += b.in_bytes;
            a.out_bytes += b.out_bytes;
        }
    }
    sum
}

/// Per-service counters, rates and persistence timeout (netlink only).
fn encode_service_detail(groups: &[Group], enc: &mut Families) -> fmt::Result {
    let with: Vec<(&Group, Counters)> = groups
        .iter()
        .filter_map(|g| Some((g, group_counters(g)?)))
        .collect();
    if with.is_empty() {
        return Ok(());
    }
    for (name, help, field) in TOTALS {
        let name = format!("ipvs_service_{name}");
        let help = format!("{help} by the virtual service.");
        let Some(mut m) = enc.family(&name, &help, MetricType::Counter)? else {
            continue;
        };
        for (g, c) in &with {
            ConstCounter::new(field(&c.totals)).encode(m.encode_family(&g.labels)?)?;
        }
    }
    for (name, help, field) in TOTALS {
        let name = format!("ipvs_service_rate_{name}_per_second");
        let help = format!("{help} by the virtual service: the kernel's rate estimate.");
        let Some(mut m) = enc.family(&name, &help, MetricType::Gauge)? else {
            continue;
        };
        for (g, c) in &with {
            ConstGauge::new(clamp(field(&c.rates))).encode(m.encode_family(&g.labels)?)?;
        }
    }
    let Some(mut m) = enc.family(
        "ipvs_service_persistence_timeout_seconds",
        "Persistence timeout of a persistent virtual service.",
        MetricType::Gauge,
    )?
    else {
        return Ok(());
    };
    for g in groups {
        let persistent = g.members.iter().filter(|s| s.persistence.is_some());
        if let Some(t) = persistent
            .filter_map(|s| s.detail.as_ref())
            .map(|d| d.timeout_seconds)
            .max()
        {
            ConstGauge::new(i64::from(t)).encode(m.encode_family(&g.labels)?)?;
        }
    }
    Ok(())
}

/// Per-backend counters, rates, persistent connections and thresholds (netlink only).
fn encode_backend_detail(
    groups: &[Group],
    texts: &BackendTexts,
    enc: &mut Families,
) -> fmt::Result {
    if !groups
        .iter()
        .flat_map(|g| g.dests())
        .any(|d| d.detail.is_some())
    {
        return Ok(());
    }
    // Re-walked for each family rather than collected: labels are slices of `texts`.
    let backends =
        || every_backend(groups, texts).filter_map(|(l, dest)| Some((l, dest.detail.as_ref()?)));
    for (name, help, field) in TOTALS {
        let name = format!("ipvs_backend_{name}");
        let help = format!("{help} by the real server.");
        let Some(mut m) = enc.family(&name, &help, MetricType::Counter)? else {
            continue;
        };
        for (l, d) in backends() {
            ConstCounter::new(field(&d.counters.totals)).encode(m.encode_family(&l)?)?;
        }
    }
    for (name, help, field) in TOTALS {
        let name = format!("ipvs_backend_rate_{name}_per_second");
        let help = format!("{help} by the real server: the kernel's rate estimate.");
        let Some(mut m) = enc.family(&name, &help, MetricType::Gauge)? else {
            continue;
        };
        for (l, d) in backends() {
            ConstGauge::new(clamp(field(&d.counters.rates))).encode(m.encode_family(&l)?)?;
        }
    }
    for (name, help, field) in DETAIL_GAUGES {
        let Some(mut m) = enc.family(name, help, MetricType::Gauge)? else {
            continue;
        };
        for (l, d) in backends() {
            ConstGauge::new(i64::from(field(d))).encode(m.encode_family(&l)?)?;
        }
    }
    Ok(())
}

type DetailField = fn(&DestDetail) -> u32;

/// The per-backend gauges netlink adds.
const DETAIL_GAUGES: [(&str, &str, DetailField); 3] = [
    (
        "ipvs_backend_connections_persistent",
        "Persistence templates pointing at the real server (PersistConn).",
        |d| d.persistent_conns,
    ),
    (
        "ipvs_backend_threshold_upper",
        "Upper connection threshold of the real server (0: none).",
        |d| d.upper_threshold,
    ),
    (
        "ipvs_backend_threshold_lower",
        "Lower connection threshold of the real server (0: none).",
        |d| d.lower_threshold,
    ),
];

/// Every backend with its labels, in the order `texts` was rendered in.
fn every_backend<'a>(
    groups: &'a [Group],
    texts: &'a BackendTexts,
) -> impl Iterator<Item = (BackendLabels<'a>, &'a crate::ipvs::Dest)> {
    groups
        .iter()
        .flat_map(|g| g.dests().map(move |d| (&g.labels, d)))
        .enumerate()
        .map(|(i, (svc, d))| (texts.labels(svc, i), d))
}

fn encode_backends(groups: &[Group], texts: &BackendTexts, enc: &mut Families) -> fmt::Result {
    let backends = || every_backend(groups, texts);
    for (name, help, field) in BACKEND_GAUGES {
        let Some(mut m) = enc.family(name, help, MetricType::Gauge)? else {
            continue;
        };
        for (l, dest) in backends() {
            ConstGauge::new(field(dest)).encode(m.encode_family(&l)?)?;
        }
    }
    let Some(mut m) = enc.family(BACKEND_INFO.0, BACKEND_INFO.1, MetricType::Info)? else {
        return Ok(());
    };
    for (l, dest) in backends() {
        let info = With {
            base: &l,
            extra: [("forward", dest.forward.label())],
        };
        match dest.detail.as_ref().and_then(|d| d.tunnel) {
            Some(t) => m.encode_info(&With {
                base: &info,
                extra: [("tunnel_type", t.type_label().as_ref())],
            })?,
            None => m.encode_info(&info)?,
        }
    }
    Ok(())
}

const BACKEND_INFO: (&str, &str) = (
    "ipvs_backend",
    "Real server of a virtual service, with its forwarding method.",
);

type BackendField = fn(&crate::ipvs::Dest) -> i64;

/// The per-backend gauges every source has.
const BACKEND_GAUGES: [(&str, &str, BackendField); 3] = [
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

fn encode_global(g: &GlobalStats, enc: &mut Families) -> fmt::Result {
    for (name, help, field) in TOTALS {
        let name = format!("ipvs_{name}");
        let help = format!("{help}, since boot.");
        if let Some(m) = enc.family(&name, &help, MetricType::Counter)? {
            ConstCounter::new(field(&g.totals)).encode(m)?;
        }
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

fn encode_percpu(cpus: &[CpuStats], enc: &mut Families) -> fmt::Result {
    for (name, help, field) in TOTALS {
        let name = format!("ipvs_cpu_{name}");
        let help = format!("{help} on this CPU, since boot.");
        let Some(mut m) = enc.family(&name, &help, MetricType::Counter)? else {
            continue;
        };
        for c in cpus {
            ConstCounter::new(field(&c.totals)).encode(m.encode_family(&[("cpu", c.cpu)])?)?;
        }
    }
    Ok(())
}

fn encode_conns(s: &ConnSummary, enc: &mut Families) -> fmt::Result {
    if let Some(mut m) = enc.family(
        "ipvs_connections",
        "Entries in the IPVS connection table, by protocol and state.",
        MetricType::Gauge,
    )? {
        for (proto, state, count) in &s.counts {
            let labels = [("proto", proto.name()), ("state", state.as_str().into())];
            ConstGauge::new(clamp(*count)).encode(m.encode_family(&labels)?)?;
        }
    }
    gauge(
        enc,
        "lvsmon_conntable_truncated",
        "1 when the connection-table summary stopped at its line cap.",
        i64::from(s.truncated),
    )
}

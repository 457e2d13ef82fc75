//! The backend families under `--collector.ipvs.backend-labels`: only the kept labels,
//! each value summed over the backends that share them, as node_exporter does (the
//! thresholds, which are limits and not amounts, take the largest). `ipvs_backend_info`
//! keeps one series per kept label set and forwarding method.

use super::super::ipvs_options::BACKEND_LABELS;
use super::super::labels::{BackendTexts, KeptLabels, With};
use super::{clamp, Families, Group, BACKEND_GAUGES, BACKEND_INFO, DETAIL_GAUGES, TOTALS};
use crate::ipvs::model::DestDetail;
use crate::ipvs::Dest;
use prometheus_client::encoding::EncodeMetric;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use std::collections::HashMap;
use std::fmt;

/// One output series' labels and the backends summed into it.
struct Row<'a> {
    labels: KeptLabels,
    dests: Vec<&'a Dest>,
}

fn rows<'a>(groups: &'a [Group], enc: &Families) -> Vec<Row<'a>> {
    let texts = BackendTexts::render(groups.iter().flat_map(|g| g.dests()));
    let kept: Vec<usize> = (0..BACKEND_LABELS.len())
        .filter(|i| enc.opts.keeps(*i))
        .collect();
    let mut index: HashMap<Vec<String>, usize> = HashMap::new();
    let mut rows: Vec<Row> = Vec::new();
    let backends = groups.iter().flat_map(|g| g.dests().map(move |d| (g, d)));
    for (n, (g, d)) in backends.enumerate() {
        let l = texts.labels(&g.labels, n);
        let values = l.values();
        let key: Vec<String> = kept.iter().map(|&i| values[i].to_string()).collect();
        let i = match index.get(&key) {
            Some(&i) => i,
            None => {
                let labels = kept
                    .iter()
                    .zip(&key)
                    .map(|(&i, v)| (BACKEND_LABELS[i], v.clone()))
                    .collect();
                rows.push(Row {
                    labels: KeptLabels(labels),
                    dests: vec![],
                });
                index.insert(key, rows.len() - 1);
                rows.len() - 1
            }
        };
        rows[i].dests.push(d);
    }
    rows
}

fn details<'a>(r: &Row<'a>) -> Vec<&'a DestDetail> {
    r.dests.iter().filter_map(|d| d.detail.as_ref()).collect()
}

pub(super) fn encode(groups: &[Group], enc: &mut Families) -> fmt::Result {
    let rows = rows(groups, enc);
    for (name, help, field) in BACKEND_GAUGES {
        let Some(mut m) = enc.family(name, help, MetricType::Gauge)? else {
            continue;
        };
        for r in &rows {
            let v: i64 = r.dests.iter().map(|d| field(d)).sum();
            ConstGauge::new(v).encode(m.encode_family(&r.labels)?)?;
        }
    }
    if let Some(mut m) = enc.family(BACKEND_INFO.0, BACKEND_INFO.1, MetricType::Info)? {
        for r in &rows {
            let mut seen: Vec<(&str, Option<String>)> = Vec::new();
            for d in &r.dests {
                let tunnel = d.detail.as_ref().and_then(|x| x.tunnel);
                let key = (
                    d.forward.label(),
                    tunnel.map(|t| t.type_label().to_string()),
                );
                if seen.contains(&key) {
                    continue;
                }
                let info = With {
                    base: &r.labels,
                    extra: [("forward", key.0)],
                };
                match &key.1 {
                    Some(t) => m.encode_info(&With {
                        base: &info,
                        extra: [("tunnel_type", t.as_str())],
                    })?,
                    None => m.encode_info(&info)?,
                }
                seen.push(key);
            }
        }
    }
    if !rows
        .iter()
        .flat_map(|r| &r.dests)
        .any(|d| d.detail.is_some())
    {
        return Ok(());
    }
    for (name, help, field) in TOTALS {
        let name = format!("ipvs_backend_{name}");
        let help = format!("{help} by the real servers summed.");
        let Some(mut m) = enc.family(&name, &help, MetricType::Counter)? else {
            continue;
        };
        for r in &rows {
            let v: u64 = details(r).iter().map(|d| field(&d.counters.totals)).sum();
            ConstCounter::new(v).encode(m.encode_family(&r.labels)?)?;
        }
    }
    for (name, help, field) in TOTALS {
        let name = format!("ipvs_backend_rate_{name}_per_second");
        let help = format!("{help} by the real servers summed: the kernel's rate estimates.");
        let Some(mut m) = enc.family(&name, &help, MetricType::Gauge)? else {
            continue;
        };
        for r in &rows {
            let v: u64 = details(r).iter().map(|d| field(&d.counters.rates)).sum();
            ConstGauge::new(clamp(v)).encode(m.encode_family(&r.labels)?)?;
        }
    }
    for (name, help, field) in DETAIL_GAUGES {
        let Some(mut m) = enc.family(name, help, MetricType::Gauge)? else {
            continue;
        };
        let limit = name.contains("threshold");
        for r in &rows {
            let vals = details(r).into_iter().map(|d| i64::from(field(d)));
            let v = if limit {
                vals.max().unwrap_or(0)
            } else {
                vals.sum()
            };
            ConstGauge::new(v).encode(m.encode_family(&r.labels)?)?;
        }
    }
    Ok(())
}

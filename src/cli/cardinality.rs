//! The IPVS page's cardinality flags (issue 13), grouped here so they merge beside other
//! flags; resolved over `[collector.ipvs]` into [`IpvsExport`].

use super::config::IpvsConfig;
use crate::metrics::ipvs_options::{IpvsExport, ServiceMatch};
use anyhow::{Context, Result};
use clap::Args;

#[derive(Args, Debug, Default, Clone)]
pub struct CardinalityArgs {
    /// Backend labels to keep, comma separated (node_exporter's flag); the backend series
    /// of the labels left out are summed. Default: proto, local_address, local_port,
    /// local_mark, remote_address, remote_port.
    #[arg(long = "collector.ipvs.backend-labels", value_name = "LIST")]
    pub backend_labels: Option<String>,
    /// Export only the services matching one of these (repeatable or comma separated): a
    /// service (`TCP 10.1.0.100:80`, `FWM 42`), a network (`10.1.0.0/16`) or a port
    /// (`:443`).
    #[arg(
        long = "collector.ipvs.service-include",
        value_name = "RULE",
        value_delimiter = ','
    )]
    pub service_include: Vec<String>,
    /// Leave out the services matching one of these (same forms as --…-include).
    #[arg(
        long = "collector.ipvs.service-exclude",
        value_name = "RULE",
        value_delimiter = ','
    )]
    pub service_exclude: Vec<String>,
    /// Turn on these families (repeatable or comma separated, `*` globs), e.g.
    /// `ipvs_backend_rate_*` (off by default).
    #[arg(
        long = "collector.ipvs.family-enable",
        value_name = "NAME",
        value_delimiter = ','
    )]
    pub family_enable: Vec<String>,
    /// Turn off these families (repeatable or comma separated, `*` globs); wins over
    /// --collector.ipvs.family-enable.
    #[arg(
        long = "collector.ipvs.family-disable",
        value_name = "NAME",
        value_delimiter = ','
    )]
    pub family_disable: Vec<String>,
}

/// Flags over `[collector.ipvs]` over the default budget.
pub fn export(a: &CardinalityArgs, f: &IpvsConfig) -> Result<IpvsExport> {
    let list = |flag: &Vec<String>, file: &Option<Vec<String>>| {
        if flag.is_empty() {
            file.clone().unwrap_or_default()
        } else {
            flag.clone()
        }
    };
    let rules = |v: Vec<String>, which: &str| -> Result<Vec<ServiceMatch>> {
        v.iter()
            .map(|r| {
                r.parse()
                    .with_context(|| format!("--collector.ipvs.service-{which}"))
            })
            .collect()
    };
    let mut e = IpvsExport::default().with_families(
        list(&a.family_enable, &f.family_enable),
        list(&a.family_disable, &f.family_disable),
    );
    if let Some(labels) = a.backend_labels.as_ref().or(f.backend_labels.as_ref()) {
        let labels: Vec<String> = labels.split(',').map(str::to_string).collect();
        e = e
            .with_backend_labels(&labels)
            .context("--collector.ipvs.backend-labels")?;
    }
    e.include = rules(list(&a.service_include, &f.service_include), "include")?;
    e.exclude = rules(list(&a.service_exclude, &f.service_exclude), "exclude")?;
    Ok(e)
}

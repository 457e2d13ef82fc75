//! The HTTP server's flags (issue 13: limits, `--web.config.file`), grouped here so they
//! merge beside other flags; resolved over `[web]` in the config file into [`Limits`].

use super::config::WebConfig;
use super::settings::parse_duration;
use crate::http::Limits;
use anyhow::{Context, Result};
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug, Default, Clone)]
pub struct WebArgs {
    /// TLS, client certificates, basic auth and response headers, in the Prometheus
    /// exporter-toolkit's web config format (YAML); re-read when it changes.
    #[arg(long = "web.config.file", value_name = "FILE")]
    pub config_file: Option<PathBuf>,
    /// Most connections open at once; more are closed on accept (default 256).
    #[arg(long = "web.max-connections", value_name = "N")]
    pub max_connections: Option<usize>,
    /// Most scrapes waiting for or encoding a page at once (default 40); concurrent scrapes
    /// share pages, so this bounds a queue, not the work.
    #[arg(long = "web.max-requests", value_name = "N")]
    pub max_requests: Option<usize>,
    /// How long a scrape beyond --web.max-requests waits before its 503 (default 5s).
    #[arg(long = "web.max-requests-wait", value_name = "DURATION")]
    pub max_requests_wait: Option<String>,
    /// A request head or TLS handshake must arrive within this; also how long an idle
    /// keep-alive connection is kept (default 30s).
    #[arg(long = "web.read-timeout", value_name = "DURATION")]
    pub read_timeout: Option<String>,
    /// A response must be taken by the client within this from its request (default 60s).
    #[arg(long = "web.write-timeout", value_name = "DURATION")]
    pub write_timeout: Option<String>,
    /// Largest request line plus headers in bytes, at least 8192 (default 16384); beyond:
    /// 431.
    #[arg(long = "web.max-header-bytes", value_name = "N")]
    pub max_header_bytes: Option<usize>,
}

/// The limits: flags over `[web]` over the defaults.
pub fn limits(a: &WebArgs, f: &WebConfig) -> Result<Limits> {
    let d = Limits::default();
    let dur = |flag: &Option<String>, file: &Option<String>, name: &str, default| match flag
        .as_ref()
        .or(file.as_ref())
    {
        Some(s) => parse_duration(s).with_context(|| format!("bad --web.{name} {s:?}")),
        None => Ok(default),
    };
    Ok(Limits {
        max_connections: a
            .max_connections
            .or(f.max_connections)
            .unwrap_or(d.max_connections),
        max_requests: a.max_requests.or(f.max_requests).unwrap_or(d.max_requests),
        max_requests_wait: dur(
            &a.max_requests_wait,
            &f.max_requests_wait,
            "max-requests-wait",
            d.max_requests_wait,
        )?,
        read_timeout: dur(
            &a.read_timeout,
            &f.read_timeout,
            "read-timeout",
            d.read_timeout,
        )?,
        write_timeout: dur(
            &a.write_timeout,
            &f.write_timeout,
            "write-timeout",
            d.write_timeout,
        )?,
        max_header_bytes: a
            .max_header_bytes
            .or(f.max_header_bytes)
            .unwrap_or(d.max_header_bytes),
    })
}

/// `--web.config.file`, else `file` in `[web.config]`.
pub fn config_file(a: &WebArgs, f: &WebConfig) -> Option<PathBuf> {
    a.config_file
        .clone()
        .or_else(|| f.config.as_ref().and_then(|c| c.file.clone()))
}

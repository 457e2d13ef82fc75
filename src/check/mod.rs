//! `lvsmon check`: the director as Nagios, Icinga, NRPE and Zabbix ask about it — a
//! consumer of the same readers as `serve` (through [`director::Local`]) or of a running
//! lvsmon (`--url`, [`remote::Remote`]).
//!
//! One concept per file: `range` (threshold ranges), `nagios` (the plugin's output and exit
//! status), one file per Nagios mode (`service`, `services`, `vrrp`, `incidents`), `zabbix`
//! (discovery and item values), `director` (what a check sees of a director) with its
//! remote reader and the `/metrics` line reader it uses (`exposition`). The command line
//! (`cli::check`) parses the flags and calls [`run_with_timeout`].

pub mod director;
pub mod exposition;
pub mod incidents;
pub mod nagios;
pub mod range;
pub mod remote;
pub mod service;
pub mod services;
pub mod vrrp;
pub mod zabbix;

use director::Director;
use nagios::Report;
use std::sync::mpsc;
use std::time::Duration;

/// The plugins' default `-t`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// A Nagios mode and its own options.
#[derive(Debug, Clone)]
pub enum Mode {
    Service {
        service: crate::model::VirtualServiceId,
        threshold: range::Threshold,
    },
    Services {
        exclude: Vec<crate::model::VirtualServiceId>,
        threshold: range::Threshold,
    },
    Vrrp {
        instance: Option<String>,
        expect: Option<vrrp::Expect>,
    },
    Incidents,
}

/// Runs one Nagios mode against a director.
pub fn nagios(d: &dyn Director, mode: &Mode) -> Report {
    let unknown = |e: director::ReadError| Report::unknown(e.0);
    match mode {
        Mode::Service { service, threshold } => match d.service(service) {
            Ok(s) => service::check(s.as_ref(), service, threshold),
            Err(e) => unknown(e),
        },
        Mode::Services { exclude, threshold } => match d.services() {
            Ok(s) => services::check(&s, exclude, threshold),
            Err(e) => unknown(e),
        },
        Mode::Vrrp { instance, expect } => match d.keepalived() {
            Ok(Some(k)) => vrrp::check(&k, instance.as_deref(), *expect),
            Ok(None) => Report::unknown("lvsmon does not collect keepalived here"),
            Err(e) => unknown(e),
        },
        Mode::Incidents => match d.incidents() {
            Ok(Some(open)) => incidents::check(&open),
            Ok(None) => Report::unknown(
                "incidents come from logs: point --url at an lvsmon serve that follows \
                 them, or give a log source",
            ),
            Err(e) => unknown(e),
        },
    }
}

/// Runs `work` in its own thread and gives up after `timeout` with `on_timeout`: a check
/// that hangs (a stuck keepalived dump, a server that never answers) must still answer
/// before Nagios kills it.
pub fn run_with_timeout<T: Send + 'static>(
    timeout: Duration,
    work: impl FnOnce() -> T + Send + 'static,
    on_timeout: impl FnOnce() -> T,
) -> T {
    let (tx, rx) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("check".into())
        .spawn(move || {
            let _ = tx.send(work());
        });
    match spawned {
        Ok(_) => rx.recv_timeout(timeout).unwrap_or_else(|_| on_timeout()),
        Err(_) => on_timeout(),
    }
}

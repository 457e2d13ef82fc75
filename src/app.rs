//! The application state: the readers of one director (IPVS, keepalived, the log pipeline),
//! the health of their reads and the incident engine, built once by the command line and borrowed by every
//! consumer — `/metrics`, `/api/*`, `dump`, and the checks and incident engine to come.
//!
//! Readers are shared (`Arc`) and do their own locking, so consumers never hold one lock
//! across another's work.

use crate::health::Health;
use crate::ipvs::netns::{NetnsError, NetnsWorker};
use crate::ipvs::source::ProcSource;
use crate::ipvs::{IpvsOptions, IpvsReader};
use crate::keepalived::{Keepalived, KeepalivedOptions};
use crate::logs::LogPipeline;
use std::path::PathBuf;
use std::sync::Arc;

/// Where the IPVS reader reads.
#[derive(Debug, Clone)]
pub enum IpvsAt {
    /// A procfs root (the real `/proc`, a captured tree, or the embedded demo).
    Here(ProcSource),
    /// Inside the network namespace at this path (`--ipvs.netns`).
    Netns(PathBuf),
}

/// What the application is made of; the CLI fills it from flags and the config file.
#[derive(Debug, Clone)]
pub struct AppConfig {
    pub ipvs_at: IpvsAt,
    pub ipvs: IpvsOptions,
    /// `None` when the keepalived collector is off.
    pub keepalived: Option<KeepalivedOptions>,
}

/// One director's readers.
#[derive(Debug)]
pub struct App {
    pub health: Arc<Health>,
    pub ipvs: Arc<IpvsReader>,
    pub keepalived: Option<Arc<Keepalived>>,
    /// `None` when no log source is configured.
    pub logs: Option<Arc<LogPipeline>>,
    /// The incident engine over the log events (`None` without a log source).
    pub incidents: Option<Arc<crate::incidents::Live>>,
    /// Where incidents are pushed (`--alertmanager.url`), and the pushes' counters.
    pub alertmanager: Option<Arc<crate::alertmanager::Targets>>,
}

impl App {
    /// Builds the readers (a netns worker thread is started for `IpvsAt::Netns`).
    pub fn new(cfg: AppConfig, logs: Option<Arc<LogPipeline>>) -> Result<App, NetnsError> {
        App::with_incidents(cfg, logs, None)
    }

    /// [`App::new`] with the incident engine that consumes `logs`' events.
    pub fn with_incidents(
        cfg: AppConfig,
        logs: Option<Arc<LogPipeline>>,
        incidents: Option<Arc<crate::incidents::Live>>,
    ) -> Result<App, NetnsError> {
        let health = Arc::new(Health::default());
        let ipvs = match cfg.ipvs_at {
            IpvsAt::Here(source) => IpvsReader::new(source, cfg.ipvs, health.clone()),
            IpvsAt::Netns(path) => {
                IpvsReader::in_netns(NetnsWorker::start(&path)?, cfg.ipvs, health.clone())?
            }
        };
        let keepalived = cfg
            .keepalived
            .map(|o| Arc::new(Keepalived::new(o, health.clone())));
        Ok(App {
            health,
            ipvs: Arc::new(ipvs),
            keepalived,
            logs,
            incidents,
            alertmanager: None,
        })
    }

    /// The IPVS reader alone, over `source` (tests, benchmarks, replays).
    pub fn ipvs_only(source: ProcSource, opts: IpvsOptions) -> App {
        let health = Arc::new(Health::default());
        App {
            ipvs: Arc::new(IpvsReader::new(source, opts, health.clone())),
            health,
            keepalived: None,
            logs: None,
            incidents: None,
            alertmanager: None,
        }
    }
}

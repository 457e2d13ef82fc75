//! Flags merged over the config file over defaults, once, into the settings the rest of the
//! program uses. One rule for every setting ([`pick`], [`switch`]): a flag given on the
//! command line wins, else the config file's key, else the default.

use super::args::{Common, KeepalivedArgs, LogArgs};
use crate::app::{AppConfig, IpvsAt};
use crate::cli::config::{FileConfig, LogConfig};
use crate::ipvs::netlink::Recording;
use crate::ipvs::{IpvsOptions, SourceChoice};
use crate::keepalived::{DumpSource, KeepalivedOptions, Origin};
use crate::statedir::StateStore;
use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Longest log line kept whole; longer lines are cut and counted.
pub const DEFAULT_MAX_LINE: usize = 64 * 1024;
/// Default cap on `lvsmon_log_events_total` series.
pub const DEFAULT_MAX_SERIES: usize = 500;

/// A flag's value, else the config file's, else the default.
pub fn pick<T: Clone>(flag: Option<&T>, file: Option<&T>, default: impl FnOnce() -> T) -> T {
    flag.or(file).cloned().unwrap_or_else(default)
}

/// A flag's value, else the config file's, else nothing.
pub fn pick_opt<T: Clone>(flag: &Option<T>, file: &Option<T>) -> Option<T> {
    flag.as_ref().or(file.as_ref()).cloned()
}

/// A switch: on when the flag is given, else the config file's value, else `default`.
pub fn switch(flag: bool, file: Option<bool>, default: bool) -> bool {
    flag || file.unwrap_or(default)
}

/// Everything `serve` and `dump` need, resolved.
pub struct Settings {
    pub app: AppConfig,
    /// The incident engine's windows and thresholds (`[incidents]`).
    pub incidents: crate::incidents::Settings,
    pub log_level: String,
    pub logs: LogSettings,
    pub demo: bool,
}

/// The log pipeline, resolved.
#[derive(Debug, Clone, Default)]
pub struct LogSettings {
    pub rules: Option<PathBuf>,
    pub files: Vec<PathBuf>,
    pub state_dir: Option<PathBuf>,
    pub from_beginning: bool,
    pub journal: bool,
    pub kmsg: bool,
    pub max_line: usize,
    pub max_series: usize,
    pub timezone: Option<String>,
}

impl LogSettings {
    fn new(a: &LogArgs, f: &LogConfig) -> LogSettings {
        LogSettings {
            rules: pick_opt(&a.rules, &f.rules),
            files: if a.file.is_empty() {
                f.file.clone().unwrap_or_default()
            } else {
                a.file.clone()
            },
            state_dir: pick_opt(&a.state_dir, &f.state_dir),
            from_beginning: switch(a.from_beginning, f.from_beginning, false),
            journal: switch(a.journal, f.journal, false),
            kmsg: switch(a.kmsg, f.kmsg, false),
            max_line: pick(a.max_line_bytes.as_ref(), f.max_line_bytes.as_ref(), || {
                DEFAULT_MAX_LINE
            }),
            max_series: pick(a.max_series.as_ref(), f.max_series.as_ref(), || {
                DEFAULT_MAX_SERIES
            }),
            timezone: pick_opt(&a.timezone, &f.timezone),
        }
    }

    /// Whether any source to follow is configured.
    pub fn any_source(&self) -> bool {
        self.journal || self.kmsg || !self.files.is_empty()
    }
}

/// `5`, `5s`, `500ms`, `1m`, `1m30s`: seconds when bare, else humantime's syntax.
pub fn parse_duration(s: &str) -> Result<Duration> {
    let t = s.trim();
    let bare = t.parse::<f64>().ok().filter(|v| v.is_finite() && *v >= 0.0);
    match bare {
        Some(v) => Ok(Duration::from_secs_f64(v)),
        None => humantime::parse_duration(t)
            .with_context(|| format!("bad duration {s:?}: want seconds, or e.g. 500ms, 5s, 1m")),
    }
}

fn keepalived(
    a: &KeepalivedArgs,
    file: &FileConfig,
    demo: bool,
) -> Result<Option<KeepalivedOptions>> {
    if a.no_collector || !file.collector.keepalived.enabled.unwrap_or(true) {
        return Ok(None);
    }
    if demo {
        return Ok(Some(crate::demo::keepalived_options()));
    }
    let f = &file.keepalived;
    let min_interval = match pick_opt(&a.min_interval, &f.min_interval) {
        Some(s) => parse_duration(&s).context("--keepalived.min-interval")?,
        None => crate::keepalived::DEFAULT_MIN_INTERVAL,
    };
    Ok(Some(KeepalivedOptions {
        origin: Origin::Live(DumpSource {
            pid_file: pick(a.pid_file.as_ref(), f.pid_file.as_ref(), || {
                crate::keepalived::DEFAULT_PID_FILE.into()
            }),
            dump_dir: pick_opt(&a.dump_dir, &f.dump_dir),
            passive: switch(a.passive, f.passive, false),
            timeout: crate::keepalived::DUMP_TIMEOUT,
        }),
        min_interval,
        notify_fifos: if a.notify_fifo.is_empty() {
            f.notify_fifo.clone().unwrap_or_default()
        } else {
            a.notify_fifo.clone()
        },
        // Set from the log settings' state dir by `resolve`.
        state: None,
    }))
}

/// Resolves the flags of `serve`/`dump` over the config file.
pub fn resolve(c: &Common, file: &FileConfig) -> Result<Settings> {
    let demo = switch(c.demo, file.demo, false);
    let procfs = pick(c.procfs.as_ref(), file.path.procfs.as_ref(), || {
        "/proc".into()
    });
    let replay = demo || procfs != std::path::Path::new("/proc");
    let choice = match (&c.ipvs_source, &file.ipvs.source) {
        (Some(s), _) => *s,
        (None, Some(s)) => s.parse().map_err(anyhow::Error::msg)?,
        (None, None) => SourceChoice::Auto,
    };
    let source_choice = match choice {
        // A replayed tree or the demo has no kernel behind it to ask.
        SourceChoice::Auto if replay => SourceChoice::Procfs,
        SourceChoice::Netlink if replay => {
            bail!("--ipvs.source netlink cannot read a replayed procfs tree or the demo")
        }
        other => other,
    };
    let netns = pick_opt(&c.ipvs_netns, &file.ipvs.netns);
    if netns.is_some() && replay {
        bail!("--ipvs.netns reads a live namespace: it cannot be combined with --path.procfs or --demo");
    }
    let ipvs_at = match netns {
        Some(ns) => IpvsAt::Netns(ns),
        None if demo => IpvsAt::Here(crate::demo::source()),
        None => IpvsAt::Here(crate::ipvs::source::ProcSource::Dir(procfs)),
    };
    let netlink_replay = match pick_opt(&c.netlink_replay, &file.ipvs.netlink_replay) {
        Some(p) => {
            let text = std::fs::read_to_string(&p)
                .with_context(|| format!("cannot read {}", p.display()))?;
            let rec = Recording::parse(&text)
                .with_context(|| format!("netlink recording {}", p.display()))?;
            Some(Arc::new(rec))
        }
        None if demo => Some(crate::demo::netlink()?),
        None => None,
    };
    let defaults = IpvsOptions::default();
    let ipvs = IpvsOptions {
        // The demo shows every family, the connection table included.
        conntable: switch(c.conntable, file.collector.ipvs.conntable, demo),
        conntable_max_lines: pick(
            c.conntable_max_lines.as_ref(),
            file.collector.ipvs.conntable_max_lines.as_ref(),
            || defaults.conntable_max_lines,
        ),
        source: source_choice,
        netlink_record: pick_opt(&c.netlink_record, &file.ipvs.netlink_record),
        netlink_replay,
        ..defaults
    };
    let logs = LogSettings::new(&c.logs, &file.log);
    let mut keepalived = keepalived(&c.keepalived, file, demo)?;
    if let Some(k) = keepalived.as_mut().filter(|_| !demo) {
        k.state = logs.state_dir.as_deref().map(StateStore::new);
    }
    Ok(Settings {
        app: AppConfig {
            ipvs_at,
            ipvs,
            keepalived,
        },
        incidents: file.incidents.clone().unwrap_or_default(),
        log_level: pick(c.log_level.as_ref(), file.log.level.as_ref(), || {
            "info".into()
        }),
        logs,
        demo,
    })
}

/// The config file named by `--config`, or an empty one.
pub fn load_config(path: Option<&std::path::Path>) -> Result<FileConfig> {
    match path {
        Some(p) => Ok(FileConfig::load(p)?),
        None => Ok(FileConfig::default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flag_beats_the_file_which_beats_the_default() {
        assert_eq!(pick(Some(&1), Some(&2), || 3), 1);
        assert_eq!(pick(None, Some(&2), || 3), 2);
        assert_eq!(pick::<i32>(None, None, || 3), 3);
        assert!(switch(true, Some(false), false));
        assert!(!switch(false, Some(false), true));
        assert!(switch(false, None, true));
    }

    #[test]
    fn durations_take_the_usual_suffixes() {
        assert_eq!(parse_duration("5").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("1m").unwrap(), Duration::from_secs(60));
        assert_eq!(parse_duration("1.5").unwrap(), Duration::from_millis(1500));
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("soon").is_err());
    }
}

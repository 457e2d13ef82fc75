//! The `--keepalived.*` flags and `--no-collector.keepalived`, merged over the config file
//! (`[keepalived]`, `[collector.keepalived] enabled`).

use super::collector::{KeepalivedOptions, Origin};
use super::signal::DumpSource;
use crate::config::FileConfig;
use clap::Args;
use std::path::PathBuf;
use std::time::Duration;

pub const DEFAULT_PID_FILE: &str = "/run/keepalived.pid";
pub const DEFAULT_MIN_INTERVAL: Duration = Duration::from_secs(5);
/// How long a refresh waits for keepalived to finish writing a dump.
pub const DUMP_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Args, Debug, Clone, Default)]
pub struct KeepalivedArgs {
    /// keepalived's pid file (its parent process), default /run/keepalived.pid. Without it
    /// lvsmon exports keepalived_up 0 and says so once.
    #[arg(long = "keepalived.pid-file", value_name = "FILE")]
    pub pid_file: Option<PathBuf>,
    /// Do not collect keepalived's state.
    #[arg(long = "no-collector.keepalived")]
    pub no_collector: bool,
    /// Where keepalived writes its dumps (default: its TMPDIR from /proc/PID/environ, else
    /// /tmp).
    #[arg(long = "keepalived.dump-dir", value_name = "DIR")]
    pub dump_dir: Option<PathBuf>,
    /// Ask keepalived for dumps at most this often (e.g. 5s, 500ms; default 5s).
    #[arg(long = "keepalived.min-interval", value_name = "DURATION")]
    pub min_interval: Option<String>,
    /// Never signal keepalived: read dumps something else asked for and export their age.
    #[arg(long = "keepalived.passive")]
    pub passive: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("bad --keepalived.min-interval {0:?}: want seconds, or a number with ms, s or m")]
pub struct BadDuration(String);

/// `5`, `5s`, `500ms`, `1m`, `1.5s`.
pub fn parse_duration(s: &str) -> Result<Duration, BadDuration> {
    let t = s.trim();
    let (num, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60.0)
    } else {
        (t, 1.0)
    };
    match num.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(Duration::from_secs_f64(v * scale)),
        _ => Err(BadDuration(s.to_string())),
    }
}

impl KeepalivedArgs {
    /// The collector's options, or None when it is off. `--demo` shows the embedded dump.
    pub fn options(
        &self,
        file: &FileConfig,
        demo: bool,
    ) -> Result<Option<KeepalivedOptions>, BadDuration> {
        let enabled = !self.no_collector && file.collector.keepalived.enabled.unwrap_or(true);
        if !enabled {
            return Ok(None);
        }
        let f = &file.keepalived;
        let min_interval = match self.min_interval.as_ref().or(f.min_interval.as_ref()) {
            Some(s) => parse_duration(s)?,
            None => DEFAULT_MIN_INTERVAL,
        };
        let origin = if demo {
            Origin::Fixed(crate::demo::keepalived_state())
        } else {
            Origin::Live(DumpSource {
                pid_file: self
                    .pid_file
                    .clone()
                    .or(f.pid_file.clone())
                    .unwrap_or_else(|| DEFAULT_PID_FILE.into()),
                dump_dir: self.dump_dir.clone().or(f.dump_dir.clone()),
                passive: self.passive || f.passive.unwrap_or(false),
                timeout: DUMP_TIMEOUT,
            })
        };
        Ok(Some(KeepalivedOptions {
            origin,
            min_interval,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_the_usual_suffixes() {
        assert_eq!(parse_duration("5").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("1m").unwrap(), Duration::from_secs(60));
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("soon").is_err());
    }
}

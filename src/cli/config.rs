//! Settings: the TOML config file and the command-line flags that override it.
//!
//! Every flag has a config key named after it: the flag's dotted name becomes the table
//! path, e.g. `--web.listen-address` is `listen-address` in `[web]`, and
//! `--collector.ipvs.conntable-max-lines` is `conntable-max-lines` in `[collector.ipvs]`.

use serde::Deserialize;
use std::path::{Path, PathBuf};

/// lvsmon's default port: in the Prometheus exporter range, clear of node_exporter (9100)
/// and the keepalived exporters (9165, 9650).
pub const DEFAULT_PORT: u16 = 9689;

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    #[serde(default)]
    pub web: WebConfig,
    #[serde(default)]
    pub path: PathConfig,
    #[serde(default)]
    pub collector: CollectorConfig,
    #[serde(default)]
    pub log: LogConfig,
    #[serde(default)]
    pub ipvs: IpvsSourceConfig,
    #[serde(default)]
    pub keepalived: KeepalivedConfig,
    /// `[incidents]`: the incident engine's windows and thresholds.
    pub incidents: Option<crate::incidents::Settings>,
    #[serde(default)]
    pub alertmanager: AlertmanagerConfig,
    pub demo: Option<bool>,
}

/// `[alertmanager]`: where incidents are pushed (`--alertmanager.url`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AlertmanagerConfig {
    pub url: Option<Vec<String>>,
}

/// `[keepalived]`: where keepalived and its dumps are (`--keepalived.*`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct KeepalivedConfig {
    pub pid_file: Option<PathBuf>,
    pub dump_dir: Option<PathBuf>,
    /// Seconds, or a number with `ms`/`s`/`m`.
    pub min_interval: Option<String>,
    pub passive: Option<bool>,
    /// keepalived's notify FIFOs (`--keepalived.notify-fifo`, a list).
    pub notify_fifo: Option<Vec<PathBuf>>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct IpvsSourceConfig {
    /// `auto`, `netlink` or `procfs`.
    pub source: Option<String>,
    pub netns: Option<PathBuf>,
    #[serde(rename = "netlink-record")]
    pub netlink_record: Option<PathBuf>,
    #[serde(rename = "netlink-replay")]
    pub netlink_replay: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct WebConfig {
    pub listen_address: Option<Vec<String>>,
    pub telemetry_path: Option<String>,
    // The server's limits and security (src/cli/web.rs).
    pub config: Option<WebConfigFile>,
    pub max_connections: Option<usize>,
    pub max_requests: Option<usize>,
    pub max_requests_wait: Option<String>,
    pub read_timeout: Option<String>,
    pub write_timeout: Option<String>,
    pub max_header_bytes: Option<usize>,
}

/// `[web.config]`: `file` is `--web.config.file`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WebConfigFile {
    pub file: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PathConfig {
    pub procfs: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CollectorConfig {
    #[serde(default)]
    pub ipvs: IpvsConfig,
    #[serde(default)]
    pub keepalived: KeepalivedCollectorConfig,
}

/// `[collector.keepalived]`: `enabled = false` is `--no-collector.keepalived`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct KeepalivedCollectorConfig {
    pub enabled: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct IpvsConfig {
    pub conntable: Option<bool>,
    pub conntable_max_lines: Option<u64>,
    // Cardinality controls (src/cli/cardinality.rs).
    pub backend_labels: Option<String>,
    pub service_include: Option<Vec<String>>,
    pub service_exclude: Option<Vec<String>>,
    pub family_enable: Option<Vec<String>>,
    pub family_disable: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LogConfig {
    pub level: Option<String>,
    // The log pipeline's sources (src/logs, flags in src/logs_cli.rs).
    pub file: Option<Vec<PathBuf>>,
    pub state_dir: Option<PathBuf>,
    pub from_beginning: Option<bool>,
    pub journal: Option<bool>,
    pub kmsg: Option<bool>,
    pub rules: Option<PathBuf>,
    pub max_line_bytes: Option<usize>,
    pub max_series: Option<usize>,
    /// IANA zone of timestamps that carry none (`--log.timezone`).
    pub timezone: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("config file {path}: {source}")]
    Parse {
        path: PathBuf,
        #[source]
        source: toml::de::Error,
    },
}

impl FileConfig {
    pub fn load(path: &Path) -> Result<FileConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        FileConfig::parse(&text).map_err(|source| ConfigError::Parse {
            path: path.to_path_buf(),
            source,
        })
    }

    pub fn parse(text: &str) -> Result<FileConfig, toml::de::Error> {
        toml::from_str(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_flag_names() {
        let c = FileConfig::parse(
            r#"
demo = true
[web]
listen-address = ["127.0.0.1:1", "[::1]:2"]
telemetry-path = "/m"
[path]
procfs = "/tmp/capture"
[collector.ipvs]
conntable = true
conntable-max-lines = 10
[log]
level = "debug"
file = ["/var/log/syslog", "/var/log/keepalived*.log"]
state-dir = "/var/lib/lvsmon"
from-beginning = false
journal = true
kmsg = true
rules = "/etc/lvsmon/rules.toml"
max-line-bytes = 65536
max-series = 500
timezone = "Europe/Berlin"
[ipvs]
source = "netlink"
netns = "/run/netns/lb"
[keepalived]
pid-file = "/run/k.pid"
dump-dir = "/run/k"
min-interval = "2s"
passive = true
notify-fifo = ["/run/lvsmon/keepalived.fifo"]
[collector.keepalived]
enabled = false
[incidents]
flapping-window = 300
quiet-window = 30
"#,
        )
        .unwrap();
        assert_eq!(c.web.listen_address.unwrap().len(), 2);
        assert_eq!(c.collector.ipvs.conntable_max_lines, Some(10));
        assert_eq!(c.demo, Some(true));
        assert_eq!(c.keepalived.min_interval.as_deref(), Some("2s"));
        assert_eq!(
            c.keepalived.notify_fifo,
            Some(vec![PathBuf::from("/run/lvsmon/keepalived.fifo")])
        );
        assert_eq!(c.collector.keepalived.enabled, Some(false));
        let inc = c.incidents.unwrap();
        assert_eq!((inc.flapping_window, inc.quiet_window), (300, 30));
        assert_eq!(
            inc.vrrp_flapping_changes, 4,
            "unset keys keep their defaults"
        );
    }

    #[test]
    fn the_shipped_example_config_is_valid() {
        let c = FileConfig::parse(include_str!("../../deploy/lvsmon.toml")).unwrap();
        assert_eq!(c.web.listen_address, Some(vec![format!(":{DEFAULT_PORT}")]));
    }

    #[test]
    fn incident_severities_are_set_by_kind_and_a_wrong_kind_or_severity_is_refused() {
        use crate::logs::rules::Severity;
        let c = FileConfig::parse(
            "[incidents.severity]\nvrrp_failover = \"warning\"\nconntrack_table_full = \"info\"\n",
        )
        .unwrap();
        let inc = c.incidents.unwrap();
        assert_eq!(inc.severity_of("vrrp_failover"), Severity::Warning);
        assert_eq!(inc.severity_of("conntrack_table_full"), Severity::Info);
        assert_eq!(
            inc.severity_of("split_brain"),
            Severity::Critical,
            "a kind not named keeps its default"
        );
        let err = FileConfig::parse("[incidents.severity]\nsplit_brian = \"info\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("split_brian") && err.contains("split_brain"),
            "{err}"
        );
        assert!(FileConfig::parse("[incidents.severity]\nsplit_brain = \"page\"\n").is_err());
    }

    #[test]
    fn a_misspelt_key_is_an_error_not_silently_ignored() {
        assert!(FileConfig::parse("[web]\nlisten_addres = []\n").is_err());
    }
}

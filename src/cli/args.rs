//! Every flag of every subcommand, as clap parses them: raw, before the config file and the
//! defaults are merged in (`settings`). Each flag's config key is its dotted name turned
//! into a table path (`--log.state-dir` is `state-dir` in `[log]`).

use crate::ipvs::SourceChoice;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "lvsmon",
    version,
    about = "Observability for Linux IPVS/LVS directors and keepalived"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve Prometheus metrics (and /api/v1/*) over HTTP.
    Serve(ServeArgs),
    /// Print the metrics page once to standard output (same collectors as `serve`).
    Dump(DumpArgs),
    /// Classify log files (plain or gzip, `-` for stdin) once: events per host and kind, and
    /// the incidents they tell. Exit status 0, 1 when a critical incident was found, 2 on an
    /// error.
    Analyze(AnalyzeArgs),
    /// Monitoring checks: a Nagios/Icinga/NRPE plugin (`check nagios MODE`) and Zabbix
    /// discovery and items (`check zabbix`). Bad arguments exit 3 (UNKNOWN), never 2.
    Check(CheckArgs),
    /// Write the man pages and shell completions (for packaging).
    #[command(hide = true)]
    Generate(super::generate::GenerateArgs),
}

/// The director's readers: shared by `serve` and `dump`.
#[derive(Args, Debug)]
pub struct Common {
    /// TOML config file; every flag has a key there, and flags win.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// procfs root to read IPVS tables from (a captured tree replays a director).
    #[arg(long = "path.procfs", value_name = "DIR")]
    pub procfs: Option<PathBuf>,
    /// Summarise /proc/net/ip_vs_conn into ipvs_connections{proto,state} (opt-in: it can be
    /// millions of lines).
    #[arg(long = "collector.ipvs.conntable")]
    pub conntable: bool,
    /// Stop reading ip_vs_conn after this many lines (sets lvsmon_conntable_truncated).
    #[arg(long = "collector.ipvs.conntable-max-lines", value_name = "N")]
    pub conntable_max_lines: Option<u64>,
    /// Read from a real-kernel capture compiled into the binary instead of /proc.
    #[arg(long)]
    pub demo: bool,
    /// Where to read the IPVS service table: auto (netlink when it answers and the process
    /// has CAP_NET_ADMIN, else /proc), netlink or procfs. A --path.procfs other than /proc
    /// implies procfs.
    #[arg(long = "ipvs.source", value_name = "SOURCE")]
    pub ipvs_source: Option<SourceChoice>,
    /// Read IPVS inside this network namespace (/run/netns/NAME, /proc/PID/ns/net) without
    /// moving the process (entering it needs CAP_SYS_ADMIN).
    #[arg(long = "ipvs.netns", value_name = "PATH")]
    pub ipvs_netns: Option<PathBuf>,
    /// Write each read's netlink conversation with the kernel to FILE (for a bug report, or
    /// to replay it elsewhere with --ipvs.netlink-replay).
    #[arg(long = "ipvs.netlink-record", value_name = "FILE")]
    pub netlink_record: Option<PathBuf>,
    /// Answer netlink requests from a conversation recorded with --ipvs.netlink-record
    /// instead of the kernel (combine with --path.procfs for the /proc side).
    #[arg(long = "ipvs.netlink-replay", value_name = "FILE")]
    pub netlink_replay: Option<PathBuf>,
    /// Log level: error, warn, info, debug or trace.
    #[arg(long = "log.level", value_name = "LEVEL")]
    pub log_level: Option<String>,
    #[command(flatten)]
    pub logs: LogArgs,
    #[command(flatten)]
    pub keepalived: KeepalivedArgs,
    #[command(flatten)]
    pub cardinality: Box<super::cardinality::CardinalityArgs>,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    pub common: Common,
    /// Address to listen on (repeatable); `:PORT` means every IPv4 and IPv6 address.
    #[arg(long = "web.listen-address", value_name = "ADDR")]
    pub listen: Vec<String>,
    /// Path under which metrics are served.
    #[arg(long = "web.telemetry-path", value_name = "PATH")]
    pub telemetry_path: Option<String>,
    #[command(flatten)]
    pub web: Box<super::web::WebArgs>,
    /// Push incidents to this Alertmanager (`http://HOST:PORT`, repeatable) as alerts on its
    /// v2 API; resolved when they close.
    #[arg(long = "alertmanager.url", value_name = "URL")]
    pub alertmanager_url: Vec<String>,
}

#[derive(Args, Debug)]
pub struct DumpArgs {
    #[command(flatten)]
    pub common: Common,
    /// Write OpenMetrics instead of the Prometheus 0.0.4 text format.
    #[arg(long)]
    pub openmetrics: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
    /// One self-contained HTML page: a timeline of every director's VRRP states, the real
    /// servers out and the incidents (the incident engine always runs for it).
    Html,
}

#[derive(Args, Debug)]
pub struct AnalyzeArgs {
    /// TOML config file: its `[incidents]` windows and thresholds apply.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Output: a readable summary (text), one JSON document, or the HTML timeline report.
    #[arg(long, value_enum, default_value = "text")]
    pub format: OutputFormat,
    /// Write the output to FILE instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Year for RFC 3164 timestamps, which carry none (default: inferred from today).
    #[arg(long, value_name = "N")]
    pub year: Option<i32>,
    /// Time zone of timestamps that carry none (RFC 3164, keepalived's console): an IANA
    /// name such as Europe/Berlin, or UTC (default: the system's, from TZ or /etc/localtime).
    #[arg(long = "log.timezone", value_name = "ZONE")]
    pub timezone: Option<String>,
    /// Extra rules (TOML) that extend or override the built-in library.
    #[arg(long = "log.rules", value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// Lines longer than this many bytes are cut (and counted as truncated).
    #[arg(long = "log.max-line-bytes", value_name = "N")]
    pub max_line: Option<usize>,
    /// Only events at or after this instant: RFC 3339 (2026-12-01T23:44:00Z), a local date
    /// and time in `--log.timezone`'s zone (2026-12-01 23:44:00, 2026-12-01), or a span back
    /// from now (-1h, "2 days ago").
    // A span back from now starts with `-`: a value, not a flag.
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub since: Option<String>,
    /// Only events before this instant (the forms of `--since`).
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub until: Option<String>,
    /// Only this director's events (repeatable).
    #[arg(long, value_name = "HOST")]
    pub host: Vec<String>,
    /// When a director booted, to date the kernel's times since boot in a plain `dmesg`:
    /// `HOST=TIME` for the input named `FILE@HOST`, or `TIME` for every other input (TIME:
    /// RFC 3339, or `uptime -s`'s `2026-12-03 03:26:06` in `--log.timezone`'s zone).
    /// Without it an input is dated from the kernel's own "setting system clock" line when
    /// it holds one (repeatable).
    #[arg(long = "boot-time", value_name = "[HOST=]TIME")]
    pub boot_time: Vec<String>,
    /// Accepted for scripts written before the incident engine ran by default; it changes
    /// nothing.
    #[arg(long, hide = true, conflicts_with = "no_incidents")]
    pub incidents: bool,
    /// Events only: count what the lines say without running the incident engine (no
    /// timeline, `incidents` empty in JSON, exit status 0 unless an error; not with `--format
    /// html`); about three times faster on a log full of incidents.
    #[arg(long, conflicts_with = "kind")]
    pub no_incidents: bool,
    /// Only incidents of this kind (repeatable), e.g. split_brain.
    #[arg(long, value_name = "KIND")]
    pub kind: Vec<String>,
    /// Files to read (plain or gzip); `-` is standard input. `FILE@HOST` names the director
    /// whose lines, when they name no host (keepalived's console, dmesg), the file holds;
    /// standard input named so goes after `--` (`ssh lb-a dmesg | lvsmon analyze -- -@lb-a`).
    /// Several files are merged by time, line by line: a director's rotations in any order
    /// (`syslog*`), its kern.log beside its daemon.log.
    #[arg(value_name = "FILE[@HOST]", required = true)]
    pub files: Vec<PathBuf>,
}

/// The log pipeline's flags of `serve` (and `dump`, which refuses the sources).
#[derive(Args, Debug, Default)]
pub struct LogArgs {
    /// Follow this log file (repeatable; `*` and `?` allowed in the file name).
    #[arg(long = "log.file", value_name = "PATH")]
    pub file: Vec<PathBuf>,
    /// Keep file offsets and the journal cursor here, so a restart reads each line once.
    #[arg(long = "log.state-dir", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Read files seen for the first time from their start (default: from their end).
    #[arg(long = "log.from-beginning")]
    pub from_beginning: bool,
    /// Follow the systemd journal (keepalived's identifiers and the kernel) via journalctl.
    #[arg(long = "log.journal")]
    pub journal: bool,
    /// Read the kernel ring from /dev/kmsg.
    #[arg(long = "log.kmsg")]
    pub kmsg: bool,
    /// Extra rules (TOML) that extend or override the built-in library.
    #[arg(long = "log.rules", value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// Lines longer than this many bytes are cut (and counted).
    #[arg(long = "log.max-line-bytes", value_name = "N")]
    pub max_line_bytes: Option<usize>,
    /// Most `lvsmon_log_events_total` series; events beyond go to an `overflow` series.
    #[arg(long = "log.max-series", value_name = "N")]
    pub max_series: Option<usize>,
    /// Time zone of timestamps that carry none (RFC 3164, keepalived's console): an IANA
    /// name such as Europe/Berlin, or UTC (default: the system's, from TZ or /etc/localtime).
    #[arg(long = "log.timezone", value_name = "ZONE")]
    pub timezone: Option<String>,
}

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
    /// A keepalived notify FIFO to follow (its `notify_fifo`, `vrrp_notify_fifo` or
    /// `lvs_notify_fifo`; repeatable): VRRP state and priority changes and checker verdicts
    /// take effect the moment keepalived writes them, with no signal. lvsmon creates the FIFO
    /// (mode 0620, its own user and group) when the path is free.
    #[arg(long = "keepalived.notify-fifo", value_name = "PATH")]
    pub notify_fifo: Vec<PathBuf>,
}

// ---- `lvsmon check` (issue 11): every flag of the checks, kept together. ----

#[derive(Args, Debug)]
#[command(version, propagate_version = true)]
pub struct CheckArgs {
    #[command(subcommand)]
    pub kind: CheckKind,
}

#[derive(Subcommand, Debug)]
pub enum CheckKind {
    /// A Nagios plugin: `LVS <STATE> - text | perfdata`, exit 0 OK, 1 WARNING, 2 CRITICAL,
    /// 3 UNKNOWN.
    Nagios(NagiosArgs),
    /// Zabbix low-level discovery and item values (deploy/zabbix/lvsmon.conf).
    Zabbix(ZabbixArgs),
}

#[derive(Args, Debug)]
pub struct NagiosArgs {
    #[command(subcommand)]
    pub mode: NagiosMode,
}

#[derive(Subcommand, Debug)]
pub enum NagiosMode {
    /// One virtual service: thresholds on its available backends (weight > 0), default
    /// `-c 1:`; CRITICAL when it is not configured.
    Service(NagiosService),
    /// Every virtual service, the worst state wins.
    Services(NagiosServices),
    /// keepalived's VRRP instances: CRITICAL on FAULT or keepalived down, WARNING when a
    /// state differs from --expect.
    Vrrp(NagiosVrrp),
    /// Open incidents: CRITICAL if a critical one is open, WARNING if a warning one is.
    Incidents(NagiosIncidents),
}

/// Where a check reads the director, and the plugin options every mode has.
#[derive(Args, Debug)]
pub struct CheckSource {
    /// Ask a running lvsmon (`http://127.0.0.1:9689`, or `https://…` behind
    /// --web.config.file) instead of reading the director.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// With an https --url: the CA that signed lvsmon's certificate (default: the
    /// system's, /etc/ssl/certs/ca-certificates.crt).
    #[arg(long = "tls.ca-file", value_name = "FILE")]
    pub tls_ca_file: Option<PathBuf>,
    /// With an https --url: a client certificate (PEM), for an lvsmon that requires one.
    #[arg(long = "tls.cert-file", value_name = "FILE")]
    pub tls_cert_file: Option<PathBuf>,
    /// Its key (PEM).
    #[arg(long = "tls.key-file", value_name = "FILE")]
    pub tls_key_file: Option<PathBuf>,
    /// Basic-auth user for an lvsmon with basic_auth_users.
    #[arg(long = "auth.username", value_name = "USER")]
    pub auth_username: Option<String>,
    /// A file holding that user's password (not the command line, which `ps` shows).
    #[arg(long = "auth.password-file", value_name = "FILE")]
    pub auth_password_file: Option<PathBuf>,
    /// Seconds before the check gives up with UNKNOWN.
    #[arg(short = 't', long, value_name = "SECONDS", default_value = "10")]
    pub timeout: String,
    /// More detail (repeatable): the long output lists every item.
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(flatten)]
    pub common: Common,
}

/// `-w`/`-c`: Nagios ranges (`10`, `10:`, `~:10`, `10:20`, `@10:20`). An empty value is no
/// range, so a command definition can always pass `-w '$ARG2$'`.
#[derive(Args, Debug)]
pub struct Thresholds {
    /// WARNING range for the available backends.
    #[arg(short = 'w', long, value_name = "RANGE", allow_hyphen_values = true)]
    pub warning: Option<String>,
    /// CRITICAL range for the available backends (default `1:` when neither is given).
    #[arg(short = 'c', long, value_name = "RANGE", allow_hyphen_values = true)]
    pub critical: Option<String>,
}

#[derive(Args, Debug)]
pub struct NagiosService {
    /// The virtual service: `TCP 10.1.0.100:80`, `UDP [fd00::53]:53`, `FWM 42`.
    #[arg(long, value_name = "SERVICE")]
    pub service: crate::model::VirtualServiceId,
    #[command(flatten)]
    pub thresholds: Thresholds,
    #[command(flatten)]
    pub source: CheckSource,
}

#[derive(Args, Debug)]
pub struct NagiosServices {
    /// Leave this virtual service out (repeatable).
    #[arg(long, value_name = "SERVICE")]
    pub exclude: Vec<crate::model::VirtualServiceId>,
    #[command(flatten)]
    pub thresholds: Thresholds,
    #[command(flatten)]
    pub source: CheckSource,
}

#[derive(Args, Debug)]
pub struct NagiosVrrp {
    /// Only this VRRP instance.
    #[arg(long, value_name = "NAME")]
    pub instance: Option<String>,
    /// The state this director should be in.
    #[arg(long, value_enum, value_name = "STATE")]
    pub expect: Option<crate::check::vrrp::Expect>,
    #[command(flatten)]
    pub source: CheckSource,
}

#[derive(Args, Debug)]
pub struct NagiosIncidents {
    #[command(flatten)]
    pub source: CheckSource,
}

#[derive(Args, Debug)]
pub struct ZabbixArgs {
    #[command(subcommand)]
    pub command: ZabbixCommand,
}

#[derive(Subcommand, Debug)]
pub enum ZabbixCommand {
    /// Low-level discovery as a JSON array.
    Discovery {
        #[arg(value_enum)]
        what: crate::check::zabbix::Discover,
        #[command(flatten)]
        source: CheckSource,
    },
    /// One item's value: `lvsmon.service[available,TCP,10.1.0.100,80,]`,
    /// `lvsmon.backend[weight,TCP,10.1.0.100,80,,10.1.0.11,80]`, `lvsmon.vrrp[state,VI_1]`,
    /// `lvsmon.keepalived[up]`, `lvsmon.incidents[critical]`.
    Get {
        #[arg(value_name = "KEY")]
        key: String,
        #[command(flatten)]
        source: CheckSource,
    },
}

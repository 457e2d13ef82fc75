//! lvsmon's command line: `serve` (the exporter) and `dump` (one page to stdout).

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use lvsmon::config::{FileConfig, DEFAULT_PORT};
use lvsmon::http::{self, Site};
use lvsmon::ipvs::source::ProcSource;
use lvsmon::metrics::{Exporter, Format, IpvsOptions, SourceChoice};
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

mod logs_cli;

#[derive(Parser, Debug)]
#[command(
    name = "lvsmon",
    version,
    about = "Observability for Linux IPVS/LVS directors and keepalived"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve Prometheus metrics over HTTP.
    Serve(ServeArgs),
    /// Print the metrics page once to standard output (same collectors as `serve`).
    Dump(DumpArgs),
    /// Classify log files (plain or gzip, `-` for stdin) once and summarise the events.
    Analyze(logs_cli::AnalyzeArgs),
}

#[derive(Args, Debug)]
struct Common {
    /// TOML config file; every flag has a key there, and flags win.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// procfs root to read IPVS tables from (a captured tree replays a director).
    #[arg(long = "path.procfs", value_name = "DIR")]
    procfs: Option<PathBuf>,
    /// Summarise /proc/net/ip_vs_conn into ipvs_connections{proto,state} (opt-in: it can be
    /// millions of lines).
    #[arg(long = "collector.ipvs.conntable")]
    conntable: bool,
    /// Stop reading ip_vs_conn after this many lines (sets lvsmon_conntable_truncated).
    #[arg(long = "collector.ipvs.conntable-max-lines", value_name = "N")]
    conntable_max_lines: Option<u64>,
    /// Read from a real-kernel capture compiled into the binary instead of /proc.
    #[arg(long)]
    demo: bool,
    /// Where to read the IPVS service table: auto (netlink when it answers and the process
    /// has CAP_NET_ADMIN, else /proc), netlink or procfs. A --path.procfs other than /proc
    /// implies procfs.
    #[arg(long = "ipvs.source", value_name = "SOURCE")]
    ipvs_source: Option<SourceChoice>,
    /// Read IPVS inside this network namespace (/run/netns/NAME, /proc/PID/ns/net) without
    /// moving the process (entering it needs CAP_SYS_ADMIN).
    #[arg(long = "ipvs.netns", value_name = "PATH")]
    ipvs_netns: Option<PathBuf>,
    /// Write each read's netlink conversation with the kernel to FILE (for a bug report, or
    /// to replay it elsewhere with --ipvs.netlink-replay).
    #[arg(long = "ipvs.netlink-record", value_name = "FILE")]
    netlink_record: Option<PathBuf>,
    /// Answer netlink requests from a conversation recorded with --ipvs.netlink-record
    /// instead of the kernel (combine with --path.procfs for the /proc side).
    #[arg(long = "ipvs.netlink-replay", value_name = "FILE")]
    netlink_replay: Option<PathBuf>,
    /// Log level: error, warn, info, debug or trace.
    #[arg(long = "log.level", value_name = "LEVEL")]
    log_level: Option<String>,
    #[command(flatten)]
    logs: logs_cli::LogArgs,
    #[command(flatten)]
    keepalived: lvsmon::keepalived::args::KeepalivedArgs,
}

#[derive(Args, Debug)]
struct ServeArgs {
    #[command(flatten)]
    common: Common,
    /// Address to listen on (repeatable); `:PORT` means every IPv4 address.
    #[arg(long = "web.listen-address", value_name = "ADDR")]
    listen: Vec<String>,
    /// Path under which metrics are served.
    #[arg(long = "web.telemetry-path", value_name = "PATH")]
    telemetry_path: Option<String>,
}

#[derive(Args, Debug)]
struct DumpArgs {
    #[command(flatten)]
    common: Common,
    /// Write OpenMetrics instead of the Prometheus 0.0.4 text format.
    #[arg(long)]
    openmetrics: bool,
}

/// Flags merged over the config file over defaults.
struct Settings {
    source: ProcSource,
    ipvs: IpvsOptions,
    netns: Option<PathBuf>,
    log_level: String,
    logs: logs_cli::LogSetup,
    keepalived: Option<lvsmon::keepalived::KeepalivedOptions>,
}

fn settings(c: &Common, file: &FileConfig) -> Result<Settings> {
    let demo = c.demo || file.demo.unwrap_or(false);
    let procfs = c
        .procfs
        .clone()
        .or(file.path.procfs.clone())
        .unwrap_or_else(|| "/proc".into());
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
    let netns = c.ipvs_netns.clone().or(file.ipvs.netns.clone());
    if netns.is_some() && replay {
        bail!("--ipvs.netns reads a live namespace: it cannot be combined with --path.procfs or --demo");
    }
    let source = if demo {
        lvsmon::demo::source()
    } else {
        ProcSource::Dir(procfs)
    };
    let replay_file = c
        .netlink_replay
        .clone()
        .or(file.ipvs.netlink_replay.clone());
    let netlink_replay = match replay_file {
        Some(p) => {
            let text = std::fs::read_to_string(&p)
                .with_context(|| format!("cannot read {}", p.display()))?;
            let rec = lvsmon::ipvs::netlink::Recording::parse(&text)
                .with_context(|| format!("netlink recording {}", p.display()))?;
            Some(Arc::new(rec))
        }
        None if demo => Some(lvsmon::demo::netlink()?),
        None => None,
    };
    let defaults = IpvsOptions::default();
    let ipvs = IpvsOptions {
        // The demo shows every family, the connection table included.
        conntable: c.conntable || file.collector.ipvs.conntable.unwrap_or(demo),
        conntable_max_lines: c
            .conntable_max_lines
            .or(file.collector.ipvs.conntable_max_lines)
            .unwrap_or(defaults.conntable_max_lines),
        source: source_choice,
        netlink_record: c
            .netlink_record
            .clone()
            .or(file.ipvs.netlink_record.clone()),
        netlink_replay,
        ..defaults
    };
    let log_level = c
        .log_level
        .clone()
        .or(file.log.level.clone())
        .unwrap_or_else(|| "info".into());
    let keepalived = c.keepalived.options(file, demo)?;
    Ok(Settings {
        source,
        ipvs,
        netns,
        log_level,
        logs: logs_cli::LogSetup::new(&c.logs, &file.log, demo)?,
        keepalived,
    })
}

impl Settings {
    fn exporter(&self) -> Result<Exporter> {
        let mut e = match &self.netns {
            Some(ns) => Exporter::ipvs_in_netns(ns, self.ipvs.clone(), self.keepalived.clone())?,
            None => Exporter::ipvs_and_keepalived(
                self.source.clone(),
                self.ipvs.clone(),
                self.keepalived.clone(),
            ),
        };
        self.logs.register(&mut e);
        Ok(e)
    }
}

fn load_config(c: &Common) -> Result<FileConfig> {
    match &c.config {
        Some(p) => Ok(FileConfig::load(p)?),
        None => Ok(FileConfig::default()),
    }
}

fn init_logging(level: &str) -> Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_new(level)
        .with_context(|| format!("bad --log.level {level:?}"))?;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    Ok(())
}

/// Parses `HOST:PORT`, `[V6]:PORT` or `:PORT`.
fn parse_listen(addr: &str) -> Result<Vec<SocketAddr>> {
    let full = match addr.strip_prefix(':') {
        Some(port) => format!("0.0.0.0:{port}"),
        None => addr.to_string(),
    };
    let addrs: Vec<_> = full
        .to_socket_addrs()
        .with_context(|| format!("bad listen address {addr:?}"))?
        .collect();
    if addrs.is_empty() {
        bail!("listen address {addr:?} resolves to nothing");
    }
    Ok(addrs)
}

fn serve(args: ServeArgs) -> Result<()> {
    let file = load_config(&args.common)?;
    let s = settings(&args.common, &file)?;
    init_logging(&s.log_level)?;
    let listen = if !args.listen.is_empty() {
        args.listen.clone()
    } else {
        file.web
            .listen_address
            .clone()
            .unwrap_or_else(|| vec![format!(":{DEFAULT_PORT}")])
    };
    let mut addrs = Vec::new();
    for a in &listen {
        addrs.extend(parse_listen(a)?);
    }
    let path = args
        .telemetry_path
        .clone()
        .or(file.web.telemetry_path.clone())
        .unwrap_or_else(|| "/metrics".into());
    if !path.starts_with('/') || path == "/" {
        bail!("--web.telemetry-path must start with / and not be / itself (got {path:?})");
    }
    let site = Arc::new(Site {
        exporter: Mutex::new(s.exporter()?),
        telemetry_path: path.clone(),
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(4)
        .build()?;
    rt.block_on(async move {
        let listeners = http::bind_all(&addrs).await?;
        for l in listeners {
            tracing::info!(address = %l.local_addr()?, path = %path, source = ?s.source_label(), "serving metrics");
            tokio::spawn(http::serve(l, site.clone()));
        }
        let stop = lvsmon::logs::source::Stop::default();
        let log_threads = s.logs.start(&stop);
        shutdown_signal().await;
        tracing::info!("shutting down");
        stop.stop();
        for t in log_threads {
            let _ = t.join();
        }
        Ok(())
    })
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

impl Settings {
    fn source_label(&self) -> String {
        match &self.source {
            ProcSource::Dir(d) => d.display().to_string(),
            ProcSource::Embedded { label, .. } => label.to_string(),
        }
    }
}

fn dump(args: DumpArgs) -> Result<()> {
    let file = load_config(&args.common)?;
    let s = settings(&args.common, &file)?;
    init_logging(&s.log_level)?;
    let exporter = s.exporter()?;
    let format = if args.openmetrics {
        Format::OpenMetrics
    } else {
        Format::Prometheus
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut w = lvsmon::fmtio::IoWriter::new(&mut out);
    exporter.encode(format, &mut w).map_err(|_| w.error())?;
    std::io::Write::flush(&mut out)?;
    Ok(())
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(a) => serve(a),
        Command::Dump(a) => dump(a),
        Command::Analyze(a) => logs_cli::analyze(a),
    }
}

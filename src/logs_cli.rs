//! The command line of the log pipeline: `lvsmon analyze`, and the `--log.*` flags of
//! `serve`/`dump` (kept here so that main.rs only flattens them in).

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use lvsmon::config::LogConfig;
use lvsmon::logs::analyze::Analyzer;
use lvsmon::logs::frame::YearClock;
use lvsmon::logs::rules::Rules;
use lvsmon::logs::source::file::{self, FileOptions, Tailer};
use lvsmon::logs::source::journal::{self, JournalOptions};
use lvsmon::logs::source::{kmsg, Pipeline, StateStore, Stop};
use lvsmon::logs::stats::LogStats;
use lvsmon::metrics::logs::LogCollector;
use lvsmon::metrics::Exporter;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Longest line kept whole; longer lines are cut and counted.
pub const DEFAULT_MAX_LINE: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Args, Debug)]
pub struct AnalyzeArgs {
    /// Output: a readable summary (text) or one JSON document.
    #[arg(long, value_enum, default_value = "text")]
    format: OutputFormat,
    /// Year for RFC 3164 timestamps, which carry none (default: inferred from today).
    #[arg(long, value_name = "N")]
    year: Option<i32>,
    /// Extra rules (TOML) that extend or override the built-in library.
    #[arg(long = "log.rules", value_name = "FILE")]
    rules: Option<PathBuf>,
    /// Lines longer than this many bytes are cut (and counted as truncated).
    #[arg(long = "log.max-line-bytes", value_name = "N", default_value_t = DEFAULT_MAX_LINE)]
    max_line: usize,
    /// Files to read (plain or gzip); `-` is standard input.
    #[arg(value_name = "FILE", required = true)]
    files: Vec<PathBuf>,
}

pub fn analyze(args: AnalyzeArgs) -> Result<()> {
    let rules = Rules::load(args.rules.as_deref())?;
    let clock = match args.year {
        Some(y) => YearClock::fixed(y),
        None => YearClock::now(),
    };
    let mut a = Analyzer::new(&rules, clock, args.max_line);
    for f in &args.files {
        a.read_path(f)
            .with_context(|| format!("analyze {}", f.display()))?;
    }
    let s = a.summary();
    let text = match args.format {
        OutputFormat::Json => format!("{}\n", s.to_json()),
        OutputFormat::Text => s.to_text(),
    };
    // A reader that went away (`lvsmon analyze … | head`) is not an error, and print!
    // would panic on it.
    let mut out = std::io::stdout().lock();
    match std::io::Write::write_all(&mut out, text.as_bytes())
        .and_then(|_| std::io::Write::flush(&mut out))
    {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r.context("writing the summary"),
    }
}

/// Default cap on `lvsmon_log_events_total` series.
pub const DEFAULT_MAX_SERIES: usize = 500;

/// The log pipeline's flags of `serve` and `dump`.
#[derive(Args, Debug, Default)]
pub struct LogArgs {
    /// Follow this log file (repeatable; `*` and `?` allowed in the file name).
    #[arg(long = "log.file", value_name = "PATH")]
    file: Vec<PathBuf>,
    /// Keep file offsets and the journal cursor here, so a restart reads each line once.
    #[arg(long = "log.state-dir", value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// Read files seen for the first time from their start (default: from their end).
    #[arg(long = "log.from-beginning")]
    from_beginning: bool,
    /// Follow the systemd journal (keepalived's identifiers and the kernel) via journalctl.
    #[arg(long = "log.journal")]
    journal: bool,
    /// Read the kernel ring from /dev/kmsg.
    #[arg(long = "log.kmsg")]
    kmsg: bool,
    /// Extra rules (TOML) that extend or override the built-in library.
    #[arg(long = "log.rules", value_name = "FILE")]
    rules: Option<PathBuf>,
    /// Lines longer than this many bytes are cut (and counted).
    #[arg(long = "log.max-line-bytes", value_name = "N")]
    max_line_bytes: Option<usize>,
    /// Most `lvsmon_log_events_total` series; events beyond go to an `overflow` series.
    #[arg(long = "log.max-series", value_name = "N")]
    max_series: Option<usize>,
}

/// The resolved log pipeline: its counters, and what to start under `serve`.
pub struct LogSetup {
    stats: Option<Arc<LogStats>>,
    rules: Arc<Rules>,
    files: Vec<PathBuf>,
    state: Option<StateStore>,
    from_beginning: bool,
    journal: bool,
    kmsg: bool,
    max_line: usize,
}

impl LogSetup {
    /// Flags over the `[log]` table; under `demo` the embedded capture is replayed once.
    pub fn new(a: &LogArgs, f: &LogConfig, demo: bool) -> Result<LogSetup> {
        let rules_path = a.rules.clone().or(f.rules.clone());
        let rules = Arc::new(Rules::load(rules_path.as_deref())?);
        let files = if a.file.is_empty() {
            f.file.clone().unwrap_or_default()
        } else {
            a.file.clone()
        };
        let journal = a.journal || f.journal.unwrap_or(false);
        let kmsg = a.kmsg || f.kmsg.unwrap_or(false);
        let any = demo || journal || kmsg || !files.is_empty();
        let max_series = a.max_series.or(f.max_series).unwrap_or(DEFAULT_MAX_SERIES);
        let stats = any.then(|| Arc::new(LogStats::new(max_series)));
        if let (true, Some(s)) = (demo, &stats) {
            let p = Pipeline::new(rules.clone(), s.clone(), lvsmon::logs::demo::SOURCE);
            lvsmon::logs::demo::replay(p).context("replaying the demo log capture")?;
        }
        Ok(LogSetup {
            stats,
            rules,
            files,
            state: a
                .state_dir
                .clone()
                .or(f.state_dir.clone())
                .map(|d| StateStore::new(&d)),
            from_beginning: a.from_beginning || f.from_beginning.unwrap_or(false),
            journal,
            kmsg,
            max_line: a
                .max_line_bytes
                .or(f.max_line_bytes)
                .unwrap_or(DEFAULT_MAX_LINE),
        })
    }

    /// Adds the log collector when any log source (or the demo) is configured.
    pub fn register(&self, e: &mut Exporter) {
        if let Some(s) = &self.stats {
            e.add_collector(Box::new(LogCollector(s.clone())));
        }
    }

    /// Starts one thread per source; they run until `stop` and save their positions.
    pub fn start(&self, stop: &Stop) -> Vec<std::thread::JoinHandle<()>> {
        let Some(stats) = &self.stats else {
            return Vec::new();
        };
        let mut threads = Vec::new();
        let opts = FileOptions {
            from_beginning: self.from_beginning,
            max_line: self.max_line,
            ..FileOptions::default()
        };
        for pattern in &self.files {
            let (rules, stats, state, opts2) = (
                self.rules.clone(),
                stats.clone(),
                self.state.clone(),
                opts.clone(),
            );
            let make = move |p: &Path| {
                let pipeline = Pipeline::new(rules.clone(), stats.clone(), p.display().to_string());
                Tailer::new(p, pipeline, state.clone(), opts2.clone())
            };
            let (pattern, opts, stop) = (pattern.clone(), opts.clone(), stop.clone());
            threads.push(spawn("log-file", move || {
                file::run(pattern, make, opts, stop)
            }));
        }
        if self.kmsg {
            let p = Pipeline::new(self.rules.clone(), stats.clone(), "kmsg");
            let (from, stop) = (self.from_beginning, stop.clone());
            threads.push(spawn("log-kmsg", move || {
                kmsg::run(Path::new("/dev/kmsg"), p, from, stop)
            }));
        }
        if self.journal {
            let p = Pipeline::new(self.rules.clone(), stats.clone(), "journal");
            let o = JournalOptions {
                journalctl: "journalctl".into(),
                from_beginning: self.from_beginning,
                max_line: self.max_line,
            };
            let (state, stop) = (self.state.clone(), stop.clone());
            threads.push(spawn("log-journal", move || {
                journal::run(o, p, state, stop)
            }));
        }
        threads.into_iter().flatten().collect()
    }
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> Option<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(f)
        .map_err(|e| tracing::error!("cannot start {name}: {e}"))
        .ok()
}

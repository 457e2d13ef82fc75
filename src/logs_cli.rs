//! The command line of the log pipeline: `lvsmon analyze`, and the `--log.*` flags of
//! `serve`/`dump` (kept here so that main.rs only flattens them in).

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use lvsmon::logs::analyze::Analyzer;
use lvsmon::logs::frame::YearClock;
use lvsmon::logs::rules::Rules;
use std::path::PathBuf;

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
    match args.format {
        OutputFormat::Json => println!("{}", s.to_json()),
        OutputFormat::Text => print!("{}", s.to_text()),
    }
    Ok(())
}

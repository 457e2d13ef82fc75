//! The log pipeline under `serve`: the shared pipeline built from the resolved settings, and
//! one thread per source, each feeding it through its own [`Pipeline`].

use super::settings::LogSettings;
use crate::incidents::Live;
use crate::logs::bus::Recent;
use crate::logs::rules::Rules;
use crate::logs::source::file::{self, FileOptions, Tailer};
use crate::logs::source::journal::{self, JournalOptions};
use crate::logs::source::{kmsg, LogPipeline, Pipeline, StateStore, Stop};
use crate::logs::stats::LogStats;
use anyhow::{Context, Result};
use std::path::Path;
use std::sync::Arc;

/// How many events `/api/v1/events` keeps.
pub const RECENT_EVENTS: usize = 500;

/// The running log pipeline: what the application holds, and how to start its sources.
pub struct LogSetup {
    pub pipeline: Arc<LogPipeline>,
    pub recent: Arc<Recent>,
    settings: LogSettings,
}

impl LogSetup {
    /// The pipeline when any source (or the demo) is configured; the demo's capture is
    /// replayed into it at once, after `incidents` (when given) subscribed to it.
    pub fn new(
        s: &LogSettings,
        incidents: Option<&Arc<Live>>,
        demo: bool,
    ) -> Result<Option<LogSetup>> {
        if !(demo || s.any_source()) {
            // Compiling the rules is most of a start's work and of the code it leaves
            // resident (regex and Aho-Corasick builders: callgrind, /proc/PID/pagemap):
            // without a source only a rules file given is compiled, so a typo in it still
            // stops the start.
            if s.rules.is_some() {
                Rules::load(s.rules.as_deref())?;
            }
            return Ok(None);
        }
        let rules = Arc::new(Rules::load(s.rules.as_deref())?);
        let clock = super::clock(s.timezone.as_deref(), None)?;
        let stats = Arc::new(LogStats::new(s.max_series));
        let pipeline = Arc::new(LogPipeline::new(rules, stats).with_clock(clock));
        let recent = Recent::start(&pipeline.bus, RECENT_EVENTS)?;
        // Subscribed before the demo replays, so its events reach the detectors.
        if let Some(live) = incidents {
            live.subscribe(&pipeline.bus)?;
        }
        if demo {
            let p = Pipeline::for_source(pipeline.clone(), crate::demo::logs::SOURCE);
            crate::demo::logs::replay(p).context("replaying the demo log capture")?;
        }
        Ok(Some(LogSetup {
            pipeline,
            recent,
            settings: s.clone(),
        }))
    }

    /// Starts one thread per source; they run until `stop` and save their positions.
    pub fn start(&self, stop: &Stop) -> Vec<std::thread::JoinHandle<()>> {
        let s = &self.settings;
        let state = s.state_dir.as_deref().map(StateStore::new);
        let mut threads = Vec::new();
        let opts = FileOptions {
            from_beginning: s.from_beginning,
            max_line: s.max_line,
            ..FileOptions::default()
        };
        for pattern in &s.files {
            let (shared, state, opts2) = (self.pipeline.clone(), state.clone(), opts.clone());
            let make = move |p: &Path| {
                let pipeline = Pipeline::for_source(shared.clone(), &p.display().to_string());
                Tailer::new(p, pipeline, state.clone(), opts2.clone())
            };
            let (pattern, opts, stop) = (pattern.clone(), opts.clone(), stop.clone());
            threads.push(spawn("log-file", move || {
                file::run(pattern, make, opts, stop)
            }));
        }
        if s.kmsg {
            let p =
                Pipeline::for_source(self.pipeline.clone(), "kmsg").with_boot(kmsg::boot_time());
            let (from, stop, state) = (s.from_beginning, stop.clone(), state.clone());
            threads.push(spawn("log-kmsg", move || {
                kmsg::run(Path::new("/dev/kmsg"), p, from, state, stop)
            }));
        }
        if s.journal {
            let p = Pipeline::for_source(self.pipeline.clone(), "journal");
            let o = JournalOptions {
                journalctl: "journalctl".into(),
                from_beginning: s.from_beginning,
                max_line: s.max_line,
            };
            let stop = stop.clone();
            threads.push(spawn("log-journal", move || {
                journal::run(o, p, state, stop)
            }));
        }
        threads.into_iter().flatten().collect()
    }
}

/// This director's name, for lines that name no host (kmsg, keepalived's console).
/// This director's name, for what names none.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> Option<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(f)
        .map_err(|e| tracing::error!("cannot start {name}: {e}"))
        .ok()
}

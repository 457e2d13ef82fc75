//! keepalived's state with its refresh policy: refresh the dumps at most once per
//! `min_interval` however many consumers ask, keep the last complete state when a refresh
//! fails, and hand out a [`Snapshot`]. The metrics layer encodes it; `/api/v1/state` serves
//! it as JSON.

use super::fifo::{FifoError, FifoSink, Follower};
use super::model::KeepalivedState;
use super::notices::{FifoStatus, Notices};
use super::signal::{DumpSource, Reading, Signums, SourceError};
use crate::health::{Health, OnceLog};
use crate::statedir::StateStore;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

const NAME: &str = "keepalived";
/// The notify FIFOs' health (up while every FIFO is open).
const NOTIFY: &str = "keepalived_notify";

/// Where the collector's state comes from.
#[derive(Debug, Clone)]
pub enum Origin {
    /// A running keepalived (or, passive, the dumps something else asks it for).
    Live(DumpSource),
    /// A fixed reading (`--demo`), its age counted from when lvsmon started.
    Fixed(KeepalivedState),
}

/// The reader's settings.
#[derive(Debug, Clone)]
pub struct KeepalivedOptions {
    pub origin: Origin,
    /// No refresh (and so no signal) more often than this, however many scrapers ask.
    pub min_interval: Duration,
    /// keepalived's notify FIFOs to follow (`--keepalived.notify-fifo`).
    pub notify_fifos: Vec<PathBuf>,
    /// Where the FIFOs' lines are kept across restarts (`--log.state-dir`).
    pub state: Option<StateStore>,
}

/// The state dir's key for the notify FIFOs' lines.
const NOTICES_KEY: &str = "keepalived-notices";
/// Lines are saved at most this often while they keep coming (and at the next snapshot).
const SAVE_EVERY: Duration = Duration::from_secs(1);

/// What a scrape or `/api/v1/state` sees.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Snapshot {
    /// keepalived answered and a fresh dump was read at the last refresh.
    pub up: bool,
    /// The last refresh failed for a reason other than keepalived being absent.
    pub collector_error: Option<String>,
    /// Seconds since the state's JSON dump was written (absent without a state).
    pub dump_age_seconds: Option<f64>,
    /// How long the last refresh took (signal to parsed state).
    pub dump_duration_seconds: f64,
    /// The notify FIFOs followed, each with its line counts.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notify_fifos: Vec<FifoStatus>,
    #[serde(flatten)]
    pub state: KeepalivedState,
}

#[derive(Debug, Default)]
struct Cache {
    last_refresh: Option<Instant>,
    up: bool,
    error: Option<String>,
    good: Option<Reading>,
    duration: Duration,
    /// A host without keepalived says so once.
    absent: OnceLog,
}

/// keepalived's state with its refresh policy; shared by the collector and the HTTP API.
#[derive(Debug)]
pub struct Keepalived {
    opts: KeepalivedOptions,
    health: Arc<Health>,
    signums: Signums,
    cache: Mutex<Cache>,
    /// Kept apart from `cache` so a FIFO line never waits for a refresh's signal.
    notices: Mutex<Notices>,
    /// When the notices were last saved.
    saved_at: Mutex<Instant>,
}

impl Keepalived {
    pub fn new(opts: KeepalivedOptions, health: Arc<Health>) -> Keepalived {
        let cache = match &opts.origin {
            Origin::Fixed(state) => Cache {
                up: true,
                good: Some(Reading {
                    state: state.clone(),
                    dumped_at: SystemTime::now(),
                }),
                ..Cache::default()
            },
            Origin::Live(_) => Cache::default(),
        };
        let mut notices = Notices::new(&opts.notify_fifos);
        if let (Some(store), Origin::Live(src)) = (&opts.state, &opts.origin) {
            if let Some(saved) = store.load(NOTICES_KEY) {
                let n = notices.restore(&saved, super::signal::run_of(&src.pid_file).as_deref());
                tracing::info!("{n} notify FIFO lines of the running keepalived taken back");
            }
        }
        Keepalived {
            opts,
            health,
            signums: Signums::default(),
            cache: Mutex::new(cache),
            notices: Mutex::new(notices),
            saved_at: Mutex::new(Instant::now()),
        }
    }

    /// keepalived's current run (None for a fixed reading or without a live pid).
    fn run(&self) -> Option<String> {
        match &self.opts.origin {
            Origin::Live(src) => super::signal::run_of(&src.pid_file),
            Origin::Fixed(_) => None,
        }
    }

    /// Saves the notices if lines came since the last save, and `force` or a second passed.
    fn save_notices(&self, notices: &mut Notices, force: bool) {
        let Some(store) = &self.opts.state else {
            return;
        };
        let mut at = self.saved_at.lock().unwrap_or_else(|p| p.into_inner());
        if !notices.dirty || !(force || at.elapsed() >= SAVE_EVERY) {
            return;
        }
        if let Some(text) = notices.saved() {
            if let Err(e) = store.save(NOTICES_KEY, &text) {
                tracing::warn!("{e}");
            }
        }
        notices.dirty = false;
        *at = Instant::now();
    }

    /// Starts one thread per notify FIFO (`serve` only: a check must not create FIFOs).
    pub fn follow_notify_fifos(self: &Arc<Self>) -> std::io::Result<Vec<Follower>> {
        let sink: Arc<dyn FifoSink> = self.clone();
        self.opts
            .notify_fifos
            .iter()
            .map(|p| super::fifo::follow(p.clone(), sink.clone()))
            .collect()
    }

    fn notices(&self) -> std::sync::MutexGuard<'_, Notices> {
        self.notices.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Refreshes if the last refresh is older than `min_interval`, then returns the state.
    pub fn snapshot(&self) -> Snapshot {
        let mut c = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        let refreshed = match &self.opts.origin {
            Origin::Live(src) => {
                let due = c
                    .last_refresh
                    .is_none_or(|t| t.elapsed() >= self.opts.min_interval);
                if due {
                    self.refresh(src, &mut c);
                }
                due
            }
            Origin::Fixed(_) => true,
        };
        // Health counts collections: a scrape answered from the cache is not one.
        if refreshed {
            let result = c.error.clone().map_or(Ok(()), Err);
            self.health.record(NAME, c.duration, result);
        }
        let mut state = c.good.as_ref().map(|g| g.state.clone()).unwrap_or_default();
        let mut notices = self.notices();
        // A restarted keepalived's own lines replace the old run's; until it speaks, what
        // the old run said no longer holds. Looked at when the reader refreshes (its pid
        // file is read then anyway), not at every scrape the cache answers.
        if c.up && refreshed {
            notices.same_run(self.run().as_deref());
        }
        self.save_notices(&mut notices, true);
        // keepalived absent (not a failed refresh): nothing it said before still holds.
        if c.up || c.error.is_some() {
            notices.overlay(&mut state, c.good.as_ref().map(|g| g.dumped_at));
        }
        Snapshot {
            up: c.up,
            collector_error: c.error.clone(),
            dump_age_seconds: c.good.as_ref().map(|g| age(g.dumped_at)),
            dump_duration_seconds: c.duration.as_secs_f64(),
            notify_fifos: notices.fifos(),
            state,
        }
    }

    fn refresh(&self, src: &DumpSource, c: &mut Cache) {
        let t0 = Instant::now();
        let result = src.read(&self.signums);
        c.duration = t0.elapsed();
        c.last_refresh = Some(Instant::now());
        match result {
            Ok(r) => {
                c.up = true;
                c.error = None;
                c.good = Some(r);
                c.absent.ok(NAME, "keepalived answers again");
            }
            // Passive, keepalived running, no dump: the notify FIFOs are the state's source.
            Err(SourceError::NoDump { .. }) if !self.opts.notify_fifos.is_empty() => {
                c.up = true;
                c.error = None;
                c.good = None;
                c.absent.ok(NAME, "keepalived answers again");
            }
            // No keepalived: nothing to keep, and no failure of the collector.
            Err(e) if e.is_absent() => {
                c.absent.absent(NAME, &format!("{e}: keepalived_up 0"));
                c.up = false;
                c.error = None;
                c.good = None;
            }
            // A dump that did not arrive or did not parse: keep serving the last good one.
            Err(e) => {
                c.up = false;
                // Every SourceError names its cause (and the file) in its message.
                c.error = Some(e.to_string());
            }
        }
    }
}

impl FifoSink for Keepalived {
    fn line(&self, path: &Path, line: &str) {
        let run = self.run();
        let mut n = self.notices();
        if !n.line(path, line, SystemTime::now(), run.as_deref()) {
            tracing::debug!(fifo = %path.display(), "not a keepalived notify line: {line:?}");
        }
        self.save_notices(&mut n, false);
    }

    fn status(&self, path: &Path, result: Result<(), &FifoError>) {
        let mut n = self.notices();
        n.status(path, result.err().map(|e| e.to_string()));
        let all = n.all_open();
        drop(n);
        match result {
            Ok(()) => tracing::info!(fifo = %path.display(), "following keepalived's notify FIFO"),
            Err(e) => self
                .health
                .record(NOTIFY, Duration::ZERO, Err(e.to_string())),
        }
        if all {
            self.health.record(NOTIFY, Duration::ZERO, Ok(()));
        }
    }

    fn overlong(&self, path: &Path) {
        self.notices().bad(path);
    }
}

fn age(t: SystemTime) -> f64 {
    SystemTime::now()
        .duration_since(t)
        .unwrap_or_default()
        .as_secs_f64()
}

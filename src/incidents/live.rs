//! The engine under `serve`: a consumer of the log pipeline's bus (a bounded queue of its
//! own, so a slow detector never stalls a tailer) that runs the detectors in a thread, and
//! of the readers' snapshots (a look at the kernel's table and keepalived every few
//! seconds, in another thread); it answers, at any time, what is open and what closed.
//! Quiet windows close by the wall clock too, so a message that stops repeating ends its
//! incident without another line.
//!
//! History is bounded: the newest [`HISTORY`] closed incidents are kept.

use super::engine::{Engine, Saved, Seen};
use super::observe::Observation;
use super::{Incident, Settings};
use crate::health::OnceLog;
use crate::ipvs::IpvsReader;
use crate::keepalived::Keepalived;
use crate::logs::bus::EventBus;
use crate::logs::event::Event;
use crate::logs::source::StateStore;
use std::sync::mpsc::RecvTimeoutError;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Closed incidents kept for `/api/v1/incidents?state=all`.
pub const HISTORY: usize = 1000;

/// How often quiet windows are checked against the clock when no event comes, and open
/// incidents saved when they changed.
const TICK: Duration = Duration::from_secs(5);

/// The state directory's record of open incidents.
const STATE_KEY: &str = "incidents";

/// The live engine and what it found.
#[derive(Debug)]
pub struct Live {
    engine: Mutex<Engine>,
    /// This director's name.
    host: String,
    /// Where open incidents are saved (`--log.state-dir`), the version last saved, and the
    /// one-log rule for a save that fails.
    store: Option<StateStore>,
    saved: Mutex<(u64, OnceLog)>,
    /// Incidents opened since start, by (kind, severity), for `lvsmon_incidents_total`.
    opened: Mutex<std::collections::BTreeMap<(&'static str, &'static str), u64>>,
    /// Woken when an incident opens or closes (the Alertmanager pusher waits on it; a
    /// message repeating every second does not make it copy the engine each time).
    change: tokio::sync::Notify,
}

impl Live {
    /// The engine, with the open incidents saved in `store` by an earlier run open again.
    /// `host` names this director for lines that name none (keepalived's console, kmsg)
    /// and for what the looks at it find.
    pub fn new(settings: Settings, host: String, store: Option<StateStore>) -> Arc<Live> {
        let mut engine = Engine::new(settings).with_history(HISTORY).one_director();
        if let Some(text) = store.as_ref().and_then(|s| s.load(STATE_KEY)) {
            match serde_json::from_str::<Vec<Saved>>(&text) {
                Ok(saved) => engine.restore(saved),
                Err(e) => tracing::warn!("saved incidents unreadable, starting without them: {e}"),
            }
        }
        let version = engine.version();
        Arc::new(Live {
            engine: Mutex::new(engine),
            host,
            store,
            saved: Mutex::new((version, OnceLog::default())),
            opened: Mutex::new(Default::default()),
            change: tokio::sync::Notify::new(),
        })
    }

    /// Subscribes to `bus` and runs the detectors in a thread that ends with the bus; it
    /// also closes quiet incidents by the clock and saves what is open.
    pub fn subscribe(self: &Arc<Live>, bus: &EventBus) -> std::io::Result<()> {
        let rx = bus.subscribe("incidents", 4096);
        let l = self.clone();
        std::thread::Builder::new()
            .name("incidents".into())
            .spawn(move || loop {
                match rx.recv_timeout(TICK) {
                    Ok(ev) => l.event(&ev),
                    Err(RecvTimeoutError::Timeout) => {
                        l.tick();
                        l.save();
                    }
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            })?;
        Ok(())
    }

    /// Looks at the director every `observe-interval` seconds (the kernel's table and
    /// keepalived, read as a scrape reads them) and runs the snapshot detectors, in a
    /// thread that ends when the engine is dropped. Without a log source this thread also
    /// saves what is open.
    pub fn watch(
        self: &Arc<Live>,
        ipvs: Arc<IpvsReader>,
        keepalived: Option<Arc<Keepalived>>,
    ) -> std::io::Result<()> {
        let every = self.engine().settings().observe_interval;
        if every == 0 {
            return Ok(());
        }
        let weak = Arc::downgrade(self);
        std::thread::Builder::new()
            .name("incidents-watch".into())
            .spawn(move || {
                while let Some(l) = weak.upgrade() {
                    // A read of its own, dropped after the look: kept between looks (as
                    // it once was, for the checks' API) a 100,000-backend table held
                    // 50 MB for nothing. The API keeps its own shared read, which goes
                    // once stale.
                    let table = ipvs.read();
                    let ka = keepalived.as_ref().map(|k| k.snapshot());
                    let obs = Observation::of(&table, ka.as_ref(), now_micros());
                    drop(table);
                    ipvs.forget_older_than(Duration::from_secs(every));
                    l.observe(&obs);
                    drop(obs);
                    l.save();
                    drop(l);
                    release_free_memory();
                    std::thread::sleep(Duration::from_secs(every));
                }
            })?;
        Ok(())
    }

    /// One look at the director.
    pub fn observe(&self, obs: &Observation) {
        let (new, changed) = {
            let mut e = self.engine();
            let v = e.shifts();
            (e.observe_counting(&self.host, obs), e.shifts() != v)
        };
        self.count(new, changed);
    }

    /// Resolves at the next change of what is open or closed (or at once if one came since
    /// the last wait).
    pub async fn changed(&self) {
        self.change.notified().await;
    }

    fn engine(&self) -> std::sync::MutexGuard<'_, Engine> {
        self.engine.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// One event from the bus.
    pub fn event(&self, ev: &Event) {
        let host = ev.host.as_deref().unwrap_or(&self.host);
        let (new, changed) = {
            let mut e = self.engine();
            let v = e.shifts();
            (e.seen_counting(Seen::of_event(ev), host), e.shifts() != v)
        };
        self.count(new, changed);
    }

    fn count(&self, new: Vec<(&'static str, &'static str)>, changed: bool) {
        if changed {
            self.change.notify_one();
        }
        if new.is_empty() {
            return;
        }
        let mut opened = self.opened.lock().unwrap_or_else(|p| p.into_inner());
        for (kind, severity) in new {
            *opened.entry((kind, severity)).or_insert(0) += 1;
        }
    }

    /// Closes what has been quiet long enough by now.
    pub fn tick(&self) {
        let changed = {
            let mut e = self.engine();
            let v = e.shifts();
            e.close_quiet_all(now_micros());
            e.shifts() != v
        };
        self.count(Vec::new(), changed);
    }

    /// Writes the open incidents to the state directory if they changed since the last
    /// write (at every tick, and by `serve` when it stops).
    pub fn save(&self) {
        let Some(store) = &self.store else { return };
        let (version, saved) = {
            let e = self.engine();
            (e.version(), e.save())
        };
        let mut last = self.saved.lock().unwrap_or_else(|p| p.into_inner());
        if last.0 == version {
            return;
        }
        let json = serde_json::to_string(&saved).unwrap_or_default();
        match store.save(STATE_KEY, &json) {
            Ok(()) => {
                last.0 = version;
                last.1.ok("incidents", "incidents saved again");
            }
            Err(e) => {
                last.1.failed("incidents", &e.to_string());
            }
        }
    }

    /// Every incident known, open and closed, oldest first.
    pub fn incidents(&self) -> Vec<Incident> {
        self.engine().incidents()
    }

    /// Incidents opened since start, by kind and severity.
    pub fn opened(&self) -> Vec<((&'static str, &'static str), u64)> {
        let o = self.opened.lock().unwrap_or_else(|p| p.into_inner());
        o.iter().map(|(k, v)| (*k, *v)).collect()
    }
}

/// The wall clock in µs since the epoch, as event times are.
fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

/// Gives the memory freed after a look back to the system. A look at a large director
/// allocates and frees tens of MB in small pieces; glibc keeps freed pieces in the middle
/// of its heaps, so without this the idle RSS of a 100,000-backend director stayed at
/// 40 MB of free heap (measured: the live heap at rest was 2 MB, massif).
fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists; it takes no pointer
    // from us and is safe to call at any time from any thread.
    unsafe {
        libc::malloc_trim(0);
    }
}

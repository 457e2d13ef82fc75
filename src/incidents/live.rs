//! The engine under `serve`: a consumer of the log pipeline's bus (a bounded queue of its
//! own, so a slow detector never stalls a tailer) that runs the detectors in a thread and
//! answers, at any time, what is open and what closed. Quiet windows close by the wall
//! clock too, so a message that stops repeating ends its incident without another line.
//!
//! History is bounded: the newest [`HISTORY`] closed incidents are kept.

use super::engine::{Engine, Saved, Seen};
use super::{Incident, Settings};
use crate::health::OnceLog;
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
    /// Where open incidents are saved (`--log.state-dir`), the version last saved, and the
    /// one-log rule for a save that fails.
    store: Option<StateStore>,
    saved: Mutex<(u64, OnceLog)>,
    /// Incidents opened since start, by (kind, severity), for `lvsmon_incidents_total`.
    opened: Mutex<std::collections::BTreeMap<(&'static str, &'static str), u64>>,
}

impl Live {
    /// Subscribes to `bus` and runs the detectors in a thread that ends with the bus.
    /// `host` names this director for lines that name none (keepalived's console, kmsg).
    /// Open incidents saved in `store` by an earlier run are open again.
    pub fn start(
        bus: &EventBus,
        settings: Settings,
        host: String,
        store: Option<StateStore>,
    ) -> std::io::Result<Arc<Live>> {
        let rx = bus.subscribe("incidents", 4096);
        let mut engine = Engine::new(settings).with_history(HISTORY);
        if let Some(text) = store.as_ref().and_then(|s| s.load(STATE_KEY)) {
            match serde_json::from_str::<Vec<Saved>>(&text) {
                Ok(saved) => engine.restore(saved),
                Err(e) => tracing::warn!("saved incidents unreadable, starting without them: {e}"),
            }
        }
        let version = engine.version();
        let live = Arc::new(Live {
            engine: Mutex::new(engine),
            store,
            saved: Mutex::new((version, OnceLog::default())),
            opened: Mutex::new(Default::default()),
        });
        let l = live.clone();
        std::thread::Builder::new()
            .name("incidents".into())
            .spawn(move || loop {
                match rx.recv_timeout(TICK) {
                    Ok(ev) => l.event(&ev, &host),
                    Err(RecvTimeoutError::Timeout) => {
                        l.tick();
                        l.save();
                    }
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            })?;
        Ok(live)
    }

    fn engine(&self) -> std::sync::MutexGuard<'_, Engine> {
        self.engine.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// One event from the bus.
    pub fn event(&self, ev: &Event, default_host: &str) {
        let host = ev.host.as_deref().unwrap_or(default_host);
        let new = self.engine().seen_counting(Seen::of_event(ev), host);
        if !new.is_empty() {
            let mut opened = self.opened.lock().unwrap_or_else(|p| p.into_inner());
            for (kind, severity) in new {
                *opened.entry((kind, severity)).or_insert(0) += 1;
            }
        }
    }

    /// Closes what has been quiet long enough by now.
    pub fn tick(&self) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
        self.engine().close_quiet_all(now);
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

//! How events reach the consumers that keep them (the recent-events buffer behind
//! `/api/v1/events`, the incident engine): each subscriber has its own bounded queue. A
//! slow consumer never stalls the tailers — when its queue is full the event is dropped for
//! that consumer alone and counted (`lvsmon_log_events_dropped_total{consumer}`).
//!
//! The event counters are not a queued subscriber: counting is a map increment, done in
//! line by the pipeline's sink, and must never lose an event.

use super::event::Event;
use super::pipeline::EventRef;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, RwLock};

#[derive(Debug)]
struct Subscriber {
    name: &'static str,
    tx: SyncSender<Arc<Event>>,
    delivered: AtomicU64,
    dropped: AtomicU64,
}

/// The subscribers of one log pipeline.
#[derive(Debug, Default)]
pub struct EventBus {
    subs: RwLock<Vec<Subscriber>>,
}

/// One consumer's figures: events queued for it, and events dropped because its queue was
/// full (or it had gone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerStats {
    pub name: &'static str,
    pub delivered: u64,
    pub dropped: u64,
}

impl EventBus {
    /// A new consumer with a queue of `capacity` events.
    pub fn subscribe(&self, name: &'static str, capacity: usize) -> Receiver<Arc<Event>> {
        let (tx, rx) = sync_channel(capacity.max(1));
        self.subs
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .push(Subscriber {
                name,
                tx,
                delivered: AtomicU64::new(0),
                dropped: AtomicU64::new(0),
            });
        rx
    }

    /// Whether anyone listens (the owned event is built only then).
    pub fn has_subscribers(&self) -> bool {
        !self
            .subs
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .is_empty()
    }

    /// Offers the event to every consumer without ever waiting.
    pub fn publish(&self, ev: &EventRef<'_>) {
        let subs = self.subs.read().unwrap_or_else(|p| p.into_inner());
        if subs.is_empty() {
            return;
        }
        let owned = Arc::new(ev.to_event());
        for s in subs.iter() {
            match s.tx.try_send(owned.clone()) {
                Ok(()) => s.delivered.fetch_add(1, Ordering::Relaxed),
                Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                    s.dropped.fetch_add(1, Ordering::Relaxed)
                }
            };
        }
    }

    pub fn stats(&self) -> Vec<ConsumerStats> {
        let subs = self.subs.read().unwrap_or_else(|p| p.into_inner());
        subs.iter()
            .map(|s| ConsumerStats {
                name: s.name,
                delivered: s.delivered.load(Ordering::Relaxed),
                dropped: s.dropped.load(Ordering::Relaxed),
            })
            .collect()
    }
}

/// The last events, newest last: a consumer of the bus, read by `/api/v1/events`.
#[derive(Debug)]
pub struct Recent {
    events: Mutex<VecDeque<Arc<Event>>>,
    capacity: usize,
}

impl Recent {
    /// Subscribes to `bus` and keeps the last `capacity` events, from a thread of its own
    /// that ends when the bus goes away.
    pub fn start(bus: &EventBus, capacity: usize) -> std::io::Result<Arc<Recent>> {
        let rx = bus.subscribe("recent", 1024);
        let recent = Arc::new(Recent {
            events: Mutex::new(VecDeque::with_capacity(capacity)),
            capacity,
        });
        let r = recent.clone();
        std::thread::Builder::new()
            .name("log-recent".into())
            .spawn(move || {
                for ev in rx {
                    r.push(ev);
                }
            })?;
        Ok(recent)
    }

    fn push(&self, ev: Arc<Event>) {
        let mut q = self.events.lock().unwrap_or_else(|p| p.into_inner());
        if q.len() == self.capacity {
            q.pop_front();
        }
        q.push_back(ev);
    }

    /// A copy of the buffer, oldest first.
    pub fn list(&self) -> Vec<Arc<Event>> {
        let q = self.events.lock().unwrap_or_else(|p| p.into_inner());
        q.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::frame::YearClock;
    use crate::logs::pipeline::{Classifier, Sink};
    use crate::logs::rules::Rules;

    struct Publish<'a>(&'a EventBus);
    impl Sink for Publish<'_> {
        fn line(&mut self, _: bool, _: bool) {}
        fn event(&mut self, ev: &EventRef<'_>) {
            self.0.publish(ev);
        }
    }

    #[test]
    fn a_consumer_that_does_not_read_loses_events_and_never_blocks_the_others() {
        let bus = EventBus::default();
        let stuck = bus.subscribe("stuck", 2);
        let live = bus.subscribe("live", 100);
        let rules = Arc::new(Rules::builtin().unwrap());
        let mut c = Classifier::new(rules, YearClock::fixed(2026), "f");
        for i in 0..10 {
            let line = format!(
                "Dec  2 10:00:0{i} lb1 Keepalived_healthcheckers[3]: \
                 Removing service [10.2.0.12]:tcp:80 from VS [10.1.0.100]:tcp:80"
            );
            c.line(line.as_bytes(), false, &mut Publish(&bus));
        }
        let stats = bus.stats();
        let by = |n: &str| stats.iter().find(|s| s.name == n).cloned().unwrap();
        assert_eq!((by("stuck").delivered, by("stuck").dropped), (2, 8));
        assert_eq!((by("live").delivered, by("live").dropped), (10, 0));
        let got: Vec<Arc<Event>> = live.try_iter().collect();
        assert_eq!(got.len(), 10);
        let e = &got[9];
        assert_eq!(&*e.kind, "real_server_down");
        assert_eq!(e.host.as_deref(), Some("lb1"));
        assert_eq!(
            e.virtual_service.map(|v| v.to_string()).as_deref(),
            Some("TCP 10.1.0.100:80")
        );
        assert_eq!(
            e.real_server.map(|r| r.to_string()).as_deref(),
            Some("10.2.0.12:80")
        );
        assert!(e.line.ends_with("from VS [10.1.0.100]:tcp:80"));
        let json = serde_json::to_value(&**e).unwrap();
        assert_eq!(json["virtual_service"], "TCP 10.1.0.100:80");
        assert!(json["time"].as_str().unwrap().ends_with('Z'), "{json}");
        drop(stuck);
    }
}

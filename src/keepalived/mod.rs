//! keepalived's state without its logs: VRRP instances (state as a value, priorities,
//! counters) and its checkers' view of real servers, read from the dumps keepalived writes
//! when signalled.
//!
//! Flow: `signal` gets complete fresh dump files, `dump` parses them (pure), `model` is the
//! result, `collector` caches it (last good state, age) and exposes it. Secrets in the dumps
//! (`auth_data`, the VRRP password) are never deserialised, so nothing downstream can leak
//! them.

pub mod args;
pub mod checker_metrics;
pub mod collector;
pub mod dump;
pub mod model;
pub mod signal;

pub use collector::{Keepalived, KeepalivedCollector, KeepalivedOptions, Origin, Snapshot};
pub use signal::DumpSource;

//! keepalived's state without its logs: VRRP instances (state as a value, priorities,
//! counters) and its checkers' view of real servers, read from the dumps keepalived writes
//! when signalled.
//!
//! keepalived's notify FIFOs (`fifo` follows them, `notify` parses their lines, `notices`
//! keeps the latest per instance and server) tell state changes the moment they happen,
//! without any signal; `state` lays them over the last dump.
//!
//! Flow: `signal` gets complete fresh dump files, `dump` parses them (pure), `model` is the
//! result, `state` caches it (last good state, age) and hands out snapshots to any consumer
//! (the metrics encoder, `/api/v1/state`, checks). Secrets in the dumps (`auth_data`, the
//! VRRP password) are never deserialised, so nothing downstream can leak them. Nothing here
//! knows about Prometheus, the command line or the demo.

pub mod dump;
pub mod fifo;
pub mod model;
pub mod notices;
pub mod notify;
pub mod signal;
pub mod state;

pub use signal::DumpSource;
pub use state::{Keepalived, KeepalivedOptions, Origin, Snapshot};

use std::time::Duration;

/// Where keepalived writes its pid by default.
pub const DEFAULT_PID_FILE: &str = "/run/keepalived.pid";
/// How often, at most, keepalived is asked for dumps by default.
pub const DEFAULT_MIN_INTERVAL: Duration = Duration::from_secs(5);
/// How long a refresh waits for keepalived to finish writing a dump.
pub const DUMP_TIMEOUT: Duration = Duration::from_secs(3);

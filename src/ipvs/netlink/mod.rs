//! The IPVS generic-netlink family: per-service and per-destination 64-bit counters, rate
//! estimates, persistent connections, thresholds, timeouts and sync daemons.

pub mod attrs;
pub mod client;
pub mod recording;

pub use client::{Client, NetlinkError};
pub use recording::Recording;

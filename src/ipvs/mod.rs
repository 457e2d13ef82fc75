//! The kernel's IPVS tables as a plain data model, and the readers that fill it.
//!
//! `model` holds what a director's tables are (services, destinations, counters) with no
//! knowledge of where they were read from; `procfs` and `conntable` parse the kernel's
//! `/proc/net/ip_vs*` text into that model. Nothing here knows about Prometheus.

pub mod conntable;
pub mod model;
pub mod netlink;
pub mod netns;
pub mod procfs;
pub mod source;

pub use model::{Dest, Forward, Protocol, Service, ServiceAddr, Stats};

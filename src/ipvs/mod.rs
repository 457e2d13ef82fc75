//! The kernel's IPVS tables as a plain data model, and the readers that fill it.
//!
//! `model` holds what a director's tables are (services, destinations, counters) with no
//! knowledge of where they were read from; `procfs` and `conntable` parse the kernel's
//! `/proc/net/ip_vs*` text into that model; `netlink` asks the kernel's generic-netlink
//! family; `reader` runs the reads and hands out one snapshot per read. Nothing here knows
//! about Prometheus.

pub mod conntable;
pub mod model;
pub mod netlink;
pub mod netns;
pub mod procfs;
pub mod reader;
pub mod source;

pub use model::{Dest, Forward, Protocol, Service, ServiceAddr, Stats};
pub use reader::{IpvsOptions, IpvsReader, Snapshot, SourceChoice};

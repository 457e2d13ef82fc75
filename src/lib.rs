//! lvsmon: observability for Linux IPVS/LVS directors.
//!
//! Data flows one way: readers (`ipvs`) build a model; collectors (`metrics`) turn the model
//! into Prometheus families at scrape time; `http` serves them. Nothing below reaches up.
//! `model` holds what every reader produces and every consumer borrows: the identities
//! (`model::VirtualServiceId`, `model::RealServerId`) that join what different readers saw.

pub mod config;
pub mod demo;
pub mod fmtio;
pub mod http;
pub mod ipvs;
pub mod keepalived;
pub mod linereader;
pub mod logs;
pub mod metrics;
pub mod model;

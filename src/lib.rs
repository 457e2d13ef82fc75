//! lvsmon: observability for Linux IPVS/LVS directors.
//!
//! Data flows one way: `model` is the identity every source and consumer shares; readers
//! (`ipvs`, `keepalived`, `logs`) own their state and hand out snapshots and events; `app`
//! holds the readers of one director, built once by `cli`; consumers borrow them — the
//! encoders (`metrics`), `http` (`/metrics`, `/api/*`, `/status`), `report` (`analyze`'s
//! HTML page). Nothing below reaches up: a reader
//! (or `model`, `health`) never imports `metrics`, `http`, `cli`, `demo` or `app`, nor
//! prometheus_client, clap or hyper, and `model` imports no reader (checked, tests
//! included, by `scripts/check-layers.sh` in the lint step).
//! Readers may share the neutral helpers below them: `lines` (the capped line splitter).

pub mod alertmanager;
pub mod alloc;
pub mod app;
pub mod check;
pub mod cli;
pub mod demo;
pub mod extsort;
pub mod fmtio;
pub mod health;
pub mod http;
pub mod incidents;
pub mod ipvs;
pub mod keepalived;
pub mod lines;
pub mod logs;
pub mod metrics;
pub mod model;
pub mod report;
pub mod statedir;

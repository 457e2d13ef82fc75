//! Logs: keepalived's and the kernel's lines, from every transport an operator has, turned
//! into counted events.
//!
//! Data flows one way: sources (files, the journal, /dev/kmsg, `analyze`'s inputs) yield
//! raw lines; `pipeline` (one for `serve` and `analyze`) frames a line into time, host,
//! ident and message (`frame`; times without a zone are the writer's, `clock`), classifies
//! the message into an event kind with bounded labels (`rules`) and hands the `event` to its
//! consumers: the counters (`stats`), and through the `bus` those that keep events. Nothing
//! here knows about Prometheus or HTTP.

pub mod analyze;
pub mod bus;
pub mod clock;
pub mod event;
pub mod frame;
pub mod frame_json;
pub mod linear;
pub mod pipeline;
pub mod prefilter;
pub mod rules;
pub mod source;
pub mod stats;

pub use source::LogPipeline;

//! Logs: keepalived's and the kernel's lines, from every transport an operator has, turned
//! into counted events.
//!
//! Data flows one way: sources (files, the journal, /dev/kmsg, `analyze`'s inputs) yield
//! raw lines; `frame` splits a line into time, host, ident and message; `rules` classifies
//! the message into an event kind with bounded labels; `metrics` counts events for the
//! exporter. Nothing here knows about HTTP.

pub mod addr;
pub mod analyze;
pub mod demo;
pub mod frame;
pub mod frame_json;
pub mod linear;
pub mod lines;
pub mod prefilter;
pub mod rules;
pub mod source;
pub mod stats;

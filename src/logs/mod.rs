//! Logs: keepalived's and the kernel's lines, from every transport an operator has, turned
//! into counted events.
//!
//! Data flows one way: sources (files, the journal, /dev/kmsg, `analyze`'s inputs) yield
//! raw lines; `frame` splits a line into time, host, ident and message (reading zone-less
//! times in the writer's zone, `clock`); `rules` classifies the message into an event kind
//! with bounded labels; `metrics` counts events for the exporter. Nothing here knows about
//! HTTP.

pub mod addr;
pub mod analyze;
pub mod clock;
pub mod demo;
pub mod frame;
pub mod frame_json;
pub mod linear;
pub mod lines;
pub mod prefilter;
pub mod rules;
// rust-version 1.85 (for jiff) makes clippy prefer `is_none_or` (1.82) to `map_or(true, …)`;
// source/file.rs is being changed on another branch and adopts it there. Remove afterwards.
#[allow(clippy::unnecessary_map_or)]
pub mod source;
pub mod stats;

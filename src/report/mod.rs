//! `lvsmon analyze --format html`: the post-mortem as one self-contained page. A time
//! axis over the whole input with a lane per (director, VRRP instance) coloured by state, a
//! lane per (virtual service, real server) showing when it was out, each director's
//! activity, and the incidents as spans whose evidence, summary and hint are one click
//! away; the incident table below links to their place on the axis.
//!
//! `timeline` gathers what is drawn while `analyze` reads (an [`Observer`] of its events);
//! `model` is the one JSON document the page draws from, bounded however long the input;
//! `html` puts it into the page (an askama template, the data escaped for a `<script>`
//! element), with the page's own small script and styles inline: no request leaves it.
//!
//! A consumer: it borrows the readers' events and the engine's incidents; no reader
//! imports it.
//!
//! [`Observer`]: crate::logs::analyze::Observer

pub mod html;
pub mod model;
pub mod timeline;

pub use html::{render, script_json};
pub use model::Report;
pub use timeline::{Mark, Timeline};

//! Events: what a classified log line becomes, owned, with its time and host, so that any
//! consumer (the event counters, the incident engine, `/api/v1/events`, `analyze`'s
//! summary) can keep it after the line is gone.
//!
//! The identity fields are the shared model's ([`crate::model`]): a virtual service or
//! real server named in a line that cannot be parsed leaves the identity empty (the event
//! keeps its kind) and is counted, so raw text never becomes a label value.

use super::frame::Time;
use super::rules::Severity;
use crate::model::{RealServerId, VirtualServiceId};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Longest raw line kept in an event, in bytes (cut on a character boundary).
pub const MAX_EVENT_LINE: usize = 1024;

/// A classified log line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// When it was written: a UTC instant, microseconds since the epoch. `None` when the
    /// line carried no wall-clock time (dmesg's seconds since boot with no boot time known,
    /// a bare line).
    #[serde(serialize_with = "ser_time")]
    pub time: Option<i64>,
    /// The writing host, when the transport names one.
    pub host: Option<String>,
    /// Where the line was read: a file path, `journal`, `kmsg`, or `analyze`'s input name.
    pub source: Arc<str>,
    pub kind: Arc<str>,
    pub severity: Severity,
    /// The VRRP instance named in the line.
    pub iname: Option<String>,
    #[serde(serialize_with = "ser_display")]
    pub virtual_service: Option<VirtualServiceId>,
    #[serde(serialize_with = "ser_display")]
    pub real_server: Option<RealServerId>,
    /// The other labels the line gave (`peer`, `script`, `interface`, `host`), by name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub detail: BTreeMap<&'static str, String>,
    /// The message, after the transport's time, host and ident (bounded as `line`).
    #[serde(skip)]
    pub message: String,
    /// The line as read, at most [`MAX_EVENT_LINE`] bytes, invalid UTF-8 replaced.
    pub line: String,
}

/// An instant as RFC 3339 in UTC with a `Z`, microsecond precision when it has any.
pub fn rfc3339(micros: i64) -> String {
    // Whole seconds from jiff (precision 0 prints no fraction), then a fixed six-digit
    // fraction: the same width for every event of a stream.
    match jiff::Timestamp::from_microsecond(micros) {
        Ok(t) => {
            let secs = format!("{t:.0}");
            format!("{}{}", secs.trim_end_matches('Z'), frac_z(micros))
        }
        Err(_) => String::new(),
    }
}

/// The fractional part and `Z`: none for whole seconds, else six digits.
fn frac_z(micros: i64) -> String {
    match micros.rem_euclid(1_000_000) {
        0 => "Z".into(),
        f => format!(".{f:06}Z"),
    }
}

fn ser_time<S: serde::Serializer>(t: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(m) => s.serialize_str(&rfc3339(*m)),
        None => s.serialize_none(),
    }
}

fn ser_display<T: std::fmt::Display, S: serde::Serializer>(
    v: &Option<T>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.collect_str(v),
        None => s.serialize_none(),
    }
}

/// A wall-clock time from a frame; `boot` (microseconds since the epoch at boot) turns the
/// kernel's time since boot into one when it is known (live /dev/kmsg).
pub fn wall_time(t: Option<Time>, boot: Option<i64>) -> Option<i64> {
    match t? {
        Time::Wall(us) => Some(us),
        Time::SinceBoot(us) => boot.map(|b| b + i64::try_from(us).unwrap_or(i64::MAX - b)),
    }
}

/// The first `max` bytes of `line` as text, cut on a character boundary.
pub fn bounded_line(line: &[u8], max: usize) -> String {
    let cut = &line[..line.len().min(max)];
    let mut s = String::from_utf8_lossy(cut).into_owned();
    // A multi-byte character split by the cut decodes as U+FFFD: drop it.
    if cut.len() < line.len() && s.ends_with('\u{FFFD}') {
        s.pop();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_rfc3339_utc_with_z() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_764_064_800_000_000), "2025-11-25T10:00:00Z");
        assert_eq!(
            rfc3339(1_764_064_800_123_456),
            "2025-11-25T10:00:00.123456Z"
        );
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59.999999Z");
    }

    #[test]
    fn lines_are_bounded_on_character_boundaries() {
        assert_eq!(bounded_line("aé".as_bytes(), 2), "a");
        assert_eq!(bounded_line(b"abc", 2), "ab");
        assert_eq!(bounded_line(b"a\xffb", 8), "a\u{FFFD}b");
    }
}

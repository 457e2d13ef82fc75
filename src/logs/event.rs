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
    let mut s = String::with_capacity(27);
    write_rfc3339(&mut s, micros);
    s
}

/// [`rfc3339`] appended to `out`.
pub fn write_rfc3339(out: &mut String, micros: i64) {
    if let Some(t) = Rfc3339Text::new(micros) {
        // ASCII digits and separators only.
        out.push_str(std::str::from_utf8(t.as_bytes()).unwrap_or_default());
    }
}

/// [`rfc3339`]'s text made on the stack: `2026-12-01T23:44:17Z`, or with a fixed six-digit
/// fraction (`…:17.123456Z`) when there is one, so every time of a stream has the same
/// width; a `-` before a year below 0. jiff makes the calendar date; the digits are
/// written here because formatting through `Display` cost more than the incident engine's
/// detectors (callgrind, analyze on bench/logs.sh's file).
pub struct Rfc3339Text {
    buf: [u8; 28],
    start: usize,
    end: usize,
}

impl Rfc3339Text {
    /// `None` out of jiff's range.
    pub fn new(micros: i64) -> Option<Rfc3339Text> {
        let t = jiff::Timestamp::from_microsecond(micros).ok()?;
        let d = jiff::tz::Offset::UTC.to_datetime(t);
        // The text proper starts at 1; 0 holds the sign when there is one.
        let mut b = [0u8; 28];
        let mut put = |at: usize, v: i64, width: usize| {
            let mut v = v.unsigned_abs();
            for i in (1 + at..1 + at + width).rev() {
                b[i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
        };
        put(0, i64::from(d.year()), 4);
        put(5, i64::from(d.month()), 2);
        put(8, i64::from(d.day()), 2);
        put(11, i64::from(d.hour()), 2);
        put(14, i64::from(d.minute()), 2);
        put(17, i64::from(d.second()), 2);
        for (i, c) in [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')] {
            b[1 + i] = c;
        }
        let end = match fraction_text(micros) {
            Some(f) => {
                b[20..27].copy_from_slice(&f);
                27
            }
            None => 20,
        };
        b[end] = b'Z';
        b[0] = b'-';
        let start = if d.year() < 0 { 0 } else { 1 };
        Some(Rfc3339Text {
            buf: b,
            start,
            end: end + 1,
        })
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }
}

/// The fraction of a second of `micros` as RFC 3339 text writes it (`.` and six digits), or
/// `None` for a whole second, which is written without one (`analyze`'s JSON writer, which
/// keeps a second's text for the times that share it, writes the rest with this).
pub fn fraction_text(micros: i64) -> Option<[u8; 7]> {
    let mut v = micros.rem_euclid(1_000_000);
    if v == 0 {
        return None;
    }
    let mut digits = [b'.', 0, 0, 0, 0, 0, 0];
    for d in digits[1..].iter_mut().rev() {
        *d = b'0' + (v % 10) as u8;
        v /= 10;
    }
    Some(digits)
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
    let mut s = String::new();
    bounded_line_into(&mut s, line, max);
    s
}

/// [`bounded_line`] into `out`, replacing what it held (its buffer is reused).
pub fn bounded_line_into(out: &mut String, line: &[u8], max: usize) {
    out.clear();
    let cut = &line[..line.len().min(max)];
    // Nearly every line is valid UTF-8: std's validation takes whole words at a time where
    // the chunk iterator below goes byte by byte (a fifth of the cost of an incident's
    // evidence, callgrind).
    if let Ok(s) = std::str::from_utf8(cut) {
        out.push_str(s);
        return;
    }
    for chunk in cut.utf8_chunks() {
        out.push_str(chunk.valid());
        if !chunk.invalid().is_empty() {
            out.push('\u{FFFD}');
        }
    }
    // A multi-byte character split by the cut decodes as U+FFFD: drop it.
    if cut.len() < line.len() && out.ends_with('\u{FFFD}') {
        out.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hand_written_digits_are_what_jiff_prints() {
        // jiff's own Display, whole seconds, then the fraction when there is one.
        let jiff = |m: i64| {
            let t = jiff::Timestamp::from_microsecond(m).unwrap();
            let f = m.rem_euclid(1_000_000);
            let whole = format!("{t:.0}");
            match f {
                0 => whole,
                f => format!("{}.{f:06}Z", whole.trim_end_matches('Z')),
            }
        };
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut cases = vec![0, -1, 1, 951_782_400_000_000, 4_102_444_799_999_999];
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // 1900 to 2100, sometimes on a whole second.
            let m = (x % 6_311_390_400_000_000) as i64 - 2_208_988_800_000_000;
            cases.push(if x % 3 == 0 {
                m - m.rem_euclid(1_000_000)
            } else {
                m
            });
        }
        for m in cases {
            assert_eq!(rfc3339(m), jiff(m), "{m}");
        }
    }

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

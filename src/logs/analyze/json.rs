//! `analyze --format json`'s incidents, written by hand in serde_json's pretty layout.
//!
//! The incidents are most of the output (about a kilobyte each: evidence lines, hints and
//! summaries), and serde_json escapes a string a byte at a time: writing them was 100 M of
//! the 845 M instructions `analyze` spent on the first 100,000 lines of bench/logs.sh's
//! file (callgrind), 49 M now. Here a string is scanned eight bytes at a time for the bytes
//! JSON must escape, and the fields are written without serde's per-token calls. The
//! output is serde_json's to the byte: the tests hold it to `serde_json::to_writer_pretty`
//! of the same [`Incident`], with any text in its strings.

use crate::incidents::{Evidence, Incident};
use crate::logs::event::{fraction_text, Rfc3339Text};

/// A key: the newline and the indentation, the name, and the comma before it unless it
/// is the first, made one literal (three copies a key were a tenth of the JSON's
/// instructions, callgrind).
macro_rules! field {
    ($out:expr, $indent:literal, $name:literal, true) => {
        $out.extend_from_slice(concat!($indent, "\"", $name, "\": ").as_bytes())
    };
    ($out:expr, $indent:literal, $name:literal, false) => {
        $out.extend_from_slice(concat!(",", $indent, "\"", $name, "\": ").as_bytes())
    };
}

/// Appends the incidents array's next element: `first` says whether one was written
/// before. The array is the value of a field of the top-level object, so its elements are
/// at depth 2 (four spaces), as serde_json's pretty printer puts them.
pub(super) fn element(out: &mut Vec<u8>, first: bool, i: &Incident, memo: &mut Memo) {
    out.extend_from_slice(if first { b"\n    " } else { b",\n    " });
    incident(out, i, memo);
}

/// What the writer keeps from one incident to the next.
///
/// The text of the last whole second written: the incidents come in order of start and
/// their evidence is mostly within seconds of it, so most times share their second with
/// the one before (formatted anew, the times were 1 % of `analyze` on ten directors'
/// logs, perf).
///
/// Each hint as a JSON string: a hint is one of a few static texts, some 250 bytes, the
/// longest string of most incidents, and escaped anew for each it was a third of the
/// strings' escaping (callgrind).
#[derive(Default)]
pub(super) struct Memo {
    /// The second (µs ÷ 10⁶, rounded down), if one was written.
    second: Option<i64>,
    /// Its text up to the fraction (`2026-12-01T23:44:17`); empty out of range (a time
    /// in range never is).
    prefix: Vec<u8>,
    /// Hints written so far, by their text's address and length (static text, so one
    /// address is one text), each with its JSON string.
    hints: Vec<((usize, usize), Vec<u8>)>,
}

/// Hints kept escaped at most (there are a few dozen).
const HINTS: usize = 64;

impl Memo {
    /// A hint as a JSON string, escaped once.
    fn hint(&mut self, out: &mut Vec<u8>, hint: &'static str) {
        let at = (hint.as_ptr() as usize, hint.len());
        if let Some((_, text)) = self.hints.iter().find(|(a, _)| *a == at) {
            out.extend_from_slice(text);
            return;
        }
        let from = out.len();
        string(out, hint);
        if self.hints.len() < HINTS {
            self.hints.push((at, out[from..].to_vec()));
        }
    }

    /// A time as [`Rfc3339Text`] writes it, in quotes.
    fn write(&mut self, out: &mut Vec<u8>, t: i64) {
        let second = t.div_euclid(1_000_000);
        if self.second != Some(second) {
            self.second = Some(second);
            self.prefix.clear();
            let whole = second.checked_mul(1_000_000).and_then(Rfc3339Text::new);
            if let Some(b) = whole.as_ref().map(Rfc3339Text::as_bytes) {
                self.prefix.extend_from_slice(&b[..b.len() - 1]); // without its `Z`
            }
        }
        out.push(b'"');
        // The range is checked for the time itself: jiff's last instant is a whole
        // second, so a time a microsecond after it shares an instant's second.
        let in_range = jiff::Timestamp::from_microsecond(t).is_ok();
        if in_range && !self.prefix.is_empty() {
            out.extend_from_slice(&self.prefix);
            if let Some(f) = fraction_text(t) {
                out.extend_from_slice(&f);
            }
            out.push(b'Z');
        }
        out.push(b'"');
    }
}

/// The end of the array, after `any` elements were written.
pub(super) fn end(out: &mut Vec<u8>, any: bool) {
    out.extend_from_slice(if any { b"\n  ]" } else { b"]" });
}

/// One incident as an object whose fields are at depth 3.
fn incident(out: &mut Vec<u8>, i: &Incident, memo: &mut Memo) {
    out.push(b'{');
    field!(out, "\n      ", "id", true);
    string(out, &i.id);
    field!(out, "\n      ", "kind", false);
    string(out, i.kind);
    field!(out, "\n      ", "severity", false);
    string(out, i.severity.as_str());
    if let Some(h) = &i.host {
        field!(out, "\n      ", "host", false);
        string(out, h);
    }
    if !i.hosts.is_empty() {
        field!(out, "\n      ", "hosts", false);
        array(out, &i.hosts, |out, h| string(out, h));
    }
    field!(out, "\n      ", "iname", false);
    opt_string(out, i.iname.as_deref());
    field!(out, "\n      ", "virtual_service", false);
    opt_string(out, i.virtual_service.as_deref());
    field!(out, "\n      ", "real_server", false);
    opt_string(out, i.real_server.as_deref());
    field!(out, "\n      ", "start", false);
    time(out, Some(i.start), memo);
    field!(out, "\n      ", "end", false);
    time(out, i.end, memo);
    field!(out, "\n      ", "count", false);
    out.extend_from_slice(itoa::Buffer::new().format(i.count).as_bytes());
    field!(out, "\n      ", "evidence", false);
    array(out, &i.evidence, |out, e| evidence(out, e, memo));
    field!(out, "\n      ", "summary", false);
    string(out, &i.summary);
    field!(out, "\n      ", "hint", false);
    memo.hint(out, i.hint);
    out.extend_from_slice(b"\n    }");
}

/// An array that is the value of an incident's field: its elements at depth 4.
fn array<T>(out: &mut Vec<u8>, items: &[T], mut each: impl FnMut(&mut Vec<u8>, &T)) {
    if items.is_empty() {
        out.extend_from_slice(b"[]");
        return;
    }
    out.push(b'[');
    for (n, x) in items.iter().enumerate() {
        let sep: &[u8] = if n == 0 {
            b"\n        "
        } else {
            b",\n        "
        };
        out.extend_from_slice(sep);
        each(out, x);
    }
    out.extend_from_slice(b"\n      ]");
}

/// One piece of evidence as an object whose fields are at depth 5.
fn evidence(out: &mut Vec<u8>, e: &Evidence, memo: &mut Memo) {
    out.push(b'{');
    field!(out, "\n          ", "time", true);
    time(out, e.time, memo);
    field!(out, "\n          ", "host", false);
    string(out, &e.host);
    field!(out, "\n          ", "line", false);
    string(out, &e.line);
    out.extend_from_slice(b"\n        }");
}

fn opt_string(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => string(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

/// A time as the incident's `Serialize` writes it: RFC 3339 (digits and separators, which
/// JSON never escapes; empty out of range), or null.
fn time(out: &mut Vec<u8>, t: Option<i64>, memo: &mut Memo) {
    match t {
        Some(t) => memo.write(out, t),
        None => out.extend_from_slice(b"null"),
    }
}

/// A JSON string, escaped as serde_json escapes it: `"` and `\` with a backslash, the
/// control characters below 0x20 as `\b \t \n \f \r` or `\u00xx`, everything else as is.
fn string(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let b = s.as_bytes();
    out.reserve(b.len() + 2);
    out.push(b'"');
    let mut done = 0;
    loop {
        let at = next_escape(b, done);
        out.extend_from_slice(&b[done..at]);
        let Some(&c) = b.get(at) else {
            break;
        };
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\r' => out.extend_from_slice(b"\\r"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            c => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(c >> 4)],
                HEX[usize::from(c & 0xf)],
            ]),
        }
        done = at + 1;
    }
    out.push(b'"');
}

/// Where the next byte to escape is at or after `from` (the length when none is): eight
/// bytes at a time while none of them needs escaping, then the last eight (overlapping:
/// the usual end of a string, with nothing to escape), then byte by byte.
fn next_escape(b: &[u8], mut from: usize) -> usize {
    let word = |at: usize| {
        b.get(at..)
            .and_then(|r| r.first_chunk::<8>())
            .map(|w| u64::from_le_bytes(*w))
    };
    while let Some(w) = word(from) {
        if needs_escape(w) {
            break;
        }
        from += 8;
    }
    let tail = b.len().checked_sub(8).filter(|&at| at < from);
    if tail.and_then(word).is_some_and(|w| !needs_escape(w)) {
        return b.len();
    }
    match b[from..]
        .iter()
        .position(|&c| c < 0x20 || c == b'"' || c == b'\\')
    {
        Some(n) => from + n,
        None => b.len(),
    }
}

/// Whether any of eight bytes is below 0x20, a `"` or a `\` (the classic "has a byte less
/// than n" and "has a zero byte" tests, exact for presence).
fn needs_escape(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    let below_space = w.wrapping_sub(ONES * 0x20) & !w & HIGH;
    below_space | zero(w ^ (ONES * u64::from(b'"'))) | zero(w ^ (ONES * u64::from(b'\\'))) != 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incidents::{Evidence, Incident};
    use crate::logs::rules::Severity;
    use proptest::prelude::*;

    /// serde_json's pretty text of `value` nested where the writer puts an incident: as an
    /// element of an array that is a field of the top-level object.
    fn serde_nested(incidents: &[Incident]) -> String {
        #[derive(serde::Serialize)]
        struct Top<'a> {
            incidents: &'a [Incident],
        }
        serde_json::to_string_pretty(&Top { incidents }).unwrap_or_default()
    }

    fn ours(incidents: &[Incident]) -> String {
        let mut out = b"{\n  \"incidents\": [".to_vec();
        let mut memo = Memo::default();
        for (n, i) in incidents.iter().enumerate() {
            element(&mut out, n == 0, i, &mut memo);
        }
        end(&mut out, !incidents.is_empty());
        out.extend_from_slice(b"\n}");
        String::from_utf8(out).unwrap_or_default()
    }

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            // Mostly ASCII with every byte JSON escapes, at any alignment.
            proptest::collection::vec(
                prop_oneof![
                    4 => proptest::char::range(' ', '~'),
                    1 => proptest::char::range('\0', '\u{1f}'),
                    1 => Just('"'),
                    1 => Just('\\'),
                    1 => Just('\u{7f}'),
                    1 => any::<char>(),
                ],
                0..40
            )
            .prop_map(|v| v.into_iter().collect()),
            any::<String>(),
        ]
    }

    fn time() -> impl Strategy<Value = i64> {
        let min = jiff::Timestamp::MIN.as_microsecond();
        let max = jiff::Timestamp::MAX.as_microsecond();
        prop_oneof![
            1_700_000_000_000_000i64..1_900_000_000_000_000,
            (1_700_000_000i64..1_900_000_000).prop_map(|s| s * 1_000_000),
            // A few seconds, with and without a fraction, so that times share their
            // second (the writer keeps the last one's text); before the epoch too.
            1_700_000_000_000_000i64..1_700_000_003_000_000,
            -3_000_000i64..3_000_000,
            // jiff's ends, inside and outside.
            (min - 2_000_000)..(min + 2_000_000),
            (max - 2_000_000)..(max + 2_000_000),
            any::<i64>(),
        ]
    }

    prop_compose! {
        fn evidence()(time in proptest::option::of(time()), host in text(), line in text())
            -> Evidence {
            Evidence { time, host, line }
        }
    }

    prop_compose! {
        fn incident()(
            id in text(),
            k in 0..crate::incidents::KINDS.len(),
            sev in 0..3u8,
            host in proptest::option::of(text()),
            hosts in proptest::collection::vec(text(), 0..3),
            iname in proptest::option::of(text()),
            vs in proptest::option::of(text()),
            rs in proptest::option::of(text()),
            start in time(),
            end in proptest::option::of(time()),
            count in any::<u64>(),
            evidence in proptest::collection::vec(evidence(), 0..3),
            summary in text(),
        ) -> Incident {
            let kind = &crate::incidents::KINDS[k];
            Incident {
                id,
                kind: kind.name,
                severity: [Severity::Critical, Severity::Warning, Severity::Info][usize::from(sev)],
                host,
                hosts,
                iname,
                virtual_service: vs,
                real_server: rs,
                start,
                end,
                count,
                evidence,
                summary,
                hint: kind.hint,
            }
        }
    }

    proptest! {
        #[test]
        fn incidents_are_serde_jsons_pretty_text(v in proptest::collection::vec(incident(), 0..4)) {
            prop_assert_eq!(ours(&v), serde_nested(&v));
        }

        #[test]
        fn strings_are_escaped_as_serde_json_escapes_them(s in text()) {
            let mut out = Vec::new();
            string(&mut out, &s);
            prop_assert_eq!(String::from_utf8(out).unwrap_or_default(),
                serde_json::to_string(&s).unwrap_or_default());
        }
    }

    #[test]
    fn every_byte_below_0x80_at_every_offset_of_a_word() {
        for c in 0u8..0x80 {
            for at in 0..12 {
                let mut s = "abcdefghijkl".to_string().into_bytes();
                s[at] = c;
                let s = String::from_utf8(s).unwrap_or_default();
                let mut out = Vec::new();
                string(&mut out, &s);
                assert_eq!(
                    String::from_utf8(out).unwrap_or_default(),
                    serde_json::to_string(&s).unwrap_or_default(),
                    "byte {c:#x} at {at}"
                );
            }
        }
    }
}

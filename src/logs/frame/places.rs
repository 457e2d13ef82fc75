//! A frame kept beside its line: [`Places`] holds where a [`Frame`]'s parts lie in the text
//! it was framed from, so a reader that frames a line early and classifies it later (the
//! merge of several inputs, which needs each waiting line's time first) frames it once. A
//! part not in the text (unescaped from JSON) is kept as a copy.

use super::{Frame, Time, Transport};
use std::borrow::Cow;

/// One part of a frame: absent, a range of the line's text, or a copy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
enum Place {
    #[default]
    None,
    At(usize, usize),
    Copy(String),
}

impl Place {
    /// Where `part` lies in `text`, found from its address: a borrowed part is a slice of
    /// the text it was framed from, or of something else (then copied).
    fn of(part: Cow<'_, str>, text: &str) -> Place {
        match part {
            Cow::Borrowed(s) => {
                let start = (s.as_ptr() as usize).wrapping_sub(text.as_ptr() as usize);
                let end = start.wrapping_add(s.len());
                match text.get(start..end) {
                    Some(t) if std::ptr::eq(t.as_ptr(), s.as_ptr()) => Place::At(start, end),
                    _ => Place::Copy(s.to_string()),
                }
            }
            Cow::Owned(s) => Place::Copy(s),
        }
    }

    fn part<'a>(&'a self, text: &'a str) -> Option<Cow<'a, str>> {
        match self {
            Place::None => None,
            // The range came from this text; `get` keeps a wrong one from panicking.
            Place::At(a, b) => Some(Cow::Borrowed(text.get(*a..*b).unwrap_or_default())),
            Place::Copy(s) => Some(Cow::Borrowed(s)),
        }
    }
}

/// A [`Frame`] as places in its line's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Places {
    time: Option<Time>,
    host: Place,
    ident: Place,
    pid: Option<u32>,
    message: Place,
    transport: Transport,
}

impl Places {
    /// Where `frame`'s parts lie in `text`, the text it was framed from.
    pub fn of(frame: Frame<'_>, text: &str) -> Places {
        let opt = |p: Option<Cow<'_, str>>| p.map_or(Place::None, |p| Place::of(p, text));
        Places {
            time: frame.time,
            host: opt(frame.host),
            ident: opt(frame.ident),
            pid: frame.pid,
            message: Place::of(frame.message, text),
            transport: frame.transport,
        }
    }

    /// The frame again, borrowing from `text` (the same text as given to [`Places::of`]).
    pub fn frame<'a>(&'a self, text: &'a str) -> Frame<'a> {
        Frame {
            time: self.time,
            host: self.host.part(text),
            ident: self.ident.part(text),
            pid: self.pid,
            message: self.message.part(text).unwrap_or_default(),
            transport: self.transport,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::frame::{frame_str, YearClock};

    #[test]
    fn a_frame_kept_as_places_comes_back_the_same() {
        let years = YearClock::fixed(2026);
        for line in [
            "Nov  1 00:00:05 lb1 Keepalived_vrrp[1025]: (VI_25) Entering MASTER STATE",
            "<30>1 2026-11-01T00:00:05Z lb1 Keepalived_vrrp 1025 - - (VI_1) Entering BACKUP STATE",
            "[ 12.345678] IPVS: rr: TCP 10.1.0.100:80 - no destination available",
            // JSON unescapes: its message is a copy, not a slice of the line.
            r#"{"MESSAGE":"(VI_1) \"quoted\" Entering FAULT STATE","_HOSTNAME":"lb1","SYSLOG_IDENTIFIER":"Keepalived_vrrp","__REALTIME_TIMESTAMP":"1793491205000000"}"#,
            "a bare line",
            "",
        ] {
            let f = frame_str(line, &years);
            let places = Places::of(f.clone(), line);
            assert_eq!(places.frame(line), f, "{line}");
        }
        // A JSON record's unescaped message is not in its line: it comes back from a copy.
        let json = r#"{"MESSAGE":"a \"b\"","_HOSTNAME":"lb1","__REALTIME_TIMESTAMP":"1"}"#;
        let f = frame_str(json, &years);
        assert_eq!(f.transport, Transport::Json);
        assert!(matches!(f.message, Cow::Owned(_)), "{f:?}");
        assert_eq!(Places::of(f.clone(), json).frame(json), f);
    }

    #[test]
    fn a_part_from_elsewhere_is_copied() {
        let text = "abc";
        let elsewhere = String::from("abc");
        assert_eq!(
            Place::of(Cow::Borrowed(&elsewhere), text),
            Place::Copy("abc".into())
        );
        assert_eq!(Place::of(Cow::Borrowed(&text[1..]), text), Place::At(1, 3));
    }
}

//! RFC 5424 syslog, as rsyslog (`RSYSLOG_SyslogProtocol23Format`) and syslog-ng (`syslog()`
//! destinations, `flags(syslog-protocol)`) write it to files: after `<PRI>1 `,
//! `TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA [MSG]`, each header field `-`
//! when absent (RFC 5424 §6).

use super::{iso_stamp, Cur, Frame, Time, Transport};
use std::borrow::Cow;

/// The nil value of a header field.
const NIL: &str = "-";

/// What follows `<PRI>1 `; `None` when it is not RFC 5424 (the caller tries the others).
pub(super) fn frame(rest: &str) -> Option<Frame<'_>> {
    let (stamp, rest) = field(rest)?;
    let time = if stamp == NIL {
        None
    } else {
        let mut c = Cur::new(stamp);
        let t = iso_stamp(&mut c)?;
        if !c.rest().is_empty() {
            return None;
        }
        Some(Time::Wall(t))
    };
    let (host, rest) = field(rest)?;
    let (app, rest) = field(rest)?;
    let (procid, rest) = field(rest)?;
    let (_msgid, rest) = field(rest)?;
    let after = structured_data(rest)?;
    // The message is optional; when present a space separates it, and it may start with a
    // byte order mark (its UTF-8 flag, §6.4). rsyslog's message of a local program keeps
    // the space that followed its tag's colon, so its files have two spaces here: every
    // leading space goes (no keepalived or kernel message starts with one).
    let message = match after.strip_prefix(' ') {
        Some(m) => m
            .strip_prefix('\u{feff}')
            .unwrap_or(m)
            .trim_start_matches(' '),
        None if after.is_empty() => after,
        None => return None,
    };
    let given = |f: &str| f != NIL;
    Some(Frame {
        time,
        host: Some(host).filter(|h| given(h)).map(Cow::Borrowed),
        ident: Some(app).filter(|a| given(a)).map(Cow::Borrowed),
        pid: procid.parse().ok(),
        message: Cow::Borrowed(message),
        transport: Transport::Rfc5424,
    })
}

/// One header field (printable ASCII, no space) and what follows its space.
fn field(s: &str) -> Option<(&str, &str)> {
    let sp = memchr::memchr(b' ', s.as_bytes())?;
    let f = &s[..sp];
    (!f.is_empty() && f.bytes().all(|c| c.is_ascii_graphic())).then(|| (f, &s[sp + 1..]))
}

/// Past `-` or the `[ID name="value" …]` elements: in a value, `\"`, `\\` and `\]` are
/// escaped and `]` ends nothing (§6.3.3).
fn structured_data(s: &str) -> Option<&str> {
    if let Some(rest) = s.strip_prefix(NIL) {
        return Some(rest);
    }
    let b = s.as_bytes();
    let mut i = 0;
    while b.get(i) == Some(&b'[') {
        i += 1;
        let mut quoted = false;
        loop {
            match *b.get(i)? {
                b'\\' if quoted => i += 1,
                b'"' => quoted = !quoted,
                b']' if !quoted => break,
                _ => {}
            }
            i += 1;
        }
        i += 1;
    }
    // At least one element, and what follows starts at a character boundary: every byte
    // stepped over above that ends an element is ASCII.
    (i > 0).then(|| &s[i..])
}

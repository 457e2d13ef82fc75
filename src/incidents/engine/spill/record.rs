//! An incident as `analyze` keeps it on disk ([`crate::extsort::Records`]): a key whose
//! bytes sort as [`Engine::finish`] orders incidents — start, kind, director, directors,
//! instance, virtual service, real server, then a sequence number that keeps the order
//! among equals — and a payload with the rest. Encoded once when the incident leaves the
//! engine; decoded once, into an [`Slot`] whose strings and lists are reused from one
//! incident to the next.
//!
//! The key's encoding preserves order field by field: a time is its sign-flipped
//! big-endian bytes; a text is its bytes with NUL written `00 ff`, ended by `00 01` (so a
//! text sorts before any longer one it begins, as `str` does, whatever follows it); an
//! absent text is `00`, a present one `01` and the text (absent first, as `Option` sorts);
//! a list is each text behind `01`, ended by `00` (a list before any longer one it
//! begins, as slices sort); a sequence number is its length in bytes, then its
//! big-endian bytes. The payload is never compared: its numbers are LEB128, its times
//! distances from the start, and it holds no id (made again from the key's fields).
//!
//! MASTER transitions wait for the verdicts the same way ([`transition_key`]): keyed by
//! instance, time and arrival.

use super::*;

/// An incident read back, with its sequence number (a split brain's explanation is joined
/// by it).
#[derive(Debug, Clone)]
pub(super) struct Slot {
    pub(super) inc: Incident,
    pub(super) seq: [u64; 3],
    kind: String,
}

impl Default for Slot {
    fn default() -> Slot {
        Slot {
            inc: blank(),
            seq: [0; 3],
            kind: String::new(),
        }
    }
}

fn bad(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("a record of the incidents' store damaged: {what}"),
    )
}

/// What an incident's key holds, borrowed from an [`Incident`] ([`Head::of`]) or from an
/// open incident's key ([`super::Store`] writes closed incidents straight from the engine).
pub(super) struct Head<'a> {
    pub(super) start: i64,
    pub(super) kind: &'a str,
    pub(super) host: Option<&'a str>,
    pub(super) hosts: &'a [String],
    pub(super) iname: Option<&'a str>,
    pub(super) virtual_service: Option<&'a str>,
    pub(super) real_server: Option<&'a str>,
}

impl<'a> Head<'a> {
    pub(super) fn of(i: &'a Incident) -> Head<'a> {
        Head {
            start: i.start,
            kind: i.kind,
            host: i.host.as_deref(),
            hosts: &i.hosts,
            iname: i.iname.as_deref(),
            virtual_service: i.virtual_service.as_deref(),
            real_server: i.real_server.as_deref(),
        }
    }
}

/// What an incident's payload holds. Not its id: that is made again from the key's
/// fields when it is read ([`decode`]), as it was made from them when it closed.
pub(super) struct Body<'a> {
    pub(super) severity: Severity,
    pub(super) hint: &'static str,
    pub(super) end: Option<i64>,
    pub(super) count: u64,
    /// Its evidence lines, in order, in up to three runs (an open incident's first lines
    /// and the two halves of its ring of newest ones).
    pub(super) evidence: [&'a [Evidence]; 3],
    /// Written for an evidence line whose host is empty (an open incident's own
    /// director: [`In::write_evidence`]).
    pub(super) host: &'a str,
    pub(super) summary: &'a str,
}

impl<'a> Body<'a> {
    pub(super) fn of(i: &'a Incident) -> Body<'a> {
        Body {
            severity: i.severity,
            hint: i.hint,
            end: i.end,
            count: i.count,
            evidence: [&i.evidence, &[], &[]],
            host: "",
            summary: &i.summary,
        }
    }
}

/// `i` with sequence `seq` as a key and a payload (the buffers are cleared first).
#[cfg(test)]
pub(super) fn encode(i: &Incident, seq: [u64; 3], key: &mut Vec<u8>, payload: &mut Vec<u8>) {
    key.clear();
    encode_key(&Head::of(i), seq, key);
    payload.clear();
    encode_payload(&Body::of(i), i.start, payload);
}

/// `i`'s key with sequence `seq`, appended to `key`.
pub(super) fn encode_key(i: &Head<'_>, seq: [u64; 3], key: &mut Vec<u8>) {
    key.extend_from_slice(&flip(i.start));
    text(key, i.kind);
    opt(key, i.host);
    for h in i.hosts {
        key.push(1);
        text(key, h);
    }
    key.push(0);
    opt(key, i.iname);
    opt(key, i.virtual_service);
    opt(key, i.real_server);
    for n in seq {
        ordered(key, n);
    }
}

/// `i`'s payload, appended to `payload`; its times are written from the incident's
/// `start`.
pub(super) fn encode_payload(i: &Body<'_>, start: i64, payload: &mut Vec<u8>) {
    payload.push(match i.severity {
        Severity::Critical => 0,
        Severity::Warning => 1,
        Severity::Info => 2,
    });
    payload.push(cause_index(i.hint));
    time(payload, i.end, start);
    varint(payload, i.count);
    let lines: usize = i.evidence.iter().map(|run| run.len()).sum();
    varint(payload, lines as u64);
    for e in i.evidence.iter().flat_map(|run| run.iter()) {
        time(payload, e.time, start);
        let host = if e.host.is_empty() { i.host } else { &e.host };
        bytes(payload, host.as_bytes());
        bytes(payload, e.line.as_bytes());
    }
    bytes(payload, i.summary.as_bytes());
}

/// A time whose big-endian bytes sort as the time does.
fn flip(t: i64) -> [u8; 8] {
    ((t as u64) ^ (1 << 63)).to_be_bytes()
}

fn text(out: &mut Vec<u8>, s: &str) {
    let mut rest = s.as_bytes();
    while let Some(n) = memchr::memchr(0, rest) {
        out.extend_from_slice(&rest[..n]);
        out.extend_from_slice(&[0, 0xff]);
        rest = &rest[n + 1..];
    }
    out.extend_from_slice(rest);
    out.extend_from_slice(&[0, 1]);
}

fn opt(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => out.push(0),
        Some(s) => {
            out.push(1);
            text(out, s);
        }
    }
}

/// A number in a key: how many bytes it takes, then those bytes, big-endian. A longer
/// one is a larger number, so the bytes sort as the numbers do; a sequence number takes
/// three bytes or four, not eight.
fn ordered(out: &mut Vec<u8>, n: u64) {
    let len = 8 - n.leading_zeros() as usize / 8;
    out.push(len as u8);
    out.extend_from_slice(&n.to_be_bytes()[8 - len..]);
}

/// A number in a payload, in seven-bit groups, low first (LEB128): lengths and counts
/// take a byte or two, not eight (the incidents' records were 435 MB on ten directors'
/// logs, written to the sorters' files and read back).
fn varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push(n as u8 | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Bytes behind their length (the payload is never compared).
fn bytes(out: &mut Vec<u8>, b: &[u8]) {
    varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

/// A time as its distance from `base` (the incident's start: seconds or minutes, where
/// the time itself takes eight bytes), zigzagged so that one before it is small too.
fn time(out: &mut Vec<u8>, t: Option<i64>, base: i64) {
    match t {
        None => out.push(0),
        Some(t) => {
            out.push(1);
            let d = t.wrapping_sub(base);
            varint(out, ((d << 1) ^ (d >> 63)) as u64);
        }
    }
}

/// Reads a key or a payload front to back.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> io::Result<&'a [u8]> {
        if self.0.len() < n {
            return Err(bad("too short"));
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }

    fn byte(&mut self) -> io::Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn varint(&mut self) -> io::Result<u64> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            n |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                // The tenth byte holds one bit: more is a number too large.
                return if shift == 63 && b > 1 {
                    Err(bad("a number too large"))
                } else {
                    Ok(n)
                };
            }
        }
        Err(bad("a number too long"))
    }

    fn ordered(&mut self) -> io::Result<u64> {
        let len = usize::from(self.byte()?);
        if len > 8 {
            return Err(bad("a number's length"));
        }
        let mut b = [0; 8];
        b[8 - len..].copy_from_slice(self.take(len)?);
        Ok(u64::from_be_bytes(b))
    }

    fn u64_be(&mut self) -> io::Result<u64> {
        let b = self.take(8)?;
        Ok(u64::from_be_bytes(
            b.try_into().map_err(|_| bad("a number"))?,
        ))
    }

    fn flipped(&mut self) -> io::Result<i64> {
        Ok((self.u64_be()? ^ (1 << 63)) as i64)
    }

    /// A key's text into `out`.
    fn text(&mut self, out: &mut String) -> io::Result<()> {
        out.clear();
        loop {
            let n = memchr::memchr(0, self.0).ok_or_else(|| bad("an unended text"))?;
            let part = self.take(n)?;
            out.push_str(std::str::from_utf8(part).map_err(|_| bad("a text"))?);
            self.take(1)?;
            match self.byte()? {
                1 => return Ok(()),
                0xff => out.push('\0'),
                _ => return Err(bad("a text's escape")),
            }
        }
    }

    /// A key's optional text into `out`, its buffer kept when there is one.
    fn opt(&mut self, out: &mut Option<String>) -> io::Result<()> {
        match self.byte()? {
            0 => {
                *out = None;
                Ok(())
            }
            1 => self.text(out.get_or_insert_with(String::new)),
            _ => Err(bad("an optional text")),
        }
    }

    /// A payload's text into `out`.
    fn bytes(&mut self, out: &mut String) -> io::Result<()> {
        let n = usize::try_from(self.varint()?).map_err(|_| bad("a length"))?;
        let b = self.take(n)?;
        out.clear();
        out.push_str(std::str::from_utf8(b).map_err(|_| bad("a text"))?);
        Ok(())
    }

    /// A time written by `time` from `base`.
    fn time(&mut self, base: i64) -> io::Result<Option<i64>> {
        match self.byte()? {
            0 => Ok(None),
            1 => {
                let z = self.varint()?;
                let d = ((z >> 1) as i64) ^ -((z & 1) as i64);
                Ok(Some(base.wrapping_add(d)))
            }
            _ => Err(bad("a time")),
        }
    }
}

/// The incident of `key` and `payload` into `slot`.
pub(super) fn decode(key: &[u8], payload: &[u8], slot: &mut Slot) -> io::Result<()> {
    let Slot {
        inc,
        seq,
        kind: name,
    } = slot;
    let mut k = Cursor(key);
    inc.start = k.flipped()?;
    k.text(name)?;
    let spec = kind(name).ok_or_else(|| bad("an unknown kind"))?;
    inc.kind = spec.name;
    k.opt(&mut inc.host)?;
    let mut n = 0;
    loop {
        match k.byte()? {
            0 => break,
            1 => {}
            _ => return Err(bad("a list of directors")),
        }
        if n == inc.hosts.len() {
            inc.hosts.push(String::new());
        }
        k.text(&mut inc.hosts[n])?;
        n += 1;
    }
    inc.hosts.truncate(n);
    k.opt(&mut inc.iname)?;
    k.opt(&mut inc.virtual_service)?;
    k.opt(&mut inc.real_server)?;
    for s in seq.iter_mut() {
        *s = k.ordered()?;
    }
    if !k.0.is_empty() {
        return Err(bad("a key too long"));
    }

    let mut p = Cursor(payload);
    inc.severity = match p.byte()? {
        0 => Severity::Critical,
        1 => Severity::Warning,
        2 => Severity::Info,
        _ => return Err(bad("a severity")),
    };
    inc.hint = hint_at(spec.name, p.byte()?);
    inc.end = p.time(inc.start)?;
    inc.count = p.varint()?;
    let evidence = usize::try_from(p.varint()?).map_err(|_| bad("a length"))?;
    // Never sized by the count up front: each line costs at least 3 bytes.
    if evidence > p.0.len() / 3 {
        return Err(bad("an evidence count"));
    }
    let start = inc.start;
    for e in evidence_slots(&mut inc.evidence, evidence) {
        e.time = p.time(start)?;
        p.bytes(&mut e.host)?;
        p.bytes(&mut e.line)?;
    }
    p.bytes(&mut inc.summary)?;
    if !p.0.is_empty() {
        return Err(bad("a payload too long"));
    }
    let mut id = std::mem::take(&mut inc.id);
    id_into(inc, &mut id);
    inc.id = id;
    Ok(())
}

/// Transition `t`, the `seq`-th to arrive, as a key that sorts by instance, time, then
/// arrival (the in-memory verdicts sort each instance's transitions stably by time), and
/// a payload with the rest.
#[cfg(test)]
pub(super) fn encode_transition(
    t: &cross::Transition,
    seq: u64,
    key: &mut Vec<u8>,
    payload: &mut Vec<u8>,
) {
    key.clear();
    transition_key(t, seq, key);
    payload.clear();
    transition_payload(t, payload);
}

/// `t`'s key with sequence `seq`, appended to `key`.
pub(super) fn transition_key(t: &cross::Transition, seq: u64, key: &mut Vec<u8>) {
    text(key, &t.iname);
    key.extend_from_slice(&flip(t.time));
    ordered(key, seq);
}

/// `t`'s payload, appended to `payload`.
pub(super) fn transition_payload(t: &cross::Transition, payload: &mut Vec<u8>) {
    payload.push(u8::from(t.master));
    bytes(payload, t.host.as_bytes());
    bytes(payload, t.line.as_bytes());
}

/// The transition of `key` and `payload` into `slot` (its buffers reused from one to the
/// next).
pub(super) fn decode_transition(
    key: &[u8],
    payload: &[u8],
    slot: &mut cross::Transition,
) -> io::Result<()> {
    let mut k = Cursor(key);
    k.text(&mut slot.iname)?;
    slot.time = k.flipped()?;
    k.ordered()?;
    if !k.0.is_empty() {
        return Err(bad("a transition's key too long"));
    }
    let mut p = Cursor(payload);
    slot.master = match p.byte()? {
        0 => false,
        1 => true,
        _ => return Err(bad("a transition's state")),
    };
    p.bytes(&mut slot.host)?;
    p.bytes(&mut slot.line)?;
    if !p.0.is_empty() {
        return Err(bad("a transition's payload too long"));
    }
    Ok(())
}

#[cfg(test)]
#[path = "record_tests.rs"]
mod tests;

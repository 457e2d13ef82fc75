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
//! begins, as slices sort).
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
            inc: Incident {
                id: String::new(),
                kind: "",
                severity: Severity::Info,
                host: None,
                hosts: Vec::new(),
                iname: None,
                virtual_service: None,
                real_server: None,
                start: 0,
                end: None,
                count: 0,
                evidence: Vec::new(),
                summary: String::new(),
                hint: "",
            },
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

/// `i` with sequence `seq` as a key and a payload (the buffers are cleared first).
#[cfg(test)]
pub(super) fn encode(i: &Incident, seq: [u64; 3], key: &mut Vec<u8>, payload: &mut Vec<u8>) {
    key.clear();
    encode_key(i, seq, key);
    payload.clear();
    encode_payload(i, payload);
}

/// `i`'s key with sequence `seq`, appended to `key`.
pub(super) fn encode_key(i: &Incident, seq: [u64; 3], key: &mut Vec<u8>) {
    key.extend_from_slice(&flip(i.start));
    text(key, i.kind);
    opt(key, i.host.as_deref());
    for h in &i.hosts {
        key.push(1);
        text(key, h);
    }
    key.push(0);
    opt(key, i.iname.as_deref());
    opt(key, i.virtual_service.as_deref());
    opt(key, i.real_server.as_deref());
    for n in seq {
        key.extend_from_slice(&n.to_be_bytes());
    }
}

/// `i`'s payload, appended to `payload`.
pub(super) fn encode_payload(i: &Incident, payload: &mut Vec<u8>) {
    bytes(payload, i.id.as_bytes());
    payload.push(match i.severity {
        Severity::Critical => 0,
        Severity::Warning => 1,
        Severity::Info => 2,
    });
    payload.push(cause_index(i.hint));
    time(payload, i.end);
    payload.extend_from_slice(&i.count.to_le_bytes());
    payload.extend_from_slice(&(i.evidence.len() as u64).to_le_bytes());
    for e in &i.evidence {
        time(payload, e.time);
        bytes(payload, e.host.as_bytes());
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

/// Bytes behind their length (the payload is never compared).
fn bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u64).to_le_bytes());
    out.extend_from_slice(b);
}

fn time(out: &mut Vec<u8>, t: Option<i64>) {
    match t {
        None => out.push(0),
        Some(t) => {
            out.push(1);
            out.extend_from_slice(&t.to_le_bytes());
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

    fn u64_le(&mut self) -> io::Result<u64> {
        let b = self.take(8)?;
        Ok(u64::from_le_bytes(
            b.try_into().map_err(|_| bad("a number"))?,
        ))
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
        let n = usize::try_from(self.u64_le()?).map_err(|_| bad("a length"))?;
        let b = self.take(n)?;
        out.clear();
        out.push_str(std::str::from_utf8(b).map_err(|_| bad("a text"))?);
        Ok(())
    }

    fn time(&mut self) -> io::Result<Option<i64>> {
        match self.byte()? {
            0 => Ok(None),
            1 => Ok(Some(self.u64_le()? as i64)),
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
        *s = k.u64_be()?;
    }
    if !k.0.is_empty() {
        return Err(bad("a key too long"));
    }

    let mut p = Cursor(payload);
    p.bytes(&mut inc.id)?;
    inc.severity = match p.byte()? {
        0 => Severity::Critical,
        1 => Severity::Warning,
        2 => Severity::Info,
        _ => return Err(bad("a severity")),
    };
    inc.hint = hint_at(spec.name, p.byte()?);
    inc.end = p.time()?;
    inc.count = p.u64_le()?;
    let evidence = usize::try_from(p.u64_le()?).map_err(|_| bad("a length"))?;
    // Never sized by the count up front: each line costs at least 17 bytes.
    if evidence > p.0.len() / 17 {
        return Err(bad("an evidence count"));
    }
    inc.evidence.truncate(evidence);
    for n in 0..evidence {
        if n == inc.evidence.len() {
            inc.evidence.push(Evidence {
                time: None,
                host: String::new(),
                line: String::new(),
            });
        }
        let e = &mut inc.evidence[n];
        e.time = p.time()?;
        p.bytes(&mut e.host)?;
        p.bytes(&mut e.line)?;
    }
    p.bytes(&mut inc.summary)?;
    if !p.0.is_empty() {
        return Err(bad("a payload too long"));
    }
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
    key.extend_from_slice(&seq.to_be_bytes());
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
    k.u64_be()?;
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
mod tests {
    use super::*;
    use crate::incidents::KINDS;

    /// A xorshift stream.
    struct Draw(u64);

    impl Draw {
        fn pick(&mut self, m: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % m as u64) as usize
        }

        /// One of the first `m` texts.
        fn text(&mut self, texts: &[&str], m: usize) -> String {
            texts[self.pick(m.min(texts.len()))].to_string()
        }
    }

    /// An incident of fields drawn from small sets (seeded by `n`), so that many share
    /// their first fields and the later ones decide their order.
    fn incident(n: u64, texts: &[&str]) -> Incident {
        let mut d = Draw(n.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let all = texts.len();
        let kind = KINDS[d.pick(2)];
        let severity = [Severity::Critical, Severity::Warning, Severity::Info][d.pick(3)];
        let host = (d.pick(3) > 0).then(|| d.text(texts, 3));
        let hosts = (0..d.pick(4)).map(|_| d.text(texts, 3)).collect();
        let iname = (d.pick(3) > 0).then(|| d.text(texts, 4));
        let virtual_service = (d.pick(2) > 0).then(|| d.text(texts, all));
        let real_server = (d.pick(2) > 0).then(|| d.text(texts, all));
        let start = [i64::MIN, -1, 0, 1_700_000_000_000_000, i64::MAX][d.pick(5)];
        let end = (d.pick(2) > 0).then(|| d.pick(1 << 20) as i64 - 5);
        let evidence = (0..d.pick(4))
            .map(|k| Evidence {
                time: (k % 2 == 0).then_some(k as i64),
                host: d.text(texts, all),
                line: d.text(texts, all),
            })
            .collect();
        Incident {
            id: format!("{n:016x}"),
            kind: kind.name,
            severity,
            host,
            hosts,
            iname,
            virtual_service,
            real_server,
            start,
            end,
            count: n * 7,
            evidence,
            summary: d.text(texts, all),
            hint: kind.hint,
        }
    }

    /// The order [`Engine::finish`] gives incidents (as the sorter before this one
    /// compared them).
    #[allow(clippy::type_complexity)]
    fn order(
        i: &Incident,
        seq: [u64; 3],
    ) -> (
        i64,
        &str,
        &Option<String>,
        &[String],
        &Option<String>,
        &Option<String>,
        &Option<String>,
        [u64; 3],
    ) {
        (
            i.start,
            i.kind,
            &i.host,
            &i.hosts,
            &i.iname,
            &i.virtual_service,
            &i.real_server,
            seq,
        )
    }

    #[test]
    fn comes_back_whole_into_a_reused_slot_and_keys_sort_as_incidents_do() {
        // Texts that are empty, prefixes of each other, and hold NUL, 0x01 and 0xff-free
        // multibyte characters.
        let texts = [
            "", "a", "a\0", "a\0b", "ab", "a\u{1}", "\0", "lb-a", "lb-a\0\0", "é", "ée", "z",
        ];
        let items: Vec<(Incident, [u64; 3])> = (0..600u64)
            .map(|n| (incident(n, &texts), [0, n % 3, 0]))
            .collect();
        let mut slot = Slot::default();
        let (mut key, mut payload) = (Vec::new(), Vec::new());
        let mut keys = Vec::new();
        for (i, seq) in &items {
            encode(i, *seq, &mut key, &mut payload);
            decode(&key, &payload, &mut slot).unwrap();
            assert_eq!(&slot.inc, i);
            assert_eq!(slot.seq, *seq);
            keys.push(key.clone());
        }
        for a in 0..items.len() {
            for b in 0..items.len() {
                let want = order(&items[a].0, items[a].1).cmp(&order(&items[b].0, items[b].1));
                assert_eq!(keys[a].cmp(&keys[b]), want, "{a} against {b}");
            }
        }
    }

    #[test]
    fn damaged_bytes_are_an_error_not_a_panic() {
        // One with every part: a director, directors, an instance and evidence.
        let i = (0..)
            .map(|n| incident(n, &["lb-a", "VI_1", "x\0y"]))
            .find(|i| {
                i.host.is_some()
                    && !i.hosts.is_empty()
                    && i.iname.is_some()
                    && !i.evidence.is_empty()
            })
            .unwrap();
        let (mut key, mut payload) = (Vec::new(), Vec::new());
        encode(&i, [1, 2, 3], &mut key, &mut payload);
        let mut slot = Slot::default();
        for n in 0..key.len() {
            assert!(
                decode(&key[..n], &payload, &mut slot).is_err(),
                "key cut at {n}"
            );
        }
        for n in 0..payload.len() {
            assert!(
                decode(&key, &payload[..n], &mut slot).is_err(),
                "payload cut at {n}"
            );
        }
        let mut k = key.clone();
        k[8] = 0xff; // the kind's first byte: no kind is "\u{ff}…", nor valid UTF-8.
        assert!(decode(&k, &payload, &mut slot).is_err());
        // Every marker of a present or absent text, or of a list's next director or end
        // (0 or 1 where the key holds one), is refused when it is 2.
        let mut k = key.clone();
        let text_end =
            |k: &[u8], from: usize| (from..k.len() - 1).find(|&n| k[n] == 0 && k[n + 1] == 1);
        let host = text_end(&k, 8).unwrap() + 2; // after the kind
        assert_eq!(k[host], 1, "the director is there");
        k[host] = 2;
        assert!(
            decode(&k, &payload, &mut slot).is_err(),
            "the director's marker"
        );
        k[host] = 1;
        let mut list = text_end(&k, host + 1).unwrap() + 2;
        assert_eq!(k[list], 1, "a first director");
        while k[list] == 1 {
            list = text_end(&k, list + 1).unwrap() + 2;
        }
        // The list's end: were any byte but 1 read as an end, the rest would decode.
        k[list] = 2;
        assert!(
            decode(&k, &payload, &mut slot).is_err(),
            "the directors' end"
        );
        let mut p = payload.clone();
        p[..8].copy_from_slice(&u64::MAX.to_le_bytes()); // the id's length
        assert!(decode(&key, &p, &mut slot).is_err());
        decode(&key, &payload, &mut slot).unwrap();
        assert_eq!(slot.inc, i);
    }

    #[test]
    fn transitions_come_back_whole_and_sort_by_instance_time_and_arrival() {
        let texts = ["", "VI_1", "VI_1\0", "VI_10", "VI_2", "lb-a", "é", "\0"];
        let times = [i64::MIN, -1, 0, 1, 1_700_000_000_000_000, i64::MAX];
        let items: Vec<(cross::Transition, u64)> = (0..400u64)
            .map(|n| {
                let mut d = Draw(n.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
                let t = cross::Transition {
                    time: times[d.pick(times.len())],
                    host: d.text(&texts, texts.len()),
                    iname: d.text(&texts, 5),
                    master: d.pick(2) == 0,
                    line: d.text(&texts, texts.len()),
                };
                // Arrivals in another order than the items', so that they decide ties.
                (t, (n * 7919) % 400)
            })
            .collect();
        let (mut key, mut payload) = (Vec::new(), Vec::new());
        let mut slot = cross::Transition::default();
        let mut keys = Vec::new();
        for (t, seq) in &items {
            encode_transition(t, *seq, &mut key, &mut payload);
            decode_transition(&key, &payload, &mut slot).unwrap();
            assert_eq!(
                (&slot.iname, slot.time, &slot.host, slot.master, &slot.line),
                (&t.iname, t.time, &t.host, t.master, &t.line)
            );
            keys.push(key.clone());
        }
        let order = |(t, seq): &(cross::Transition, u64)| (t.iname.clone(), t.time, *seq);
        for a in 0..items.len() {
            for b in 0..items.len() {
                let want = order(&items[a]).cmp(&order(&items[b]));
                assert_eq!(keys[a].cmp(&keys[b]), want, "{a} against {b}");
            }
        }
        // Cut or damaged: an error, not a panic.
        let t = &items[1].0;
        encode_transition(t, 9, &mut key, &mut payload);
        for n in 0..key.len() {
            assert!(decode_transition(&key[..n], &payload, &mut slot).is_err());
        }
        for n in 0..payload.len() {
            assert!(decode_transition(&key, &payload[..n], &mut slot).is_err());
        }
        let mut p = payload.clone();
        p[0] = 2; // neither BACKUP nor MASTER
        assert!(decode_transition(&key, &p, &mut slot).is_err());
        let mut k = key.clone();
        k.push(0);
        assert!(decode_transition(&k, &payload, &mut slot).is_err());
    }

    proptest::proptest! {
        /// Any bytes at all, as a key and a payload, or a valid key with any payload:
        /// decoded or refused, never a panic (a damaged temporary file is an error).
        #[test]
        fn any_bytes_decode_or_fail_without_a_panic(
            key in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..120),
            payload in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
        ) {
            let (mut slot, mut t) = (Slot::default(), cross::Transition::default());
            let _ = decode(&key, &payload, &mut slot);
            let _ = decode_transition(&key, &payload, &mut t);
            let (mut k, mut p) = (Vec::new(), Vec::new());
            encode(&incident(7, &["lb-a", "VI_1"]), [0, 1, 0], &mut k, &mut p);
            let _ = decode(&k, &payload, &mut slot);
            let _ = decode(&key, &p, &mut slot);
        }
    }
}

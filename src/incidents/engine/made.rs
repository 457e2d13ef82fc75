//! How an incident is made and kept while open: its key, its first fields, its evidence
//! (the first lines and the newest), its stable id, and the [`Incident`] it becomes. (The
//! detectors are in `detect`, the bookkeeping of what is open in `open`.)

use super::*;

impl Engine {
    /// The key of an incident of `kind` for event `e`, its names shared with its
    /// director's.
    pub(super) fn key(
        &self,
        kind: &'static str,
        e: &In<'_>,
        vs: Option<VirtualServiceId>,
        rs: Option<RealServerId>,
    ) -> Key {
        let h = &self.hosts[e.hx];
        Key {
            kind,
            host: h.name.clone(),
            iname: e.iname.map(|i| h.iname_at(e.iname_ix, i)),
            vs,
            rs,
        }
    }

    /// The shared copy of event `e`'s instance name, if it names one.
    pub(super) fn iname_of(&self, e: &In<'_>) -> Option<Name> {
        e.iname.map(|i| self.hosts[e.hx].iname_at(e.iname_ix, i))
    }
}

pub(super) fn text(v: Option<VirtualServiceId>) -> String {
    let mut s = String::with_capacity(32);
    push_vs(&mut s, v);
    s
}

/// The service's text, or "a virtual service" when the line did not name one.
pub(super) fn push_vs(out: &mut String, v: Option<VirtualServiceId>) {
    match v {
        Some(v) => v.push_text(out),
        None => out.push_str("a virtual service"),
    }
}

/// `TCP_CHECK on service … failed` → `TCP_CHECK failed`, `Misc check for … failed …` →
/// `MISC_CHECK failed`; other wordings as written.
pub(super) fn push_checker_of(out: &mut String, msg: &str) {
    let mut words = msg.split_whitespace();
    match (words.next(), words.next()) {
        (Some(w), _) if w.ends_with("_CHECK") => {
            out.push_str(w);
            out.push_str(" failed");
        }
        (Some("Misc"), Some("check")) => out.push_str("MISC_CHECK failed"),
        _ => out.push_str(msg.trim()),
    }
}

impl Open {
    /// Incident `k`, opening at `start` (not closing by a quiet window: the caller sets
    /// that, and its number).
    pub(super) fn new(
        k: &Key,
        start: i64,
        summary: String,
        first: Evidence,
        severity: crate::logs::rules::Severity,
    ) -> Open {
        Open {
            start,
            end: None,
            count: 1,
            severity,
            summary,
            hint: kind(k.kind).map_or("", |s| s.hint),
            evidence: vec![first],
            quiet: None,
            last: start,
            tail: VecDeque::new(),
            seq: 0,
            by_look: false,
        }
    }
}

/// [`push_evidence`], the new line written by `fill` into the buffers of the line it
/// replaces when the tail is full (a message repeated a million times allocates once).
pub(super) fn push_evidence_with(o: &mut Open, keep: usize, fill: impl FnOnce(&mut Evidence)) {
    let first = keep.div_ceil(2);
    let room = keep - first;
    if o.evidence.len() >= first && room > 0 && o.tail.len() >= room {
        if let Some(mut ev) = o.tail.pop_front() {
            fill(&mut ev);
            o.tail.push_back(ev);
            return;
        }
    }
    let mut ev = Evidence {
        time: None,
        host: String::new(),
        line: String::new(),
    };
    fill(&mut ev);
    push_evidence(o, ev, keep);
}

/// Keeps the first evidence lines and the newest ones.
pub(super) fn push_evidence(o: &mut Open, ev: Evidence, keep: usize) {
    let first = keep.div_ceil(2);
    if o.evidence.len() < first {
        o.evidence.push(ev);
        return;
    }
    o.tail.push_back(ev);
    while o.tail.len() > keep - first {
        o.tail.pop_front();
    }
}

/// Open incident `k` as an [`Incident`], its evidence in order, its id made.
pub(super) fn finish(k: &Key, o: Open) -> Incident {
    let mut evidence = o.evidence;
    evidence.extend(o.tail);
    for e in evidence.iter_mut().filter(|e| e.host.is_empty()) {
        e.host.push_str(&k.host);
    }
    let mut inc = Incident {
        id: String::new(),
        kind: k.kind,
        severity: o.severity,
        // `String::from`, not `to_string`: an `Arc<str>`'s goes through `Display`.
        host: Some(String::from(&*k.host)),
        hosts: Vec::new(),
        iname: k.iname.as_deref().map(str::to_string),
        virtual_service: k.vs.map(|v| v.text()),
        real_server: k.rs.map(|r| r.text()),
        start: o.start,
        end: o.end,
        count: o.count,
        evidence,
        summary: o.summary,
        hint: o.hint,
    };
    inc.id = id_of(&inc);
    inc
}

/// A stable id: the same incident found twice (a restart, a second analysis) has the same.
pub(super) fn id_of(i: &Incident) -> String {
    let mut s = String::with_capacity(16);
    id_into(i, &mut s);
    s
}

/// [`id_of`] into `out` (its buffer kept). FNV-1a over the fields, each ended by a
/// separator byte (a field of its own cannot hold one).
pub(super) fn id_into(i: &Incident, out: &mut String) {
    let mut h = crate::logs::source::Fnv1a::default();
    let mut field = |b: &[u8]| {
        h.write(b);
        h.write(&[0xff]);
    };
    field(i.kind.as_bytes());
    field(i.host.as_deref().unwrap_or("\u{0}").as_bytes());
    for x in &i.hosts {
        field(x.as_bytes());
    }
    for x in [&i.iname, &i.virtual_service, &i.real_server] {
        field(x.as_deref().unwrap_or("\u{0}").as_bytes());
    }
    field(&i.start.to_le_bytes());
    out.clear();
    push_hex16(out, h.finish());
}

/// `n` as sixteen lower-case hex digits, as `format!("{n:016x}")` writes it (that took
/// 545 instructions an incident, callgrind).
fn push_hex16(out: &mut String, n: u64) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.extend(
        (0..16)
            .rev()
            .map(|i| char::from(HEX[(n >> (4 * i)) as usize & 0xf])),
    );
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn hex16_writes_what_format_writes(n in any::<u64>()) {
            let mut s = String::from("left over");
            super::push_hex16(&mut s, n);
            prop_assert_eq!(s, format!("left over{n:016x}"));
        }
    }
}

//! The records' round trips, order and damage.

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
    let mut i = Incident {
        id: String::new(),
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
    };
    i.id = id_of(&i);
    i
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
            i.host.is_some() && !i.hosts.is_empty() && i.iname.is_some() && !i.evidence.is_empty()
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
    p[0] = 3; // no severity
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

#[test]
fn numbers_too_large_or_too_long_are_refused() {
    // 2^64: nine groups of zeros, then 2 in the tenth (wrapped, it would read as 0).
    let mut b = vec![0x80; 9];
    b.push(0x02);
    assert!(Cursor(&b).varint().is_err());
    let mut b = vec![0xff; 10];
    b.push(0x01);
    assert!(Cursor(&b).varint().is_err());
    let mut b = vec![0xff; 9];
    b.push(0x01);
    assert_eq!(Cursor(&b).varint().unwrap(), u64::MAX);
    assert!(Cursor(&[9, 0, 0, 0, 0, 0, 0, 0, 0, 0]).ordered().is_err());
}

proptest::proptest! {
    /// Every number and time comes back, and the keys' numbers sort as numbers do.
    #[test]
    fn numbers_come_back_and_keys_numbers_sort(
        a in proptest::prelude::any::<u64>(),
        b in proptest::prelude::any::<u64>(),
        t in proptest::prelude::any::<i64>(),
        base in proptest::prelude::any::<i64>(),
    ) {
        let mut out = Vec::new();
        varint(&mut out, a);
        ordered(&mut out, a);
        time(&mut out, Some(t), base);
        time(&mut out, None, base);
        let mut c = Cursor(&out);
        proptest::prop_assert_eq!(c.varint().unwrap(), a);
        proptest::prop_assert_eq!(c.ordered().unwrap(), a);
        proptest::prop_assert_eq!(c.time(base).unwrap(), Some(t));
        proptest::prop_assert_eq!(c.time(base).unwrap(), None);
        proptest::prop_assert!(c.0.is_empty());
        let (mut x, mut y) = (Vec::new(), Vec::new());
        ordered(&mut x, a);
        ordered(&mut y, b);
        proptest::prop_assert_eq!(x.cmp(&y), a.cmp(&b));
    }

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

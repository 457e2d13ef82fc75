//! `/proc/net/ip_vs_conn` summary: no panic, no error from an in-memory reader, and:
//! - the result does not depend on how the reader chunks its buffer;
//! - `lines <= max_lines`, `truncated` only at the cap, and a capped read is a prefix of
//!   the full one;
//! - counts are positive, pairs distinct, at most 64 of them, and sum to `lines` minus
//!   the lines refused for too many pairs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lvsmon::ipvs::conntable::{summarize, ConnSummary};
use std::io::BufReader;

fn check(s: &ConnSummary, max_lines: u64) {
    assert!(s.lines <= max_lines);
    assert!(!s.truncated || s.lines == max_lines);
    assert_eq!(s.bad_lines > 0, s.first_error.is_some());
    assert!(s.counts.len() <= 64);
    let total: u64 = s.counts.iter().map(|c| c.2).sum();
    assert!(total <= s.lines);
    assert!(s.lines - total <= s.bad_lines, "lines neither counted nor reported bad");
    for (i, a) in s.counts.iter().enumerate() {
        assert!(a.2 > 0);
        assert!(!a.1.is_empty());
        for b in &s.counts[..i] {
            assert!(a.0 != b.0 || a.1 != b.1, "pair listed twice: {a:?}");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let full = summarize(&mut &data[..], u64::MAX).unwrap();
    check(&full, u64::MAX);
    assert!(!full.truncated);

    // Any buffer size gives the same answer (lines split across fills).
    let cap = data.len() % 13 + 1;
    let chunked = summarize(&mut BufReader::with_capacity(cap, data), u64::MAX).unwrap();
    assert_eq!(chunked, full);

    for max in [0, 1, full.lines / 2, full.lines.saturating_sub(1), full.lines] {
        let part = summarize(&mut &data[..], max).unwrap();
        check(&part, max);
        if full.lines > max {
            assert!(part.truncated, "more than {max} lines but not truncated");
        }
        if !part.truncated {
            assert_eq!(part, full);
        }
        for (p, st, n) in &part.counts {
            let whole = full.counts.iter().find(|c| c.0 == *p && c.1 == *st);
            assert!(whole.is_some_and(|c| c.2 >= *n), "{p:?} {st} not in the full read");
        }
    }
});

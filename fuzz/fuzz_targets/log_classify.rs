//! `logs::rules`: framing then classifying any bytes never panics, and the fast path
//! (literal prefilter, the linear matcher, reused label buffers) gives exactly what trying
//! every rule's regex in order with the regex crate gives: the same winner and the same
//! labels.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lvsmon::logs::frame::{frame, YearClock};
use lvsmon::logs::rules::Rules;
use std::sync::OnceLock;

static RULES: OnceLock<Rules> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let rules = RULES.get_or_init(|| Rules::builtin().expect("built-in rules compile"));
    let mut scratch = rules.scratch();
    let f = frame(data, &YearClock::fixed(2024));
    let ident = f.ident.as_deref();
    let fast = rules.classify(&mut scratch, ident, &f.message).map(|e| {
        let labels: Vec<_> = e.labels().map(|(l, v)| (l, v.to_string())).collect();
        (e.rule, labels)
    });
    assert_eq!(fast, rules.classify_reference(ident, &f.message));
});

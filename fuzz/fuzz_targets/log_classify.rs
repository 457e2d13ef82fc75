//! `logs::rules`: framing then classifying any bytes never panics, and the multi-pattern
//! matcher agrees with the rules' own regexes: the winner matches and applies to the ident,
//! and no earlier rule would have matched.
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
    let winner = rules.classify(&mut scratch, ident, &f.message).map(|e| e.rule);
    let want = rules
        .rules()
        .iter()
        .position(|r| r.applies_to(ident) && r.is_match(&f.message));
    assert_eq!(winner, want);
});

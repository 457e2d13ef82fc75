//! keepalived's JSON dump: no panic, and a cut-off dump is never a state: a prefix that
//! parses differs from the whole only by trailing whitespace, and gives the same state.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lvsmon::keepalived::dump::parse_json;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(full) = parse_json(text) else { return };
    for cut in [text.len() / 3, text.len() / 2, text.len().saturating_sub(1)] {
        if let Some(Ok(part)) = text.get(..cut).map(parse_json) {
            assert!(text[cut..].trim().is_empty(), "a cut dump parsed");
            assert_eq!(part, full);
        }
    }
});

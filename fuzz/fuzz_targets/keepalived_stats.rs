//! `keepalived.stats`: no panic, and a strict prefix of a parsed file never parses to a
//! different, smaller set of instances.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lvsmon::keepalived::dump::parse_stats;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(full) = parse_stats(text) {
        for cut in [text.len() / 3, text.len() / 2, text.len().saturating_sub(1)] {
            if let Some(Ok(part)) = text.get(..cut).map(parse_stats) {
                assert!(part.len() <= full.len());
                assert_eq!(part[..], full[..part.len()], "a prefix changed counters");
            }
        }
    }
});

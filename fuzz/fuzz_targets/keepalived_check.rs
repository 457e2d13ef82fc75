//! `keepalived_check.data`: no panic, and every parsed virtual and real server has an
//! address and a canonical name.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lvsmon::keepalived::dump::parse_check_data;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(services) = parse_check_data(text) {
        for vs in &services {
            assert!(!vs.canonical().is_empty());
            for rs in &vs.real_servers {
                assert!(!rs.canonical(vs.protocol).is_empty());
            }
        }
    }
});

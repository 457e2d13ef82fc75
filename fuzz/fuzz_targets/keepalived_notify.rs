//! keepalived's notify FIFO lines: no panic; what parses, applied to a state, leaves every
//! instance and server named; and a parsed line that changes state has a key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lvsmon::keepalived::model::KeepalivedState;
use lvsmon::keepalived::notify::{apply, parse_line, Notice};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut state = KeepalivedState::default();
    for line in text.split('\n') {
        if let Ok(n) = parse_line(line) {
            if matches!(n, Notice::VirtualServer { .. } | Notice::RealServer { .. }) {
                assert!(n.key().is_some());
            }
            apply(&mut state, &n, 1.0);
        }
    }
    for i in &state.instances {
        assert!(!i.iname.is_empty());
    }
    for vs in &state.virtual_services {
        assert!(!vs.canonical().is_empty());
        for rs in &vs.real_servers {
            assert!(rs.id().is_some());
        }
    }
});

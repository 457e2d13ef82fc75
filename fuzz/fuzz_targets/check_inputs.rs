//! `check`: what a plugin parses never panics — a Nagios range (`-w`/`-c`), a Zabbix item
//! key, a `/metrics` page from a running lvsmon (line by line and as services), the
//! `/api/v1/services` answer and its `?service=` query.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lvsmon::check::{api, exposition, range::Range, remote, zabbix};

fuzz_target!(|data: &[u8]| {
    let _ = api::parse(data);
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(r) = s.parse::<Range>() {
        for v in [f64::NEG_INFINITY, -1.0, 0.0, 0.5, 1.0, 1e9, f64::INFINITY, f64::NAN] {
            let _ = r.alerts(v);
        }
    }
    let _ = zabbix::parse_key(s);
    for line in s.lines() {
        let _ = exposition::parse_line(line);
    }
    let _ = remote::services_from_page(s, None);
    let _ = api::wanted(Some(s));
});

//! What a client or an operator hands the HTTP server: a web config file
//! (`http::webconfig`), `Accept-Encoding`, `Authorization: Basic`, and the cardinality
//! rules (`--collector.ipvs.service-include`). None panics, and a web config error never
//! quotes a bcrypt hash that the file held.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lvsmon::http::auth::basic_credentials;
use lvsmon::http::page::Encoding;
use lvsmon::http::webconfig::WebConfig;
use lvsmon::metrics::ipvs_options::ServiceMatch;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match WebConfig::parse(&text, Path::new("/etc/lvsmon")) {
        // No user's hash in what Debug shows (file paths and header values are not
        // secrets, and may hold anything, `$2` included).
        Ok(c) => {
            let shown = format!("{c:?}");
            for hash in c.users.values() {
                assert!(!shown.contains(hash.as_str()), "{shown}");
            }
        }
        Err(e) => {
            let msg = e.to_string();
            for (i, _) in text.match_indices("$2") {
                let secret: String = text[i..].chars().take(24).collect();
                if secret.len() >= 24 {
                    assert!(!msg.contains(&secret), "{msg}");
                }
            }
        }
    }
    let _ = Encoding::negotiate(Some(&text));
    if let Some((user, _)) = basic_credentials(&text) {
        assert!(!user.contains(':'));
    }
    let _ = text.parse::<ServiceMatch>();
});

//! The parsers of `lvsmon check` never panic on what they are given — a `/metrics` line from
//! a server, a Zabbix item key from the agent, a range from a command definition — and
//! what they print parses back to what they read.

use lvsmon::check::exposition::parse_line;
use lvsmon::check::range::Range;
use lvsmon::check::zabbix::parse_key;
use proptest::prelude::*;

proptest! {
    #[test]
    fn metrics_lines_never_panic(line in "\\PC{0,80}", name in "[a-z_]{1,12}", v in "[a-z\"\\\\=,{} 0-9.+-]{0,40}") {
        let _ = parse_line(&line);
        let _ = parse_line(&format!("{name}{{{v}}} 1"));
        let _ = parse_line(&format!("{name}{{a=\"{v}"));
    }

    #[test]
    fn label_values_round_trip(value in "\\PC{0,30}", n in -1e9f64..1e9) {
        // Escaped as the exposition format escapes them, read back as written.
        let esc = value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
        let line = format!("m{{a=\"{esc}\",b=\"x\"}} {n}");
        let s = parse_line(&line).unwrap();
        prop_assert_eq!(s.label("a"), value.as_str());
        prop_assert_eq!(s.label("b"), "x");
        prop_assert_eq!(s.value, n);
    }

    #[test]
    fn item_keys_never_panic(key in "\\PC{0,60}", params in "[a-z0-9\",\\\\ \\[\\]]{0,40}") {
        let _ = parse_key(&key);
        let _ = parse_key(&format!("lvsmon.service[{params}]"));
    }

    #[test]
    fn ranges_never_panic_and_display_parses_back(text in "[@~:0-9.eE+-]{0,12}") {
        if let Ok(r) = text.parse::<Range>() {
            prop_assert_eq!(r.to_string().parse::<Range>(), Ok(r));
        }
    }
}

//! `/proc/net/ip_vs_stats_percpu`: no panic; at most one CPU per line; what was parsed
//! renders back to the same CPUs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lvsmon::ipvs::model::Stats;
use lvsmon::ipvs::procfs::parse_percpu_stats;
use std::fmt::Write as _;

fn fields(s: &Stats) -> String {
    format!(
        "{:8X} {:8X} {:8X} {:16X} {:16X}",
        s.conns, s.in_packets, s.out_packets, s.in_bytes, s.out_bytes
    )
}

fuzz_target!(|data: &[u8]| {
    let parsed = parse_percpu_stats(data);
    assert_eq!(parsed.bad_lines > 0, parsed.first_error.is_some());
    if let Some(e) = parsed.first_error {
        assert!(e.line >= 1, "{e:?}");
    }
    let n_lines = data.split(|&b| b == b'\n').count();
    assert!(parsed.value.len() + parsed.bad_lines <= n_lines + 1);

    let mut text = String::from(
        "       Total Incoming Outgoing         Incoming         Outgoing\nCPU    Conns  Packets  Packets            Bytes            Bytes\n",
    );
    let mut sum = Stats::default();
    for c in &parsed.value {
        writeln!(text, "{:3X} {}", c.cpu, fields(&c.totals)).unwrap();
        sum.conns = sum.conns.wrapping_add(c.totals.conns);
        sum.in_packets = sum.in_packets.wrapping_add(c.totals.in_packets);
        sum.out_packets = sum.out_packets.wrapping_add(c.totals.out_packets);
        sum.in_bytes = sum.in_bytes.wrapping_add(c.totals.in_bytes);
        sum.out_bytes = sum.out_bytes.wrapping_add(c.totals.out_bytes);
    }
    writeln!(text, "  ~ {}\n", fields(&sum)).unwrap();
    text.push_str("     Conns/s   Pkts/s   Pkts/s          Bytes/s          Bytes/s\n");
    writeln!(text, "    {}", fields(&Stats::default())).unwrap();
    let again = parse_percpu_stats(text.as_bytes());
    assert_eq!(again.first_error, None, "re-rendered:\n{text}");
    assert_eq!(again.value, parsed.value);
});

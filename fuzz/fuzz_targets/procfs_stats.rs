//! `/proc/net/ip_vs_stats`: no panic; a result exactly when the file had both figure
//! lines; what was parsed renders back to the same figures.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lvsmon::ipvs::model::Stats;
use lvsmon::ipvs::procfs::parse_global_stats;

fn fields(s: &Stats) -> String {
    format!(
        "{:8X} {:8X} {:8X} {:16X} {:16X}",
        s.conns, s.in_packets, s.out_packets, s.in_bytes, s.out_bytes
    )
}

fuzz_target!(|data: &[u8]| {
    let parsed = parse_global_stats(data);
    assert_eq!(parsed.bad_lines > 0, parsed.first_error.is_some());
    if let Some(e) = parsed.first_error {
        assert!(e.line >= 1, "{e:?}");
    }
    // No figures means the file was short, which is reported.
    assert!(parsed.value.is_some() || parsed.bad_lines > 0);

    if let Some(g) = parsed.value {
        let text = format!(
            "   Total Incoming Outgoing         Incoming         Outgoing\n   Conns  Packets  Packets            Bytes            Bytes\n{}\n\n Conns/s   Pkts/s   Pkts/s          Bytes/s          Bytes/s\n{}\n",
            fields(&g.totals),
            fields(&g.rates)
        );
        let again = parse_global_stats(text.as_bytes());
        assert_eq!(again.first_error, None, "re-rendered:\n{text}");
        assert_eq!(again.value, Some(g));
    }
});

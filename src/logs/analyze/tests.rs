//! `analyze`'s counting, per host and kind, on lines and captures.
use super::*;
use crate::logs::frame::frame;
use std::io::Write;

fn analyze(bytes: &[u8]) -> Summary {
    let rules = Arc::new(Rules::builtin().unwrap());
    let mut a = Analyzer::new(
        rules,
        YearClock::fixed(2024).with_zone(jiff::tz::TimeZone::UTC),
        4096,
    );
    a.read(bytes).unwrap();
    a.summary()
}

const TEXT: &[u8] = b"Nov 25 10:00:00 lb1 Keepalived_vrrp[1]: (VI_1) Entering MASTER STATE\n\
    Nov 25 10:00:01 lb1 Keepalived_vrrp[1]: (VI_1) Entering BACKUP STATE\n\
    Nov 25 10:00:02 lb1 sshd[9]: Accepted publickey for root\n\
    [ 12.5] nf_conntrack: table full, dropping packet";

#[test]
fn counts_lines_events_and_the_unmatched() {
    let s = analyze(TEXT);
    assert_eq!((s.lines, s.matched, s.unmatched), (4, 3, 1));
    assert_eq!(s.events.get("vrrp_master"), Some(&1));
    assert_eq!(s.events.get("conntrack_table_full"), Some(&1));
    let json: serde_json::Value = serde_json::from_str(&s.to_json()).unwrap();
    assert_eq!(json["lines"], 4);
    assert_eq!(json["matched"], 3);
    assert_eq!(json["events"]["vrrp_backup"], 1);
    assert!(s.to_text().contains("vrrp_master"));
}

#[test]
fn each_host_gets_its_kinds_with_first_and_last_times() {
    let s = analyze(
        b"Nov 25 10:00:00 lb1 Keepalived_vrrp[1]: (VI_1) Entering MASTER STATE\n\
          Nov 25 10:05:00 lb2 Keepalived_vrrp[1]: (VI_1) Entering MASTER STATE\n\
          Nov 25 10:07:30 lb1 Keepalived_vrrp[1]: (VI_1) Entering MASTER STATE\n\
          [ 12.5] nf_conntrack: table full, dropping packet\n",
    );
    let json: serde_json::Value = serde_json::from_str(&s.to_json()).unwrap();
    let lb1 = &json["hosts"]["lb1"]["vrrp_master"];
    assert_eq!(lb1["count"], 2);
    assert_eq!(lb1["first"], "2024-11-25T10:00:00Z");
    assert_eq!(lb1["last"], "2024-11-25T10:07:30Z");
    assert_eq!(json["hosts"]["lb2"]["vrrp_master"]["count"], 1);
    let kernel = &json["hosts"][NO_HOST]["conntrack_table_full"];
    assert_eq!(kernel["count"], 1);
    assert!(
        kernel.get("first").is_none(),
        "no wall time in a dmesg line"
    );
    let text = s.to_text();
    assert!(text.contains("host lb1:") && text.contains("2024-11-25T10:07:30Z"));
}

/// Odd counts, mixed idents and lines no rule applies to count exactly as classifying each
/// line by the reference does.
#[test]
fn counts_are_what_the_reference_counts_line_by_line() {
    let rules = Arc::new(Rules::builtin().unwrap());
    let clock = YearClock::fixed(2024);
    let mut text = String::new();
    for f in [
        include_str!("../../../tests/fixtures/logs/keepalived-2.2.7-lbA.log"),
        include_str!("../../../tests/fixtures/logs/keepalived_lines.txt"),
        include_str!("../../../tests/fixtures/logs/kernel_lines.txt"),
    ] {
        text.push_str(f);
        text.push_str("Nov 25 10:00:02 lb1 sshd[9]: Accepted publickey for root\n");
    }
    // Either count of lines ends in an event, the one a held line would lose.
    text.push_str("(VI_9) Entering MASTER STATE\n(VI_9) Entering MASTER STATE\n");
    for take in [text.lines().count(), text.lines().count() - 1] {
        let lines: Vec<&str> = text.lines().take(take).collect();
        let mut a = Analyzer::new(rules.clone(), clock, 4096);
        a.read(lines.join("\n").as_bytes()).unwrap();
        let mut want = BTreeMap::new();
        for l in &lines {
            let f = frame(l.as_bytes(), &clock);
            if let Some((i, _)) = rules.classify_reference(f.ident.as_deref(), &f.message) {
                *want.entry(rules.rules()[i].kind.clone()).or_insert(0) += 1;
            }
        }
        let got = a.summary();
        assert_eq!(got.lines, take as u64);
        assert_eq!(got.events, want, "{take} lines");
    }
}

#[test]
fn gzip_is_read_like_the_plain_text() {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(TEXT).unwrap();
    assert_eq!(analyze(&gz.finish().unwrap()), analyze(TEXT));
}

#[test]
fn a_huge_line_is_cut_counted_and_the_next_still_classified() {
    let mut input = vec![b'x'; 2 << 20];
    input.extend_from_slice(b"\n(VI_1) Entering MASTER STATE\n\xff\xfe\n");
    let s = analyze(&input);
    assert_eq!((s.lines, s.truncated, s.matched), (3, 1, 1));
}

/// The JSON written as incidents are read is serde_json's text of the whole summary, byte
/// for byte, on real captures of three directors (failovers, split brains, real servers
/// out, lines with quotes and brackets in the evidence).
#[test]
fn streamed_json_is_serdes_text_of_the_summary() {
    let rules = Arc::new(Rules::builtin().unwrap());
    let mut a = Analyzer::new(
        rules,
        YearClock::fixed(2024).with_zone(jiff::tz::TimeZone::UTC),
        4096,
    )
    .with_incidents(crate::incidents::Settings::default());
    for f in [
        "lbA",
        "lbB",
        "lbC",
        "fault-lbA",
        "fault-lbB",
        "check",
        "flap",
    ] {
        let path = format!(
            "{}/tests/fixtures/logs/keepalived-2.2.7-{f}.log",
            env!("CARGO_MANIFEST_DIR")
        );
        let file = std::fs::File::open(&path).unwrap();
        a.read_named(file, f.trim_start_matches("fault-")).unwrap();
    }
    let s = a.into_summary();
    assert!(s.incidents.len() > 10, "{} incidents", s.incidents.len());
    let mut out = Vec::new();
    s.write_json(&mut out).unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), s.to_json() + "\n");

    let empty = Summary::default();
    let mut out = Vec::new();
    empty.write_json(&mut out).unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), empty.to_json() + "\n");
}

/// A reader that hands out at most `size` bytes per read.
struct Chunks<'a> {
    data: &'a [u8],
    size: usize,
}

impl std::io::Read for Chunks<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.size.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

#[test]
fn what_is_found_does_not_depend_on_where_reads_end() {
    // Two-byte and three-byte characters, a byte that is not UTF-8, and a line cut at the
    // cap (80 bytes) in the middle of a character: each read's chunk is checked as a
    // whole, and a line across two reads, or after the bad byte, is checked alone.
    let mut input = Vec::new();
    input.extend_from_slice(
        "Nov 25 10:00:00 lb1 Keepalived_vrrp[1]: (VI_é) Entering MASTER STATE\n".as_bytes(),
    );
    input.extend_from_slice(
        b"Nov 25 10:00:01 lb1 Keepalived_vrrp[1]: (VI_\xff) Entering FAULT STATE\n",
    );
    input.extend_from_slice(
        "Nov 25 10:00:02 lb2 Keepalived_vrrp[1]: (VI_€) Entering MASTER STATE ééééééééé\n"
            .as_bytes(),
    );
    input.extend_from_slice(
        "Nov 25 10:00:03 lb1 Keepalived_vrrp[1]: (VI_é) Entering FAULT STATE\n".as_bytes(),
    );
    input.extend_from_slice(
        "Nov 25 10:00:04 lb1 Keepalived_vrrp[1]: (VI_é) Entering BACKUP STATE\n".as_bytes(),
    );
    let rules = Arc::new(Rules::builtin().unwrap());
    let read = |size: usize| {
        let rules = rules.clone();
        let clock = YearClock::fixed(2024).with_zone(jiff::tz::TimeZone::UTC);
        let mut a =
            Analyzer::new(rules, clock, 80).with_incidents(crate::incidents::Settings::default());
        a.read(Chunks { data: &input, size }).unwrap();
        a.summary().to_json()
    };
    let whole = read(input.len());
    assert!(
        whole.contains("VI_é") && whole.contains('\u{fffd}'),
        "{whole}"
    );
    for size in 1..=input.len() {
        assert_eq!(read(size), whole, "reads of {size} bytes");
    }
}

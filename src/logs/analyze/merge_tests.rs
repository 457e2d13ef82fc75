//! Several inputs merged by time, on the real keepalived 2.2.7 captures of tests/fixtures:
//! a director's log cut into rotations and given newest first (as `syslog*` expands) tells
//! the same story as the whole file.

use super::*;
use crate::incidents::Settings;
use crate::logs::clock::parse_zone;
use std::io::Write as _;

fn analyzer() -> Analyzer {
    let rules = Arc::new(Rules::builtin().unwrap());
    let clock = YearClock::fixed(2026).with_zone(parse_zone("UTC").unwrap());
    Analyzer::new(rules, clock, 1 << 16).with_incidents(Settings::default())
}

/// The incidents as JSON, for comparing whole stories.
fn told(a: Analyzer) -> String {
    serde_json::to_string(&a.into_summary().incidents).unwrap()
}

/// A capture cut into `n` pieces of whole lines, the first piece first.
fn pieces(text: &str, n: usize) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    lines
        .chunks(lines.len().div_ceil(n))
        .map(|c| c.iter().map(|l| format!("{l}\n")).collect())
        .collect()
}

fn gzip(text: &str) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(text.as_bytes()).unwrap();
    gz.finish().unwrap()
}

#[test]
fn rotations_given_newest_first_tell_the_whole_files_story() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/logs");
    let mut captures: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with("keepalived-2.2.7-") && name.ends_with(".log")
        })
        .collect();
    captures.sort();
    assert!(captures.len() >= 9, "{captures:?}");
    let mut one_after_another_differs = 0;
    for path in &captures {
        let text = std::fs::read_to_string(path).unwrap();
        let mut whole = analyzer();
        whole.read_named(text.as_bytes(), "lb").unwrap();
        let whole = told(whole);
        for n in [2, 3, 5] {
            // Newest first, the oldest compressed (as logrotate leaves syslog.2.gz).
            let mut rotated: Vec<Vec<u8>> = pieces(&text, n)
                .into_iter()
                .map(String::into_bytes)
                .collect();
            rotated.reverse();
            let oldest = rotated.len() - 1;
            rotated[oldest] = gzip(std::str::from_utf8(&rotated[oldest]).unwrap());
            let mut merged = analyzer();
            let inputs = rotated
                .iter()
                .map(|b| (Box::new(b.as_slice()) as Box<dyn Read>, "lb".to_string()))
                .collect();
            merged.read_merged(inputs).unwrap();
            assert_eq!(told(merged), whole, "{} in {n} pieces", path.display());
            // What reading them one after another told instead.
            let mut sequential = analyzer();
            for piece in &rotated {
                sequential.read_named(piece.as_slice(), "lb").unwrap();
            }
            one_after_another_differs += usize::from(told(sequential) != whole);
        }
    }
    // The merge is what makes them equal: read one after another, some stories change.
    assert!(one_after_another_differs > 0);
}

#[test]
fn a_directors_kernel_and_keepalived_files_meet_in_time_order() {
    let daemon = "Nov  1 10:00:00 lb1 Keepalived_healthcheckers[2018]: Lost quorum 1-0=1 > 0 for VS [10.1.0.100]:tcp:80\n\
                  Nov  1 10:00:30 lb1 Keepalived_healthcheckers[2018]: Gained quorum 1+0=1 <= 2 for VS [10.1.0.100]:tcp:80\n";
    let kern = "Nov  1 10:00:05 lb1 kernel: [5.000000] IPVS: rr: TCP 10.1.0.100:80 - no destination available\n\
                Nov  1 10:02:00 lb1 kernel: [120.000000] IPVS: rr: TCP 10.1.0.100:80 - no destination available\n";
    let rows = |a: Analyzer| -> Vec<(i64, Option<i64>, u64)> {
        a.into_summary()
            .incidents
            .iter()
            .map(|i| (i.start, i.end, i.count))
            .collect()
    };
    // 2026-11-01 at this time, UTC, in µs.
    let t = |hms: &str| {
        let at: jiff::civil::DateTime = format!("2026-11-01 {hms}").parse().unwrap();
        jiff::tz::TimeZone::UTC
            .to_timestamp(at)
            .unwrap()
            .as_microsecond()
    };
    // The service is down from the quorum lost to the quorum gained, the kernel's line
    // inside folded in; the later kernel line is an incident of its own, still open.
    let want = vec![
        (t("10:00:00"), Some(t("10:00:30")), 2),
        (t("10:02:00"), None, 1),
    ];
    for files in [[daemon, kern], [kern, daemon]] {
        let mut a = analyzer();
        let inputs = files
            .iter()
            .map(|f| (Box::new(f.as_bytes()) as Box<dyn Read>, "-".to_string()))
            .collect();
        let read = a.read_merged(inputs).unwrap();
        assert_eq!(read, [InputRead::default(); 2]);
        assert_eq!(rows(a), want);
    }
    // One after another, the kernel's line after the quorum came back opened an incident
    // of its own.
    let mut a = analyzer();
    a.read_named(daemon.as_bytes(), "-").unwrap();
    a.read_named(kern.as_bytes(), "-").unwrap();
    assert_ne!(rows(a), want);
}

//! Expected instants come from GNU date, an independent oracle:
//! `TZ=Europe/Berlin date -d '2024-11-25 10:00:00' +%s` and the like. Around DST changes the
//! offset that `compatible` means is spelt out instead: date refuses a local time inside a
//! spring gap, and in an autumn fold it picks whichever pass mktime's guess lands on (the
//! later in Berlin, the earlier in New York), so there the oracle is
//! `date -d '2024-03-31 02:30:00 +0100' +%s` (the offset before the gap) and
//! `date -d '2024-10-27 02:30:00 +0200' +%s` (the earlier pass).
use super::*;
use crate::logs::frame::{frame, Time, Transport};

fn tz(name: &str) -> TimeZone {
    match parse_zone(name) {
        Ok(z) => z,
        Err(e) => panic!("{e}"),
    }
}

fn in_zone(year: i32, zone: &str) -> YearClock {
    YearClock::fixed(year).with_zone(tz(zone))
}

fn secs(line: &str, clock: &YearClock) -> i64 {
    match frame(line.as_bytes(), clock).time {
        Some(Time::Wall(us)) => us / 1_000_000,
        other => panic!("{line}: {other:?}"),
    }
}

/// Local seconds of a civil date and time.
fn local(y: i32, mo: u32, d: u32, h: i64, mi: i64, s: i64) -> i64 {
    days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s
}

#[test]
fn rfc3164_on_the_nights_of_dst_changes_in_europe_berlin() {
    let c = in_zone(2024, "Europe/Berlin");
    // Spring gap, read as CET: date -d '2024-03-31 02:30:00 +0100' +%s
    assert_eq!(secs("Mar 31 02:30:00 lb1 k: m", &c), 1_711_848_600);
    // Autumn fold, the earlier (CEST) pass: date -d '2024-10-27 02:30:00 +0200' +%s
    assert_eq!(secs("Oct 27 02:30:00 lb1 k: m", &c), 1_729_989_000);
    // Either side of the fold: TZ=Europe/Berlin date -d '2024-10-27 01:59:59' +%s, and
    // '2024-10-27 03:00:00'.
    assert_eq!(secs("Oct 27 01:59:59 lb1 k: m", &c), 1_729_987_199);
    assert_eq!(secs("Oct 27 03:00:00 lb1 k: m", &c), 1_729_994_400);
    // An ordinary day: TZ=Europe/Berlin date -d '2024-11-25 10:00:00' +%s
    assert_eq!(secs("Nov 25 10:00:00 lb1 k: m", &c), 1_732_525_200);
}

#[test]
fn rfc3164_on_the_nights_of_dst_changes_in_america_new_york() {
    let c = in_zone(2024, "America/New_York");
    // Spring gap, read as EST: date -d '2024-03-10 02:30:00 -0500' +%s
    assert_eq!(secs("Mar 10 02:30:00 lb1 k: m", &c), 1_710_055_800);
    // 02:30 on the fall-back night is after the fold, EST:
    // TZ=America/New_York date -d '2024-11-03 02:30:00' +%s
    assert_eq!(secs("Nov  3 02:30:00 lb1 k: m", &c), 1_730_619_000);
    // The fold itself, the earlier (EDT) pass: date -d '2024-11-03 01:30:00 -0400' +%s
    assert_eq!(secs("Nov  3 01:30:00 lb1 k: m", &c), 1_730_611_800);
    // TZ=America/New_York date -d '2024-11-25 10:00:00' +%s
    assert_eq!(secs("Nov 25 10:00:00 lb1 k: m", &c), 1_732_546_800);
}

#[test]
fn the_same_lines_in_utc_are_their_face_value() {
    let c = in_zone(2024, "UTC");
    // TZ=UTC date -d '2024-03-31 02:30:00' +%s, and '2024-10-27 02:30:00'
    assert_eq!(secs("Mar 31 02:30:00 lb1 k: m", &c), 1_711_852_200);
    assert_eq!(secs("Oct 27 02:30:00 lb1 k: m", &c), 1_729_996_200);
    assert_eq!(secs("Nov 25 10:00:00 lb1 k: m", &c), 1_732_528_800);
    assert_eq!(c.zone(), &TimeZone::UTC);
}

#[test]
fn keepalived_console_and_dmesg_wall_times_carry_their_year_and_take_the_zone() {
    // The clock's forced year must not override a year the line carries.
    let c = in_zone(1999, "Europe/Berlin");
    let line = "Sun Mar 31 02:30:00 2024: (VI_1) Entering MASTER STATE";
    let fr = frame(line.as_bytes(), &c);
    assert_eq!(fr.transport, Transport::KeepalivedConsole);
    // date -d '2024-03-31 02:30:00 +0100' +%s
    assert_eq!(fr.time, Some(Time::Wall(1_711_848_600 * 1_000_000)));
    let file = "Mon Nov 25 10:00:00.123456789 2024: (VI_1) Entering MASTER STATE";
    // TZ=Europe/Berlin date -d '2024-11-25 10:00:00' +%s
    assert_eq!(
        frame(file.as_bytes(), &c).time,
        Some(Time::Wall(1_732_525_200 * 1_000_000 + 123_456))
    );
    let ny = in_zone(1999, "America/New_York");
    // dmesg -T: TZ=America/New_York date -d '2024-11-25 10:00:00' +%s
    let fr = frame(b"[Mon Nov 25 10:00:00 2024] IPVS: ipvs loaded.", &ny);
    assert_eq!(fr.transport, Transport::Dmesg);
    assert_eq!(fr.time, Some(Time::Wall(1_732_546_800 * 1_000_000)));
}

#[test]
fn offsets_in_the_line_win_over_the_zone() {
    let c = in_zone(2024, "Australia/Lord_Howe");
    let line = "2024-11-25T10:00:00+00:00 lb1 k: m";
    assert_eq!(secs(line, &c), 1_732_528_800);
    let json = r#"{"__REALTIME_TIMESTAMP":"1732528800000000","MESSAGE":"m"}"#;
    assert_eq!(secs(json, &c), 1_732_528_800);
}

#[test]
fn a_december_line_read_in_january_is_last_years() {
    // Now: 2025-01-01 00:30 in Berlin, still 2024-12-31 23:30 in UTC:
    // TZ=Europe/Berlin date -d '2025-01-01 00:30:00' +%s
    let c = YearClock::at(1_735_687_800).with_zone(tz("Europe/Berlin"));
    // TZ=Europe/Berlin date -d '2024-12-31 23:59:59' +%s
    assert_eq!(secs("Dec 31 23:59:59 h k: m", &c), 1_735_685_999);
    // TZ=Europe/Berlin date -d '2025-01-01 00:10:00' +%s
    assert_eq!(secs("Jan  1 00:10:00 h k: m", &c), 1_735_686_600);
    // Less than a day ahead is this year (clock skew): 2025-01-01 12:00 CET.
    assert_eq!(secs("Jan  1 12:00:00 h k: m", &c), 1_735_729_200);
    // More than a day ahead is last year: TZ=Europe/Berlin date -d '2024-01-02 12:00:00' +%s
    assert_eq!(secs("Jan  2 12:00:00 h k: m", &c), 1_704_193_200);
}

#[test]
fn a_january_line_read_late_in_december_is_next_years_only_within_a_day() {
    // Now: TZ=Europe/Berlin date -d '2024-12-31 23:59:00' +%s
    let c = YearClock::at(1_735_685_940).with_zone(tz("Europe/Berlin"));
    // Two minutes ahead: next year's, not a year old.
    // TZ=Europe/Berlin date -d '2025-01-01 00:00:01' +%s
    assert_eq!(secs("Jan  1 00:00:01 h k: m", &c), 1_735_686_001);
    // A day and a half ahead cannot be: this year's. 2024-01-02 12:00 CET as above.
    assert_eq!(secs("Jan  2 12:00:00 h k: m", &c), 1_704_193_200);
    // A minute ago: TZ=Europe/Berlin date -d '2024-12-31 23:58:00' +%s
    assert_eq!(secs("Dec 31 23:58:00 h k: m", &c), 1_735_685_880);
    // `--year` forces the year whatever now is:
    // TZ=Europe/Berlin date -d '2023-12-31 23:59:59' +%s
    let forced = YearClock::fixed(2023).with_zone(tz("Europe/Berlin"));
    assert_eq!(secs("Dec 31 23:59:59 h k: m", &forced), 1_704_063_599);
}

#[test]
fn the_year_is_inferred_in_the_writers_zone_not_in_utc() {
    // Now: 2025-01-01 00:30 in Berlin (2024-12-31 23:30 UTC). Read in UTC, a line stamped
    // "Dec 31 23:45" is 15 minutes ahead, this year's (2024); in Berlin it is 45 minutes ago,
    // also 2024: both readings agree on the year, but only the zone's gives the instant.
    let now = 1_735_687_800;
    let berlin = YearClock::at(now).with_zone(tz("Europe/Berlin"));
    let utc = YearClock::at(now).with_zone(TimeZone::UTC);
    assert_eq!(secs("Dec 31 23:45:00 h k: m", &berlin), now - 45 * 60);
    assert_eq!(secs("Dec 31 23:45:00 h k: m", &utc), now + 15 * 60);
}

#[test]
fn an_unknown_zone_is_a_clear_error() {
    let e = parse_zone("Mars/Olympus_Mons").err().map(|e| e.to_string());
    let e = e.unwrap_or_default();
    assert!(e.contains("Mars/Olympus_Mons"), "{e}");
    assert!(e.contains("IANA"), "{e}");
    assert!(parse_zone("").is_err());
    assert_eq!(tz("utc"), TimeZone::UTC);
    assert_eq!(tz("Europe/Berlin").iana_name(), Some("Europe/Berlin"));
}

#[test]
fn renewing_keeps_a_chosen_zone_and_a_forced_year() {
    let c = in_zone(2023, "America/New_York").renewed();
    assert_eq!(c.fixed_year(), Some(2023));
    assert_eq!(c.zone().iana_name(), Some("America/New_York"));
    // Interned: the same zone twice is the same handle.
    assert!(std::ptr::eq(
        in_zone(1, "America/New_York").zone,
        in_zone(2, "America/New_York").zone
    ));
}

/// Every minute of the six hours around each 2024 transition, then every hour of 2023-2025,
/// then the same hours out of order: the cached conversion must equal jiff's, whatever was
/// cached before.
#[test]
fn the_cached_conversion_equals_the_uncached_one_across_dst_changes() {
    for name in ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe"] {
        let c = YearClock::fixed(2024).with_zone(tz(name));
        let zone = c.zone;
        let check = |l: i64| {
            assert_eq!(
                zone.to_utc(l),
                to_utc_uncached(&zone.tz, l),
                "{name} local {l}"
            );
        };
        let start = Timestamp::from_second(local(2024, 1, 1, 0, 0, 0)).unwrap_or_default();
        let transitions: Vec<i64> = zone
            .tz
            .following(start)
            .take(2)
            .map(|t| t.timestamp().as_second() + i64::from(t.offset().seconds()))
            .collect();
        assert_eq!(transitions.len(), 2, "{name}");
        for t in transitions {
            for m in -180..=180 {
                check(t + m * 60);
            }
        }
        let hours: Vec<i64> = (0..3 * 366 * 24)
            .map(|h| local(2023, 1, 1, h, 0, 0))
            .collect();
        for &l in &hours {
            check(l);
            check(l + 30 * 60);
        }
        // Summer and winter alternating, and every 97th hour: the cache is replaced often.
        for (i, &l) in hours.iter().enumerate() {
            check(hours[(i * 97) % hours.len()]);
            check(l);
        }
    }
}

#[test]
fn the_cached_interval_is_the_whole_unambiguous_stretch() {
    let c = YearClock::fixed(2024).with_zone(tz("Europe/Berlin"));
    // A summer time: the interval is from the end of the spring gap (03:00 CEST on Mar 31)
    // to the start of the autumn fold (02:00 CEST on Oct 27), offset +2h.
    let l = local(2024, 7, 1, 12, 0, 0);
    c.zone.to_utc(l);
    let cached = LAST.with(Cell::get);
    assert_eq!(
        (cached.lo, cached.hi, cached.off),
        (
            local(2024, 3, 31, 3, 0, 0),
            local(2024, 10, 27, 2, 0, 0),
            7200
        )
    );
    // Lord Howe's spring night: 02:00-02:30 is the gap, 02:30 starts the +11 stretch.
    let lh = YearClock::fixed(2024).with_zone(tz("Australia/Lord_Howe"));
    lh.zone.to_utc(local(2024, 12, 1, 0, 0, 0));
    let cached = LAST.with(Cell::get);
    assert_eq!(
        (cached.lo, cached.off),
        (local(2024, 10, 6, 2, 30, 0), 11 * 3600)
    );
    // A fixed-offset zone needs no cache at all.
    let gmt = YearClock::fixed(2024).with_zone(tz("Etc/GMT-1"));
    assert_eq!(gmt.zone.fixed, Some(3600));
    assert_eq!(gmt.zone.to_utc(3600), 0);
}

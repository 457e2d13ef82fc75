//! A point in time as an operator types it on the command line (`analyze --since`,
//! `--until`, `--boot-time`): the forms journalctl and `uptime -s` taught them, read with
//! jiff.

use jiff::{civil, tz::TimeZone, Span, Timestamp, ZonedDateTime};

/// What the forms look like, for error messages and help.
pub const FORMS: &str = "RFC 3339 (2026-12-01T23:44:00Z), a local date and time \
     (2026-12-01 23:44:00, 2026-12-01T23:44, 2026-12-01) in --log.timezone's zone, or a span \
     back from now (-1h, \"2 days ago\")";

/// `text` as an instant. A date and time without an offset is in `zone`, the zone the logs'
/// own times without one are read in, so a time copied from a syslog line means that line's
/// instant. A span is from now, in `zone` (a day back over a DST change is 23 or 25 hours).
pub fn instant(text: &str, zone: &TimeZone) -> Option<Timestamp> {
    let text = text.trim();
    if let Ok(t) = text.parse::<Timestamp>() {
        return Some(t);
    }
    if let Ok(d) = text.parse::<civil::DateTime>() {
        return zone.to_timestamp(d).ok();
    }
    if let Ok(d) = text.parse::<civil::Date>() {
        return zone
            .to_timestamp(d.to_datetime(civil::Time::midnight()))
            .ok();
    }
    let span = text.parse::<Span>().ok()?;
    let now = ZonedDateTime::now().with_time_zone(zone.clone());
    now.checked_add(span).ok().map(|z| z.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn berlin() -> TimeZone {
        TimeZone::get("Europe/Berlin").unwrap()
    }

    #[test]
    fn rfc3339_is_the_instant_it_names_in_any_zone() {
        let t = instant("2026-12-01T23:44:00Z", &berlin()).unwrap();
        assert_eq!(t.to_string(), "2026-12-01T23:44:00Z");
        let t = instant("2026-12-01T23:44:00+01:00", &TimeZone::UTC).unwrap();
        assert_eq!(t.to_string(), "2026-12-01T22:44:00Z");
    }

    #[test]
    fn a_local_time_is_read_in_the_logs_zone() {
        for text in [
            "2026-12-01 23:44:00",
            "2026-12-01T23:44",
            " 2026-12-01 23:44 ",
        ] {
            let t = instant(text, &berlin()).unwrap();
            assert_eq!(t.to_string(), "2026-12-01T22:44:00Z", "{text}");
        }
        // Summer time: two hours ahead of UTC.
        let t = instant("2026-07-01 12:00:00", &berlin()).unwrap();
        assert_eq!(t.to_string(), "2026-07-01T10:00:00Z");
        let t = instant("2026-12-01", &berlin()).unwrap();
        assert_eq!(
            t.to_string(),
            "2026-11-30T23:00:00Z",
            "a date is its midnight"
        );
    }

    #[test]
    fn a_span_counts_back_from_now() {
        for (text, back) in [("-1h", 3600), ("1 hour ago", 3600), ("-90m", 5400)] {
            let before = Timestamp::now();
            let t = instant(text, &TimeZone::UTC).unwrap();
            let after = Timestamp::now();
            let (lo, hi) = (before.as_second() - back, after.as_second() - back);
            assert!(
                (lo..=hi).contains(&t.as_second()),
                "{text}: {t} not {back} s before now"
            );
        }
    }

    #[test]
    fn anything_else_is_refused() {
        for text in ["", "yesterday-ish", "2026-13-01 00:00", "23:44", "12"] {
            assert_eq!(instant(text, &TimeZone::UTC), None, "{text}");
        }
    }
}

//! The clock that framing reads zone-less timestamps with: which year a line without one
//! belongs to, and which time zone its wall-clock time was written in.
//!
//! RFC 3164 (`Nov 25 10:00:00`, also `journalctl -o short`), keepalived's console and
//! `--log-file` formats and `dmesg -T` print the writing host's local time with no offset.
//! [`YearClock`] turns such a local time into a UTC instant in its zone: the system's zone by
//! default (TZ, else /etc/localtime, else UTC), or the one `--log.timezone` names
//! ([`parse_zone`]). Timestamps that carry an offset (RFC 3339, the journal's
//! `__REALTIME_TIMESTAMP`) never come here.
//!
//! Local times that a DST change makes ambiguous are resolved as jiff's (and RFC 5545's,
//! and Temporal's) `compatible` disambiguation does: a repeated time (the autumn fold) is the
//! earlier of its two instants, the first pass through that hour, which is what a log written
//! in order most often means; a skipped time (the spring gap, 02:30 on the last Sunday of
//! March in Europe/Berlin) is read with the offset in force before the gap, so it lands as
//! far after the gap's start as it claims (02:30 CET = 03:30 CEST). Neither case can be told
//! apart from the line itself.
//!
//! Speed: framing runs at millions of lines a second, and a full zone conversion costs far
//! more than the date arithmetic around it. Each thread keeps the last conversion's *local
//! validity interval* (see `Zone::to_utc`), so a line costs two comparisons and a
//! subtraction until its local time leaves that interval, which for a log read in order is
//! about twice a year of log time.

use jiff::civil::DateTime;
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Timestamp};
use std::cell::Cell;
use std::sync::Mutex;

/// `--log.timezone` named no zone this build knows.
#[derive(Debug, thiserror::Error)]
#[error("unknown time zone {name:?} (want an IANA name such as Europe/Berlin, or UTC): {reason}")]
pub struct ZoneError {
    pub name: String,
    pub reason: String,
}

/// Parses `--log.timezone ZONE`: an IANA name (`Europe/Berlin`, `America/New_York`) looked up
/// in the system's zone database, else in the copy built in, or `UTC` (any case).
pub fn parse_zone(name: &str) -> Result<TimeZone, ZoneError> {
    let name = name.trim();
    if name.eq_ignore_ascii_case("UTC") {
        return Ok(TimeZone::UTC);
    }
    if name.is_empty() {
        return Err(ZoneError {
            name: name.to_string(),
            reason: "empty".to_string(),
        });
    }
    TimeZone::get(name).map_err(|e| ZoneError {
        name: name.to_string(),
        reason: e.to_string(),
    })
}

/// Which year and zone to read timestamps that carry no year or no offset in.
///
/// `Copy`, so a line source can own one and hand it to every line: the zone is an interned
/// `&'static` handle (one allocation per distinct zone for the life of the process, see
/// `intern`) rather than a [`TimeZone`].
#[derive(Debug, Clone, Copy)]
pub struct YearClock {
    /// `--year`: use this year, whatever the date.
    fixed: Option<i32>,
    /// Now, in seconds since the epoch.
    now: i64,
    /// Now on the writer's wall clock, in local seconds (see [`Zone`]), plus one day of slack
    /// for clock skew: the latest a line without a year may be.
    limit: i64,
    /// The writer's current year, and the local second its successor starts at: computed
    /// once here rather than per line.
    this_year: i32,
    next_year_start: i64,
    zone: &'static Zone,
    /// The zone was chosen (`with_zone`) rather than read from the system: [`renewed`] keeps it.
    ///
    /// [`renewed`]: YearClock::renewed
    chosen: bool,
}

impl YearClock {
    /// The year inferred from the current date, in the system's zone.
    pub fn now() -> YearClock {
        YearClock::at(now_secs())
    }

    /// Always `year`, in the system's zone.
    pub fn fixed(year: i32) -> YearClock {
        YearClock {
            fixed: Some(year),
            ..YearClock::at(0)
        }
    }

    /// The year inferred as if it were `now` (seconds since the epoch), in the system's zone.
    /// For tests and replays.
    pub fn at(now: i64) -> YearClock {
        YearClock::build(None, now, intern(TimeZone::system()), false)
    }

    /// The same clock reading times in `zone` instead.
    pub fn with_zone(self, zone: TimeZone) -> YearClock {
        YearClock::build(self.fixed, self.now, intern(zone), true)
    }

    /// The same clock at the current time, for long-running sources: keeps `fixed` and a
    /// chosen zone, and re-reads the system's zone otherwise (the host's zone may change).
    pub fn renewed(&self) -> YearClock {
        let zone = if self.chosen {
            self.zone
        } else {
            intern(TimeZone::system())
        };
        YearClock::build(self.fixed, now_secs(), zone, self.chosen)
    }

    fn build(fixed: Option<i32>, now: i64, zone: &'static Zone, chosen: bool) -> YearClock {
        let now_local = zone.to_local(now);
        let this_year = civil_year(now_local.div_euclid(86_400));
        YearClock {
            fixed,
            now,
            limit: now_local.saturating_add(86_400),
            this_year,
            next_year_start: days_from_civil(this_year.saturating_add(1), 1, 1) * 86_400,
            zone,
            chosen,
        }
    }

    pub fn zone(&self) -> &TimeZone {
        &self.zone.tz
    }

    /// The forced year, if any.
    pub fn fixed_year(&self) -> Option<i32> {
        self.fixed
    }

    /// A wall-clock time without a year (RFC 3164), as microseconds since the epoch.
    ///
    /// The year is the latest that puts the line at most one day after now on the writer's
    /// clock: `Dec 31 23:59:59` read on Jan 1 is last year's, and `Jan  1 00:00:01` read on
    /// Dec 31 at 23:59 is next year's (two minutes ahead, a writer whose clock runs a little
    /// ahead of the reader's), not a line a year old. The day of slack is for clock skew
    /// between hosts.
    pub fn wall(&self, month: u32, day: u32, secs_of_day: i64, micros: i64) -> i64 {
        let at = |year: i32| days_from_civil(year, month, day) * 86_400 + secs_of_day;
        let local = match self.fixed {
            Some(y) => at(y),
            None => {
                // Next year only in the last day of this one; any date of last year is
                // before now, so the search always ends there.
                let next = (self.limit >= self.next_year_start)
                    .then(|| at(self.this_year.saturating_add(1)))
                    .filter(|&t| t <= self.limit);
                let this = || Some(at(self.this_year)).filter(|&t| t <= self.limit);
                next.or_else(this)
                    .unwrap_or_else(|| at(self.this_year.saturating_sub(1)))
            }
        };
        micros_since_epoch(self.zone.to_utc(local), micros)
    }

    /// A wall-clock time with its year (keepalived's console, `dmesg -T`), as microseconds
    /// since the epoch.
    pub fn wall_in(&self, year: i32, month: u32, day: u32, secs_of_day: i64, micros: i64) -> i64 {
        let local = days_from_civil(year, month, day) * 86_400 + secs_of_day;
        micros_since_epoch(self.zone.to_utc(local), micros)
    }
}

/// Saturating: only an absurd `--year` comes near the limits.
fn micros_since_epoch(secs: i64, micros: i64) -> i64 {
    secs.saturating_mul(1_000_000).saturating_add(micros)
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// An interned zone. Local times are counted in seconds since 1970-01-01T00:00 *of the wall
/// clock* ("local seconds"), so that local − UTC is the offset in force.
#[derive(Debug)]
struct Zone {
    tz: TimeZone,
    /// The offset, in seconds, of a zone that has only one (UTC, `Etc/GMT-1`): no cache needed.
    fixed: Option<i64>,
}

/// The zones handed out, each leaked once: a process sees one or two (the system's, the one
/// `--log.timezone` names) and `YearClock::now()` re-reads the system's zone on every renewal,
/// so handing out the same `&'static` keeps the leak bounded by the distinct zones ever seen.
/// Never freeing them is also what makes a zone's address a sound key for the thread cache.
static ZONES: Mutex<Vec<&'static Zone>> = Mutex::new(Vec::new());

fn intern(tz: TimeZone) -> &'static Zone {
    // A poisoned lock only means another thread panicked while pushing: the list is intact.
    let mut zones = ZONES.lock().unwrap_or_else(|e| e.into_inner());
    // The system zone comes back as the same Arc from jiff's cache: equality is a pointer test.
    if let Some(z) = zones.iter().rev().find(|z| z.tz == tz) {
        return z;
    }
    // A zone without transitions (UTC, `Etc/GMT-1` read from TZif) has one offset forever.
    let fixed = tz
        .following(Timestamp::MIN)
        .next()
        .is_none()
        .then(|| i64::from(tz.to_offset(Timestamp::UNIX_EPOCH).seconds()));
    let z: &'static Zone = Box::leak(Box::new(Zone { tz, fixed }));
    zones.push(z);
    z
}

/// The last conversion of this thread: local seconds in `[lo, hi)` are `off` ahead of UTC in
/// `zone` (a `Zone`'s address; 0 is none).
#[derive(Clone, Copy)]
struct Cached {
    zone: usize,
    lo: i64,
    hi: i64,
    off: i64,
}

thread_local! {
    static LAST: Cell<Cached> = const { Cell::new(Cached { zone: 0, lo: 0, hi: 0, off: 0 }) };
}

impl Zone {
    /// Local seconds → seconds since the epoch, DST resolved as `compatible`.
    ///
    /// The cache holds a *local validity interval*: the local times that all map, each
    /// unambiguously, to one offset. It is exact whatever the zone's transitions look like
    /// (Lord Howe's 30-minute DST, historic offsets with seconds, changes at 00:00 or 02:30),
    /// which a cache per local date and hour would not be: on Lord Howe's spring night 02:15
    /// is in the gap and 02:45 is not, and a zone may change offset at any second.
    ///
    /// Why the interval is right: an unambiguous local time L with offset O lies in the
    /// transition-free UTC period [t0, t1) of its instant L − O, so every local time in
    /// [t0 + O, t1 + O) reads validly with offset O. The only ones among them that are *also*
    /// valid with another offset are the fold next to a neighbouring period: the previous
    /// period (offset Op) reaches local t0 + Op, the next (offset On) starts at local t1 + On.
    /// Cutting those off leaves [t0 + max(O, Op), t1 + min(O, On)), whose every local time
    /// maps to exactly one instant, with offset O; it also excludes both gaps. Non-adjacent
    /// periods could only overlap it if a zone changed its offset by more than a period's
    /// length, which the tz database never does; the ends are checked against jiff anyway
    /// before the interval is cached. Ambiguous or skipped times are never cached: they are
    /// an hour or so of log time per year, converted in full each time.
    fn to_utc(&'static self, local: i64) -> i64 {
        if let Some(off) = self.fixed {
            return local - off;
        }
        let key = self as *const Zone as usize;
        LAST.with(|last| {
            let c = last.get();
            if c.zone == key && c.lo <= local && local < c.hi {
                return local - c.off;
            }
            let (utc, interval) = convert(&self.tz, local);
            if let Some((lo, hi, off)) = interval {
                last.set(Cached {
                    zone: key,
                    lo,
                    hi,
                    off,
                });
            }
            utc
        })
    }

    /// Seconds since the epoch → local seconds.
    fn to_local(&self, utc: i64) -> i64 {
        match Timestamp::from_second(utc) {
            Ok(ts) => utc + i64::from(self.tz.to_offset(ts).seconds()),
            Err(_) => utc,
        }
    }
}

/// Local seconds → seconds since the epoch in `tz`, without any cache: the reference the
/// cached path must equal. A local time jiff cannot represent (beyond year ±9999, only
/// reachable through `--year`) is read as UTC.
pub fn to_utc_uncached(tz: &TimeZone, local: i64) -> i64 {
    convert(tz, local).0
}

/// The conversion, and the local validity interval `(lo, hi, offset)` of an unambiguous time.
fn convert(tz: &TimeZone, local: i64) -> (i64, Option<(i64, i64, i64)>) {
    let Some(dt) = civil(local) else {
        return (local, None);
    };
    let amb = tz.to_ambiguous_timestamp(dt);
    let offset = amb.offset();
    let utc = match amb.compatible() {
        Ok(ts) => ts.as_second(),
        Err(_) => return (local, None),
    };
    let AmbiguousOffset::Unambiguous { offset } = offset else {
        return (utc, None);
    };
    (utc, interval(tz, local, utc, i64::from(offset.seconds())))
}

fn civil(local: i64) -> Option<DateTime> {
    Some(TimeZone::UTC.to_datetime(Timestamp::from_second(local).ok()?))
}

/// The local validity interval around `local` (offset `off`, instant `utc`); see
/// [`Zone::to_utc`]. `None` when it cannot be established (then nothing is cached).
fn interval(tz: &TimeZone, local: i64, utc: i64, off: i64) -> Option<(i64, i64, i64)> {
    let ts = Timestamp::from_second(utc).ok()?;
    // `preceding` is strictly before its argument: one second on finds a transition at `utc`.
    let after = ts.checked_add(SignedDuration::from_secs(1)).ok()?;
    let lo = match tz.preceding(after).next() {
        None => i64::MIN,
        Some(t) => {
            let t0 = t.timestamp();
            let before = t0.checked_sub(SignedDuration::from_secs(1)).ok()?;
            let op = i64::from(tz.to_offset(before).seconds());
            t0.as_second() + off.max(op)
        }
    };
    let hi = match tz.following(ts).next() {
        None => i64::MAX,
        Some(t) => t.timestamp().as_second() + off.min(i64::from(t.offset().seconds())),
    };
    let unambiguous_at = |l: i64| {
        civil(l).is_some_and(|dt| match tz.to_ambiguous_timestamp(dt).offset() {
            AmbiguousOffset::Unambiguous { offset } => i64::from(offset.seconds()) == off,
            _ => false,
        })
    };
    let ends_ok =
        (lo == i64::MIN || unambiguous_at(lo)) && (hi == i64::MAX || unambiguous_at(hi - 1));
    (lo <= local && local < hi && ends_ok).then_some((lo, hi, off))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i32, m: u32, d: u32) -> i64 {
    let y = i64::from(y) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The year of a day count since the epoch.
pub fn civil_year(days: i64) -> i32 {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2)) as i32
}

#[cfg(test)]
mod tests;

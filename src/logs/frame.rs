//! Line framing: one raw log line, in whatever transport carried it, split into time, host,
//! ident, pid and message.
//!
//! Detection is per line and needs no configuration, because one file can mix transports
//! (a container's console next to rsyslog, `journalctl` output pasted into a ticket). The
//! transports recognised are RFC 3164 syslog (also `journalctl -o short`/`short-precise`),
//! busybox syslogd (`host facility.priority ident[pid]:`), RFC 3339 (rsyslog and
//! `journalctl -o short-iso`, with `+0000` or `+00:00`), RFC 5424 (syslog over the network
//! as rsyslog and syslog-ng write it to files), `journalctl -o json` (MESSAGE may be
//! a byte array), keepalived's console (`%c: `) and `--log-file` (`%a %b %d %T.%9N %Y: `)
//! formats, dmesg (`[ 12.345678]`, `-T`, caller ids, `<N>` priorities) and /dev/kmsg records.
//! A line that fits none is kept whole as the message, so nothing is dropped.
//!
//! Framing is a pure function of the bytes and a [`YearClock`]: the year to assume for RFC 3164,
//! which carries none, and the zone that the writer's wall-clock times are in; invalid UTF-8
//! is decoded lossily.

use std::borrow::Cow;

pub use super::clock::{days_from_civil, YearClock};

/// When a line was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Time {
    /// Microseconds since the Unix epoch, UTC. Local times without an offset (RFC 3164,
    /// keepalived's console, `dmesg -T`) are converted from the [`YearClock`]'s zone, the
    /// writing host's (the transport does not say which).
    Wall(i64),
    /// Microseconds since boot (dmesg, /dev/kmsg).
    SinceBoot(u64),
}

/// Which framing a line was recognised as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    Rfc3164,
    Busybox,
    Rfc3339,
    /// RFC 5424 (`<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG`): rsyslog's
    /// `RSYSLOG_SyslogProtocol23Format`, syslog-ng's `syslog()` destinations.
    Rfc5424,
    Json,
    KeepalivedConsole,
    Dmesg,
    Kmsg,
    /// Nothing recognised: the whole line is the message.
    Raw,
}

/// One framed line. Fields borrow from the input when it is valid UTF-8.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame<'a> {
    pub time: Option<Time>,
    pub host: Option<Cow<'a, str>>,
    /// The syslog identifier (`Keepalived_vrrp`, `kernel`); `None` when the transport does not
    /// carry one (keepalived's console, bare lines).
    pub ident: Option<Cow<'a, str>>,
    pub pid: Option<u32>,
    pub message: Cow<'a, str>,
    pub transport: Transport,
}

impl Frame<'_> {
    pub fn into_owned(self) -> Frame<'static> {
        Frame {
            time: self.time,
            host: self.host.map(|h| Cow::Owned(h.into_owned())),
            ident: self.ident.map(|i| Cow::Owned(i.into_owned())),
            pid: self.pid,
            message: Cow::Owned(self.message.into_owned()),
            transport: self.transport,
        }
    }
}

/// The last RFC 3164 stamp read (`Nov 25 10:00:00[.frac]`, as written) and the time it
/// gave. A log's consecutive lines mostly share their second, and reading the stamp and
/// placing it in a year and a zone was a third of framing a line (callgrind, bench/logs.sh's
/// file). A line that starts with the same text, followed by the space that ends a stamp,
/// has the same time under the same clock: whoever changes the clock clears this.
#[derive(Debug, Clone, Default)]
pub struct Stamps {
    text: [u8; 32],
    len: usize,
    time: i64,
}

impl Stamps {
    /// Forgets the stamp (the clock changed).
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// The stamp's length and time, when `line` starts with it.
    fn get(&self, line: &[u8]) -> Option<(usize, i64)> {
        let n = self.len;
        (n > 0 && line.get(n) == Some(&b' ') && line[..n] == self.text[..n])
            .then_some((n, self.time))
    }

    fn put(&mut self, stamp: &[u8], time: i64) {
        if let Some(t) = self.text.get_mut(..stamp.len()) {
            t.copy_from_slice(stamp);
            self.len = stamp.len();
            self.time = time;
        }
    }
}

/// Frames one line (without its newline).
pub fn frame<'a>(line: &'a [u8], years: &YearClock) -> Frame<'a> {
    frame_with(line, years, &mut Stamps::default())
}

/// [`frame`], remembering the last stamp read in `stamps` for the next line: the same frame
/// as [`frame`] gives, whatever `stamps` held, as long as it was cleared when `years`
/// changed.
pub fn frame_with<'a>(line: &'a [u8], years: &YearClock, stamps: &mut Stamps) -> Frame<'a> {
    match std::str::from_utf8(line) {
        Ok(s) => frame_text_with(s, years, stamps),
        Err(_) => {
            let owned = String::from_utf8_lossy(line).into_owned();
            frame_text_with(&owned, years, stamps).into_owned()
        }
    }
}

/// [`frame_with`] for a line already known to be text (its UTF-8 checked once, by whoever
/// holds it). A `\r` before the newline (a CRLF file) is not part of the line.
pub fn frame_text_with<'a>(line: &'a str, years: &YearClock, stamps: &mut Stamps) -> Frame<'a> {
    frame_str_with(line.strip_suffix('\r').unwrap_or(line), years, stamps)
}

/// Frames one line that is already text.
pub fn frame_str<'a>(line: &'a str, years: &YearClock) -> Frame<'a> {
    frame_str_with(line, years, &mut Stamps::default())
}

fn frame_str_with<'a>(line: &'a str, years: &YearClock, stamps: &mut Stamps) -> Frame<'a> {
    let b = line.as_bytes();
    match b.first() {
        Some(b'{') => {
            if let Some(f) = super::frame_json::frame_json(line) {
                return f;
            }
        }
        Some(b'[') => {
            if let Some(f) = dmesg(line, years) {
                return f;
            }
        }
        Some(b'<') => {
            if let Some(rest) = strip_priority(line) {
                if let Some(f) = rest.strip_prefix("1 ").and_then(rfc5424::frame) {
                    return f;
                }
                let mut f = frame_str_with(rest, years, stamps);
                if f.transport == Transport::Raw {
                    f.message = Cow::Borrowed(line);
                }
                return f;
            }
        }
        Some(c) if c.is_ascii_digit() => {
            if let Some(f) = rfc3339(line).or_else(|| kmsg(line)) {
                return f;
            }
        }
        Some(c) if c.is_ascii_uppercase() => {
            if let Some(f) = rfc3164(line, years, stamps).or_else(|| console(line, years)) {
                return f;
            }
        }
        _ => {}
    }
    raw(line)
}

fn raw(line: &str) -> Frame<'_> {
    Frame {
        time: None,
        host: None,
        ident: None,
        pid: None,
        message: Cow::Borrowed(line),
        transport: Transport::Raw,
    }
}

/// `<N>` at the start (syslog over the network, `dmesg -r`).
fn strip_priority(line: &str) -> Option<&str> {
    let end = line.find('>')?;
    let digits = &line[1..end];
    (!digits.is_empty() && digits.len() <= 3 && digits.bytes().all(|c| c.is_ascii_digit()))
        .then(|| &line[end + 1..])
}

const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

fn month(s: &str) -> Option<u32> {
    // A match on the bytes, not a search of a table: string comparisons are calls.
    Some(match s.as_bytes() {
        b"Jan" => 1,
        b"Feb" => 2,
        b"Mar" => 3,
        b"Apr" => 4,
        b"May" => 5,
        b"Jun" => 6,
        b"Jul" => 7,
        b"Aug" => 8,
        b"Sep" => 9,
        b"Oct" => 10,
        b"Nov" => 11,
        b"Dec" => 12,
        _ => return None,
    })
}

/// A small cursor over ASCII fields.
struct Cur<'a> {
    s: &'a str,
    i: usize,
}

impl<'a> Cur<'a> {
    fn new(s: &'a str) -> Cur<'a> {
        Cur { s, i: 0 }
    }
    fn rest(&self) -> &'a str {
        &self.s[self.i..]
    }
    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.i).copied()
    }
    fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.i += 1)
    }
    fn spaces(&mut self) {
        while self.peek() == Some(b' ') {
            self.i += 1;
        }
    }
    /// Exactly `n` ASCII digits.
    fn digits(&mut self, n: usize) -> Option<u32> {
        let t = self.s.as_bytes().get(self.i..self.i + n)?;
        if !t.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.i += n;
        // Callers ask for at most four digits: no overflow.
        Some(t.iter().fold(0, |v, &c| v * 10 + u32::from(c - b'0')))
    }
    /// One or more digits, returned as text.
    fn digit_run(&mut self) -> Option<&'a str> {
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        (self.i > start).then(|| &self.s[start..self.i])
    }
    fn word(&mut self, n: usize) -> Option<&'a str> {
        let t = self.s.get(self.i..self.i + n)?;
        self.i += n;
        Some(t)
    }
    /// A day of month, zero- or space-padded (`05`, ` 5`) or bare (`5`).
    fn day(&mut self) -> Option<u32> {
        self.spaces();
        let run = self.digit_run()?;
        if run.len() > 2 {
            return None;
        }
        let d = run.bytes().fold(0, |v, c| v * 10 + u32::from(c - b'0'));
        (1..=31).contains(&d).then_some(d)
    }
    /// `Nov 25 10:00:00[.frac]`: (month, day, seconds of day, microseconds).
    fn month_day_clock(&mut self) -> Option<(u32, u32, i64, i64)> {
        let mon = month(self.word(3)?)?;
        self.eat(b' ')?;
        let day = self.day()?;
        self.eat(b' ')?;
        let (sod, micros) = self.clock()?;
        Some((mon, day, sod, micros))
    }
    /// `HH:MM:SS` and an optional fraction; returns (seconds of day, microseconds).
    fn clock(&mut self) -> Option<(i64, i64)> {
        let h = self.digits(2)?;
        self.eat(b':')?;
        let m = self.digits(2)?;
        self.eat(b':')?;
        let s = self.digits(2)?;
        if h > 23 || m > 59 || s > 60 {
            return None;
        }
        let micros = if self.eat(b'.').is_some() {
            fraction_micros(self.digit_run()?)
        } else {
            0
        };
        Some((i64::from(h * 3600 + m * 60 + s), micros))
    }
}

fn fraction_micros(digits: &str) -> i64 {
    let six = &digits[..digits.len().min(6)];
    six.parse::<i64>().unwrap_or(0) * 10_i64.pow(6 - six.len() as u32)
}

/// `Nov 25 10:00:00[.frac] HOST [facility.priority ]TAG MSG`.
fn rfc3164<'a>(line: &'a str, years: &YearClock, stamps: &mut Stamps) -> Option<Frame<'a>> {
    let mut c = Cur::new(line);
    let time = match stamps.get(line.as_bytes()) {
        Some((len, time)) => {
            c.i = len + 1;
            time
        }
        None => {
            let (mon, day, sod, micros) = c.month_day_clock()?;
            let stamp = c.i;
            c.eat(b' ')?;
            let time = years.wall(mon, day, sod, micros);
            stamps.put(&line.as_bytes()[..stamp], time);
            time
        }
    };
    let time = Time::Wall(time);
    let (host, rest) = split_word(c.rest())?;
    let (transport, rest) = match busybox_facility(rest) {
        Some(after) => (Transport::Busybox, after),
        None => (Transport::Rfc3164, rest),
    };
    Some(with_tag(Some(time), host, rest, transport))
}

/// `2024-11-25T10:00:00[.frac](Z|+00:00|+0000) HOST TAG MSG`.
fn rfc3339(line: &str) -> Option<Frame<'_>> {
    let mut c = Cur::new(line);
    let time = iso_stamp(&mut c)?;
    c.eat(b' ')?;
    let (host, rest) = split_word(c.rest())?;
    Some(with_tag(
        Some(Time::Wall(time)),
        host,
        rest,
        Transport::Rfc3339,
    ))
}

/// `2024-11-25T10:00:00[.frac](Z|+00:00|+0000)` (a space for the `T` too): µs since the
/// epoch.
fn iso_stamp(c: &mut Cur<'_>) -> Option<i64> {
    let y = c.digits(4)? as i32;
    c.eat(b'-')?;
    let mo = c.digits(2)?;
    c.eat(b'-')?;
    let d = c.digits(2)?;
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    if c.eat(b'T').is_none() {
        c.eat(b' ')?;
    }
    let (sod, micros) = c.clock()?;
    let offset = match c.peek()? {
        b'Z' => {
            c.i += 1;
            0
        }
        sign @ (b'+' | b'-') => {
            c.i += 1;
            let oh = i64::from(c.digits(2)?);
            c.eat(b':');
            let om = i64::from(c.digits(2)?);
            let o = oh * 3600 + om * 60;
            if sign == b'-' {
                -o
            } else {
                o
            }
        }
        _ => return None,
    };
    let secs = days_from_civil(y, mo, d) * 86_400 + sod - offset;
    Some(secs * 1_000_000 + micros)
}

/// keepalived's console (`Mon Nov 25 10:00:00 2024: `, strftime `%c`) and log file
/// (`Mon Nov 25 10:00:00.123456789 2024: `).
fn console<'a>(line: &'a str, years: &YearClock) -> Option<Frame<'a>> {
    let mut c = Cur::new(line);
    if !WEEKDAYS.contains(&c.word(3)?) {
        return None;
    }
    c.eat(b' ')?;
    let (mon, day, sod, micros, year) = human_time(&mut c)?;
    c.eat(b':')?;
    let message = c.rest().strip_prefix(' ').unwrap_or(c.rest());
    Some(Frame {
        time: Some(Time::Wall(years.wall_in(year, mon, day, sod, micros))),
        host: None,
        ident: None,
        pid: None,
        message: Cow::Borrowed(message),
        transport: Transport::KeepalivedConsole,
    })
}

/// `Nov 25 10:00:00[.frac] 2024` (after the weekday).
fn human_time(c: &mut Cur<'_>) -> Option<(u32, u32, i64, i64, i32)> {
    let (mon, day, sod, micros) = c.month_day_clock()?;
    c.eat(b' ')?;
    let year = c.digits(4)? as i32;
    Some((mon, day, sod, micros, year))
}

/// dmesg: `[ 12.345678] MSG`, `[12.345678][ T2564] MSG`, `[Mon Nov 25 10:00:00 2024] MSG`.
fn dmesg<'a>(line: &'a str, years: &YearClock) -> Option<Frame<'a>> {
    let close = line.find(']')?;
    let inner = line[1..close].trim_start();
    let time = if let Some(t) = since_boot(inner) {
        t
    } else {
        let mut c = Cur::new(inner);
        if !WEEKDAYS.contains(&c.word(3)?) {
            return None;
        }
        c.eat(b' ')?;
        let (mon, day, sod, micros, year) = human_time(&mut c)?;
        if !c.rest().is_empty() {
            return None;
        }
        Time::Wall(years.wall_in(year, mon, day, sod, micros))
    };
    let mut rest = &line[close + 1..];
    // CONFIG_PRINTK_CALLER: `[ T2564]` or `[    C3]`.
    if let Some(r) = rest.strip_prefix('[') {
        if let Some(end) = r.find(']') {
            let id = r[..end].trim_start();
            if id.len() > 1
                && matches!(id.as_bytes()[0], b'T' | b'C')
                && id[1..].bytes().all(|c| c.is_ascii_digit())
            {
                rest = &r[end + 1..];
            }
        }
    }
    Some(Frame {
        time: Some(time),
        host: None,
        ident: Some(Cow::Borrowed("kernel")),
        pid: None,
        message: Cow::Borrowed(rest.strip_prefix(' ').unwrap_or(rest)),
        transport: Transport::Dmesg,
    })
}

/// The boot instant (µs since the epoch) from the kernel's own line at boot, written when
/// it set the system clock from the hardware clock (drivers/rtc/class.c, hctosys.c since
/// 2.6: `rtc_cmos 00:00: setting system clock to 2026-12-03T03:26:06 UTC (1796268366)`; the
/// date's form changed over the years, the seconds in brackets did not) at `since_boot` µs.
/// The kernel sets the clock to those seconds plus half a second: the hardware clock
/// counts whole seconds. As good as the machine's hardware clock was at boot.
pub fn clock_set_at(message: &str, since_boot: u64) -> Option<i64> {
    let (_, rest) = message.split_once("setting system clock to ")?;
    let (_, secs) = rest.split_once(" UTC (")?;
    let secs: i64 = secs.trim_end().strip_suffix(')')?.parse().ok()?;
    let at = secs.checked_mul(1_000_000)?.checked_add(500_000)?;
    at.checked_sub(i64::try_from(since_boot).ok()?)
}

/// `12345.678901` seconds since boot.
fn since_boot(s: &str) -> Option<Time> {
    let (secs, frac) = s.split_once('.')?;
    if secs.is_empty() || frac.is_empty() {
        return None;
    }
    if !secs.bytes().chain(frac.bytes()).all(|c| c.is_ascii_digit()) {
        return None;
    }
    let secs: u64 = secs.parse().ok()?;
    Some(Time::SinceBoot(
        secs.checked_mul(1_000_000)?
            .checked_add(fraction_micros(frac) as u64)?,
    ))
}

/// A /dev/kmsg record: `prio,seq,usec,flags[,…];MSG`. Continuation lines (` KEY=value`)
/// are not records and stay raw.
fn kmsg(line: &str) -> Option<Frame<'_>> {
    let semi = line.find(';')?;
    let mut fields = line[..semi].split(',');
    let _prio: u32 = fields.next()?.parse().ok()?;
    let _seq: u64 = fields.next()?.parse().ok()?;
    let usec: u64 = fields.next()?.parse().ok()?;
    fields.next()?;
    Some(Frame {
        time: Some(Time::SinceBoot(usec)),
        host: None,
        ident: Some(Cow::Borrowed("kernel")),
        pid: None,
        message: Cow::Borrowed(&line[semi + 1..]),
        transport: Transport::Kmsg,
    })
}

fn split_word(s: &str) -> Option<(&str, &str)> {
    let sp = memchr::memchr(b' ', s.as_bytes())?;
    (sp > 0).then(|| (&s[..sp], &s[sp + 1..]))
}

const FACILITIES: [&str; 20] = [
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv",
    "ftp", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
];
const PRIORITIES: [&str; 10] = [
    "emerg", "alert", "crit", "err", "error", "warn", "warning", "notice", "info", "debug",
];

/// After busybox's `facility.priority `, what follows; `None` for any other word. Only the
/// first 17 bytes are looked at: the longest pair, `authpriv.warning`, is 16.
fn busybox_facility(rest: &str) -> Option<&str> {
    let head = &rest.as_bytes()[..rest.len().min(17)];
    let sp = head.iter().position(|&c| c == b' ')?;
    is_facility_priority(&rest[..sp]).then(|| &rest[sp + 1..])
}

fn is_facility_priority(s: &str) -> bool {
    s.split_once('.')
        .is_some_and(|(f, p)| FACILITIES.contains(&f) && PRIORITIES.contains(&p))
}

/// `ident[pid]: MSG`, `ident: MSG`, or no tag at all.
fn with_tag<'a>(time: Option<Time>, host: &'a str, rest: &'a str, t: Transport) -> Frame<'a> {
    let mut frame = Frame {
        time,
        host: Some(Cow::Borrowed(host)),
        ident: None,
        pid: None,
        message: Cow::Borrowed(rest),
        transport: t,
    };
    // memchr's vector search: stepping through the ident byte by byte was a fifth of
    // framing's instructions (callgrind).
    let Some(end) = memchr::memchr3(b':', b'[', b' ', rest.as_bytes()) else {
        return frame;
    };
    let ident = &rest[..end];
    let after = &rest[end..];
    let (pid, after) = match after.strip_prefix('[') {
        Some(p) => match pid_then_colon(p) {
            Some((n, a)) => (Some(n), a),
            None => return frame,
        },
        None => match after.strip_prefix(':') {
            Some(a) => (None, a),
            None => return frame,
        },
    };
    if ident.is_empty() || !(after.is_empty() || after.starts_with(' ')) {
        return frame;
    }
    let mut message = after.strip_prefix(' ').unwrap_or(after);
    if ident == "kernel" {
        message = strip_kernel_stamp(message);
    }
    frame.ident = Some(Cow::Borrowed(ident));
    frame.pid = pid;
    frame.message = Cow::Borrowed(message);
    frame
}

/// `1234]:rest` after a tag's `[`: the pid and what follows the colon.
fn pid_then_colon(p: &str) -> Option<(u32, &str)> {
    // The usual pid, up to nine digits and the `]`, read here: the first `]` is the one
    // after the digits and the digits always parse, so this is the search and the parse
    // below without their calls (a memchr and a `str::parse` for a few bytes, a line).
    let b = p.as_bytes();
    let n = b.iter().take(10).take_while(|c| c.is_ascii_digit()).count();
    if (1..=9).contains(&n) && b.get(n) == Some(&b']') {
        let pid = b[..n]
            .iter()
            .fold(0u32, |v, &c| v * 10 + u32::from(c - b'0'));
        return Some((pid, p[n + 1..].strip_prefix(':')?));
    }
    pid_then_colon_searched(p)
}

/// [`pid_then_colon`] by a search for the `]` and a parse: any pid text.
fn pid_then_colon_searched(p: &str) -> Option<(u32, &str)> {
    let close = memchr::memchr(b']', p.as_bytes())?;
    let a = p[close + 1..].strip_prefix(':')?;
    Some((p[..close].parse().ok()?, a))
}

/// Older rsyslog imklog keeps the printk timestamp: `kernel: [   75.590637] IPVS: …`.
fn strip_kernel_stamp(msg: &str) -> &str {
    if let Some(r) = msg.strip_prefix('[') {
        if let Some(end) = r.find(']') {
            if since_boot(r[..end].trim_start()).is_some() {
                let rest = &r[end + 1..];
                return rest.strip_prefix(' ').unwrap_or(rest);
            }
        }
    }
    msg
}

mod places;
mod rfc5424;

pub use places::Places;
#[cfg(test)]
mod tests;

//! Parsers for `/proc/net/ip_vs`, `/proc/net/ip_vs_stats` and `/proc/net/ip_vs_stats_percpu`.
//!
//! The formats are those of the kernel's `ip_vs_ctl.c` (`ip_vs_info_seq_show`,
//! `ip_vs_stats_show`, `ip_vs_stats_percpu_show`). Parsing is pure (bytes in, model out) so
//! that tests and fuzzers need no files. A bad line never aborts the table: it is skipped,
//! and the first one is reported with its line number.

use super::model::{
    CpuStats, Dest, Forward, GlobalStats, Persistence, Protocol, Service, ServiceAddr,
    ServiceTable, Stats,
};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

/// A line the parser could not use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineError {
    /// 1-based line number in the file.
    pub line: usize,
    pub reason: &'static str,
}

/// A parse result: what could be read, and how many lines could not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed<T> {
    pub value: T,
    pub bad_lines: usize,
    /// The first bad line, for the log.
    pub first_error: Option<LineError>,
}

impl<T> Parsed<T> {
    fn new(value: T) -> Self {
        Parsed {
            value,
            bad_lines: 0,
            first_error: None,
        }
    }

    fn bad(&mut self, line: usize, reason: &'static str) {
        self.bad_lines += 1;
        self.first_error.get_or_insert(LineError { line, reason });
    }
}

/// Why a file could not be read or used.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}: {reason} ({bad_lines} bad line(s) skipped)")]
    Malformed {
        path: PathBuf,
        line: usize,
        reason: &'static str,
        bad_lines: usize,
    },
}

impl ReadError {
    /// Turns a parse result with bad lines into an error naming the first of them.
    pub fn from_parsed<T>(path: PathBuf, parsed: &Parsed<T>) -> Option<ReadError> {
        parsed.first_error.map(|e| ReadError::Malformed {
            path,
            line: e.line,
            reason: e.reason,
            bad_lines: parsed.bad_lines,
        })
    }
}

/// Splits into lines (without `\n`), numbered from 1. A `\r` is kept: the kernel never
/// writes one, so a line holding one is malformed.
fn numbered_lines(text: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    let text = text.strip_suffix(b"\n").unwrap_or(text);
    text.split(|&b| b == b'\n')
        .enumerate()
        .filter(move |_| !text.is_empty())
        .map(|(i, l)| (i + 1, l))
}

/// A line's whitespace-separated fields. On the stack: a heap `Vec` per line was a tenth of
/// reading a 100,000-backend table (callgrind), and giving it room up front left the
/// engine's thread arena fragmented (idle RSS doubled); the longest line the kernel writes
/// has 8 fields, and a longer (malformed) one spills to the heap, read the same way.
fn tokens(line: &[u8]) -> Option<smallvec::SmallVec<[&str; 12]>> {
    let line = std::str::from_utf8(line).ok()?;
    Some(line.split_ascii_whitespace().collect())
}

fn hex_u64(tok: &str) -> Option<u64> {
    if tok.is_empty() || tok.len() > 16 || !tok.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(tok, 16).ok()
}

fn hex_u32(tok: &str) -> Option<u32> {
    u32::try_from(hex_u64(tok)?).ok()
}

/// The kernel's `%pI6`: eight groups of four hex digits (`2001:0db8:0000:…:20d9`), read
/// directly; std's parser (for any other spelling) was 3 % of a scrape of a director whose
/// backends are a third IPv6 (perf, the L tree).
fn full_v6(s: &str) -> Option<Ipv6Addr> {
    let b = s.as_bytes();
    if b.len() != 39 {
        return None;
    }
    let mut groups = [0u16; 8];
    for (i, g) in groups.iter_mut().enumerate() {
        let at = i * 5;
        if i > 0 && b[at - 1] != b':' {
            return None;
        }
        // Digit by digit, not `hex_u64` per group: its check and `from_str_radix` cost
        // 28 M more instructions on the L tree's dump (callgrind, 791 M → 819 M).
        for &c in &b[at..at + 4] {
            *g = (*g << 4) | char::from(c).to_digit(16)? as u16;
        }
    }
    Some(Ipv6Addr::from(groups))
}

/// Parses `AAAAAAAA:PPPP` (IPv4, hex, host order) or `[x:x:…:x]:PPPP` (IPv6).
pub fn parse_addr_port(tok: &str) -> Option<(IpAddr, u16)> {
    let (addr, port) = tok.rsplit_once(':')?;
    if port.len() != 4 {
        return None;
    }
    let port = u16::try_from(hex_u64(port)?).ok()?;
    let addr = if let Some(v6) = addr.strip_prefix('[').and_then(|a| a.strip_suffix(']')) {
        IpAddr::V6(match full_v6(v6) {
            Some(a) => a,
            None => v6.parse::<Ipv6Addr>().ok()?,
        })
    } else if addr.len() == 8 {
        IpAddr::V4(Ipv4Addr::from(hex_u32(addr)?))
    } else {
        return None;
    };
    Some((addr, port))
}

fn parse_int(tok: &str) -> Option<i64> {
    tok.parse().ok()
}

/// The kernel prints the unsigned jiffies count with `%d`: above i32::MAX (31 days at
/// HZ=1000, which ipvsadm accepts) it comes out negative, and is the same bits.
fn jiffies_u32(s: &str) -> Option<u32> {
    s.parse::<u32>()
        .ok()
        .or_else(|| s.parse::<i32>().ok().map(|v| v as u32))
}

fn valid_scheduler(tok: &str) -> bool {
    !tok.is_empty()
        && tok.len() <= 16
        && tok
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn parse_dest(tok: &[&str]) -> Result<Dest, &'static str> {
    let [_, addr_port, fwd, weight, active, inactive] = tok else {
        return Err("a destination line has six fields");
    };
    let (addr, port) = parse_addr_port(addr_port).ok_or("bad destination address:port")?;
    Ok(Dest {
        addr,
        port,
        forward: Forward::from_proc_name(fwd).ok_or("unknown forwarding method")?,
        weight: parse_int(weight).ok_or("bad weight")?,
        active_conns: parse_int(active).ok_or("bad active connection count")?,
        inactive_conns: parse_int(inactive).ok_or("bad inactive connection count")?,
        detail: None,
    })
}

fn parse_service(tok: &[&str]) -> Result<Service, &'static str> {
    let (addr, rest) = match tok {
        ["FWM", mark, rest @ ..] => (
            ServiceAddr::Fwmark(hex_u32(mark).ok_or("bad firewall mark")?),
            rest,
        ),
        [proto, addr_port, rest @ ..] => {
            let protocol = Protocol::from_name(proto).ok_or("unknown protocol")?;
            let (addr, port) = parse_addr_port(addr_port).ok_or("bad service address:port")?;
            (
                ServiceAddr::Inet {
                    protocol,
                    addr,
                    port,
                },
                rest,
            )
        }
        _ => return Err("a service line has at least three fields"),
    };
    let [scheduler, rest @ ..] = rest else {
        return Err("missing scheduler");
    };
    if !valid_scheduler(scheduler) {
        return Err("bad scheduler name");
    }
    let (one_packet, rest) = match rest {
        ["ops", rest @ ..] => (true, rest),
        _ => (false, rest),
    };
    let persistence = match rest {
        [] => None,
        ["persistent", timeout, mask] => Some(Persistence {
            timeout_jiffies: jiffies_u32(timeout).ok_or("bad persistence timeout")?,
            netmask: hex_u32(mask).ok_or("bad persistence netmask")?,
        }),
        _ => return Err("unexpected fields after the scheduler"),
    };
    Ok(Service {
        addr,
        scheduler: scheduler.to_string(),
        one_packet,
        persistence,
        dests: Vec::new(),
        detail: None,
    })
}

fn parse_header_size(line: &str) -> Option<u64> {
    let rest = line.split_once("(size=")?.1;
    rest.strip_suffix(')')?.parse().ok()
}

/// Parses `/proc/net/ip_vs`.
///
/// Destinations that follow an unusable service line are skipped too (they cannot be
/// attributed), each counted as a bad line.
pub fn parse_services(text: &[u8]) -> Parsed<ServiceTable> {
    let mut out = Parsed::new(ServiceTable::default());
    // None before the first service, Some(false) after a service line that was bad.
    let mut current_ok: Option<bool> = None;
    for (n, raw) in numbered_lines(text) {
        let Some(tok) = tokens(raw) else {
            out.bad(n, "not valid UTF-8");
            continue;
        };
        if raw.contains(&b'\r') {
            out.bad(n, "carriage return in line");
            continue;
        }
        match tok.first().copied() {
            None => continue,
            Some("IP") if tok.get(1) == Some(&"Virtual") => {
                let line = std::str::from_utf8(raw).unwrap_or_default();
                out.value.conn_table_size = parse_header_size(line.trim_end());
                if out.value.conn_table_size.is_none() {
                    out.bad(n, "header without (size=N)");
                }
            }
            Some("Prot") if tok.get(1) == Some(&"LocalAddress:Port") => {}
            Some("->") if tok.get(1) == Some(&"RemoteAddress:Port") => {}
            Some("->") => match current_ok {
                Some(true) => match parse_dest(&tok) {
                    Ok(d) => {
                        if let Some(svc) = out.value.services.last_mut() {
                            svc.dests.push(d);
                        }
                    }
                    Err(reason) => out.bad(n, reason),
                },
                Some(false) => out.bad(n, "destination of a service that could not be parsed"),
                None => out.bad(n, "destination before any service"),
            },
            Some(_) => match parse_service(&tok) {
                Ok(svc) => {
                    out.value.services.push(svc);
                    current_ok = Some(true);
                }
                Err(reason) => {
                    out.bad(n, reason);
                    current_ok = Some(false);
                }
            },
        }
    }
    out
}

fn five_hex(tok: &[&str]) -> Option<Stats> {
    if tok.len() != 5 {
        return None;
    }
    let mut v = [0u64; 5];
    for (slot, t) in v.iter_mut().zip(tok) {
        *slot = hex_u64(t)?;
    }
    Some(Stats::from_array(v))
}

fn is_stats_header(tok: &[&str]) -> bool {
    matches!(
        tok.first().copied(),
        Some("Total" | "Conns" | "Conns/s" | "CPU")
    )
}

/// Parses `/proc/net/ip_vs_stats`: a totals line and a rates line, each five hex numbers.
pub fn parse_global_stats(text: &[u8]) -> Parsed<Option<GlobalStats>> {
    let mut out = Parsed::new(None);
    let mut rows = Vec::with_capacity(2);
    let mut last_line = 0;
    for (n, raw) in numbered_lines(text) {
        last_line = n;
        let Some(tok) = tokens(raw) else {
            out.bad(n, "not valid UTF-8");
            continue;
        };
        if tok.is_empty() || is_stats_header(&tok) {
            continue;
        }
        match five_hex(&tok) {
            Some(s) if rows.len() < 2 => rows.push(s),
            Some(_) => out.bad(n, "more than two lines of figures"),
            None => out.bad(n, "expected five hexadecimal numbers"),
        }
    }
    match rows[..] {
        [totals, rates] => out.value = Some(GlobalStats { totals, rates }),
        _ => out.bad(
            last_line.max(1),
            "file ends before the totals and rates lines",
        ),
    }
    out
}

/// Parses `/proc/net/ip_vs_stats_percpu`: one line per possible CPU (its number in hex),
/// then a `~` sum line and a rates line, which are checked but not returned (the same
/// figures are in `ip_vs_stats`).
pub fn parse_percpu_stats(text: &[u8]) -> Parsed<Vec<CpuStats>> {
    let mut out = Parsed::new(Vec::new());
    let mut saw_sum = false;
    for (n, raw) in numbered_lines(text) {
        let Some(tok) = tokens(raw) else {
            out.bad(n, "not valid UTF-8");
            continue;
        };
        if tok.is_empty() || is_stats_header(&tok) {
            continue;
        }
        match tok[..] {
            ["~", ref rest @ ..] if five_hex(rest).is_some() => saw_sum = true,
            [cpu, ref rest @ ..] if rest.len() == 5 && !saw_sum => {
                match (hex_u32(cpu), five_hex(rest)) {
                    (Some(cpu), Some(totals)) => out.value.push(CpuStats { cpu, totals }),
                    _ => out.bad(n, "expected a CPU number and five hexadecimal numbers"),
                }
            }
            _ if saw_sum && five_hex(&tok).is_some() => {}
            _ => out.bad(n, "unexpected line"),
        }
    }
    if !saw_sum {
        let n = numbered_lines(text).count().max(1);
        out.bad(n, "file ends before the sum line");
    }
    out
}

#[cfg(test)]
mod tests;

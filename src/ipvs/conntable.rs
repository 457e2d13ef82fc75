//! A streaming summary of `/proc/net/ip_vs_conn`: connections counted by protocol and state.
//!
//! On a busy director the file has millions of lines, so it is read line by line, never
//! whole, and reading stops at a line cap (the summary then says it was truncated).

use super::model::Protocol;
use crate::lines::for_each_line;
use std::io::{self, BufRead};
use std::ops::ControlFlow;

/// Longest line kept: real lines are under 200 bytes even with IPv6 and persistence data.
const MAX_LINE: usize = 512;
/// Distinct (protocol, state) pairs kept; the kernel has a few dozen, so more means garbage.
const MAX_PAIRS: usize = 64;

/// Connections by protocol and state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnSummary {
    /// (protocol, state, count), in order of first appearance.
    pub counts: Vec<(Protocol, String, u64)>,
    /// Lines read (header excluded).
    pub lines: u64,
    /// True when the line cap stopped the read before the end of the file.
    pub truncated: bool,
    pub bad_lines: u64,
    /// The first bad line (1-based) and why.
    pub first_error: Option<(u64, &'static str)>,
}

impl ConnSummary {
    fn bad(&mut self, line: u64, reason: &'static str) {
        self.bad_lines += 1;
        self.first_error.get_or_insert((line, reason));
    }

    fn add(&mut self, proto: Protocol, state: &str) -> Result<(), &'static str> {
        if let Some(slot) = self
            .counts
            .iter_mut()
            .find(|(p, s, _)| *p == proto && s == state)
        {
            slot.2 += 1;
            return Ok(());
        }
        if self.counts.len() >= MAX_PAIRS {
            return Err("too many distinct protocol/state pairs");
        }
        self.counts.push((proto, state.to_string(), 1));
        Ok(())
    }
}

/// State names as the kernel's tables spell them: TCP's `SYN_RECV`, SCTP's `C-SENT` and
/// `S-ACK-SENT` (hyphens since the 3.x state machine), and `ERR!` for protocols without a
/// state table (AH, ESP). Anything else means the columns are not where they should be.
fn valid_state(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 20
        && s.bytes().all(|b| {
            b.is_ascii_uppercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b'!')
        })
}

/// Classifies one line: `Ok(None)` for the header, `Ok(Some(..))` for a connection.
fn parse_conn_line(line: &[u8]) -> Result<Option<(Protocol, &str)>, &'static str> {
    let line = std::str::from_utf8(line).map_err(|_| "not valid UTF-8")?;
    let mut tok = line.split_ascii_whitespace();
    let proto = tok.next().ok_or("empty line")?;
    if proto == "Pro" {
        return Ok(None);
    }
    let proto = Protocol::from_name(proto).ok_or("unknown protocol")?;
    // FromIP FPrt ToIP TPrt DestIP DPrt, then State.
    let state = tok.nth(6).ok_or("too few fields")?;
    if !valid_state(state) {
        return Err("bad connection state");
    }
    tok.next().ok_or("missing expiry")?;
    Ok(Some((proto, state)))
}

/// Reads `ip_vs_conn` from `reader`, stopping after `max_lines` connection lines.
pub fn summarize<R: BufRead + ?Sized>(reader: &mut R, max_lines: u64) -> io::Result<ConnSummary> {
    let mut out = ConnSummary::default();
    let mut n = 0u64;
    for_each_line(reader, MAX_LINE, |line, cut| {
        n += 1;
        if cut {
            out.bad(n, "line too long");
            return ControlFlow::Continue(());
        }
        if line.iter().all(|b| b.is_ascii_whitespace()) {
            return ControlFlow::Continue(());
        }
        if out.lines >= max_lines {
            out.truncated = true;
            return ControlFlow::Break(());
        }
        match parse_conn_line(line) {
            Ok(None) => {}
            Ok(Some((proto, state))) => {
                out.lines += 1;
                if let Err(reason) = out.add(proto, state) {
                    out.bad(n, reason);
                }
            }
            Err(reason) => out.bad(n, reason),
        }
        ControlFlow::Continue(())
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData
TCP 0A000001 A1B2 0A010064 0050 0A020002 0050 ESTABLISHED     899
TCP 0A000001 A1B3 0A010064 0050 0A020003 0050 SYN_RECV         59
TCP 0A000002 A1B4 0A010064 0050 0A020002 0050 ESTABLISHED     898
UDP 0A000001 1F90 0A010064 0035 0A020002 0035 UDP             299
TCP fd00:0000:0000:0000:0000:0000:0000:0001 C350 fd00:0001:0000:0000:0000:0000:0000:0100 0050 fd00:0002:0000:0000:0000:0000:0000:0002 0050 TIME_WAIT        119
TCP 0A000003 A1B5 0A010064 0050 0A020002 0050 NONE            300 sip 1234
";

    fn count(s: &ConnSummary, p: Protocol, st: &str) -> u64 {
        s.counts
            .iter()
            .find(|(q, t, _)| *q == p && t == st)
            .map_or(0, |c| c.2)
    }

    #[test]
    fn counts_by_protocol_and_state_including_ipv6_and_pe_data() {
        let s = summarize(&mut SAMPLE.as_bytes(), u64::MAX).unwrap();
        assert_eq!(s.lines, 6);
        assert_eq!(count(&s, Protocol::TCP, "ESTABLISHED"), 2);
        assert_eq!(count(&s, Protocol::TCP, "SYN_RECV"), 1);
        assert_eq!(count(&s, Protocol::TCP, "TIME_WAIT"), 1);
        assert_eq!(count(&s, Protocol::UDP, "UDP"), 1);
        assert_eq!(count(&s, Protocol::TCP, "NONE"), 1);
        assert!(!s.truncated);
        assert_eq!(s.bad_lines, 0);
    }

    #[test]
    fn the_line_cap_truncates_and_says_so() {
        let s = summarize(&mut SAMPLE.as_bytes(), 2).unwrap();
        assert_eq!(s.lines, 2);
        assert!(s.truncated);
    }

    #[test]
    fn garbage_is_counted_not_fatal() {
        let mut input = SAMPLE.as_bytes().to_vec();
        input.extend_from_slice(b"TCP short\n\xff\xfe\nXYZ 1 2 3 4 5 6 lower 9\n");
        input.extend(std::iter::repeat_n(b'A', 5000));
        input.extend_from_slice(b"\nUDP 0A000001 1F91 0A010064 0035 0A020002 0035 UDP 10\n");
        let s = summarize(&mut input.as_slice(), u64::MAX).unwrap();
        assert_eq!(s.bad_lines, 4);
        assert_eq!(count(&s, Protocol::UDP, "UDP"), 2);
        assert_eq!(s.first_error, Some((8, "too few fields")));
    }
}

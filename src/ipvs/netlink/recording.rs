//! A recorded netlink conversation with the kernel's IPVS family: every request lvsmon made
//! (command and attributes) with the kernel's replies, byte for byte.
//!
//! The VM suite records one on a real kernel (`--ipvs.netlink-record FILE`), `--demo` replays
//! the one compiled into the binary, so every netlink-only family can be seen on a machine
//! without IPVS, decoded by the same code as live replies.
//!
//! The file is text, one exchange after another:
//! ```text
//! > CMD REQUEST_HEX
//! < REPLY_HEX
//! < REPLY_HEX
//! ```
//! `CMD` is the decimal IPVS command; a request may have no attributes (empty hex), and a
//! dump may have no replies. Lines starting with `#` are comments.

use std::fmt::Write;

/// One request and the replies the kernel gave to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    pub cmd: u8,
    pub request: Vec<u8>,
    pub replies: Vec<Vec<u8>>,
}

/// A whole conversation, in the order it happened.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recording {
    pub exchanges: Vec<Exchange>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RecordingError {
    #[error("line {line}: {reason}")]
    Bad { line: usize, reason: &'static str },
}

fn hex(bytes: &[u8], out: &mut String) {
    for b in bytes {
        // Writing to a String cannot fail.
        let _ = write!(out, "{b:02x}");
    }
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

impl Recording {
    /// The replies recorded for this request: the first unused exchange that matches, so a
    /// conversation that asked the same thing twice is replayed in order, and a replay asked
    /// more often than the recording did starts over.
    pub fn answer(&self, cursor: &mut usize, cmd: u8, request: &[u8]) -> Option<&[Vec<u8>]> {
        let n = self.exchanges.len();
        (0..n)
            .map(|i| (*cursor + i) % n)
            .find(|&i| self.exchanges[i].cmd == cmd && self.exchanges[i].request == request)
            .map(|i| {
                *cursor = (i + 1) % n;
                self.exchanges[i].replies.as_slice()
            })
    }

    pub fn render(&self) -> String {
        let mut out = String::from("# lvsmon netlink recording (IPVS family)\n");
        for e in &self.exchanges {
            let _ = write!(out, "> {} ", e.cmd);
            hex(&e.request, &mut out);
            out.push('\n');
            for r in &e.replies {
                out.push_str("< ");
                hex(r, &mut out);
                out.push('\n');
            }
        }
        out
    }

    pub fn parse(text: &str) -> Result<Recording, RecordingError> {
        let mut rec = Recording::default();
        for (i, line) in text.lines().enumerate() {
            let bad = |reason| RecordingError::Bad {
                line: i + 1,
                reason,
            };
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(rest) = line.strip_prefix("> ") {
                let (cmd, req) = rest.split_once(' ').unwrap_or((rest, ""));
                rec.exchanges.push(Exchange {
                    cmd: cmd.parse().map_err(|_| bad("bad command number"))?,
                    request: unhex(req).ok_or_else(|| bad("bad request hex"))?,
                    replies: Vec::new(),
                });
            } else if let Some(rest) = line.strip_prefix("< ") {
                let reply = unhex(rest).ok_or_else(|| bad("bad reply hex"))?;
                rec.exchanges
                    .last_mut()
                    .ok_or_else(|| bad("a reply before any request"))?
                    .replies
                    .push(reply);
            } else {
                return Err(bad("a line must start with '> ', '< ' or '#'"));
            }
        }
        Ok(rec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Recording {
        Recording {
            exchanges: vec![
                Exchange {
                    cmd: 1,
                    request: vec![],
                    replies: vec![vec![0, 1, 0xff], vec![]],
                },
                Exchange {
                    cmd: 5,
                    request: vec![8, 0, 1, 0],
                    replies: vec![],
                },
                Exchange {
                    cmd: 5,
                    request: vec![8, 0, 2, 0],
                    replies: vec![vec![0xab]],
                },
            ],
        }
    }

    #[test]
    fn render_and_parse_round_trip() {
        let r = sample();
        assert_eq!(Recording::parse(&r.render()), Ok(r));
    }

    #[test]
    fn answers_match_command_and_request_and_go_round() {
        let r = sample();
        let mut cur = 0;
        assert_eq!(
            r.answer(&mut cur, 5, &[8, 0, 2, 0]),
            Some(&[vec![0xab]][..])
        );
        assert_eq!(r.answer(&mut cur, 1, &[]).map(|x| x.len()), Some(2));
        assert_eq!(r.answer(&mut cur, 5, &[8, 0, 9, 0]), None);
        assert_eq!(r.answer(&mut cur, 7, &[]), None);
    }

    #[test]
    fn bad_lines_name_their_number() {
        let e = Recording::parse("# x\n> 1 \n< 0g\n");
        assert_eq!(
            e,
            Err(RecordingError::Bad {
                line: 3,
                reason: "bad reply hex"
            })
        );
        assert!(Recording::parse("< 00\n").is_err());
        assert!(Recording::parse("> 300 \n").is_err());
        assert!(Recording::parse("junk\n").is_err());
    }
}

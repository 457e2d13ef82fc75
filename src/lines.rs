//! Splitting untrusted bytes into lines, with a cap on line length: the one implementation
//! for every reader (log tailers and `analyze` push chunks into a [`Splitter`]; the IPVS
//! connection table is driven from a `BufRead` by [`for_each_line`]).
//!
//! Data arrives in arbitrary chunks, so a line may arrive in pieces; the splitter keeps the
//! incomplete tail until its newline comes. A line longer than the cap is cut: its first
//! `max` bytes are emitted (flagged `cut`) and the rest is skipped without being buffered,
//! so one 2 MB line cannot grow memory (at most `max + 1` bytes are ever held) and the next
//! line is still parsed. With a cap of 0 every line is emitted empty, flagged `cut` when it
//! had any byte.

use std::io::{self, BufRead};
use std::ops::ControlFlow;

/// An incremental line splitter.
#[derive(Debug)]
pub struct Splitter {
    pending: Vec<u8>,
    max: usize,
    skipping: bool,
}

impl Splitter {
    pub fn new(max: usize) -> Splitter {
        Splitter {
            pending: Vec::new(),
            max,
            skipping: false,
        }
    }

    /// Bytes received but not yet emitted (an incomplete last line).
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Forgets any incomplete line (the file it came from was truncated or replaced).
    pub fn reset(&mut self) {
        self.pending.clear();
        self.skipping = false;
    }

    /// Feeds bytes; calls `f(line, cut)` for each complete line, without its `\n`.
    pub fn feed(&mut self, data: &[u8], f: &mut impl FnMut(&[u8], bool)) {
        let _ = self.feed_until(data, &mut |l, cut| {
            f(l, cut);
            ControlFlow::Continue(())
        });
    }

    /// Like [`Splitter::feed`], but stops after the first line for which `f` breaks and
    /// returns how many bytes of `data` were used up to there; feeding the rest later
    /// continues exactly where it stopped.
    pub fn feed_until(
        &mut self,
        data: &[u8],
        f: &mut impl FnMut(&[u8], bool) -> ControlFlow<()>,
    ) -> ControlFlow<usize> {
        let mut rest = data;
        while let Some(i) = memchr::memchr(b'\n', rest) {
            let piece = &rest[..i];
            rest = &rest[i + 1..];
            let flow = if self.skipping {
                self.skipping = false;
                ControlFlow::Continue(())
            } else if self.pending.is_empty() {
                emit(piece, self.max, f)
            } else {
                self.take(piece);
                let flow = emit(&self.pending, self.max, f);
                self.pending.clear();
                flow
            };
            if flow.is_break() {
                return ControlFlow::Break(data.len() - rest.len());
            }
        }
        if rest.is_empty() || self.skipping {
            return ControlFlow::Continue(());
        }
        self.take(rest);
        if self.pending.len() > self.max {
            let flow = f(&self.pending[..self.max], true);
            self.pending.clear();
            self.skipping = true;
            if flow.is_break() {
                return ControlFlow::Break(data.len());
            }
        }
        ControlFlow::Continue(())
    }

    /// Emits an incomplete last line (end of a file read once).
    pub fn finish(&mut self, f: &mut impl FnMut(&[u8], bool)) {
        if !self.pending.is_empty() {
            let _ = emit(&self.pending, self.max, &mut |l, cut| {
                f(l, cut);
                ControlFlow::Continue(())
            });
        }
        self.reset();
    }

    /// Appends to the pending line no more than one byte past the cap: enough to know the
    /// line is cut.
    fn take(&mut self, bytes: &[u8]) {
        let room = (self.max + 1).saturating_sub(self.pending.len());
        self.pending
            .extend_from_slice(&bytes[..bytes.len().min(room)]);
    }
}

fn emit(
    line: &[u8],
    max: usize,
    f: &mut impl FnMut(&[u8], bool) -> ControlFlow<()>,
) -> ControlFlow<()> {
    if line.len() > max {
        f(&line[..max], true)
    } else {
        f(line, false)
    }
}

/// Reads `reader` to its end, calling `f(line, cut)` for each line (without its `\n`, cut to
/// `max` bytes; a last line without `\n` counts), until `f` breaks. The reader is then left
/// just after the `\n` of the line `f` broke on (or, for a cut line, somewhere in its tail).
/// Lines inside the reader's buffer are handed out in place, without a copy; an
/// `Interrupted` read is retried.
pub fn for_each_line<R: BufRead + ?Sized>(
    reader: &mut R,
    max: usize,
    mut f: impl FnMut(&[u8], bool) -> ControlFlow<()>,
) -> io::Result<()> {
    let mut split = Splitter::new(max);
    loop {
        let data = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if data.is_empty() {
            split.finish(&mut |l, cut| {
                let _ = f(l, cut);
            });
            return Ok(());
        }
        let n = data.len();
        match split.feed_until(data, &mut f) {
            ControlFlow::Continue(()) => reader.consume(n),
            ControlFlow::Break(used) => {
                reader.consume(used);
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufReader, Cursor};

    fn split(chunks: &[&[u8]], max: usize) -> Vec<(String, bool)> {
        let mut s = Splitter::new(max);
        let mut out = Vec::new();
        let mut f = |l: &[u8], cut: bool| out.push((String::from_utf8_lossy(l).into_owned(), cut));
        for c in chunks {
            s.feed(c, &mut f);
        }
        s.finish(&mut f);
        out
    }

    fn read(input: &[u8], cap: usize, bufsize: usize) -> Vec<(String, bool)> {
        let mut r = BufReader::with_capacity(bufsize, Cursor::new(input.to_vec()));
        let mut out = Vec::new();
        for_each_line(&mut r, cap, |l, cut| {
            out.push((String::from_utf8_lossy(l).into_owned(), cut));
            ControlFlow::Continue(())
        })
        .unwrap();
        out
    }

    #[test]
    fn lines_split_across_chunks_are_joined() {
        let got = split(&[b"ab", b"c\nde", b"f\n\ng"], 100);
        let want: Vec<(String, bool)> = ["abc", "def", "", "g"]
            .iter()
            .map(|s| (s.to_string(), false))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn a_huge_line_is_cut_once_and_the_next_line_survives() {
        let big = vec![b'x'; 2 << 20];
        let got = split(&[&big[..1000], &big[1000..], b"\nnext\n"], 64);
        assert_eq!(got.len(), 2);
        assert_eq!((got[0].0.len(), got[0].1), (64, true));
        assert_eq!(got[1], ("next".to_string(), false));
        let got = split(&[&big, b"\nnext\n"], 64);
        assert_eq!(got.len(), 2);
        let got = split(&[b"abc", &big[..100], b"\nnext\n"], 64);
        assert_eq!((got[0].0.len(), got[0].1), (64, true));
        assert_eq!(got[1], ("next".to_string(), false));
    }

    #[test]
    fn a_tail_longer_than_the_cap_is_not_buffered() {
        let mut s = Splitter::new(8);
        s.feed(b"abc", &mut |_, _| panic!("no line yet"));
        s.feed(&[b'x'; 100_000], &mut |l, cut| {
            assert_eq!((l.len(), cut), (8, true))
        });
        assert_eq!(s.pending(), 0);
        assert!(s.pending.capacity() <= 64, "{}", s.pending.capacity());
    }

    #[test]
    fn a_long_line_is_cut_and_the_next_line_is_whole() {
        let mut input = vec![b'x'; 10_000];
        input.extend_from_slice(b"\nnext\nlast-without-newline");
        let got = read(&input, 100, 64);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].0.len(), 100);
        assert!(got[0].1);
        assert_eq!(got[1], ("next".to_string(), false));
        assert_eq!(got[2], ("last-without-newline".to_string(), false));
    }

    #[test]
    fn empty_input_has_no_lines_and_blank_lines_are_kept() {
        assert!(read(b"", 10, 8).is_empty());
        assert_eq!(read(b"\n\n", 10, 8).len(), 2);
        assert_eq!(
            read(b"ab\n\nc", 0, 8),
            [("".into(), true), ("".into(), false), ("".into(), true)]
        );
    }

    #[test]
    fn a_break_leaves_the_reader_after_that_line() {
        let mut r = BufReader::with_capacity(64, &b"one\ntwo\nthree\n"[..]);
        let mut seen = Vec::new();
        for_each_line(&mut r, 100, |l, _| {
            seen.push(l.to_vec());
            if l == b"two" {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .unwrap();
        assert_eq!(seen, [b"one".to_vec(), b"two".to_vec()]);
        let mut rest = String::new();
        io::Read::read_to_string(&mut r, &mut rest).unwrap();
        assert_eq!(rest, "three\n");
    }
}

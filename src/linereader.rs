//! Reading lines of untrusted length: a line longer than the cap is cut (its tail is
//! skipped, not buffered) so that one huge line cannot exhaust memory.

use std::io::{self, BufRead};

/// One line as read, without its `\n`.
#[derive(Debug, PartialEq, Eq)]
pub struct Line {
    /// True when the line was longer than the cap and was cut.
    pub cut: bool,
}

/// Reads the next line into `buf` (cleared first), keeping at most `cap` bytes of it.
/// Returns `None` at end of input.
pub fn read_line_capped<R: BufRead + ?Sized>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    cap: usize,
) -> io::Result<Option<Line>> {
    buf.clear();
    let mut cut = false;
    let mut any = false;
    loop {
        let available = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(any.then_some(Line { cut }));
        }
        any = true;
        let (chunk, used, done) = match memchr(b'\n', available) {
            Some(i) => (&available[..i], i + 1, true),
            None => (available, available.len(), false),
        };
        let room = cap.saturating_sub(buf.len());
        if chunk.len() > room {
            cut = true;
        }
        buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
        reader.consume(used);
        if done {
            return Ok(Some(Line { cut }));
        }
    }
}

fn memchr(needle: u8, haystack: &[u8]) -> Option<usize> {
    haystack.iter().position(|&b| b == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufReader, Cursor};

    fn lines(input: &[u8], cap: usize, bufsize: usize) -> Vec<(String, bool)> {
        let mut r = BufReader::with_capacity(bufsize, Cursor::new(input.to_vec()));
        let mut buf = Vec::new();
        let mut out = Vec::new();
        while let Some(l) = read_line_capped(&mut r, &mut buf, cap).unwrap() {
            out.push((String::from_utf8_lossy(&buf).into_owned(), l.cut));
        }
        out
    }

    #[test]
    fn a_long_line_is_cut_and_the_next_line_is_whole() {
        let mut input = vec![b'x'; 10_000];
        input.extend_from_slice(b"\nnext\nlast-without-newline");
        let got = lines(&input, 100, 64);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].0.len(), 100);
        assert!(got[0].1);
        assert_eq!(got[1], ("next".to_string(), false));
        assert_eq!(got[2], ("last-without-newline".to_string(), false));
    }

    #[test]
    fn empty_input_has_no_lines_and_blank_lines_are_kept() {
        assert!(lines(b"", 10, 8).is_empty());
        assert_eq!(lines(b"\n\n", 10, 8).len(), 2);
    }
}

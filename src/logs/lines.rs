//! Splitting a byte stream into lines, incrementally, with a cap on line length.
//!
//! Tailers receive data in arbitrary chunks, so a line may arrive in pieces; the splitter
//! keeps the incomplete tail until its newline comes. A line longer than the cap is cut: its
//! first `max` bytes are emitted (flagged `cut`) and the rest is skipped without being
//! buffered, so one 2 MB line cannot grow memory and the next line is still parsed.

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
            max: max.max(1),
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
    pub fn feed(&mut self, mut data: &[u8], f: &mut impl FnMut(&[u8], bool)) {
        while let Some(i) = memchr::memchr(b'\n', data) {
            let piece = &data[..i];
            data = &data[i + 1..];
            if self.skipping {
                self.skipping = false;
            } else if self.pending.is_empty() {
                emit(piece, self.max, f);
            } else {
                self.pending.extend_from_slice(piece);
                emit(&self.pending, self.max, f);
                self.pending.clear();
            }
        }
        if data.is_empty() || self.skipping {
            return;
        }
        self.pending.extend_from_slice(data);
        if self.pending.len() > self.max {
            f(&self.pending[..self.max], true);
            self.pending.clear();
            self.skipping = true;
        }
    }

    /// Emits an incomplete last line (end of a file read once).
    pub fn finish(&mut self, f: &mut impl FnMut(&[u8], bool)) {
        if !self.pending.is_empty() {
            emit(&self.pending, self.max, f);
        }
        self.reset();
    }
}

fn emit(line: &[u8], max: usize, f: &mut impl FnMut(&[u8], bool)) {
    if line.len() > max {
        f(&line[..max], true);
    } else {
        f(line, false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}

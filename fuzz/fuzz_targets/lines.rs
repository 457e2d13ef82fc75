//! `lvsmon::lines`: for several caps and chunk sizes, the lines are those of the input split
//! at `\n`, cut to the cap, `cut` set exactly when the line was longer, whether the bytes are
//! pushed into a `Splitter` in chunks or pulled by `for_each_line` from a reader (an
//! `Interrupted` error from the reader is retried, not returned); and a break stops
//! `for_each_line` just after the line it broke on.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lvsmon::lines::{for_each_line, Splitter};
use std::io::{self, BufRead, BufReader, Read};
use std::ops::ControlFlow;

/// Hands out at most `chunk` bytes per fill and interrupts every other call.
struct Choppy<'a> {
    data: &'a [u8],
    chunk: usize,
    flip: bool,
}

impl Read for Choppy<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.fill_buf()?.len().min(out.len());
        out[..n].copy_from_slice(&self.data[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Choppy<'_> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.flip = !self.flip;
        if self.flip {
            return Err(io::ErrorKind::Interrupted.into());
        }
        Ok(&self.data[..self.chunk.min(self.data.len())])
    }
    fn consume(&mut self, n: usize) {
        self.data = &self.data[n..];
    }
}

fn pull(r: &mut dyn BufRead, cap: usize) -> Vec<(Vec<u8>, bool)> {
    let mut out = Vec::new();
    for_each_line(r, cap, |l, cut| {
        assert!(l.len() <= cap);
        out.push((l.to_vec(), cut));
        ControlFlow::Continue(())
    })
    .unwrap();
    out
}

fn push(data: &[u8], chunk: usize, cap: usize) -> Vec<(Vec<u8>, bool)> {
    let mut split = Splitter::new(cap);
    let mut out = Vec::new();
    let mut f = |l: &[u8], cut: bool| {
        assert!(l.len() <= cap);
        out.push((l.to_vec(), cut));
    };
    for piece in data.chunks(chunk) {
        split.feed(piece, &mut f);
        assert!(split.pending() <= cap);
    }
    split.finish(&mut f);
    out
}

fuzz_target!(|data: &[u8]| {
    let mut pieces: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    if data.is_empty() || data.ends_with(b"\n") {
        pieces.pop();
    }
    let chunk = data.len() % 7 + 1;
    for cap in [0usize, 1, 7, 64, 512] {
        let want: Vec<(Vec<u8>, bool)> = pieces
            .iter()
            .map(|l| (l[..l.len().min(cap)].to_vec(), l.len() > cap))
            .collect();
        assert_eq!(pull(&mut &data[..], cap), want);
        assert_eq!(pull(&mut BufReader::with_capacity(chunk, data), cap), want);
        let mut choppy = Choppy { data, chunk, flip: false };
        assert_eq!(pull(&mut choppy, cap), want);
        assert_eq!(push(data, chunk, cap), want);
        assert_eq!(push(data, data.len().max(1), cap), want);

        // Break on the k-th uncut line: the reader is left right after its `\n`.
        let k = data.len() % (pieces.len() + 1);
        let mut r = BufReader::with_capacity(chunk, data);
        let (mut seen, mut uncut, mut end) = (0usize, 0usize, 0usize);
        for_each_line(&mut r, cap, |l, cut| {
            assert_eq!(l, &pieces[seen][..l.len()]);
            end += pieces[seen].len() + 1;
            seen += 1;
            if cut {
                return ControlFlow::Continue(());
            }
            uncut += 1;
            if uncut == k {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .unwrap();
        if k > 0 && uncut == k {
            let mut rest = Vec::new();
            r.read_to_end(&mut rest).unwrap();
            assert_eq!(rest, data[end.min(data.len())..]);
        }
    }
});

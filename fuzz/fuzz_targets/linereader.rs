//! `read_line_capped`: for several caps and buffer sizes, the lines are those of the
//! input split at `\n`, cut to the cap, `cut` set exactly when the line was longer, and
//! an `Interrupted` error from the reader is retried, not returned.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lvsmon::linereader::read_line_capped;
use std::io::{self, BufRead, BufReader, Read};

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

fn read_all(r: &mut dyn BufRead, cap: usize) -> Vec<(Vec<u8>, bool)> {
    let mut buf = Vec::new();
    let mut out = Vec::new();
    while let Some(l) = read_line_capped(r, &mut buf, cap).unwrap() {
        assert!(buf.len() <= cap);
        out.push((buf.clone(), l.cut));
    }
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
        assert_eq!(read_all(&mut &data[..], cap), want);
        assert_eq!(read_all(&mut BufReader::with_capacity(chunk, data), cap), want);
        let mut choppy = Choppy { data, chunk, flip: false };
        assert_eq!(read_all(&mut choppy, cap), want);
    }
});

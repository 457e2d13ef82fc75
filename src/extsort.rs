//! An external sort: items pushed in any order come back in order, with a bounded number
//! of them in memory at once. Each full buffer is sorted and written as a run to an
//! anonymous temporary file (gone when the sorter is dropped, even after a crash); reading
//! merges the runs. `analyze` keeps what it found this way, so its memory follows what is
//! open, not how much it found.
//!
//! Items are encoded with bincode, each behind its length: a run is read a record at a
//! time into a buffer of its own and decoded from that slice, which takes half the
//! instructions of decoding field by field from the file's reader (callgrind,
//! docs/benchmarks.md, round 6). Ties must not happen (callers put a sequence number in
//! their order) or come back in no particular order. [`Records`] sorts items that come
//! already encoded, by their keys' bytes, with the same runs and merge: `analyze`'s
//! incidents, too many and too large to convert and decode through serde.
//!
//! Hand-written rather than the `extsort` crate (0.5.0, compared in
//! bench/extsort_compare, docs/benchmarks.md "External sort: own or crate"): the crate
//! keeps one named file open per run and merges them all at once, so 10 M items at
//! `analyze`'s 4,096 per run failed with "Too many open files" under the usual 1,024
//! limit (and held 30 MB of read buffers where this holds none above its limit); its
//! sorted items can be read once, where `analyze`'s outputs read them several times; and
//! it took 1.4–2.0 s of CPU for 1 M incident-shaped items against 1.0–1.5 s here.

mod records;
pub use records::{Records, SortedRecords};

use serde::{de::DeserializeOwned, Serialize};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::unix::fs::FileExt;

/// Runs merged at once; more are merged in passes first (each open run holds a buffer).
/// A pass re-encodes every item it merges: 64 made three passes over most of the million
/// incidents of bench/report.sh's input; 256 runs of 4,096 make none.
const FAN_IN: usize = 256;
/// Read buffer per run being merged (4 MiB for a full fan-in).
const READ_BUF: usize = 16 << 10;

/// A sorted run in the file.
#[derive(Debug, Clone, Copy)]
struct Run {
    at: u64,
    end: u64,
    items: u64,
}

/// Merges runs of a file into a writer, saying how many items it wrote.
type MergeInto<'a> = &'a dyn Fn(&File, &[Run], &mut dyn Write) -> io::Result<u64>;

/// The temporary file that runs go to, and where each run is in it.
#[derive(Debug, Default)]
struct RunFile {
    file: Option<File>,
    /// Where the next run goes.
    end: u64,
    runs: Vec<Run>,
}

impl RunFile {
    /// Appends a run, written by `fill`, which says how many items it wrote.
    fn write(&mut self, fill: impl FnOnce(&mut dyn Write) -> io::Result<u64>) -> io::Result<()> {
        if self.file.is_none() {
            self.file = Some(tempfile::tempfile()?);
        }
        let Some(file) = &self.file else {
            return Ok(());
        };
        let at = self.end;
        let mut w = BufWriter::with_capacity(
            READ_BUF,
            At {
                file,
                pos: at,
                end: u64::MAX,
            },
        );
        let items = fill(&mut w)?;
        let end = w.into_inner().map_err(|e| e.into_error())?.pos;
        self.runs.push(Run { at, end, items });
        self.end = end;
        Ok(())
    }

    /// While there are more runs than [`FAN_IN`], merges the first ones into one with
    /// `merge(file, runs, out)`, which says how many items it wrote.
    fn reduce(&mut self, merge: MergeInto<'_>) -> io::Result<()> {
        while self.runs.len() > FAN_IN {
            let first: Vec<Run> = self.runs.drain(..FAN_IN).collect();
            let Some(file) = &self.file else { break };
            let read = file.try_clone()?;
            self.write(|w| merge(&read, &first, w))?;
        }
        Ok(())
    }
}

/// Sorts items pushed one by one, holding at most `limit` of them in memory.
#[derive(Debug)]
pub struct ExtSort<T> {
    buf: Vec<T>,
    limit: usize,
    runs: RunFile,
    len: u64,
}

impl<T: Serialize + DeserializeOwned + Ord> ExtSort<T> {
    /// A sorter keeping at most `limit` items (at least one) in memory.
    pub fn new(limit: usize) -> ExtSort<T> {
        ExtSort {
            buf: Vec::new(),
            limit: limit.max(1),
            runs: RunFile::default(),
            len: 0,
        }
    }

    /// Items pushed so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Items in memory now (the rest are on disk).
    pub fn in_memory(&self) -> usize {
        self.buf.len()
    }

    pub fn push(&mut self, item: T) -> io::Result<()> {
        self.buf.push(item);
        self.len += 1;
        if self.buf.len() >= self.limit {
            self.spill()?;
        }
        Ok(())
    }

    /// Writes the buffer out as a sorted run. The buffer keeps its capacity: growing a
    /// megabyte-sized vector again for every run made glibc consolidate its free lists
    /// each time (a third of `analyze`'s CPU on 10 x 1M lines, perf).
    ///
    /// What is sorted is a list of references: an incident as stored is about 300 bytes
    /// of string and vector headers, and sorting the items themselves moved them to and
    /// fro (9 M of the 1,658 M instructions `analyze` spent on 300,000 lines of
    /// bench/logs.sh's file, callgrind).
    fn spill(&mut self) -> io::Result<()> {
        let mut items = std::mem::take(&mut self.buf);
        let mut order: Vec<&T> = items.iter().collect();
        order.sort_unstable();
        let written = write_items::<T, _>(&mut self.runs, order.into_iter().map(Ok));
        items.clear();
        self.buf = items;
        written
    }

    /// Every item, in order, readable as many times as wanted.
    pub fn finish(mut self) -> io::Result<Sorted<T>> {
        if self.runs.runs.is_empty() {
            self.buf.sort_unstable();
            return Ok(Sorted {
                mem: self.buf,
                file: None,
                runs: Vec::new(),
            });
        }
        if !self.buf.is_empty() {
            self.spill()?;
        }
        self.runs.reduce(&|file, runs, w| {
            let (mut n, mut rec) = (0, Vec::new());
            for item in Merge::<T>::new(file, runs)? {
                write_item(w, &item?, &mut rec)?;
                n += 1;
            }
            Ok(n)
        })?;
        Ok(Sorted {
            mem: Vec::new(),
            file: self.runs.file,
            runs: self.runs.runs,
        })
    }
}

/// Writes `items` as a run of `runs`.
fn write_items<T: Serialize, B: std::borrow::Borrow<T>>(
    runs: &mut RunFile,
    items: impl Iterator<Item = io::Result<B>>,
) -> io::Result<()> {
    runs.write(|w| {
        let (mut n, mut rec) = (0, Vec::new());
        for item in items {
            write_item(w, item?.borrow(), &mut rec)?;
            n += 1;
        }
        Ok(n)
    })
}

/// Lengths up to this are read straight into room made for them ([`append_exact`]).
const DIRECT: u64 = 1 << 20;

/// Appends the next `len` bytes of `r` to `buf` (fewer is `UnexpectedEof`). Up to
/// [`DIRECT`] bytes are read into room made for them at once; more, as far as they go: a
/// damaged length in the temporary file ends in an error, not in a 4 GiB buffer.
/// (`read_to_end` for every record, a few hundred bytes each, probed and grew its buffer
/// for each: most of a record's read, perf.)
fn append_exact(r: &mut impl Read, len: u64, buf: &mut Vec<u8>) -> io::Result<()> {
    let at = buf.len();
    if len <= DIRECT {
        buf.resize(at + len as usize, 0);
        return r.read_exact(&mut buf[at..]);
    }
    r.by_ref().take(len).read_to_end(buf)?;
    if (buf.len() - at) as u64 != len {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(())
}

/// One item behind its length (`rec`: a buffer for its encoding, reused).
fn write_item<T: Serialize>(w: &mut dyn Write, item: &T, rec: &mut Vec<u8>) -> io::Result<()> {
    rec.clear();
    bincode::serialize_into(&mut *rec, item).map_err(io::Error::other)?;
    let len = u32::try_from(rec.len())
        .map_err(|_| io::Error::other("an item too large to sort on disk"))?;
    w.write_all(&len.to_le_bytes())?;
    w.write_all(rec)
}

/// The sorted items: in memory when they never filled the buffer, else runs on disk.
#[derive(Debug)]
pub struct Sorted<T> {
    mem: Vec<T>,
    file: Option<File>,
    runs: Vec<Run>,
}

impl<T: DeserializeOwned + Ord + Clone> Sorted<T> {
    /// The items in order.
    pub fn iter(&self) -> io::Result<Box<dyn Iterator<Item = io::Result<T>> + '_>> {
        match &self.file {
            None => Ok(Box::new(self.mem.iter().cloned().map(Ok))),
            Some(f) => Ok(Box::new(Merge::new(f, &self.runs)?)),
        }
    }
}

/// Reads or writes a file at a position of its own (`pread`/`pwrite`): several runs are
/// read at once from one file.
struct At<'a> {
    file: &'a File,
    pos: u64,
    end: u64,
}

impl Read for At<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = usize::try_from(self.end - self.pos).unwrap_or(usize::MAX);
        let n = buf.len().min(left);
        if n == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..n], self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Write for At<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write_at(buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A run being merged: its reader, the items it has left, and the bytes of its next one.
type RunReader<'a> = (BufReader<At<'a>>, u64, Vec<u8>);

/// A k-way merge of runs.
struct Merge<'a, T> {
    readers: Vec<RunReader<'a>>,
    heap: BinaryHeap<Reverse<(T, usize)>>,
    failed: bool,
}

impl<'a, T: DeserializeOwned + Ord> Merge<'a, T> {
    fn new(file: &'a File, runs: &[Run]) -> io::Result<Merge<'a, T>> {
        let mut m = Merge {
            readers: runs
                .iter()
                .map(|r| {
                    let at = At {
                        file,
                        pos: r.at,
                        end: r.end,
                    };
                    (BufReader::with_capacity(READ_BUF, at), r.items, Vec::new())
                })
                .collect(),
            heap: BinaryHeap::with_capacity(runs.len()),
            failed: false,
        };
        for i in 0..m.readers.len() {
            m.refill(i)?;
        }
        Ok(m)
    }

    /// The next item of run `i` onto the heap, if it has one.
    fn refill(&mut self, i: usize) -> io::Result<()> {
        let (r, left, rec) = &mut self.readers[i];
        if *left == 0 {
            return Ok(());
        }
        *left -= 1;
        let mut len = [0; 4];
        r.read_exact(&mut len)?;
        let len = u64::from(u32::from_le_bytes(len));
        // A damaged length in the temporary file ends in an error, not a 4 GiB buffer
        // (`append_exact` sizes the buffer by the length only up to 1 MiB).
        rec.clear();
        append_exact(r, len, rec)?;
        let item: T = bincode::deserialize(rec).map_err(io::Error::other)?;
        self.heap.push(Reverse((item, i)));
        Ok(())
    }
}

impl<T: DeserializeOwned + Ord> Iterator for Merge<'_, T> {
    type Item = io::Result<T>;

    fn next(&mut self) -> Option<io::Result<T>> {
        if self.failed {
            return None;
        }
        let Reverse((item, i)) = self.heap.pop()?;
        if let Err(e) = self.refill(i) {
            self.failed = true;
            return Some(Err(e));
        }
        Some(Ok(item))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(limit: usize, items: &[(u32, String)]) -> Vec<(u32, String)> {
        let mut s = ExtSort::new(limit);
        for i in items {
            s.push(i.clone()).unwrap();
        }
        let s = s.finish().unwrap();
        // Twice: the runs are read again from the start.
        let a: Vec<_> = s.iter().unwrap().map(Result::unwrap).collect();
        let b: Vec<_> = s.iter().unwrap().map(Result::unwrap).collect();
        assert_eq!(a, b);
        a
    }

    #[test]
    fn comes_back_in_order_from_memory_one_run_or_many_passes() {
        // A pseudo-random order (LCG), unique keys.
        let mut x: u32 = 12345;
        let items: Vec<(u32, String)> = (0..5000)
            .map(|n| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (x, format!("item {n}"))
            })
            .collect();
        let mut want = items.clone();
        want.sort();
        // All in memory; a few runs; more runs than FAN_IN (merged in passes).
        for limit in [10_000, 1000, 7, 2] {
            assert_eq!(sorted(limit, &items), want, "limit {limit}");
        }
        assert!(sorted(3, &[]).is_empty());
    }

    #[test]
    fn holds_at_most_its_limit_in_memory() {
        let mut s = ExtSort::new(100);
        for n in 0..30_000u64 {
            s.push(n).unwrap();
            assert!(s.in_memory() < 100);
        }
        assert_eq!(s.len(), 30_000);
        let s = s.finish().unwrap();
        // 300 runs: the first 256 merged into one, then 44 more.
        assert_eq!(s.runs.len(), 45);
        assert!(s.iter().unwrap().map(Result::unwrap).eq(0..30_000));
    }
}

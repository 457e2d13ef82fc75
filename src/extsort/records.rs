//! The sorter of byte records: [`super::ExtSort`]'s run file, and a merge of its own, for
//! items that come already encoded as a key and a payload, ordered by their keys' bytes.
//!
//! `analyze`'s incidents go through it. Through `ExtSort` each one was converted to a
//! serde struct, encoded, decoded with a dozen allocations and converted back, and the
//! sorter with its conversions was about 30 % of `analyze` on ten directors' logs (timed
//! with the incidents dropped instead, docs/benchmarks.md round 12). Here an incident is
//! encoded once, sorted and merged as bytes, and decoded once into buffers its reader
//! reuses. The caller's key encoding must order the bytes as it wants the items ordered,
//! and keys must be unique (ties come back in no particular order).

use super::{append_exact, At, Run, RunFile, READ_BUF};
use std::fs::File;
use std::io::{self, BufReader, Read};

/// A record's header: its key's length and its payload's, each a little-endian u32.
const HEAD: usize = 8;

/// Bytes of records held in memory at most, whatever their number.
const MAX_BYTES: usize = 16 << 20;

/// Sorts byte records pushed one by one, holding at most `limit` of them (and at most
/// 16 MiB of them) in memory.
#[derive(Debug)]
pub struct Records {
    /// The records in memory, each a header, its key and its payload.
    arena: Vec<u8>,
    /// Where each record in `arena` starts.
    starts: Vec<usize>,
    /// The sort's buffer: each start with its key's prefix ([`prefix`]).
    order: Vec<(u128, usize)>,
    limit: usize,
    runs: RunFile,
    len: u64,
}

/// The key's and the payload's lengths in a record's header (none when it is cut).
fn head(rec: &[u8]) -> (usize, usize) {
    let n = |at: usize| {
        rec.get(at..at + 4)
            .and_then(|b| b.try_into().ok())
            .map_or(0, |b| u32::from_le_bytes(b) as usize)
    };
    (n(0), n(4))
}

/// A record's key and payload, from the record's bytes (its header first).
fn parts(rec: &[u8]) -> (&[u8], &[u8]) {
    let (k, p) = head(rec);
    let key = rec.get(HEAD..HEAD + k).unwrap_or_default();
    let payload = rec.get(HEAD + k..HEAD + k + p).unwrap_or_default();
    (key, payload)
}

/// The whole record starting at `at` in `arena`.
fn record_at(arena: &[u8], at: usize) -> &[u8] {
    let (k, p) = parts(&arena[at..]);
    &arena[at..at + HEAD + k.len() + p.len()]
}

fn key_at(arena: &[u8], at: usize) -> &[u8] {
    parts(&arena[at..]).0
}

/// A key's first 16 bytes, zeros after a shorter one, as a number: where two prefixes
/// differ they order as their keys do (a key that ends first is the smaller, and its zeros
/// are below the other key's byte there unless that byte is zero too, and then the
/// prefixes do not differ there); where they are equal, the keys decide.
fn prefix(key: &[u8]) -> u128 {
    let mut b = [0u8; 16];
    let n = key.len().min(16);
    b[..n].copy_from_slice(&key[..n]);
    u128::from_be_bytes(b)
}

impl Records {
    /// A sorter keeping at most `limit` records (at least one) in memory.
    pub fn new(limit: usize) -> Records {
        Records {
            arena: Vec::new(),
            starts: Vec::new(),
            order: Vec::new(),
            limit: limit.max(1),
            runs: RunFile::default(),
            len: 0,
        }
    }

    /// Records pushed so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Records in memory now (the rest are on disk).
    pub fn in_memory(&self) -> usize {
        self.starts.len()
    }

    /// Adds a record: `key` orders it, `payload` comes back with it.
    pub fn push(&mut self, key: &[u8], payload: &[u8]) -> io::Result<()> {
        self.push_with(
            |a| a.extend_from_slice(key),
            |a| a.extend_from_slice(payload),
        )
    }

    /// [`Records::push`] of a record its caller encodes in place: `key` then `payload`
    /// append their bytes to the buffer given (the encoding went to buffers of its own
    /// and was copied here, a second copy of every incident, 500 bytes each).
    pub fn push_with(
        &mut self,
        key: impl FnOnce(&mut Vec<u8>),
        payload: impl FnOnce(&mut Vec<u8>),
    ) -> io::Result<()> {
        let at = self.arena.len();
        self.arena.extend_from_slice(&[0; HEAD]);
        key(&mut self.arena);
        let k = self.arena.len() - at - HEAD;
        payload(&mut self.arena);
        let p = self.arena.len() - at - HEAD - k;
        let (Ok(k), Ok(p)) = (u32::try_from(k), u32::try_from(p)) else {
            self.arena.truncate(at);
            return Err(io::Error::other("a record too large to sort"));
        };
        self.arena[at..at + 4].copy_from_slice(&k.to_le_bytes());
        self.arena[at + 4..at + HEAD].copy_from_slice(&p.to_le_bytes());
        self.starts.push(at);
        self.len += 1;
        if self.starts.len() >= self.limit || self.arena.len() >= MAX_BYTES {
            self.spill()?;
        }
        Ok(())
    }

    /// Sorts the records in memory by key (the arena stays where it is: only their
    /// starts move). Each start is sorted with its key's first 16 bytes beside it, so
    /// most comparisons read no key: reading both keys from the arena at every
    /// comparison, each far from the last, was a twentieth of `analyze`'s instructions
    /// (callgrind) and missed the cache.
    fn sort(&mut self) {
        let arena = &self.arena;
        let mut order = std::mem::take(&mut self.order);
        order.clear();
        order.extend(
            self.starts
                .iter()
                .map(|&at| (prefix(key_at(arena, at)), at)),
        );
        order.sort_unstable_by(|a, b| {
            a.0.cmp(&b.0)
                .then_with(|| key_at(arena, a.1).cmp(key_at(arena, b.1)))
        });
        self.starts.clear();
        self.starts.extend(order.iter().map(|&(_, at)| at));
        self.order = order;
    }

    /// Writes the records in memory out as a sorted run; the buffers keep their capacity.
    fn spill(&mut self) -> io::Result<()> {
        self.sort();
        let (arena, starts) = (&self.arena, &self.starts);
        let written = self.runs.write(|w| {
            for &at in starts {
                w.write_all(record_at(arena, at))?;
            }
            Ok(starts.len() as u64)
        });
        self.arena.clear();
        self.starts.clear();
        written
    }

    /// Every record, in order of key, readable as many times as wanted.
    pub fn finish(mut self) -> io::Result<SortedRecords> {
        if self.runs.runs.is_empty() {
            self.sort();
            return Ok(SortedRecords {
                arena: self.arena,
                starts: self.starts,
                file: None,
                runs: Vec::new(),
            });
        }
        if !self.starts.is_empty() {
            self.spill()?;
        }
        self.runs.reduce(&|file, runs, w| {
            merge(file, runs, &mut |rec| w.write_all(rec))?;
            Ok(runs.iter().map(|r| r.items).sum())
        })?;
        Ok(SortedRecords {
            arena: Vec::new(),
            starts: Vec::new(),
            file: self.runs.file,
            runs: self.runs.runs,
        })
    }
}

/// What is handed each record's key and payload, in order.
pub type EachRecord<'a> = &'a mut dyn FnMut(&[u8], &[u8]) -> io::Result<()>;

/// The sorted records: in memory when they never filled it, else runs on disk.
#[derive(Debug)]
pub struct SortedRecords {
    arena: Vec<u8>,
    starts: Vec<usize>,
    file: Option<File>,
    runs: Vec<Run>,
}

impl SortedRecords {
    /// Each record's key and payload, in order of key.
    pub fn each(&self, f: EachRecord<'_>) -> io::Result<()> {
        match &self.file {
            None => {
                for &at in &self.starts {
                    let (k, p) = parts(&self.arena[at..]);
                    f(k, p)?;
                }
                Ok(())
            }
            Some(file) => merge(file, &self.runs, &mut |rec| {
                let (k, p) = parts(rec);
                f(k, p)
            }),
        }
    }
}

/// A run being merged: its reader, the records it has left, and its current record.
struct Reader<'a> {
    r: BufReader<At<'a>>,
    left: u64,
    rec: Vec<u8>,
}

impl Reader<'_> {
    /// Reads the run's next record, if it has one.
    fn advance(&mut self) -> io::Result<bool> {
        if self.left == 0 {
            return Ok(false);
        }
        self.left -= 1;
        self.rec.clear();
        self.rec.resize(HEAD, 0);
        self.r.read_exact(&mut self.rec)?;
        let (k, p) = head(&self.rec);
        append_exact(&mut self.r, k as u64 + p as u64, &mut self.rec)?;
        Ok(true)
    }

    fn key(&self) -> &[u8] {
        parts(&self.rec).0
    }
}

/// Merges `runs` of `file`, handing each whole record (header, key, payload) to `f` in
/// order of key. A binary heap of run numbers, ordered by each run's current key: the
/// records stay in their runs' buffers, never copied into the heap.
fn merge(file: &File, runs: &[Run], f: &mut dyn FnMut(&[u8]) -> io::Result<()>) -> io::Result<()> {
    let mut readers: Vec<Reader<'_>> = Vec::with_capacity(runs.len());
    for r in runs {
        let at = At {
            file,
            pos: r.at,
            end: r.end,
        };
        readers.push(Reader {
            r: BufReader::with_capacity(READ_BUF, at),
            left: r.items,
            rec: Vec::new(),
        });
    }
    let mut heap: Vec<usize> = Vec::with_capacity(readers.len());
    for (i, r) in readers.iter_mut().enumerate() {
        if r.advance()? {
            heap.push(i);
        }
    }
    let less = |rs: &[Reader<'_>], a: usize, b: usize| rs[a].key() < rs[b].key();
    let sift_down = |rs: &[Reader<'_>], heap: &mut [usize], mut n: usize| loop {
        let (l, r) = (2 * n + 1, 2 * n + 2);
        let mut least = n;
        if l < heap.len() && less(rs, heap[l], heap[least]) {
            least = l;
        }
        if r < heap.len() && less(rs, heap[r], heap[least]) {
            least = r;
        }
        if least == n {
            break;
        }
        heap.swap(n, least);
        n = least;
    };
    for n in (0..heap.len() / 2).rev() {
        sift_down(&readers, &mut heap, n);
    }
    while let Some(&top) = heap.first() {
        f(&readers[top].rec)?;
        if !readers[top].advance()? {
            heap.swap_remove(0);
        }
        sift_down(&readers, &mut heap, 0);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::FileExt;

    /// Pushes `(key, payload)` pairs and reads them back twice.
    fn sorted(limit: usize, items: &[(Vec<u8>, Vec<u8>)]) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut s = Records::new(limit);
        for (k, p) in items {
            s.push(k, p).unwrap();
            assert!(s.in_memory() < limit.max(1));
        }
        assert_eq!(s.len(), items.len() as u64);
        let s = s.finish().unwrap();
        let read = || {
            let mut v = Vec::new();
            s.each(&mut |k, p| {
                v.push((k.to_vec(), p.to_vec()));
                Ok(())
            })
            .unwrap();
            v
        };
        let a = read();
        assert_eq!(a, read(), "the runs are read again from the start");
        a
    }

    #[test]
    fn records_come_back_by_key_from_memory_one_run_or_many_passes() {
        // Keys of any length (empty, prefixes of each other, NUL and 0xff bytes), unique;
        // payloads of any length, empty too.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut seen = std::collections::BTreeSet::new();
        let mut items = Vec::new();
        while items.len() < 5000 {
            let r = next();
            let key: Vec<u8> = (0..r % 6)
                .map(|n| [0u8, 1, 0xff, b'a'][((r >> (8 + 2 * n)) & 3) as usize])
                .collect();
            let key = [key, vec![next() as u8]].concat();
            if !seen.insert(key.clone()) {
                continue;
            }
            let payload = vec![(r >> 40) as u8; (r % 50) as usize];
            items.push((key, payload));
        }
        let mut want = items.clone();
        want.sort();
        // All in memory; a few runs; more runs than FAN_IN (merged in passes).
        for limit in [10_000, 1000, 7, 2] {
            assert_eq!(sorted(limit, &items), want, "limit {limit}");
        }
        assert!(sorted(3, &[]).is_empty());
        // One item in memory, runs of one.
        assert_eq!(sorted(1, &items[..3]), {
            let mut w = items[..3].to_vec();
            w.sort();
            w
        });
    }

    proptest::proptest! {
        /// Keys from a small alphabet with zeros, of lengths around the prefix's 16 bytes:
        /// equal prefixes, keys ending in zeros, one key the start of the other.
        #[test]
        fn prefixes_then_keys_order_as_keys_do(
            a in proptest::collection::vec(0u8..3, 0..24),
            b in proptest::collection::vec(0u8..3, 0..24),
        ) {
            let by_prefix = prefix(&a).cmp(&prefix(&b)).then_with(|| a.cmp(&b));
            proptest::prop_assert_eq!(by_prefix, a.cmp(&b));
        }
    }

    #[test]
    fn a_damaged_run_is_an_error_not_a_panic() {
        let mut s = Records::new(2);
        for n in 0u8..10 {
            s.push(&[n], &[n; 40]).unwrap();
        }
        let s = s.finish().unwrap();
        let f = s.file.as_ref().unwrap();
        // A payload length of 4 GiB - 1 in the first run's first record (read as far as
        // it goes), then one of 100,000 bytes, past the file's end (read at once).
        for len in [u32::MAX, 100_000] {
            f.write_at(&len.to_le_bytes(), 4).unwrap();
            let r = s.each(&mut |_, _| Ok(()));
            assert_eq!(r.unwrap_err().kind(), io::ErrorKind::UnexpectedEof, "{len}");
        }
    }
}

//! Which of a set of literals occur in a message: positions are probed in a hashed table
//! of four bytes of each literal, and only a position whose four bytes are some literal's
//! is compared in full.
//!
//! Not every position: when the shortest literal of four bytes or more has `3 + s`
//! bytes, one position in `s` is probed (at most four), and the table holds each
//! literal's four bytes at `s` consecutive places of it, from some `k` on. An occurrence
//! starting at `x` covers `x + k .. x + k + s` with those places, and exactly one probed
//! position falls there, so each occurrence is still found once. (`k` is chosen where the
//! other literals and the rules' samples hold those bytes least: [`Table::fill`].) The
//! built-in library's shortest such literal has seven bytes (` of VS `, `(Line 0`): one
//! probe in four (the probe loop was most of the time spent in `Rules::winner` itself, a
//! tenth of `analyze`'s, perf).
//!
//! Why not the Aho-Corasick DFA this replaced: its scan is one table load per byte, and the
//! address of each load is the result of the one before, so a message costs its length
//! times the cache's latency (17 % of `analyze` on bench/logs.sh's file, perf). Here no
//! probe depends on another, so the CPU runs many at once; and the table a probe reads is
//! a 4 KB bit set, in the cache for the whole run.

use crate::logs::linear::bytes_eq;
use std::collections::HashMap;
use std::ops::Range;

/// Bits of the hash a probe tests: a 4 KB bit set. With the built-in library's 165
/// literals, a position that starts none of them passes about one probe in 200.
const HASH_BITS: u32 = 15;
/// Bits of the hash that choose a bucket of literals (its top bits, so that a bit set
/// means its bucket holds a literal): the table of where buckets start is 16 KB, read only
/// by the probes that pass.
const BUCKET_BITS: u32 = 12;
const BUCKETS: usize = 1 << BUCKET_BITS;

/// The literals, by the length of the prefix they are probed by.
#[derive(Debug, Default)]
pub struct Literals {
    /// Every literal's bytes, one after another (a compare reads one array, not a pointer
    /// per literal).
    bytes: Vec<u8>,
    /// Literals of four bytes or more, probed by their first four.
    long: Table<4>,
    /// Literals of three bytes, probed by all three.
    three: Table<3>,
    /// Literals of one or two bytes (not made by the built-in library, whose literals have
    /// three bytes at least): searched for one by one.
    short: Vec<(usize, Range<usize>)>,
    /// The empty literal, which every message contains.
    empty: Vec<usize>,
}

impl Literals {
    /// The literals; [`Literals::each`] reports them by their index here.
    #[cfg(test)]
    pub fn new(lits: &[Vec<u8>]) -> Literals {
        Literals::probed_apart_from(lits, &[])
    }

    /// The literals, each probed at the places its four bytes are seen least, among the
    /// other literals and in `text` (messages like those to be scanned: the rules'
    /// samples): see [`Table::fill`].
    pub fn probed_apart_from(lits: &[Vec<u8>], text: &[&str]) -> Literals {
        let mut out = Literals::default();
        let shortest = lits.iter().map(Vec::len).filter(|&n| n >= 4).min();
        out.long.stride = shortest.map_or(1, |n| (n - 3).min(MAX_STRIDE));
        let (mut long, mut three) = (Vec::new(), Vec::new());
        for (i, l) in lits.iter().enumerate() {
            let at = out.bytes.len()..out.bytes.len() + l.len();
            out.bytes.extend_from_slice(l);
            match l.len() {
                0 => out.empty.push(i),
                1 | 2 => out.short.push((i, at)),
                3 => three.push((l.as_slice(), i, at)),
                _ => long.push((l.as_slice(), i, at)),
            }
        }
        out.long.fill(&long, text);
        out.three.fill(&three, text);
        out
    }

    /// Calls `found` with each literal that occurs in `hay`: at least once, and as often
    /// as it occurs for the literals of three bytes or more.
    pub fn each(&self, hay: &[u8], mut found: impl FnMut(usize)) {
        self.long.each(hay, &self.bytes, &mut found);
        self.three.each(hay, &self.bytes, &mut found);
        for (i, at) in &self.short {
            let lit = self.bytes.get(at.clone()).unwrap_or_default();
            if memchr::memmem::find(hay, lit).is_some() {
                found(*i);
            }
        }
        self.empty.iter().for_each(|&i| found(i));
    }
}

/// Most positions a probe may stand for ([`Table::stride`]): each literal is in the table
/// once per place it is probed at.
pub(super) const MAX_STRIDE: usize = 4;

/// A literal in a [`Table`], at one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    /// Its bytes from `offset` on, as [`gram`] reads them.
    gram: u32,
    /// How far into the literal the probe's bytes are.
    offset: u32,
    /// Where it is in [`Literals::bytes`].
    start: u32,
    end: u32,
    /// Its index, for [`Literals::each`].
    lit: u32,
}

/// The literals probed by their first `N` bytes.
#[derive(Debug)]
struct Table<const N: usize> {
    /// A bit per hash: set when some literal's first `N` bytes hash to it.
    bits: Box<[u64]>,
    /// Per bucket, where its entries start; it ends where the next one starts (one more
    /// than [`BUCKETS`]).
    heads: Box<[u32]>,
    /// The literals, by bucket.
    entries: Vec<Entry>,
    /// One position in this many is probed.
    stride: usize,
}

impl<const N: usize> Default for Table<N> {
    fn default() -> Self {
        Table {
            bits: vec![0; 1 << (HASH_BITS - 6)].into_boxed_slice(),
            heads: vec![0; BUCKETS + 1].into_boxed_slice(),
            entries: Vec::new(),
            stride: 1,
        }
    }
}

/// The first `N` (at most 4) bytes of `w` as a number.
#[inline(always)]
fn gram<const N: usize>(w: &[u8; N]) -> u32 {
    let mut b = [0u8; 4];
    b[..N].copy_from_slice(w);
    u32::from_le_bytes(b)
}

/// The hash's bit and the bucket it falls in.
#[inline(always)]
fn hash(g: u32) -> (usize, usize) {
    let h = g.wrapping_mul(0x9E37_79B1);
    (
        (h >> (32 - HASH_BITS)) as usize,
        (h >> (32 - BUCKET_BITS)) as usize,
    )
}

impl<const N: usize> Table<N> {
    /// Adds the literals (bytes, index, where they are in [`Literals::bytes`]), each at
    /// the run of [`Table::stride`] places whose bytes the other literals and `text` hold
    /// least.
    ///
    /// Why not each literal's first places: many literals begin alike (`Entering MASTER
    /// STATE`, `Entering BACKUP STATE`, …), and a probe that meets `Ente` would compare
    /// them all. At their least shared places bench/logs.sh's 1M lines compare 1.9 M
    /// entries instead of 4.5 M, and `Rules::winner` passes 1.7 M probes instead of 2.4 M
    /// (a count in a scratch build; `--no-incidents` 4 % faster). And why the text: with
    /// one probe in four a literal has more places to choose from, and the least shared
    /// among literals were words such as ` on ` and `for `, which most messages hold.
    fn fill(&mut self, lits: &[(&[u8], usize, Range<usize>)], text: &[&str]) {
        let mut shared: HashMap<u32, usize> = HashMap::new();
        let all = lits
            .iter()
            .map(|(l, ..)| *l)
            .chain(text.iter().map(|t| t.as_bytes()));
        for l in all {
            for w in l.windows(N).filter_map(|w| w.first_chunk::<N>()) {
                *shared.entry(gram(w)).or_default() += 1;
            }
        }
        for (lit, i, at) in lits {
            let run = |base: usize| {
                lit.get(base..)
                    .unwrap_or_default()
                    .windows(N)
                    .take(self.stride)
                    .filter_map(|w| w.first_chunk::<N>())
                    .map(|w| shared.get(&gram(w)).copied().unwrap_or(0))
                    .sum::<usize>()
            };
            // Every run of `stride` places that fits (the stride is set by the shortest
            // literal, so one always does); the first of the least shared.
            let last = (lit.len() + 1).saturating_sub(N + self.stride);
            let base = (0..=last).min_by_key(|&b| (run(b), b)).unwrap_or(0);
            self.add(lit, *i, at.clone(), base);
        }
        self.done();
    }

    /// Adds literal `i`, whose bytes are `at` in [`Literals::bytes`]. Places past 2^32
    /// bytes would need a library of 4 GB of literals; they are clamped (and never match).
    /// It goes in at the [`Table::stride`] places from `base` on (it is that long: the
    /// stride is set by the shortest).
    fn add(&mut self, lit: &[u8], i: usize, at: Range<usize>, base: usize) {
        let n = |x: usize| u32::try_from(x).unwrap_or(u32::MAX);
        for offset in base..base + self.stride {
            let Some(w) = lit.get(offset..).and_then(|l| l.first_chunk::<N>()) else {
                return;
            };
            let (bit, _) = hash(gram(w));
            self.bits[bit / 64] |= 1 << (bit % 64);
            self.entries.push(Entry {
                gram: gram(w),
                offset: n(offset),
                start: n(at.start),
                end: n(at.end),
                lit: n(i),
            });
        }
    }

    /// Sorts the entries by bucket and fills in where each bucket starts.
    fn done(&mut self) {
        self.entries.sort_unstable_by_key(|e| (hash(e.gram).1, *e));
        let mut at = 0;
        for (b, head) in self.heads.iter_mut().enumerate() {
            while self.entries.get(at).is_some_and(|e| hash(e.gram).1 < b) {
                at += 1;
            }
            *head = u32::try_from(at).unwrap_or(u32::MAX);
        }
    }

    #[inline(always)]
    fn each(&self, hay: &[u8], bytes: &[u8], found: &mut impl FnMut(usize)) {
        if self.entries.is_empty() {
            return;
        }
        for (at, w) in hay.windows(N).enumerate().step_by(self.stride) {
            let Some(w) = w.first_chunk::<N>() else {
                continue;
            };
            let g = gram(w);
            let (bit, bucket) = hash(g);
            if self.bits[bit / 64] >> (bit % 64) & 1 == 1 {
                self.verify(hay, at, g, bucket, bytes, found);
            }
        }
    }

    /// The literals of `bucket` whose bytes at their offset are `g`, found at `at`. Out of
    /// line: most probes do not get here, and the scan's loop stays small.
    #[inline(never)]
    fn verify(
        &self,
        hay: &[u8],
        at: usize,
        g: u32,
        bucket: usize,
        bytes: &[u8],
        found: &mut impl FnMut(usize),
    ) {
        let (Some(&from), Some(&to)) = (self.heads.get(bucket), self.heads.get(bucket + 1)) else {
            return;
        };
        for e in self
            .entries
            .get(from as usize..to as usize)
            .unwrap_or_default()
        {
            let lit = bytes
                .get(e.start as usize..e.end as usize)
                .unwrap_or_default();
            // (A clamped place gives no bytes, shorter than any literal here: no match.)
            if e.gram != g || lit.len() < N {
                continue;
            }
            // Where it would start (a probe near the message's start may be too early
            // for its offset).
            let Some(rest) = at.checked_sub(e.offset as usize).and_then(|x| hay.get(x..)) else {
                continue;
            };
            // The whole literal, the probed bytes again: a word's compare more, and no
            // slicing past them to get wrong.
            if rest.get(..lit.len()).is_some_and(|r| bytes_eq(r, lit)) {
                found(e.lit as usize);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn found(lits: &[&str], hay: &str) -> Vec<usize> {
        let lits: Vec<Vec<u8>> = lits.iter().map(|l| l.as_bytes().to_vec()).collect();
        let mut out = Vec::new();
        Literals::new(&lits).each(hay.as_bytes(), |i| out.push(i));
        out.sort_unstable();
        out.dedup();
        out
    }

    #[test]
    fn every_length_is_found_anywhere_and_overlapping() {
        let lits = [
            "",
            "a",
            "bc",
            "abc",
            "Entering MASTER",
            " MASTER STATE",
            "STATE",
        ];
        assert_eq!(
            found(&lits, "(VI_1) Entering MASTER STATE"),
            vec![0, 4, 5, 6]
        );
        assert_eq!(found(&lits, "abc"), vec![0, 1, 2, 3]);
        assert_eq!(found(&lits, "STAT"), vec![0]);
        assert_eq!(found(&lits, ""), vec![0]);
    }

    #[test]
    fn literals_that_begin_alike_are_probed_where_they_differ() {
        let lits: Vec<Vec<u8>> = [
            "Entering MASTER STATE",
            "Entering BACKUP STATE",
            "Entering FAULT STATE",
        ]
        .map(|l| l.as_bytes().to_vec())
        .to_vec();
        let t = Literals::new(&lits).long;
        assert_eq!(t.stride, 4);
        for a in &t.entries {
            for b in t.entries.iter().filter(|b| b.lit != a.lit) {
                assert_ne!(a.gram, b.gram, "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn literals_are_probed_away_from_the_words_messages_hold() {
        let lits = vec![b"wxyz ABCD".to_vec()];
        let first = |t: &Table<4>| t.entries.iter().map(|e| e.offset).min();
        let blind = Literals::probed_apart_from(&lits, &[]);
        assert_eq!((blind.long.stride, first(&blind.long)), (4, Some(0)));
        let told = Literals::probed_apart_from(&lits, &["wxyz wxyz"]);
        assert_eq!(first(&told.long), Some(2), "{:?}", told.long.entries);
        let mut got = Vec::new();
        told.each(b"wxyz wxyz ABCD", |i| got.push(i));
        assert_eq!(got, [0]);
    }

    #[test]
    fn literals_sharing_their_first_bytes_are_each_compared() {
        let lits = ["IPVS: ", "IPVS: sync thread", "IPVS: s", "IPVS"];
        assert_eq!(found(&lits, "IPVS: sync thread started"), vec![0, 1, 2, 3]);
        assert_eq!(found(&lits, "IPVS: BACKUP"), vec![0, 3]);
    }

    proptest! {
        /// Whatever the literals and the message (a small alphabet, so that literals share
        /// their first bytes and overlap), what is found is what a naive search finds.
        #[test]
        fn the_found_are_those_a_naive_search_finds(
            lits in proptest::collection::vec("[ab() ]{0,7}", 0..24),
            hay in "[ab() x]{0,40}",
        ) {
            let refs: Vec<&str> = lits.iter().map(String::as_str).collect();
            let naive: Vec<usize> = lits
                .iter()
                .enumerate()
                .filter(|(_, l)| hay.contains(l.as_str()))
                .map(|(i, _)| i)
                .collect();
            prop_assert_eq!(found(&refs, &hay), naive);
        }

        /// Literals of four bytes or more, probed one position in one to four: each
        /// occurrence is reported once, as a naive count of overlapping ones finds them.
        #[test]
        fn every_occurrence_is_found_once_whatever_the_stride(
            lits in proptest::collection::vec("[ab() ]{4,9}", 1..12),
            pieces in proptest::collection::vec((0..12usize, "[ab() x]{0,5}"), 0..10),
        ) {
            // The literals themselves, between random bytes: they occur, and overlap.
            let hay: String = pieces
                .iter()
                .map(|(i, filler)| format!("{filler}{}", lits[i % lits.len()]))
                .collect();
            let raw: Vec<Vec<u8>> = lits.iter().map(|l| l.as_bytes().to_vec()).collect();
            let mut got = vec![0usize; lits.len()];
            Literals::new(&raw).each(hay.as_bytes(), |i| got[i] += 1);
            let naive: Vec<usize> = lits
                .iter()
                .map(|l| (0..hay.len()).filter(|&x| hay[x..].starts_with(l.as_str())).count())
                .collect();
            prop_assert_eq!(got, naive);
        }
    }
}

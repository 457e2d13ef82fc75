//! Which of a set of literals occur in a message: every start position is probed in a
//! hashed table of the literals' first bytes, and only a position whose first bytes are
//! some literal's is compared in full.
//!
//! Why not the Aho-Corasick DFA this replaced: its scan is one table load per byte, and the
//! address of each load is the result of the one before, so a message costs its length
//! times the cache's latency (17 % of `analyze` on bench/logs.sh's file, perf). Here no
//! probe depends on another, so the CPU runs many at once; and the table of first bytes is
//! a 4 KB bit set, in the cache for the whole run.

/// Bits of the hash of a literal's first bytes. 2^12 buckets make the table of where each
/// bucket starts 16 KB, which stays in the cache; with the built-in library's ~180
/// literals, a probe at a position that starts none of them finds its bucket empty 96
/// times in 100.
const HASH_BITS: u32 = 12;
const BUCKETS: usize = 1 << HASH_BITS;

use crate::logs::linear::bytes_eq;

/// The literals, by the length of the prefix they are probed by.
#[derive(Debug, Default)]
pub struct Literals {
    lits: Vec<Box<[u8]>>,
    /// Literals of four bytes or more, probed by their first four.
    long: Table<4>,
    /// Literals of three bytes, probed by all three.
    three: Table<3>,
    /// Literals of one or two bytes (not made by the built-in library, whose literals have
    /// three bytes at least): searched for one by one.
    short: Vec<usize>,
    /// The empty literal, which every message contains.
    empty: Vec<usize>,
}

impl Literals {
    /// The literals; [`Literals::each`] reports them by their index here.
    pub fn new(lits: &[Vec<u8>]) -> Literals {
        let mut out = Literals {
            lits: lits.iter().map(|l| l.clone().into_boxed_slice()).collect(),
            ..Literals::default()
        };
        for (i, l) in lits.iter().enumerate() {
            match l.len() {
                0 => out.empty.push(i),
                1 | 2 => out.short.push(i),
                3 => out.three.add(l, i),
                _ => out.long.add(l, i),
            }
        }
        out.long.done();
        out.three.done();
        out
    }

    /// Calls `found` with each literal that occurs in `hay`: at least once, and as often
    /// as it occurs for the literals of three bytes or more.
    pub fn each(&self, hay: &[u8], mut found: impl FnMut(usize)) {
        self.long.each(hay, &self.lits, &mut found);
        self.three.each(hay, &self.lits, &mut found);
        for &i in &self.short {
            if memchr::memmem::find(hay, &self.lits[i]).is_some() {
                found(i);
            }
        }
        self.empty.iter().for_each(|&i| found(i));
    }
}

/// The literals probed by their first `N` bytes.
#[derive(Debug)]
struct Table<const N: usize> {
    /// Per bucket, where its entries start; it ends where the next one starts (one more
    /// than [`BUCKETS`]).
    heads: Box<[u32]>,
    /// `(first N bytes, literal)`, by bucket.
    entries: Vec<(u32, usize)>,
}

impl<const N: usize> Default for Table<N> {
    fn default() -> Self {
        Table {
            heads: vec![0; BUCKETS + 1].into_boxed_slice(),
            entries: Vec::new(),
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

#[inline(always)]
fn bucket(g: u32) -> usize {
    (g.wrapping_mul(0x9E37_79B1) >> (32 - HASH_BITS)) as usize
}

impl<const N: usize> Table<N> {
    fn add(&mut self, lit: &[u8], i: usize) {
        if let Some(w) = lit.first_chunk::<N>() {
            self.entries.push((gram(w), i));
        }
    }

    /// Sorts the entries by bucket and fills in where each bucket starts. A library of
    /// more than 2^32 literals would not fit in memory anyway.
    fn done(&mut self) {
        self.entries
            .sort_unstable_by_key(|&(g, i)| (bucket(g), g, i));
        let mut at = 0;
        for (b, head) in self.heads.iter_mut().enumerate() {
            while self.entries.get(at).is_some_and(|&(g, _)| bucket(g) < b) {
                at += 1;
            }
            *head = u32::try_from(at).unwrap_or(u32::MAX);
        }
    }

    #[inline(always)]
    fn each(&self, hay: &[u8], lits: &[Box<[u8]>], found: &mut impl FnMut(usize)) {
        if self.entries.is_empty() {
            return;
        }
        for (at, w) in hay.windows(N).enumerate() {
            let Some(w) = w.first_chunk::<N>() else {
                continue;
            };
            let g = gram(w);
            let b = bucket(g);
            let (from, to) = (self.heads[b], self.heads[b + 1]);
            if from != to {
                self.verify(hay, at, g, from as usize..to as usize, lits, found);
            }
        }
    }

    /// The literals of the bucket `entries` that start at `at` (whose first bytes are
    /// `g`). Out of line: most probes do not get here, and the scan's loop stays small.
    #[inline(never)]
    fn verify(
        &self,
        hay: &[u8],
        at: usize,
        g: u32,
        entries: std::ops::Range<usize>,
        lits: &[Box<[u8]>],
        found: &mut impl FnMut(usize),
    ) {
        let rest = hay.get(at..).unwrap_or_default();
        for &(e, i) in self.entries.get(entries).unwrap_or_default() {
            let lit = &lits[i];
            if e == g
                && rest
                    .get(..lit.len())
                    .is_some_and(|r| bytes_eq(&r[N..], &lit[N..]))
            {
                found(i);
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
    }
}

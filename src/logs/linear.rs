//! A small matcher with captures for the regex shapes the pattern library is made of:
//! literals, optional pieces, alternations, character classes and greedy runs of one class
//! (`[^)]+`, `\S+`, `\d+`), anchored by `^` and `$`.
//!
//! The regex crate's capture engines (one-pass DFA, backtracker) cost several nanoseconds
//! per byte, more than the rest of classifying a line. A log rule's regex is nearly always
//! a chain of literals and delimited runs, which a backtracking program over whole runs
//! matches at about a byte per step. Looks other than `^`/`$`, counted repetitions of
//! anything but a class, repeated groups and lazy repetition are refused (the rule then
//! uses the regex crate). A run followed by something that cannot start with a character of
//! its class never gives characters back; other runs do, one at a time, longest first, as
//! a backtracker would. The work of one search is capped at a few steps per byte: past the
//! cap the search gives up and the caller asks the regex crate, so no line costs more than
//! linear time here.
//!
//! Semantics are the regex crate's leftmost-first ones: the first start position that
//! matches, and at it the first path in priority order. Tests and a fuzz target compare the
//! two on every rule.

use regex_syntax::hir::{Class as HirClass, Hir, HirKind, Look};

/// A program may have at most this many paths (products of alternation sizes).
const MAX_PATHS: u64 = 256;

/// A set of characters: a flag per ASCII byte (the run loop's lookup), sorted ranges for
/// the rest.
#[derive(Debug, Clone)]
struct CharSet {
    table: [bool; 128],
    wide: Vec<(char, char)>,
}

impl CharSet {
    fn from_hir(c: &HirClass) -> Option<CharSet> {
        let mut set = CharSet {
            table: [false; 128],
            wide: Vec::new(),
        };
        match c {
            HirClass::Unicode(u) => {
                for r in u.ranges() {
                    let (a, b) = (r.start(), r.end());
                    for ch in a..=b.min('\x7f') {
                        set.table[ch as usize] = true;
                    }
                    if b > '\x7f' {
                        set.wide.push((a.max('\u{80}'), b));
                    }
                }
            }
            // Byte classes only arise from `(?-u)`, which the library does not use; refused
            // rather than risk matching inside a UTF-8 sequence.
            HirClass::Bytes(_) => return None,
        }
        Some(set)
    }

    fn contains(&self, ch: char) -> bool {
        if ch.is_ascii() {
            return self.table[ch as usize];
        }
        self.wide
            .binary_search_by(|&(a, b)| {
                if b < ch {
                    std::cmp::Ordering::Less
                } else if a > ch {
                    std::cmp::Ordering::Greater
                } else {
                    std::cmp::Ordering::Equal
                }
            })
            .is_ok()
    }

    /// The ASCII part as a bit mask.
    fn ascii(&self) -> u128 {
        (0..128)
            .filter(|&b| self.table[b])
            .fold(0, |m, b| m | 1 << b)
    }

    fn intersects(&self, other: &First) -> bool {
        self.ascii() & other.ascii != 0 || (other.wide && !self.wide.is_empty())
    }
}

/// What can begin a match from a point of the program: ASCII bytes, and whether any
/// non-ASCII character can (kept coarse: a conflict is assumed then).
#[derive(Debug, Clone, Copy, Default)]
struct First {
    ascii: u128,
    wide: bool,
}

impl First {
    fn of_char(ch: char) -> First {
        if ch.is_ascii() {
            First {
                ascii: 1 << (ch as u32),
                wide: false,
            }
        } else {
            First {
                ascii: 0,
                wide: true,
            }
        }
    }
    fn of_set(s: &CharSet) -> First {
        First {
            ascii: s.ascii(),
            wide: !s.wide.is_empty(),
        }
    }
    /// Whether a match from here can begin at `byte` (`None`: the end of the haystack),
    /// given whether it can match without consuming anything.
    fn admits(self, nullable: bool, byte: Option<&u8>) -> bool {
        nullable
            || match byte {
                Some(&b) if b < 0x80 => self.ascii >> b & 1 == 1,
                Some(_) => self.wide,
                None => false,
            }
    }

    fn union(self, o: First) -> First {
        First {
            ascii: self.ascii | o.ascii,
            wide: self.wide || o.wide,
        }
    }
}

#[derive(Debug, Clone)]
enum Op {
    Lit(Box<str>),
    /// One character of the set.
    One(CharSet),
    /// A greedy run of the set, at least `min` (0 or 1) characters; given back one character
    /// at a time when `back` (what follows could start with a character of the run).
    Run {
        set: CharSet,
        min: usize,
        back: bool,
    },
    Save(usize),
    /// Try the next op, and on failure the target.
    Split(usize),
    Jump(usize),
    Start,
    End,
    Match,
}

/// A compiled rule regex.
#[derive(Debug, Clone)]
pub struct Program {
    ops: Vec<Op>,
    /// For each op, what can begin a match from it (see [`Program::first_sets`]): a branch
    /// that cannot start with the byte at hand is not tried, nor is a start position.
    first: Vec<(First, bool)>,
    /// Every path begins with `^`: only position 0 is tried.
    anchored: bool,
    slots: usize,
}

/// Reusable backtracking state.
#[derive(Debug, Default)]
pub struct Stack(Vec<Frame>);

#[derive(Debug, Clone, Copy)]
enum Frame {
    Step {
        pc: usize,
        pos: usize,
    },
    /// Retry `pc + 1` after the run at `pc` with one character fewer than `pos`, down to `lo`.
    Back {
        pc: usize,
        lo: usize,
        pos: usize,
    },
    Restore {
        slot: usize,
        old: Option<usize>,
    },
}

struct Compiler {
    ops: Vec<Op>,
    max_slot: usize,
}

impl Compiler {
    fn push(&mut self, op: Op) -> usize {
        self.ops.push(op);
        self.ops.len() - 1
    }

    fn compile(&mut self, hir: &Hir) -> Option<()> {
        match hir.kind() {
            HirKind::Empty => {}
            HirKind::Literal(l) => {
                self.push(Op::Lit(std::str::from_utf8(&l.0).ok()?.into()));
            }
            HirKind::Class(c) => {
                self.push(Op::One(CharSet::from_hir(c)?));
            }
            HirKind::Look(Look::Start) => {
                self.push(Op::Start);
            }
            HirKind::Look(Look::End) => {
                self.push(Op::End);
            }
            HirKind::Look(_) => return None,
            HirKind::Capture(c) => {
                let slot = 2 * c.index as usize;
                self.max_slot = self.max_slot.max(slot + 2);
                self.push(Op::Save(slot));
                self.compile(&c.sub)?;
                self.push(Op::Save(slot + 1));
            }
            HirKind::Concat(subs) => {
                for s in subs {
                    self.compile(s)?;
                }
            }
            HirKind::Alternation(subs) => {
                let mut jumps = Vec::new();
                for (i, s) in subs.iter().enumerate() {
                    if i + 1 < subs.len() {
                        let split = self.push(Op::Split(0));
                        self.compile(s)?;
                        jumps.push(self.push(Op::Jump(0)));
                        let next = self.ops.len();
                        self.ops[split] = Op::Split(next);
                    } else {
                        self.compile(s)?;
                    }
                }
                let end = self.ops.len();
                for j in jumps {
                    self.ops[j] = Op::Jump(end);
                }
            }
            HirKind::Repetition(r) => {
                if !r.greedy {
                    return None;
                }
                match (r.sub.kind(), r.min, r.max) {
                    (HirKind::Class(c), min @ (0 | 1), None) => {
                        self.push(Op::Run {
                            set: CharSet::from_hir(c)?,
                            min: min as usize,
                            back: false,
                        });
                    }
                    (_, 0, Some(1)) => {
                        let split = self.push(Op::Split(0));
                        self.compile(&r.sub)?;
                        let end = self.ops.len();
                        self.ops[split] = Op::Split(end);
                    }
                    (HirKind::Class(_), n, Some(m)) if n == m && n <= 8 => {
                        for _ in 0..n {
                            self.compile(&r.sub)?;
                        }
                    }
                    _ => return None,
                }
            }
        }
        Some(())
    }
}

impl Program {
    /// Compiles `regex` (the regex crate's syntax and defaults) if this matcher is exact for
    /// it; `None` otherwise.
    pub fn new(regex: &str) -> Option<Program> {
        let hir = regex_syntax::ParserBuilder::new()
            .build()
            .parse(regex)
            .ok()?;
        Program::from_hir(&hir)
    }

    /// [`Program::new`] from the regex already parsed (with the regex crate's defaults).
    pub fn from_hir(hir: &Hir) -> Option<Program> {
        // Group 0, the whole match, as the regex crate reports it.
        let mut c = Compiler {
            ops: vec![Op::Save(0)],
            max_slot: 2,
        };
        c.compile(hir)?;
        c.push(Op::Save(1));
        c.push(Op::Match);
        let mut p = Program {
            first: Vec::new(),
            anchored: false,
            slots: c.max_slot,
            ops: c.ops,
        };
        let first = p.first_sets();
        for (pc, op) in p.ops.iter_mut().enumerate() {
            if let Op::Run { set, back, .. } = op {
                *back = set.intersects(&first[pc + 1].0);
            }
        }
        p.anchored = p.always_anchored();
        p.first = first;
        (p.paths() <= MAX_PATHS).then_some(p)
    }

    /// Capture slots the program writes (two per group, group 0 included when present).
    pub fn slots(&self) -> usize {
        self.slots
    }

    /// For each pc: what can begin a match from it, and whether it can reach `Match`
    /// consuming nothing. Jumps only go forward, so one backward pass suffices.
    fn first_sets(&self) -> Vec<(First, bool)> {
        let n = self.ops.len();
        let mut f = vec![(First::default(), false); n + 1];
        for pc in (0..n).rev() {
            let next = f[pc + 1];
            f[pc] = match &self.ops[pc] {
                Op::Lit(l) => (
                    l.chars().next().map(First::of_char).unwrap_or_default(),
                    l.is_empty() && next.1,
                ),
                Op::One(s) => (First::of_set(s), false),
                Op::Run { set, min: 0, .. } => (First::of_set(set).union(next.0), next.1),
                Op::Run { set, .. } => (First::of_set(set), false),
                Op::Save(_) | Op::Start | Op::End => next,
                Op::Split(t) => (next.0.union(f[*t].0), next.1 || f[*t].1),
                Op::Jump(t) => f[*t],
                Op::Match => (First::default(), true),
            };
        }
        f
    }

    /// Whether every path from the start meets `^` before consuming anything.
    fn always_anchored(&self) -> bool {
        fn from(ops: &[Op], pc: usize) -> bool {
            match &ops[pc] {
                Op::Start => true,
                Op::Save(_) => from(ops, pc + 1),
                Op::Jump(t) => from(ops, *t),
                Op::Split(t) => from(ops, pc + 1) && from(ops, *t),
                _ => false,
            }
        }
        from(&self.ops, 0)
    }

    /// The number of paths through the program.
    fn paths(&self) -> u64 {
        let n = self.ops.len();
        let mut p = vec![0u64; n + 1];
        for pc in (0..n).rev() {
            p[pc] = match &self.ops[pc] {
                Op::Match => 1,
                Op::Split(t) => p[pc + 1].saturating_add(p[*t]),
                Op::Jump(t) => p[*t],
                _ => p[pc + 1],
            };
        }
        p[0]
    }

    /// Whether the search of `hay` can need more than one attempt per run position.
    pub fn gives_back(&self) -> bool {
        self.ops
            .iter()
            .any(|op| matches!(op, Op::Run { back: true, .. }))
    }

    /// Searches `hay`; on a match fills `slots` (at least [`Program::slots`] long) the way
    /// the regex crate's capture locations would be. `None` when the search gave up (the
    /// step cap): the caller must ask the regex crate.
    pub fn captures(
        &self,
        hay: &str,
        slots: &mut [Option<usize>],
        stack: &mut Stack,
    ) -> Option<bool> {
        let mut budget = 8 * hay.len() + 1024;
        let last = if self.anchored { 0 } else { hay.len() };
        let (first, nullable) = self.first[0];
        for start in 0..=last {
            if !first.admits(nullable, hay.as_bytes().get(start)) || !hay.is_char_boundary(start) {
                continue;
            }
            slots[..self.slots].fill(None);
            if self.run(hay, start, slots, stack, &mut budget)? {
                return Some(true);
            }
        }
        Some(false)
    }

    fn run(
        &self,
        hay: &str,
        start: usize,
        slots: &mut [Option<usize>],
        stack: &mut Stack,
        budget: &mut usize,
    ) -> Option<bool> {
        let stack = &mut stack.0;
        stack.clear();
        let (mut pc, mut pos) = (0, start);
        loop {
            loop {
                *budget = budget.checked_sub(1)?;
                match &self.ops[pc] {
                    Op::Lit(l) => {
                        let l = l.as_bytes();
                        match hay.as_bytes().get(pos..pos + l.len()) {
                            Some(h) if bytes_eq(h, l) => pos += l.len(),
                            _ => break,
                        }
                    }
                    Op::One(set) => match hay[pos..].chars().next() {
                        Some(ch) if set.contains(ch) => pos += ch.len_utf8(),
                        _ => break,
                    },
                    Op::Run { set, min, back } => {
                        let end = run_end(set, hay, pos);
                        if end - pos < *min {
                            break;
                        }
                        *budget = budget.checked_sub((end - pos) / 8)?;
                        let lo = pos + *min;
                        if *back && end > lo {
                            stack.push(Frame::Back { pc, lo, pos: end });
                        }
                        pos = end;
                    }
                    Op::Save(slot) => {
                        // With nothing to backtrack to, a failure ends the attempt and the
                        // slots are cleared anyway: no restore needed.
                        if !stack.is_empty() {
                            stack.push(Frame::Restore {
                                slot: *slot,
                                old: slots[*slot],
                            });
                        }
                        slots[*slot] = Some(pos);
                    }
                    Op::Split(alt) => {
                        let byte = hay.as_bytes().get(pos);
                        let (f, n) = self.first[pc + 1];
                        let (af, an) = self.first[*alt];
                        match (f.admits(n, byte), af.admits(an, byte)) {
                            (true, true) => stack.push(Frame::Step { pc: *alt, pos }),
                            (true, false) => {}
                            (false, true) => {
                                pc = *alt;
                                continue;
                            }
                            (false, false) => break,
                        }
                    }
                    Op::Jump(t) => {
                        pc = *t;
                        continue;
                    }
                    Op::Start if pos != 0 => break,
                    Op::End if pos != hay.len() => break,
                    Op::Start | Op::End => {}
                    Op::Match => return Some(true),
                }
                pc += 1;
            }
            // This path failed: resume the most recent alternative.
            (pc, pos) = loop {
                match stack.pop() {
                    None => return Some(false),
                    Some(Frame::Restore { slot, old }) => slots[slot] = old,
                    Some(Frame::Step { pc, pos }) => break (pc, pos),
                    Some(Frame::Back { pc, lo, pos }) => {
                        let fewer = floor_char_boundary(hay, pos - 1);
                        if fewer > lo {
                            stack.push(Frame::Back { pc, lo, pos: fewer });
                        }
                        break (pc + 1, fewer);
                    }
                }
            };
        }
    }
}

/// Short literals compare inline; a call to `memcmp` costs more than they do. Eight
/// bytes at a time, the last eight taken where they end (overlapping the word before):
/// the bytes past the last whole word were compared one by one.
pub(crate) fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n > 64 {
        return a == b;
    }
    fn word<const W: usize>(s: &[u8], at: usize) -> Option<[u8; W]> {
        s.get(at..)?.first_chunk::<W>().copied()
    }
    match n {
        8.. => {
            word::<8>(a, n - 8) == word::<8>(b, n - 8)
                && a.chunks_exact(8)
                    .zip(b.chunks_exact(8))
                    .all(|(x, y)| x == y)
        }
        4..8 => word::<4>(a, 0) == word::<4>(b, 0) && word::<4>(a, n - 4) == word::<4>(b, n - 4),
        // One to three bytes (the matcher's `)`, `: `): compared here, not by `memcmp`.
        _ => a.iter().zip(b).all(|(x, y)| x == y),
    }
}

/// The char boundary at or before `i`.
fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Where a run of `set` starting at `pos` ends.
fn run_end(set: &CharSet, hay: &str, mut pos: usize) -> usize {
    let b = hay.as_bytes();
    while let Some(&c) = b.get(pos) {
        if c < 0x80 {
            if !set.table[usize::from(c)] {
                break;
            }
            pos += 1;
        } else {
            match hay[pos..].chars().next() {
                Some(ch) if set.contains(ch) => pos += ch.len_utf8(),
                _ => break,
            }
        }
    }
    pos
}

#[cfg(test)]
mod tests;

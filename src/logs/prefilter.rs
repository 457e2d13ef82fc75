//! The pattern library's prefilter: which rules a message can possibly match, from one scan
//! for the literals they require.
//!
//! For each rule, the regex's syntax tree is walked for a set of literals one of which every
//! match must contain (`Entering MASTER STATE`, or `TCP_CHECK on service`, `HTTP_CHECK on
//! service`, …). All of them go into one table (module `literals`). A message is scanned
//! once; the rules whose literals occur, plus the few rules for which no useful literal
//! exists, are the candidates, and only their regexes run. Most lines in a log match no
//! rule and contain no literal, so they cost that one scan.
//!
//! The literal sets are a necessary condition, never a sufficient one: a literal found only
//! makes a rule a candidate, and its regex decides. A wrong set would silently lose events,
//! so the extraction is conservative (it gives up, making the rule always a candidate,
//! whenever the language is not small and finite), and tests and a fuzz target compare the
//! prefiltered classifier with trying every regex in order.

use regex_syntax::hir::{Class, Hir, HirKind};

/// More alternatives than this in one literal set and the set is given up.
const MAX_SET: usize = 48;
/// A shortest literal under this many bytes would make the rule a candidate for most lines;
/// such a rule is tried on every line instead.
const MIN_LEN: usize = 3;

/// Strings, any one of which must occur.
pub type Set = Vec<Vec<u8>>;

/// The whole language of `hir` when it is finite and small: `(?:a|b)c?` is {a, b, ac, bc}.
fn exact(hir: &Hir) -> Option<Set> {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => Some(vec![Vec::new()]),
        HirKind::Literal(l) => Some(vec![l.0.to_vec()]),
        HirKind::Class(c) => class_strings(c, EXACT_CLASS),
        HirKind::Capture(c) => exact(&c.sub),
        HirKind::Concat(subs) => subs
            .iter()
            .try_fold(vec![Vec::new()], |acc, s| product(&acc, &exact(s)?)),
        HirKind::Alternation(subs) => {
            let mut out = Vec::new();
            for s in subs {
                out.extend(exact(s)?);
                if out.len() > MAX_SET {
                    return None;
                }
            }
            Some(dedup(out))
        }
        HirKind::Repetition(r) => {
            let max = r.max?;
            if max > 3 {
                return None;
            }
            let sub = exact(&r.sub)?;
            let mut out = Vec::new();
            let mut power = vec![Vec::new()];
            for k in 0..=max {
                if k >= r.min {
                    out.extend(power.iter().cloned());
                }
                power = product(&power, &sub)?;
            }
            (out.len() <= MAX_SET).then(|| dedup(out))
        }
    }
}

/// Most characters of a class taken as its strings in a whole language ([`exact`]).
const EXACT_CLASS: usize = 4;
/// Most characters of a class taken as its strings at the edge of a literal
/// ([`prefixes`], [`suffixes`]): the ten digits, which follow `Line ` in a config error.
/// (Written `[0-9]`: the regex crate's `\d` holds every script's digits.)
const EDGE_CLASS: usize = 10;

/// A class of at most `most` characters, as its strings.
fn class_strings(c: &Class, most: usize) -> Option<Set> {
    let mut out = Vec::new();
    match c {
        Class::Unicode(u) => {
            for r in u.ranges() {
                for ch in r.start()..=r.end() {
                    if out.len() == most {
                        return None;
                    }
                    out.push(ch.to_string().into_bytes());
                }
            }
        }
        Class::Bytes(b) => {
            for r in b.ranges() {
                for byte in r.start()..=r.end() {
                    if out.len() == most {
                        return None;
                    }
                    out.push(vec![byte]);
                }
            }
        }
    }
    Some(out)
}

/// Strings one of which every match of `hir` starts with (`{""}` when nothing is known):
/// `\[\S+` starts with `[`, `Line [0-9]+` with `Line 0` … `Line 9`. A literal run followed
/// by such a piece joins them into longer literals ([`concat_sets`]).
fn prefixes(hir: &Hir) -> Set {
    edge(hir, false)
}

/// Strings one of which every match of `hir` ends with (`{""}` when nothing is known):
/// `[^:()]+: ` ends with `: `.
fn suffixes(hir: &Hir) -> Set {
    edge(hir, true)
}

/// [`prefixes`], or [`suffixes`] when `end`. Each step keeps a valid set: when a piece
/// gives nothing or a product grows too large, what is known so far is the answer.
fn edge(hir: &Hir, end: bool) -> Set {
    if let Some(set) = exact(hir) {
        return set;
    }
    let nothing = || vec![Vec::new()];
    match hir.kind() {
        HirKind::Class(c) => class_strings(c, EDGE_CLASS).unwrap_or_else(nothing),
        HirKind::Capture(c) => edge(&c.sub, end),
        HirKind::Repetition(r) if r.min >= 1 => edge(&r.sub, end),
        HirKind::Alternation(subs) => {
            union(subs.iter().flat_map(|s| edge(s, end))).unwrap_or_else(nothing)
        }
        HirKind::Concat(subs) => {
            let mut known = nothing();
            let mut pieces: Vec<&Hir> = subs.iter().collect();
            if end {
                pieces.reverse();
            }
            // The pieces from the edge inwards: exact ones join; the first that is not
            // adds its own edge and ends the walk.
            let join = |a: &Set, b: &Set| if end { product(b, a) } else { product(a, b) };
            for p in pieces {
                let (piece, last) = match exact(p) {
                    Some(e) => (e, false),
                    None => (edge(p, end), true),
                };
                match join(&known, &piece) {
                    Some(j) => known = j,
                    None => return known,
                }
                if last {
                    break;
                }
            }
            known
        }
        _ => nothing(),
    }
}

fn product(a: &Set, b: &Set) -> Option<Set> {
    if a.len() * b.len() > MAX_SET {
        return None;
    }
    let mut out = Vec::with_capacity(a.len() * b.len());
    for x in a {
        for y in b {
            let mut s = x.clone();
            s.extend_from_slice(y);
            out.push(s);
        }
    }
    Some(dedup(out))
}

/// The members of several sets as one set, or `None` past [`MAX_SET`].
fn union(members: impl IntoIterator<Item = Vec<u8>>) -> Option<Set> {
    let out = dedup(members.into_iter().collect());
    (out.len() <= MAX_SET).then_some(out)
}

fn dedup(mut s: Set) -> Set {
    s.sort();
    s.dedup();
    s
}

/// A second set's shortest literal has this many bytes at least: as many as the scan needs
/// to probe one place in [`literals::MAX_STRIDE`]. A second set only spares a regex a run;
/// a shorter literal would make the scan probe more places, or search for three-byte
/// literals at every place (` up` of `Netlink reports \S+ up`).
const MIN_SECOND: usize = 3 + literals::MAX_STRIDE;

/// The shortest member's length: a set is as selective as its weakest literal.
fn score(s: &Set) -> usize {
    s.iter().map(Vec::len).min().unwrap_or(0)
}

/// Keeps the more selective of `best` and `cand`.
fn consider(best: &mut Option<Set>, cand: Option<Set>) {
    let Some(cand) = cand else { return };
    if cand.is_empty() || score(&cand) == 0 {
        return;
    }
    let better = match best {
        None => true,
        Some(b) => {
            (score(&cand), std::cmp::Reverse(cand.len())) > (score(b), std::cmp::Reverse(b.len()))
        }
    };
    if better {
        *best = Some(cand);
    }
}

/// A set of literals one of which every match of `hir` contains, if one is known.
fn required(hir: &Hir) -> Option<Set> {
    if let Some(set) = exact(hir) {
        if score(&set) > 0 {
            return Some(set);
        }
    }
    match hir.kind() {
        HirKind::Capture(c) => required(&c.sub),
        HirKind::Repetition(r) if r.min >= 1 => required(&r.sub),
        HirKind::Alternation(subs) => {
            let mut out = Vec::new();
            for s in subs {
                out.extend(required(s)?);
            }
            union(out)
        }
        HirKind::Concat(subs) => {
            let mut best = None;
            for set in concat_sets(subs) {
                consider(&mut best, Some(set));
            }
            best
        }
        _ => None,
    }
}

/// Every set of literals the pieces of a concatenation require, in order: adjacent pieces
/// with small languages join into longer literals (`\(`, `[^)]+`, `\):? Entering MASTER
/// STATE` gives `) Entering…` and `): Entering…`); a piece without one ends the run and may
/// carry a requirement of its own. Each set is required on its own, so a match contains a
/// member of every one.
///
/// A run also reaches into the pieces around it: it joins the first bytes of the piece
/// that ends it ([`prefixes`]), and the next run starts from that piece's last bytes
/// ([`suffixes`]), or, after an optional piece, from either its last bytes or the run
/// before it (`\((?:[^:()]+: )?Line [0-9]+` gives `(Line 0`, `: Line 0`, … `: Line 9`).
/// Longer literals let the scan probe fewer places ([`literals`]).
fn concat_sets(subs: &[Hir]) -> Vec<Set> {
    let mut sets = Vec::new();
    let mut run = vec![Vec::new()];
    for s in subs {
        let e = exact(s);
        match e.as_ref().and_then(|e| product(&run, e)) {
            Some(p) => run = p,
            None => match e {
                Some(e) => sets.push(std::mem::replace(&mut run, e)),
                None => {
                    sets.push(product(&run, &prefixes(s)).unwrap_or_else(|| run.clone()));
                    sets.extend(required(s));
                    run = match s.kind() {
                        HirKind::Repetition(r) if r.min == 0 => {
                            union(run.into_iter().chain(suffixes(&r.sub)))
                                .unwrap_or_else(|| vec![Vec::new()])
                        }
                        _ => suffixes(s),
                    };
                }
            },
        }
    }
    sets.push(run);
    sets
}

/// A common substring at least this long replaces a whole set.
const MIN_COMMON: usize = 8;

/// The literals a rule's regex requires, or `None` when the rule must be tried on every line.
/// Fewer literals mean fewer compares in the scan, so a set whose members share a long
/// substring is replaced by it (`TCP_CHECK on service `, `HTTP_CHECK on service `, … by
/// `_CHECK on service `), and a member that contains another member is left out. (The
/// prefilter takes [`requirements`]; this is its first set, for the tests.)
#[cfg(test)]
fn literals(regex: &str) -> Option<Set> {
    requirements(regex).into_iter().next()
}

/// `literals` first, then a second set the regex requires from another part of it, when
/// one is selective enough: a message is a candidate only when it holds a member of each.
/// `TCP connection to [ip]:port success.` holds the first literal of the rule for
/// `… failed.` (`connection to `), not its second (` failed.`), and the matcher is not
/// run for it (a fifth of the lines of bench/logs.sh's file were tried against a rule that
/// could not match them).
pub fn requirements(regex: &str) -> Vec<Set> {
    match regex_syntax::ParserBuilder::new().build().parse(regex) {
        Ok(hir) => requirements_of(&hir),
        Err(_) => Vec::new(),
    }
}

/// [`requirements`] of the regex already parsed (with the regex crate's defaults).
pub fn requirements_of(hir: &Hir) -> Vec<Set> {
    let Some(first) = required(hir).filter(|s| score(s) >= MIN_LEN) else {
        return Vec::new();
    };
    let mut top = hir;
    while let HirKind::Capture(c) = top.kind() {
        top = &c.sub;
    }
    let mut second: Option<Set> = None;
    if let HirKind::Concat(subs) = top.kind() {
        for set in concat_sets(subs) {
            if set != first && score(&set) >= MIN_SECOND {
                consider(&mut second, Some(set));
            }
        }
    }
    std::iter::once(first).chain(second).map(reduce).collect()
}

/// A set as the scan takes it: a set whose members share a long substring is replaced
/// by it, and a member that contains another member is left out.
fn reduce(set: Set) -> Set {
    if set.len() > 1 {
        if let Some(c) = common_substring(&set).filter(|c| c.len() >= MIN_COMMON) {
            return vec![c];
        }
    }
    let keep = |l: &Vec<u8>| !set.iter().any(|o| o.len() < l.len() && contains(l, o));
    set.iter().filter(|l| keep(l)).cloned().collect()
}

/// Whether `needle` occurs in `hay` (the empty needle everywhere).
fn contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

/// The longest substring of every member (ties: the first found in the shortest member).
fn common_substring(set: &Set) -> Option<Vec<u8>> {
    let shortest = set.iter().min_by_key(|s| s.len())?;
    for len in (1..=shortest.len()).rev() {
        for w in shortest.windows(len) {
            if set.iter().all(|s| contains(s, w)) {
                return Some(w.to_vec());
            }
        }
    }
    None
}

/// Leaves out the second sets that can only cost: a rule's second set keeps the rule from
/// being a candidate for a line that holds its first literal and is another rule's (`TCP
/// connection to … success.` and `… failed.`). When no literal another rule requires holds
/// any of this rule's first ones, a line with it is nearly always this rule's, and looking
/// for the second set is pure cost: ` to ` of `Changing effective priority from \d+ to
/// \d+` was found in more than a quarter of the lines of bench/logs.sh's file, each a
/// compare. (Only a matter of time: the regex decides either way.)
fn drop_needless_seconds(reqs: &mut [Vec<Set>]) {
    let shared: Vec<bool> = reqs
        .iter()
        .enumerate()
        .map(|(r, sets)| {
            let Some(mine) = sets.first() else {
                return false;
            };
            reqs.iter().enumerate().any(|(o, other)| {
                o != r
                    && other
                        .iter()
                        .flatten()
                        .any(|m| mine.iter().any(|l| contains(m, l)))
            })
        })
        .collect();
    for (sets, shared) in reqs.iter_mut().zip(shared) {
        if !shared {
            sets.truncate(1);
        }
    }
}

/// The candidate finder over a whole library.
///
/// Its bit sets hold a bit per rule (set: the rule's first literal set was found), then a
/// bit per second set ([`requirements`]); a rule is a candidate when its own bit and its
/// second set's bit are both set ([`Prefilter::admits`], asked only of the rules whose
/// own bit is set).
#[derive(Debug)]
pub struct Prefilter {
    /// Every literal of every rule.
    literals: literals::Literals,
    /// For each literal, the bits it sets.
    owners: Vec<Vec<usize>>,
    /// Rules without literals: candidates for every message.
    always: Vec<u64>,
    /// Words of rule bits (the second sets' bits follow them).
    words: usize,
    /// Per rule, the bit of its second literal set, if it has one.
    second: Vec<Option<usize>>,
}

impl Prefilter {
    /// One entry per rule: its regex's source.
    pub fn new<'a>(regexes: impl IntoIterator<Item = &'a str>) -> Prefilter {
        Prefilter::from_requirements(regexes.into_iter().map(requirements).collect())
    }

    /// One entry per rule: its regex's [`requirements`].
    pub fn from_requirements(reqs: Vec<Vec<Set>>) -> Prefilter {
        Prefilter::from_requirements_and_text(reqs, &[])
    }

    /// [`Prefilter::from_requirements`], the scan tuned to messages like `text` (the
    /// rules' samples): each literal is probed where such messages hold its bytes least.
    pub fn from_requirements_and_text(mut reqs: Vec<Vec<Set>>, text: &[&str]) -> Prefilter {
        drop_needless_seconds(&mut reqs);
        let words = reqs.len().div_ceil(64).max(1);
        let mut patterns: Vec<Vec<u8>> = Vec::new();
        let mut owners: Vec<Vec<usize>> = Vec::new();
        let mut always = Vec::new();
        let mut second = vec![None; reqs.len()];
        let mut seconds = 0;
        for (rule, sets) in reqs.into_iter().enumerate() {
            if sets.is_empty() {
                always.push(rule);
            }
            for (k, set) in sets.into_iter().enumerate() {
                let bit = if k == 0 {
                    rule
                } else {
                    seconds += 1;
                    let b = words * 64 + seconds - 1;
                    second[rule] = Some(b);
                    b
                };
                for lit in set {
                    let i = match patterns.iter().position(|p| *p == lit) {
                        Some(i) => i,
                        None => {
                            patterns.push(lit);
                            owners.push(Vec::new());
                            patterns.len() - 1
                        }
                    };
                    owners[i].push(bit);
                }
            }
        }
        let mut bits = vec![0u64; words + usize::div_ceil(seconds, 64)];
        for r in always {
            bits[r / 64] |= 1 << (r % 64);
        }
        let literals = literals::Literals::probed_apart_from(&patterns, text);
        Prefilter {
            literals,
            owners,
            always: bits,
            words,
            second,
        }
    }

    /// A bit set sized for [`Prefilter::candidates`].
    pub fn bits(&self) -> Vec<u64> {
        vec![0; self.always.len()]
    }

    /// The rules whose first literal set was found in `bits` (try each only if
    /// [`Prefilter::admits`] it).
    pub fn found<'b>(&self, bits: &'b [u64]) -> &'b [u64] {
        &bits[..self.words]
    }

    /// Whether `rule`, found, is a candidate: its second literal set was found too, or it
    /// has none.
    pub fn admits(&self, rule: usize, bits: &[u64]) -> bool {
        self.second
            .get(rule)
            .copied()
            .flatten()
            .is_none_or(|b| bits.get(b / 64).is_some_and(|w| w >> (b % 64) & 1 == 1))
    }

    /// Fills `bits` with the rules that may match `message` ([`Prefilter::found`] and
    /// [`Prefilter::admits`] read them).
    pub fn candidates(&self, message: &str, bits: &mut [u64]) {
        bits.copy_from_slice(&self.always);
        let owners = &self.owners;
        self.literals.each(message.as_bytes(), |lit| {
            for &r in &owners[lit] {
                bits[r / 64] |= 1 << (r % 64);
            }
        });
    }

    /// Rules tried on every message (no literal found).
    #[cfg(test)]
    fn unfiltered(&self) -> impl Iterator<Item = usize> + '_ {
        ones(self.found(&self.always))
    }
}

/// The set bits of a bit set, ascending.
pub fn ones(bits: &[u64]) -> Ones<'_> {
    Ones {
        rest: bits,
        word: 0,
        next: 0,
    }
}

/// The iterator of [`ones`]: a word at a time. (Written with `flat_map`, the iterator's
/// bookkeeping was 2.2 % of `analyze` on bench/logs.sh's file, perf: every classified
/// line walks it.)
pub struct Ones<'a> {
    rest: &'a [u64],
    /// The bits of the current word not yet handed out.
    word: u64,
    /// The index of the next word's first bit (the current word's is 64 less).
    next: usize,
}

impl Iterator for Ones<'_> {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        while self.word == 0 {
            let (&w, rest) = self.rest.split_first()?;
            self.word = w;
            self.rest = rest;
            self.next += 64;
        }
        let b = self.word.trailing_zeros() as usize;
        self.word &= self.word - 1;
        Some(self.next - 64 + b)
    }
}

mod literals;
#[cfg(test)]
mod tests;

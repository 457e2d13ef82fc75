//! Scans every message of a log with the rules' literals six ways and prints the time of
//! each (median of five rounds, one core), per byte and as a ratio to what `analyze` runs:
//!
//! - `lvsmon`: lvsmon's own prefilter (`Prefilter::candidates`, what the classifier runs
//!   since round 14: every position probed in a hashed table of the literals' first bytes,
//!   no probe waiting on another);
//! - `aho-corasick 2`: aho-corasick's DFA over the literals, two messages per pass, noting
//!   which literals occur (what lvsmon ran until round 14: two independent chains of table
//!   loads overlap);
//! - `aho-corasick`: the same, one chain;
//! - `aho-corasick 4`: the same, four messages per pass (four chains);
//! - `daachorse`: the `daachorse` crate's double-array automaton over the same literals,
//!   noting the same (its results are checked equal to aho-corasick's, message by message),
//!   with its 2-gram prefilter (which skips stretches where no literal can start) and
//!   without it (`daachorse -pf`).
//!
//! The question it first answered (round 10): is the scan slowed by its automaton's size
//! (1.8 MB for aho-corasick's DFA, more than this machine's L2 cache) or bound by the
//! latency of one table load after another? An automaton 40 times smaller scanning only a
//! little faster chain for chain, and slower than two chains of the large one, said the
//! latter; round 14's scan has no chain.

use aho_corasick::automaton::Automaton;
use std::time::{Duration, Instant};

const ROUNDS: usize = 5;

/// Each rule's regex, from lvsmon's pattern library.
fn regexes() -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../src/logs/rules.toml");
    let text = std::fs::read_to_string(path).expect("read src/logs/rules.toml");
    let doc: toml::Value = toml::from_str(&text).expect("parse rules.toml");
    doc["rule"]
        .as_array()
        .expect("[[rule]]")
        .iter()
        .map(|r| r["regex"].as_str().expect("regex").to_string())
        .collect()
}

/// The literals, as lvsmon's prefilter takes them from the regexes.
fn literals(regexes: &[String]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    for set in regexes
        .iter()
        .flat_map(|re| lvsmon::logs::prefilter::requirements(re))
    {
        for lit in set {
            if !out.contains(&lit) {
                out.push(lit);
            }
        }
    }
    out
}

/// Which literals occur, as a bit set.
type Found = [u64; 4];

fn note(found: &mut Found, pattern: usize) {
    found[pattern / 64] |= 1 << (pattern % 64);
}

/// One step of aho-corasick's DFA on `byte`, noting the literals that end there.
fn ac_step(
    dfa: &aho_corasick::dfa::DFA,
    sid: aho_corasick::automaton::StateID,
    byte: u8,
    found: &mut Found,
) -> aho_corasick::automaton::StateID {
    let sid = dfa.next_state(aho_corasick::Anchored::No, sid, byte);
    if dfa.is_special(sid) && dfa.is_match(sid) {
        for k in 0..dfa.match_len(sid) {
            note(found, dfa.match_pattern(sid, k).as_usize());
        }
    }
    sid
}

/// The literals found in each message, `K` messages per pass (`K` chains of loads), folded
/// into one number.
fn ac_chains<const K: usize>(
    dfa: &aho_corasick::dfa::DFA,
    start: aho_corasick::automaton::StateID,
    msgs: &[&str],
) -> u64 {
    let one = |m: &str| {
        let mut f: Found = [0; 4];
        let mut sid = start;
        for &b in m.as_bytes() {
            sid = ac_step(dfa, sid, b, &mut f);
        }
        fold(&f)
    };
    let mut s = 0u64;
    for ch in msgs.chunks(K) {
        let Ok(ms) = <[&str; K]>::try_from(ch) else {
            s = ch.iter().map(|m| one(m)).fold(s, u64::wrapping_add);
            continue;
        };
        let ms = ms.map(str::as_bytes);
        let n = ms.iter().map(|m| m.len()).min().unwrap_or(0);
        let mut f: [Found; K] = [[0; 4]; K];
        let mut sid = [start; K];
        for i in 0..n {
            for ((m, sid), f) in ms.iter().zip(sid.iter_mut()).zip(f.iter_mut()) {
                *sid = ac_step(dfa, *sid, m[i], f);
            }
        }
        for ((m, sid), f) in ms.iter().zip(sid.iter_mut()).zip(f.iter_mut()) {
            for &b in &m[n..] {
                *sid = ac_step(dfa, *sid, b, f);
            }
        }
        s = f.iter().map(|x| fold(x.as_slice())).fold(s, u64::wrapping_add);
    }
    s
}

fn fold(f: &[u64]) -> u64 {
    f.iter()
        .fold(0u64, |a, &w| a.wrapping_mul(31).wrapping_add(w))
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time(mut f: impl FnMut() -> u64) -> (Duration, u64) {
    let mut times = Vec::new();
    let mut sum = 0;
    for _ in 0..ROUNDS {
        let t = Instant::now();
        sum = std::hint::black_box(f());
        times.push(t.elapsed());
    }
    (median(times), sum)
}

fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: prefilter_compare LOG");
    let data = std::fs::read(&path).expect("read the log");
    // The message: what follows the syslog tag's ": " (RFC 3164 lines, as gen_logs.py
    // writes them and keepalived's syslog has them).
    let msgs: Vec<&str> = data
        .split(|&b| b == b'\n')
        .filter_map(|l| {
            let p = l.windows(2).position(|w| w == b": ")?;
            std::str::from_utf8(&l[p + 2..]).ok()
        })
        .collect();
    let bytes: usize = msgs.iter().map(|m| m.len()).sum();
    let res = regexes();
    let pats = literals(&res);
    let pf = lvsmon::logs::prefilter::Prefilter::new(res.iter().map(String::as_str));
    let dfa = aho_corasick::dfa::DFA::builder()
        .match_kind(aho_corasick::MatchKind::Standard)
        .build(&pats)
        .expect("build the DFA");
    let start = dfa
        .start_state(aho_corasick::Anchored::No)
        .expect("start state");
    let da = daachorse::DoubleArrayAhoCorasick::<u32>::new(&pats).expect("build daachorse");
    let da_plain = daachorse::DoubleArrayAhoCorasickBuilder::new()
        .use_prefilter(false)
        .build::<_, _, u32>(&pats)
        .expect("build daachorse without its prefilter");
    println!(
        "{} messages, {} bytes; {} rules, {} literals; aho-corasick DFA {} bytes, daachorse {} \
         bytes ({} without its 2-gram prefilter)",
        msgs.len(),
        bytes,
        res.len(),
        pats.len(),
        dfa.memory_usage(),
        da.heap_bytes(),
        da_plain.heap_bytes()
    );

    let ac_found = |m: &str| {
        let mut f: Found = [0; 4];
        let mut sid = start;
        for &b in m.as_bytes() {
            sid = ac_step(&dfa, sid, b, &mut f);
        }
        f
    };
    let da_found_with = |da: &daachorse::DoubleArrayAhoCorasick<u32>, m: &str| {
        let mut f: Found = [0; 4];
        for hit in da.find_overlapping_iter(m) {
            note(&mut f, hit.value() as usize);
        }
        f
    };
    let da_found = |m: &str| da_found_with(&da, m);
    // Both automata must find the same literals in every message.
    let differ = msgs.iter().filter(|m| ac_found(m) != da_found(m)).count();
    assert_eq!(
        differ, 0,
        "daachorse and aho-corasick disagree on {differ} messages"
    );

    let mut bits = pf.bits();
    let lvsmon = time(|| {
        let mut s = 0u64;
        for m in &msgs {
            pf.candidates(m, &mut bits);
            s = s.wrapping_add(fold(&bits));
        }
        s
    });
    let ac = time(|| {
        msgs.iter()
            .map(|m| fold(&ac_found(m)))
            .fold(0, u64::wrapping_add)
    });
    // The same automaton, two and four messages per pass: two and four chains of loads.
    let ac2 = time(|| ac_chains::<2>(&dfa, start, &msgs));
    let ac4 = time(|| ac_chains::<4>(&dfa, start, &msgs));
    let dac = time(|| {
        msgs.iter()
            .map(|m| fold(&da_found(m)))
            .fold(0, u64::wrapping_add)
    });
    let dap = time(|| {
        msgs.iter()
            .map(|m| fold(&da_found_with(&da_plain, m)))
            .fold(0, u64::wrapping_add)
    });
    assert_eq!(ac.1, dac.1);
    assert_eq!(ac.1, dap.1);
    assert_eq!(ac.1, ac2.1);
    assert_eq!(ac.1, ac4.1);
    let base = lvsmon.0.as_secs_f64();
    for (name, (t, _)) in [
        ("lvsmon", lvsmon),
        ("aho-corasick 2", ac2),
        ("aho-corasick", ac),
        ("aho-corasick 4", ac4),
        ("daachorse", dac),
        ("daachorse -pf", dap),
    ] {
        println!(
            "{name:<13} {:>8.1} ms  {:>5.2} ns/byte  {:.3}",
            t.as_secs_f64() * 1e3,
            t.as_secs_f64() * 1e9 / bytes as f64,
            t.as_secs_f64() / base
        );
    }
}

//! `lvsmon analyze`: classify whole files (plain or gzip) or standard input once, through
//! the same pipeline as `serve` ([`Classifier`]), and summarise what happened on which
//! director and when: per host and per kind, the count and the first and last time.
//!
//! Counting is per (host, rule) while reading — a short list of hosts searched linearly
//! (a capture holds a handful of directors), then an array index — and folded into kinds at
//! the end. The summary names kinds and hosts only, so label values are never rendered.

use super::frame::YearClock;
use super::linear::bytes_eq;
use super::pipeline::{Classifier, EventRef, Sink};
use super::rules::Rules;
use crate::incidents::engine::{Found, Store};
use crate::incidents::{Engine, Incident};
use crate::lines::Splitter;
use std::collections::BTreeMap;
use std::io::{self, Read};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum AnalyzeError {
    #[error("cannot keep the incidents found in a temporary file: {0}")]
    Spill(#[source] io::Error),
}

/// The host name given to lines whose transport names none (console output, dmesg) when
/// their input is not named with `FILE@HOST`.
pub const NO_HOST: &str = "-";

/// Which events count (`--since`, `--until`, `--host`): all by default. An event with no
/// wall-clock time is kept by a time bound (nothing says it is outside).
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// UTC microseconds, inclusive.
    pub since: Option<i64>,
    /// UTC microseconds, exclusive.
    pub until: Option<i64>,
    /// Directors to keep (empty: every one).
    pub hosts: Vec<String>,
}

impl Filter {
    /// Whether an incident lies (partly) in the window and involves a kept director.
    pub fn keeps_incident(&self, i: &Incident) -> bool {
        let in_time = self.until.is_none_or(|u| i.start < u)
            && self.since.is_none_or(|s| i.end.is_none_or(|e| e >= s));
        let host = self.hosts.is_empty()
            || i.host
                .iter()
                .chain(&i.hosts)
                .any(|h| self.hosts.contains(h));
        in_time && host
    }

    fn keeps(&self, time: Option<i64>, host: &str) -> bool {
        let in_time = time
            .is_none_or(|t| self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t < u));
        in_time && (self.hosts.is_empty() || self.hosts.iter().any(|h| h == host))
    }
}

/// A consumer of `analyze`'s events as they are read (the HTML report's timeline): it sees
/// what the [`Filter`] keeps, with the director's name resolved (`FILE@HOST`, else `-`).
/// Defined here so that consumers plug in without this module knowing them.
pub trait Observer {
    fn event(&mut self, ev: &EventRef<'_>, host: &str);
}

/// A shared observer: the caller keeps a handle to read it once the input is read.
impl<T: Observer> Observer for std::rc::Rc<std::cell::RefCell<T>> {
    fn event(&mut self, ev: &EventRef<'_>, host: &str) {
        self.borrow_mut().event(ev, host);
    }
}

/// The analyze-side sink: counts per (host, rule), and hands events to the incident
/// engine when it runs, and to the observer when there is one.
struct Tally {
    engine: Option<Engine>,
    /// Where the engine's closed incidents go as they close (`analyze`'s CLI), so that
    /// memory follows what is open.
    store: Option<Store>,
    /// The first failure to write to the store.
    spill_error: Option<io::Error>,
    observer: Option<Box<dyn Observer>>,
    filter: Filter,
    hosts: Vec<String>,
    /// The host of the last event: consecutive lines are mostly one director's.
    last: usize,
    /// Per rule: whether a detector reads its events ([`Engine::handles`]).
    detected: Vec<bool>,
    /// `per[host][rule]`.
    per: Vec<Vec<KindStats>>,
    rules: usize,
    lines: u64,
    matched: u64,
    truncated: u64,
    /// Events of the current input whose line named no host (they took the input's name).
    hostless: u64,
    /// Per director of the filter (`--host`): whether any event named it, in any window.
    host_seen: Vec<bool>,
}

impl Tally {
    fn host_index(&mut self, host: &str) -> usize {
        // The last host first: one comparison for most lines. (Names compared inline: in a
        // merged input the scan compares several per event, and each `memcmp` call was
        // most of the scan, perf.)
        let same = |h: &String| bytes_eq(h.as_bytes(), host.as_bytes());
        if self.hosts.get(self.last).is_some_and(same) {
            return self.last;
        }
        if let Some(i) = self.hosts.iter().position(same) {
            self.last = i;
            return i;
        }
        self.last = self.hosts.len();
        self.hosts.push(host.to_string());
        self.per.push(vec![KindStats::default(); self.rules]);
        self.hosts.len() - 1
    }
}

impl Sink for Tally {
    fn line(&mut self, cut: bool, matched: bool) {
        self.lines += 1;
        self.truncated += u64::from(cut);
        self.matched += u64::from(matched);
    }

    fn wants_labels(&self, rule: usize) -> bool {
        // Only the detectors and an observer read identities.
        self.observer.is_some() || (self.engine.is_some() && self.detected[rule])
    }

    fn event(&mut self, ev: &EventRef<'_>) {
        // A line that names no host (keepalived's console, dmesg) is its input's: the name
        // given as `FILE@HOST`, else `-`.
        let host = ev.host.unwrap_or(ev.source);
        self.hostless += u64::from(ev.host.is_none());
        if !self.host_seen.is_empty() {
            if let Some(i) = self.filter.hosts.iter().position(|h| h == host) {
                self.host_seen[i] = true;
            }
        }
        // Numbered before the filter, as the engine numbers directors (in order of first
        // sight, every event): the number is the engine's hint.
        let h = self.host_index(host);
        // The detectors see everything (a MASTER before `--since` still makes the split
        // brain after it); the filter applies to what is reported.
        if let Some(e) = &mut self.engine {
            if self.detected[ev.rule] {
                e.event_at(ev, host, h);
                if let (Some(st), None) = (&mut self.store, &self.spill_error) {
                    self.spill_error = st.take(e).err();
                }
            } else {
                e.tick_at(host, ev.time, h);
            }
        }
        if !self.filter.keeps(ev.time, host) {
            return;
        }
        self.per[h][ev.rule].add(ev.time);
        if let Some(o) = &mut self.observer {
            o.event(ev, host);
        }
    }
}

/// Classifies line after line and tallies.
pub struct Analyzer {
    classifier: Classifier,
    tally: Tally,
    max_line: usize,
    /// Boot instants (µs since the epoch) for inputs whose kernel lines carry the time
    /// since boot: per input name (`FILE@HOST`'s host), and for any other input.
    boots: BootTimes,
}

/// `input` as text: gzip is detected by its magic bytes, not the file name.
fn unpacked<'a>(input: impl Read + 'a) -> io::Result<Box<dyn io::BufRead + 'a>> {
    let mut input = io::BufReader::with_capacity(1 << 16, input);
    let gz = io::BufRead::fill_buf(&mut input)?.starts_with(&[0x1f, 0x8b]);
    Ok(if gz {
        let plain = flate2::read::MultiGzDecoder::new(input);
        Box::new(io::BufReader::with_capacity(1 << 16, plain))
    } else {
        Box::new(input)
    })
}

/// `piece` as text, when it lies in `text` (the splitter handed it out in place, not from
/// its own buffer) from one character boundary to another. Found by address: the
/// splitter's buffer is another allocation, so a piece from it is never inside `text`.
fn in_place<'a>(text: &'a str, piece: &[u8]) -> Option<&'a str> {
    let start = (piece.as_ptr() as usize).checked_sub(text.as_ptr() as usize)?;
    text.get(start..start.checked_add(piece.len())?)
}

/// When each director booted, for kernel times since boot (`analyze --boot-time`).
#[derive(Debug, Clone, Default)]
pub struct BootTimes {
    /// Per input name (`FILE@HOST`'s host).
    pub by_host: BTreeMap<String, i64>,
    /// For the inputs not named above.
    pub other: Option<i64>,
}

impl BootTimes {
    fn of(&self, name: &str) -> Option<i64> {
        self.by_host.get(name).copied().or(self.other)
    }
}

impl Analyzer {
    pub fn new(rules: Arc<Rules>, clock: YearClock, max_line: usize) -> Analyzer {
        let n = rules.rules().len();
        let detected = rules
            .rules()
            .iter()
            .map(|r| Engine::handles(&r.kind))
            .collect();
        Analyzer {
            classifier: Classifier::new(rules, clock, NO_HOST),
            tally: Tally {
                engine: None,
                store: None,
                spill_error: None,
                observer: None,
                filter: Filter::default(),
                hosts: Vec::new(),
                last: 0,
                detected,
                per: Vec::new(),
                rules: n,
                lines: 0,
                matched: 0,
                truncated: 0,
                hostless: 0,
                host_seen: Vec::new(),
            },
            max_line,
            boots: BootTimes::default(),
        }
    }

    /// Dates kernel times since boot (a plain `dmesg`) from these boot instants; an input
    /// with none is dated from the kernel's own clock line when it has one.
    pub fn with_boot_times(mut self, boots: BootTimes) -> Analyzer {
        self.boots = boots;
        self
    }

    /// Lines of the last input read whose time was since boot with no boot time known.
    pub fn undated(&self) -> u64 {
        self.classifier.undated()
    }

    /// The filter's directors (`--host`) that no event named, at any time: a misspelt name
    /// reports nothing, which must not read as "nothing happened there".
    pub fn hosts_never_seen(&self) -> Vec<&str> {
        let f = &self.tally.filter.hosts;
        let seen = &self.tally.host_seen;
        f.iter()
            .zip(seen)
            .filter(|(_, &s)| !s)
            .map(|(h, _)| h.as_str())
            .collect()
    }

    /// Events of the last input read whose line named no host, so took the input's name
    /// (`FILE@HOST`, else [`NO_HOST`]): keepalived's console, a plain `dmesg`.
    pub fn hostless(&self) -> u64 {
        self.tally.hostless
    }

    /// Keeps only the events `filter` keeps (`--since`, `--until`, `--host`).
    pub fn with_filter(mut self, filter: Filter) -> Analyzer {
        self.tally.host_seen = vec![false; filter.hosts.len()];
        self.tally.filter = filter;
        self
    }

    /// Hands every kept event to `observer` too.
    pub fn with_observer(mut self, observer: Box<dyn Observer>) -> Analyzer {
        self.tally.observer = Some(observer);
        self
    }

    /// Runs the incident engine over the events too.
    pub fn with_incidents(self, settings: crate::incidents::Settings) -> Analyzer {
        self.with_engine(Engine::new(settings))
    }

    /// Runs this incident engine over the events (one set up as `serve` sets it up).
    pub fn with_engine(mut self, engine: Engine) -> Analyzer {
        self.tally.engine = Some(engine);
        self
    }

    /// Moves the incidents it finds out of memory as they close ([`Store`]): read them
    /// with [`Analyzer::into_found`]. [`Analyzer::summary`] then sees only open ones.
    pub fn spilling(self) -> Analyzer {
        self.spilling_into(Store::new())
    }

    /// [`Analyzer::spilling`] into this store.
    pub fn spilling_into(mut self, store: Store) -> Analyzer {
        self.tally.store = Some(store);
        self
    }

    /// At the end of the input, with [`Analyzer::spilling`]: the summary (no incidents in
    /// it) and every incident found, in order, from disk (`None` when the engine did not
    /// run). The [`Filter`] is not applied to them: see [`Filter::keeps_incident`].
    pub fn into_found(mut self) -> Result<(Summary, Option<Found>), AnalyzeError> {
        if let Some(e) = self.tally.spill_error.take() {
            return Err(AnalyzeError::Spill(e));
        }
        let found = match (self.tally.engine.take(), self.tally.store.take()) {
            (Some(e), Some(st)) => Some(st.finish(e).map_err(AnalyzeError::Spill)?),
            (Some(e), None) => Some(Store::new().finish(e).map_err(AnalyzeError::Spill)?),
            _ => None,
        };
        Ok((self.summary_with(Vec::new()), found))
    }

    /// One line, without its newline.
    pub fn line(&mut self, bytes: &[u8], cut: bool) {
        self.classifier.line(bytes, cut, &mut self.tally);
    }

    /// Reads `input` to its end. Gzip is detected by its magic bytes, not the file name.
    pub fn read(&mut self, input: impl Read) -> io::Result<()> {
        let input = unpacked(input)?;
        self.read_plain(input)
    }

    fn read_plain(&mut self, mut input: impl Read) -> io::Result<()> {
        let mut split = Splitter::new(self.max_line);
        let mut buf = vec![0u8; 1 << 18];
        let Analyzer {
            classifier, tally, ..
        } = self;
        loop {
            let n = match input.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            let chunk = &buf[..n];
            // The chunk's UTF-8 is checked once: the lines the splitter hands out in place
            // from its valid part are text. (Lines across two reads, and after a byte
            // that is not UTF-8, are checked one by one, as before.)
            let text = match std::str::from_utf8(chunk) {
                Ok(t) => t,
                Err(e) => std::str::from_utf8(&chunk[..e.valid_up_to()]).unwrap_or_default(),
            };
            split.feed(chunk, &mut |l, cut| match in_place(text, l) {
                Some(t) => classifier.line_text(t, cut, tally),
                None => classifier.line(l, cut, tally),
            });
        }
        split.finish(&mut |l, cut| classifier.line(l, cut, tally));
        Ok(())
    }

    /// Reads `input` to its end; its lines that name no host are `name`'s.
    pub fn read_named(&mut self, input: impl Read, name: &str) -> io::Result<()> {
        self.tally.hostless = 0;
        self.classifier.set_source(name);
        self.classifier.set_boot(self.boots.of(name));
        self.read(input)
    }

    /// What was found so far (the engine's verdicts made on a copy of it).
    pub fn summary(&self) -> Summary {
        let incidents = self.tally.engine.as_ref().map(Engine::incidents);
        self.summary_with(incidents.unwrap_or_default())
    }

    /// [`Analyzer::summary`] at the end of the input, without copying the engine.
    pub fn into_summary(mut self) -> Summary {
        let incidents = self.tally.engine.take().map(Engine::finish);
        self.summary_with(incidents.unwrap_or_default())
    }

    fn summary_with(&self, incidents: Vec<Incident>) -> Summary {
        let t = &self.tally;
        let rules = self.classifier.rules().rules();
        let mut events = BTreeMap::new();
        let mut hosts: BTreeMap<String, BTreeMap<String, KindStats>> = BTreeMap::new();
        for (host, per) in t.hosts.iter().zip(&t.per) {
            for (rule, st) in rules.iter().zip(per) {
                if st.count == 0 {
                    continue;
                }
                *events.entry(rule.kind.clone()).or_insert(0) += st.count;
                hosts
                    .entry(host.clone())
                    .or_default()
                    .entry(rule.kind.clone())
                    .or_default()
                    .merge(st);
            }
        }
        Summary {
            lines: t.lines,
            matched: t.matched,
            unmatched: t.lines - t.matched,
            truncated: t.truncated,
            events,
            hosts,
            incidents: incidents
                .into_iter()
                .filter(|i| t.filter.keeps_incident(i))
                .collect(),
        }
    }
}

mod json;
mod merge;
mod summary;

pub use merge::{InputRead, MergeError};
pub use summary::{Each, KindStats, Summary};
#[cfg(test)]
mod merge_tests;
#[cfg(test)]
mod tests;

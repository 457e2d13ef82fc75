//! Several inputs read as one stream in time order: `analyze lb-a/syslog* lb-b/syslog*`.
//!
//! The detectors keep state per director and expect its events in order. Read one file
//! after another, a director's rotations given newest first (the shell's order for
//! `syslog syslog.1 syslog.2.gz`) made a FAULT that ended in the newer file open forever,
//! and split a mismatch in two (the captures of tests/fixtures, halves swapped); a
//! director's kernel lines in kern.log and keepalived's in daemon.log met only at the end.
//!
//! Each input keeps its own [`Classifier`] (its name, boot time and year inference) and is
//! read one line ahead: the line whose time is earliest goes next, a line without a time
//! at once (it belongs after its input's previous line); on a tie the input that began
//! first, then the one given first. A waiting line is framed once, for its time, and kept
//! with its frame ([`Places`]) until it is classified (framing it again was 7.5 % of a
//! merge of four directors' files, perf). A single input keeps [`Analyzer::read_named`]'s
//! faster path. Memory: one read buffer and one line per input.

use super::{Analyzer, Tally};
use crate::lines::Splitter;
use crate::logs::frame::Places;
use crate::logs::pipeline::Classifier;
use std::io::{self, BufRead, Read};
use std::ops::ControlFlow;

/// An input being merged, with its next line waiting.
struct Pulled<'a> {
    input: Box<dyn BufRead + 'a>,
    split: Splitter,
    classifier: Classifier,
    /// The waiting line when it is not UTF-8 (framed again when classified: rare), and the
    /// buffer lines are read into.
    line: Vec<u8>,
    /// The waiting line when it is text, and its frame.
    text: String,
    places: Option<Places>,
    cut: bool,
    /// A line is waiting (in `text` with its frame, or in `line`).
    ready: bool,
    /// The waiting line's time.
    time: Option<i64>,
    /// The time of its first line that had one: on a tie the input that began first goes
    /// first (an older rotation before the newer one, in the second where one ends and the
    /// other begins).
    began: Option<i64>,
    done: bool,
    hostless: u64,
}

impl Pulled<'_> {
    /// Reads the next line into `line` (none at the end of the input) and its time.
    fn advance(&mut self) -> io::Result<()> {
        self.ready = false;
        // The last line's text is classified: its buffer takes the next line.
        if self.places.take().is_some() {
            self.line = std::mem::take(&mut self.text).into_bytes();
        }
        let Pulled {
            input,
            split,
            line,
            cut,
            ready,
            ..
        } = self;
        let mut take = |l: &[u8], c: bool| {
            line.clear();
            line.extend_from_slice(l);
            *cut = c;
            *ready = true;
        };
        while !self.done {
            let data = match input.fill_buf() {
                Ok(d) => d,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if data.is_empty() {
                self.done = true;
                split.finish(&mut take);
                break;
            }
            let n = data.len();
            let flow = split.feed_until(data, &mut |l, c| {
                take(l, c);
                ControlFlow::Break(())
            });
            match flow {
                ControlFlow::Break(used) => {
                    input.consume(used);
                    break;
                }
                ControlFlow::Continue(()) => input.consume(n),
            }
        }
        if self.ready {
            match String::from_utf8(std::mem::take(&mut self.line)) {
                Ok(text) => {
                    let f = self.classifier.frame(&text);
                    self.time = self.classifier.wall_time(&f);
                    self.places = Some(Places::of(f, &text));
                    self.text = text;
                }
                Err(e) => {
                    self.line = e.into_bytes();
                    self.time = self.classifier.time_of(&self.line);
                }
            }
            self.began = self.began.or(self.time);
        }
        Ok(())
    }

    /// Classifies the waiting line into `tally` and reads the next.
    fn feed(&mut self, tally: &mut Tally) -> io::Result<()> {
        let before = tally.hostless;
        match &self.places {
            Some(p) => {
                let f = p.frame(&self.text);
                let bytes = self.text.as_bytes();
                self.classifier.framed(&f, bytes, self.cut, tally);
            }
            None => self.classifier.line(&self.line, self.cut, tally),
        }
        self.hostless += tally.hostless - before;
        self.advance()
    }
}

/// What the merge learnt of one input.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InputRead {
    /// Lines whose time was since boot with no boot time known (their events are undated).
    pub undated: u64,
    /// Events whose line named no host, so took the input's name.
    pub hostless: u64,
}

/// An input that could not be read: its place in the list given, and why.
#[derive(Debug)]
pub struct MergeError {
    pub input: usize,
    pub source: io::Error,
}

/// Which waiting line goes next: one without a time at once, else the earliest; on a tie
/// the input that began first, then the one given first. A linear scan: an analysis has a
/// handful of inputs, dozens at most.
fn next(inputs: &[Pulled<'_>]) -> Option<usize> {
    let mut best: Option<(i64, Option<i64>, usize)> = None;
    for (i, p) in inputs.iter().enumerate().filter(|(_, p)| p.ready) {
        let Some(t) = p.time else { return Some(i) };
        let here = (t, p.began, i);
        if best.is_none_or(|b| here < b) {
            best = Some(here);
        }
    }
    best.map(|(_, _, i)| i)
}

impl Analyzer {
    /// Reads every input to its end as one stream in time order (see the module's
    /// comment); lines that name no host are their input's name's. Gzip is detected by
    /// its magic bytes. A single input is read by [`Analyzer::read_named`]. Returns, per
    /// input in the order given, its undated lines and hostless events.
    pub fn read_merged<'a>(
        &mut self,
        mut inputs: Vec<(Box<dyn Read + 'a>, String)>,
    ) -> Result<Vec<InputRead>, MergeError> {
        if inputs.len() == 1 {
            if let Some((input, name)) = inputs.pop() {
                self.read_named(input, &name)
                    .map_err(|source| MergeError { input: 0, source })?;
            }
            return Ok(vec![InputRead {
                undated: self.undated(),
                hostless: self.hostless(),
            }]);
        }
        let rules = self.classifier.rules().clone();
        let clock = *self.classifier.clock();
        let mut pulled = Vec::with_capacity(inputs.len());
        for (i, (input, name)) in inputs.into_iter().enumerate() {
            let err = |source| MergeError { input: i, source };
            let input = super::unpacked(input).map_err(err)?;
            let classifier =
                Classifier::new(rules.clone(), clock, &name).with_boot(self.boots.of(&name));
            let mut p = Pulled {
                input,
                split: Splitter::new(self.max_line),
                classifier,
                line: Vec::new(),
                text: String::new(),
                places: None,
                cut: false,
                ready: false,
                time: None,
                began: None,
                done: false,
                hostless: 0,
            };
            p.advance().map_err(err)?;
            pulled.push(p);
        }
        while let Some(i) = next(&pulled) {
            pulled[i]
                .feed(&mut self.tally)
                .map_err(|source| MergeError { input: i, source })?;
        }
        Ok(pulled
            .iter_mut()
            .map(|p| InputRead {
                undated: p.classifier.undated(),
                hostless: p.hostless,
            })
            .collect())
    }
}

//! The one path from a raw line to an event, shared by `serve` (each followed source) and
//! `analyze` (each input): frame (time, host, ident, message), classify (kind, labels),
//! and hand the result to a [`Sink`].
//!
//! A sink sees every line (for the line counters) and every event as a borrowed
//! [`EventRef`]; it takes an owned [`Event`] only if it keeps one, so `analyze` over
//! millions of lines allocates nothing per line.

use super::event::{bounded_line, wall_time, Event, MAX_EVENT_LINE};
use super::frame::{clock_set_at, frame_text_with, frame_with, Frame, Stamps, Time, YearClock};
use super::rules::{self, Label, Rules, Scratch, Severity};
use crate::model::{RealServerId, VirtualServiceId};
use std::sync::Arc;

/// A line named a virtual service or real server in a form no identity could be made of (a
/// mangled address, keepalived 1.2's protocol-less service, a virtual server group).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the line names a service or server that cannot be parsed")]
pub struct Unparsed;

/// A classified line, borrowed from the pipeline for the length of one [`Sink::event`].
#[derive(Debug)]
pub struct EventRef<'a> {
    /// UTC microseconds since the epoch, when the line had a wall-clock time.
    pub time: Option<i64>,
    pub host: Option<&'a str>,
    pub source: &'a Arc<str>,
    /// Index of the winning rule in [`Rules::rules`].
    pub rule: usize,
    pub kind: &'a str,
    pub severity: Severity,
    /// The labels, when the sink asked for them ([`Sink::wants_labels`]).
    labels: Option<rules::Event<'a>>,
    /// The message, after the transport's time, host and ident.
    pub message: &'a str,
    pub line: &'a [u8],
    rules: &'a Rules,
}

impl<'a> EventRef<'a> {
    /// A label's captured text (`iname`, `virtual_service`, …).
    pub fn label(&self, l: Label) -> Option<&'a str> {
        self.labels.as_ref().and_then(|e| e.label(l))
    }

    /// The VRRP instance named in the line.
    pub fn iname(&self) -> Option<&'a str> {
        self.label(Label::Instance)
    }

    /// The virtual service named in the line: `Ok(None)` when it names none, an error when
    /// it names one that cannot be understood (the identity stays empty; callers count it).
    pub fn virtual_service(&self) -> Result<Option<VirtualServiceId>, Unparsed> {
        match self.label(Label::VirtualService) {
            None => Ok(None),
            Some(t) => VirtualServiceId::from_log(t).map(Some).ok_or(Unparsed),
        }
    }

    /// The real server named in the line, as [`EventRef::virtual_service`].
    pub fn real_server(&self) -> Result<Option<RealServerId>, Unparsed> {
        match self.label(Label::RealServer) {
            None => Ok(None),
            Some(t) => RealServerId::from_log(t).map(Some).ok_or(Unparsed),
        }
    }

    /// The kind, shared (for a key that outlives the line).
    pub fn kind_arc(&self) -> Arc<str> {
        self.rules.kind_arc(self.rule)
    }

    /// The owned event, for a consumer that keeps it.
    pub fn to_event(&self) -> Event {
        Event {
            time: self.time,
            host: self.host.map(str::to_string),
            source: self.source.clone(),
            kind: self.kind_arc(),
            severity: self.severity,
            iname: self.iname().map(str::to_string),
            virtual_service: self.virtual_service().ok().flatten(),
            real_server: self.real_server().ok().flatten(),
            detail: [Label::Peer, Label::Script, Label::Interface, Label::Host]
                .into_iter()
                .filter_map(|l| Some((l.name(), self.label(l)?.to_string())))
                .collect(),
            message: bounded_line(self.message.as_bytes(), MAX_EVENT_LINE),
            line: bounded_line(self.line, MAX_EVENT_LINE),
        }
    }
}

/// What the pipeline hands its results to.
pub trait Sink {
    /// Every line: whether it was cut, whether a rule matched it.
    fn line(&mut self, cut: bool, matched: bool);
    /// Whether events of rule `rule` need their labels (taking captures costs ~10 % of
    /// classifying).
    fn wants_labels(&self, _rule: usize) -> bool {
        true
    }
    /// One classified line.
    fn event(&mut self, ev: &EventRef<'_>);
}

/// Frames and classifies the lines of one source.
pub struct Classifier {
    rules: Arc<Rules>,
    scratch: Scratch,
    clock: YearClock,
    /// The last syslog stamp read under `clock`.
    stamps: Stamps,
    source: Arc<str>,
    /// The epoch time of boot, in microseconds, for kernel times since boot (live kmsg,
    /// `analyze --boot-time`, or learnt from the kernel's own "setting system clock" line).
    boot: Option<i64>,
    /// Lines with a time since boot and no boot time known: their events are undated.
    undated: u64,
}

impl Classifier {
    pub fn new(rules: Arc<Rules>, clock: YearClock, source: &str) -> Classifier {
        Classifier {
            scratch: rules.scratch(),
            rules,
            clock,
            stamps: Stamps::default(),
            source: Arc::from(source),
            boot: None,
            undated: 0,
        }
    }

    /// Kernel times since boot become wall times from this boot instant.
    pub fn with_boot(mut self, boot_micros: Option<i64>) -> Classifier {
        self.boot = boot_micros;
        self
    }

    /// The boot instant for the input that follows (`analyze`: each input is its own
    /// machine's), and the count of undated lines started again.
    pub fn set_boot(&mut self, boot_micros: Option<i64>) {
        self.boot = boot_micros;
        self.undated = 0;
    }

    /// Lines since [`Classifier::set_boot`] whose time was since boot with no boot time
    /// known (a plain `dmesg` without its clock line): their events have no time.
    pub fn undated(&self) -> u64 {
        self.undated
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// Names the source of the lines that follow (`analyze`'s next input).
    pub fn set_source(&mut self, source: &str) {
        self.source = Arc::from(source);
    }

    /// The rules, shared (another classifier over the same rules).
    pub fn rules(&self) -> &Arc<Rules> {
        &self.rules
    }

    /// Keeps the year inference current in a long-running process.
    pub fn set_clock(&mut self, clock: YearClock) {
        self.clock = clock;
        self.stamps.clear();
    }

    pub fn clock(&self) -> &YearClock {
        &self.clock
    }

    /// Frames a line already known to be text, with this classifier's clock, for
    /// [`Classifier::framed`] later. Framing is a function of the line and the clock, so
    /// framing first and classifying after gives what [`Classifier::line`] gives (`analyze`
    /// merges its inputs by the frames' times).
    pub fn frame<'a>(&mut self, text: &'a str) -> Frame<'a> {
        frame_text_with(text, &self.clock, &mut self.stamps)
    }

    /// The wall-clock time [`Classifier::line`] would give the event of the line `f` was
    /// framed from (`None`: it has none, or only a time since boot with no boot time
    /// known yet).
    pub fn wall_time(&self, f: &Frame<'_>) -> Option<i64> {
        wall_time(f.time, self.boot)
    }

    /// [`Classifier::wall_time`] of a line that may not be text.
    pub fn time_of(&mut self, bytes: &[u8]) -> Option<i64> {
        let f = frame_with(bytes, &self.clock, &mut self.stamps);
        self.wall_time(&f)
    }

    /// Classifies the line `f` was framed from (`bytes`, as read) and reports it, and its
    /// event if a rule won, to the sink.
    pub fn framed(&mut self, f: &Frame<'_>, bytes: &[u8], cut: bool, sink: &mut impl Sink) {
        let won = self
            .rules
            .winner(&mut self.scratch, f.ident.as_deref(), &f.message);
        sink.line(cut, won.is_some());
        if let (Some(Time::SinceBoot(us)), None) = (f.time, self.boot) {
            self.boot = clock_set_at(&f.message, us);
            self.undated += u64::from(self.boot.is_none());
        }
        let Some(rule) = won else { return };
        let labels = if sink.wants_labels(rule) {
            self.rules.event_of(&mut self.scratch, rule, &f.message)
        } else {
            None
        };
        let r = &self.rules.rules()[rule];
        let ev = EventRef {
            time: wall_time(f.time, self.boot),
            host: f.host.as_deref(),
            source: &self.source,
            rule,
            kind: &r.kind,
            severity: r.severity,
            labels,
            message: &f.message,
            line: bytes,
            rules: &self.rules,
        };
        sink.event(&ev);
    }

    /// One line, without its newline.
    pub fn line(&mut self, bytes: &[u8], cut: bool, sink: &mut impl Sink) {
        let f = frame_with(bytes, &self.clock, &mut self.stamps);
        self.framed(&f, bytes, cut, sink);
    }

    /// [`Classifier::line`] of a line already known to be text: `analyze` checks the UTF-8
    /// of each chunk it reads at once (checked line by line, it was 4.7 % of `analyze`'s
    /// instructions on bench/logs.sh's file, callgrind).
    pub fn line_text(&mut self, text: &str, cut: bool, sink: &mut impl Sink) {
        let f = frame_text_with(text, &self.clock, &mut self.stamps);
        self.framed(&f, text.as_bytes(), cut, sink);
    }
}

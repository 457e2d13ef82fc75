//! The pattern library: rules (data, in `rules.toml`, compiled in) that turn a framed
//! message into an event kind with labels.
//!
//! A message is scanned once by the literal prefilter ([`super::prefilter`]), which names
//! the rules it can possibly match; only those regexes run, in file order, and the first
//! whose regex and ident both match wins. Its captures come from that same search, into
//! buffers kept in the caller's [`Scratch`], and its labels are copied into one reused
//! string, so classifying allocates nothing per line. Labels are the captured text as
//! written: the services and real servers in them become identities in one place
//! ([`crate::model`], through [`super::pipeline::EventRef`]), whatever the wording. `--log.rules FILE` extends the
//! library: a rule with the name of a built-in one replaces it in place (`disabled = true`
//! removes it), other rules are tried before the built-in ones. Every rule is validated when
//! loaded (regex, label names, capture names, and its samples must match it).

use super::linear::{bytes_eq, Program, Stack};
use super::prefilter::{self, ones, Prefilter, Set};
use regex::{CaptureLocations, Regex};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The built-in library.
pub const BUILTIN: &str = include_str!("rules.toml");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Critical,
    Warning,
    Info,
}

impl Severity {
    /// `critical`, `warning` or `info`, as in JSON and labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// The labels an event may carry. Only `iname` (the VRRP instance), `virtual_service` and
/// `real_server` reach metrics — the latter two as identity labels — bounded by the series
/// cap; the others are for analysis output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Label {
    Instance,
    VirtualService,
    RealServer,
    Peer,
    Host,
    Script,
    Interface,
}

impl Label {
    pub const ALL: [Label; 7] = [
        Label::Instance,
        Label::VirtualService,
        Label::RealServer,
        Label::Peer,
        Label::Host,
        Label::Script,
        Label::Interface,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Label::Instance => "iname",
            Label::VirtualService => "virtual_service",
            Label::RealServer => "real_server",
            Label::Peer => "peer",
            Label::Host => "host",
            Label::Script => "script",
            Label::Interface => "interface",
        }
    }

    /// A label name in a rules file; `instance` is the round-1 name of `iname`, still read.
    fn parse(s: &str) -> Option<Label> {
        match s {
            "instance" => Some(Label::Instance),
            s => Label::ALL.into_iter().find(|l| l.name() == s),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Captures {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSpec {
    name: Option<String>,
    kind: String,
    severity: Severity,
    #[serde(default)]
    idents: Vec<String>,
    regex: String,
    #[serde(default)]
    labels: BTreeMap<String, Captures>,
    #[serde(default)]
    samples: Vec<String>,
    #[serde(default)]
    disabled: bool,
}

impl RuleSpec {
    fn name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.kind)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(default)]
    rule: Vec<RuleSpec>,
}

#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("cannot read rules file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("rules file {path}: {source}")]
    Parse {
        path: PathBuf,
        #[source]
        source: toml::de::Error,
    },
    #[error("{path}: rule {rule}: {reason}")]
    Invalid {
        path: PathBuf,
        rule: String,
        reason: String,
    },
}

/// One compiled rule.
#[derive(Debug)]
pub struct Rule {
    pub name: String,
    pub kind: String,
    /// `kind` shared, for events that outlive the line.
    kind_arc: std::sync::Arc<str>,
    pub severity: Severity,
    idents: Vec<String>,
    source: String,
    /// The regex crate's engine for `source`, built when first needed: for a rule on the
    /// fast matcher that is only when a search gives up (or for the reference). Building
    /// all 56 at start took ~10 ms, 3 % of classifying a million lines.
    regex: OnceLock<Option<Regex>>,
    /// The same regex for the fast matcher, when it is exact for it.
    program: Option<Program>,
    /// Label and the capture group indexes to try, first match wins.
    labels: Vec<(Label, Vec<usize>)>,
    pub samples: Vec<String>,
}

impl Rule {
    /// The regex crate's engine; `None` only if it refuses a regex its parser accepted
    /// (a size limit), in which case the rule matches nothing on the slow path.
    fn regex(&self) -> Option<&Regex> {
        self.regex
            .get_or_init(|| Regex::new(&self.source).ok())
            .as_ref()
    }

    /// Whether the fast matcher runs this rule (else the regex crate does).
    pub fn is_linear(&self) -> bool {
        self.program.is_some()
    }

    /// Whether this rule's own regex matches (its samples are checked with it at load).
    fn is_match(&self, message: &str) -> bool {
        if let Some(p) = &self.program {
            let mut slots = vec![None; p.slots()];
            if let Some(hit) = p.captures(message, &mut slots, &mut Stack::default()) {
                return hit;
            }
        }
        self.regex().is_some_and(|r| r.is_match(message))
    }

    /// Whether the rule applies to a line from `ident`: `Keepalived` covers
    /// `Keepalived_vrrp` and `Keepalived_vrrp_<netns>`; an unknown ident matches every rule.
    pub fn applies_to(&self, ident: Option<&str>) -> bool {
        let Some(ident) = ident else { return true };
        self.idents.is_empty() || self.idents.iter().any(|p| ident_matches(p, ident))
    }
}

/// A classified line. Label values borrow from the [`Scratch`] that classified it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event<'a> {
    /// Index of the rule in [`Rules::rules`].
    pub rule: usize,
    pub kind: &'a str,
    pub severity: Severity,
    text: &'a str,
    spans: &'a [(Label, usize, usize)],
}

impl<'a> Event<'a> {
    pub fn label(&self, l: Label) -> Option<&'a str> {
        self.labels().find(|(k, _)| *k == l).map(|(_, v)| v)
    }

    /// Normalised label values, in [`Label`] order.
    pub fn labels(&self) -> impl Iterator<Item = (Label, &'a str)> + '_ {
        let text = self.text;
        self.spans.iter().map(move |&(l, a, b)| (l, &text[a..b]))
    }
}

/// The compiled library.
#[derive(Debug)]
pub struct Rules {
    rules: Vec<Rule>,
    prefilter: Prefilter,
    /// Idents some rule names; `None` when a rule applies to every ident.
    idents: Option<Vec<String>>,
}

/// Per-caller buffers for matching (so `Rules` can be shared between threads).
#[derive(Debug)]
pub struct Scratch {
    candidates: Vec<u64>,
    /// Capture slots of each rule with labels, for when the regex crate runs it.
    locs: Vec<Option<CaptureLocations>>,
    /// The winner was decided by the regex crate (no program, or the program gave up).
    slow: bool,
    /// Capture slots and backtracking state of the fast matcher.
    slots: Vec<Option<usize>>,
    stack: Stack,
    text: String,
    spans: Vec<(Label, usize, usize)>,
}

impl Rules {
    /// The built-in library.
    pub fn builtin() -> Result<Rules, RulesError> {
        Rules::from_specs(
            parse(BUILTIN, Path::new("<builtin rules.toml>"))?,
            Path::new("<builtin rules.toml>"),
        )
    }

    /// The built-in library extended by `extra` (`--log.rules`).
    pub fn load(extra: Option<&Path>) -> Result<Rules, RulesError> {
        let builtin_path = Path::new("<builtin rules.toml>");
        let mut specs = parse(BUILTIN, builtin_path)?;
        let Some(path) = extra else {
            return Rules::from_specs(specs, builtin_path);
        };
        let text = std::fs::read_to_string(path).map_err(|source| RulesError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let mut first = Vec::new();
        for spec in parse(&text, path)? {
            match specs.iter().position(|s| s.name() == spec.name()) {
                Some(i) => specs[i] = spec,
                None => first.push(spec),
            }
        }
        first.append(&mut specs);
        Rules::from_specs(first, path)
    }

    fn from_specs(specs: Vec<RuleSpec>, path: &Path) -> Result<Rules, RulesError> {
        let mut rules = Vec::new();
        let mut requirements = Vec::new();
        for spec in specs.into_iter().filter(|s| !s.disabled) {
            let (rule, required) = compile(spec, path)?;
            rules.push(rule);
            requirements.push(required);
        }
        let samples: Vec<&str> = rules
            .iter()
            .flat_map(|r| r.samples.iter().map(String::as_str))
            .collect();
        let prefilter = Prefilter::from_requirements_and_text(requirements, &samples);
        let idents = if rules.iter().any(|r| r.idents.is_empty()) {
            None
        } else {
            let mut all: Vec<String> = rules.iter().flat_map(|r| r.idents.clone()).collect();
            all.sort();
            all.dedup();
            Some(all)
        };
        Ok(Rules {
            rules,
            prefilter,
            idents,
        })
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn scratch(&self) -> Scratch {
        Scratch {
            candidates: self.prefilter.bits(),
            locs: self.rules.iter().map(|_| None).collect(),
            slow: false,
            slots: vec![
                None;
                self.rules
                    .iter()
                    .filter_map(|r| r.program.as_ref())
                    .map(Program::slots)
                    .max()
                    .unwrap_or(0)
            ],
            stack: Stack::default(),
            text: String::new(),
            spans: Vec::new(),
        }
    }

    /// Whether any rule applies to lines from `ident` (most of a syslog file does not).
    fn any_applies(&self, ident: Option<&str>) -> bool {
        match (&self.idents, ident) {
            (Some(all), Some(ident)) => all.iter().any(|p| ident_matches(p, ident)),
            _ => true,
        }
    }

    /// The index of the rule that wins for this line. Rules the fast matcher runs leave
    /// their captures in `scratch`; others are only tested.
    pub fn winner(
        &self,
        scratch: &mut Scratch,
        ident: Option<&str>,
        message: &str,
    ) -> Option<usize> {
        if !self.any_applies(ident) {
            return None;
        }
        self.prefilter.candidates(message, &mut scratch.candidates);
        self.pick(scratch, ident, message)
    }

    /// The first candidate in `scratch` that matches.
    fn pick(&self, scratch: &mut Scratch, ident: Option<&str>, message: &str) -> Option<usize> {
        let Scratch {
            candidates,
            slots,
            stack,
            slow,
            ..
        } = scratch;
        let candidates = &*candidates;
        ones(self.prefilter.found(candidates)).find(|&i| {
            let rule = &self.rules[i];
            if !rule.applies_to(ident) || !self.prefilter.admits(i, candidates) {
                return false;
            }
            let fast = rule
                .program
                .as_ref()
                .and_then(|p| p.captures(message, slots, stack));
            *slow = fast.is_none();
            fast.unwrap_or_else(|| rule.regex().is_some_and(|r| r.is_match(message)))
        })
    }

    /// Classifies one message; `None` when no rule matches.
    pub fn classify<'a>(
        &'a self,
        scratch: &'a mut Scratch,
        ident: Option<&str>,
        message: &str,
    ) -> Option<Event<'a>> {
        let i = self.winner(scratch, ident, message)?;
        self.event_of(scratch, i, message)
    }

    /// Rule `i`'s kind, shared.
    pub fn kind_arc(&self, i: usize) -> std::sync::Arc<str> {
        self.rules[i].kind_arc.clone()
    }

    /// The event of rule `i`, which won for `message` in `scratch`: its labels from the
    /// captures that search left there.
    pub fn event_of<'a>(
        &'a self,
        scratch: &'a mut Scratch,
        i: usize,
        message: &str,
    ) -> Option<Event<'a>> {
        let rule = &self.rules[i];
        scratch.text.clear();
        scratch.spans.clear();
        let Scratch {
            locs,
            slots,
            text,
            spans,
            slow,
            ..
        } = scratch;
        // The regex crate only tested the winner: its captures take a second search. (Only
        // then is its engine asked for: on the fast path it may never be built.)
        let slow_labels = *slow && !rule.labels.is_empty();
        let locs = match slow_labels.then(|| rule.regex()).flatten() {
            Some(re) => {
                let l = locs[i].get_or_insert_with(|| re.capture_locations());
                re.captures_read(l, message)?;
                Some(&*l)
            }
            None => None,
        };
        let span = |g: usize| match locs {
            Some(l) => l.get(g),
            None => Some((slots.get(2 * g).copied()??, slots.get(2 * g + 1).copied()??)),
        };
        for (label, groups) in &rule.labels {
            if let Some((a, b)) = groups.iter().find_map(|&g| span(g)) {
                let start = text.len();
                text.push_str(&message[a..b]);
                spans.push((*label, start, text.len()));
            }
        }
        Some(Event {
            rule: i,
            kind: &rule.kind,
            severity: rule.severity,
            text: &scratch.text,
            spans: &scratch.spans,
        })
    }
}

impl Rules {
    /// The classification by definition: every rule in order, the regex crate only, no
    /// prefilter. What the fast path must agree with (tests and the fuzz target).
    pub fn classify_reference(
        &self,
        ident: Option<&str>,
        message: &str,
    ) -> Option<(usize, Vec<(Label, String)>)> {
        let (i, rule) =
            self.rules.iter().enumerate().find(|(_, r)| {
                r.applies_to(ident) && r.regex().is_some_and(|x| x.is_match(message))
            })?;
        let caps = rule.regex()?.captures(message)?;
        let labels = rule
            .labels
            .iter()
            .filter_map(|(label, groups)| {
                let m = groups.iter().find_map(|&g| caps.get(g))?;
                Some((*label, m.as_str().to_string()))
            })
            .collect();
        Some((i, labels))
    }
}

/// `Keepalived` covers `Keepalived`, `Keepalived_vrrp` and `Keepalived_vrrp_<netns>`.
fn ident_matches(pattern: &str, ident: &str) -> bool {
    let (p, i) = (pattern.as_bytes(), ident.as_bytes());
    i.len() >= p.len() && bytes_eq(&i[..p.len()], p) && matches!(i.get(p.len()), None | Some(b'_'))
}

fn parse(text: &str, path: &Path) -> Result<Vec<RuleSpec>, RulesError> {
    toml::from_str::<RuleFile>(text)
        .map(|f| f.rule)
        .map_err(|source| RulesError::Parse {
            path: path.to_path_buf(),
            source,
        })
}

/// A rule made from its spec, with what the prefilter requires of a line for it
/// ([`prefilter::requirements_of`]). The regex is parsed once for all three: parsing each
/// rule three times was a third of loading the library (callgrind).
fn compile(spec: RuleSpec, path: &Path) -> Result<(Rule, Vec<Set>), RulesError> {
    let name = spec.name().to_string();
    let invalid = |reason: String| RulesError::Invalid {
        path: path.to_path_buf(),
        rule: name.clone(),
        reason,
    };
    if spec.kind.is_empty()
        || !spec
            .kind
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
    {
        return Err(invalid(format!(
            "kind {:?} must be lower_snake_case",
            spec.kind
        )));
    }
    let hir = regex_syntax::ParserBuilder::new()
        .build()
        .parse(&spec.regex)
        .map_err(|e| invalid(format!("bad regex: {e}")))?;
    let program = Program::from_hir(&hir);
    let required = prefilter::requirements_of(&hir);
    let regex = OnceLock::new();
    if program.is_none() {
        // Needed on every line anyway; built now so that a refusal is a load error.
        let r = Regex::new(&spec.regex).map_err(|e| invalid(format!("bad regex: {e}")))?;
        let _ = regex.set(Some(r));
    }
    let mut capture_names = Vec::new();
    captures_of(&hir, &mut capture_names);
    let mut labels = Vec::new();
    for (name, caps) in &spec.labels {
        let label = Label::parse(name).ok_or_else(|| invalid(format!("unknown label {name:?}")))?;
        let names = match caps {
            Captures::One(c) => std::slice::from_ref(c),
            Captures::Many(v) => v.as_slice(),
        };
        let mut groups = Vec::new();
        for c in names {
            let idx = capture_names
                .iter()
                .position(|n| n.as_deref() == Some(c.as_str()))
                .ok_or_else(|| {
                    invalid(format!(
                        "label {name:?} names capture {c:?}, which the regex lacks"
                    ))
                })?;
            groups.push(idx);
        }
        labels.push((label, groups));
    }
    labels.sort_by_key(|(l, _)| *l);
    let rule = Rule {
        program,
        name: name.clone(),
        kind_arc: spec.kind.as_str().into(),
        kind: spec.kind,
        severity: spec.severity,
        idents: spec.idents,
        source: spec.regex,
        regex,
        labels,
        samples: spec.samples,
    };
    if let Some(s) = rule.samples.iter().find(|s| !rule.is_match(s)) {
        return Err(invalid(format!("sample does not match the regex: {s:?}")));
    }
    Ok((rule, required))
}

/// The names of the capture groups of `hir`, indexed as the regex crate numbers them.
fn captures_of(hir: &regex_syntax::hir::Hir, names: &mut Vec<Option<String>>) {
    use regex_syntax::hir::HirKind;
    match hir.kind() {
        HirKind::Capture(c) => {
            let i = c.index as usize;
            if names.len() <= i {
                names.resize(i + 1, None);
            }
            names[i] = c.name.as_deref().map(str::to_string);
            captures_of(&c.sub, names);
        }
        HirKind::Concat(subs) | HirKind::Alternation(subs) => {
            subs.iter().for_each(|s| captures_of(s, names));
        }
        HirKind::Repetition(r) => captures_of(&r.sub, names),
        _ => {}
    }
}

#[cfg(test)]
mod tests;

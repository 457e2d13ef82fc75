//! The pattern library: rules (data, in `rules.toml`, compiled in) that turn a framed
//! message into an event kind with labels.
//!
//! All rule regexes are compiled into one multi-pattern matcher, so a line that no rule
//! matches costs one pass over it; captures are then taken only for the winning rule (the
//! first, in file order, whose regex and ident both match). `--log.rules FILE` extends the
//! library: a rule with the name of a built-in one replaces it in place (`disabled = true`
//! removes it), other rules are tried before the built-in ones. Every rule is validated when
//! loaded (regex, label names, capture names, and its samples must match it).

use super::addr;
use regex::Regex;
use regex_automata::{meta, Input, PatternSet};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The built-in library.
pub const BUILTIN: &str = include_str!("rules.toml");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Critical,
    Warning,
    Info,
}

/// The labels an event may carry. Only `instance`, `virtual_service` and `real_server` become
/// metric labels (bounded by the series cap); the others are for analysis output.
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
            Label::Instance => "instance",
            Label::VirtualService => "virtual_service",
            Label::RealServer => "real_server",
            Label::Peer => "peer",
            Label::Host => "host",
            Label::Script => "script",
            Label::Interface => "interface",
        }
    }

    fn parse(s: &str) -> Option<Label> {
        Label::ALL.into_iter().find(|l| l.name() == s)
    }

    fn normalise(self, raw: &str) -> String {
        match self {
            Label::VirtualService => addr::virtual_service(raw),
            Label::RealServer => addr::real_server(raw),
            _ => raw.to_string(),
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
    #[error("cannot build the rule matcher: {0}")]
    Matcher(String),
}

/// One compiled rule.
#[derive(Debug)]
pub struct Rule {
    pub name: String,
    pub kind: String,
    pub severity: Severity,
    idents: Vec<String>,
    regex: Regex,
    /// Label and the capture group indexes to try, first match wins.
    labels: Vec<(Label, Vec<usize>)>,
    pub samples: Vec<String>,
}

impl Rule {
    /// Whether this rule's own regex matches (what the multi-pattern matcher must agree with).
    pub fn is_match(&self, message: &str) -> bool {
        self.regex.is_match(message)
    }

    /// Whether the rule applies to a line from `ident`: `Keepalived` covers
    /// `Keepalived_vrrp` and `Keepalived_vrrp_<netns>`; an unknown ident matches every rule.
    pub fn applies_to(&self, ident: Option<&str>) -> bool {
        let Some(ident) = ident else { return true };
        self.idents.is_empty()
            || self.idents.iter().any(|p| {
                ident == p
                    || (ident.starts_with(p.as_str())
                        && ident.as_bytes().get(p.len()) == Some(&b'_'))
            })
    }
}

/// A classified line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event<'r> {
    /// Index of the rule in [`Rules::rules`].
    pub rule: usize,
    pub kind: &'r str,
    pub severity: Severity,
    /// Normalised label values, in [`Label`] order.
    pub labels: Vec<(Label, String)>,
}

impl Event<'_> {
    pub fn label(&self, l: Label) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| *k == l)
            .map(|(_, v)| v.as_str())
    }
}

/// The compiled library.
#[derive(Debug)]
pub struct Rules {
    rules: Vec<Rule>,
    set: meta::Regex,
}

/// Per-caller scratch space for matching (so `Rules` can be shared between threads).
#[derive(Debug)]
pub struct Scratch {
    set: PatternSet,
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
        for spec in specs.into_iter().filter(|s| !s.disabled) {
            rules.push(compile(spec, path)?);
        }
        let patterns: Vec<&str> = rules.iter().map(|r| r.regex.as_str()).collect();
        // MatchKind::All: an overlapping search then reports every pattern that matches, so
        // the rule order (not the match position) decides the winner.
        let set = meta::Regex::builder()
            .configure(meta::Config::new().match_kind(regex_automata::MatchKind::All))
            .build_many(&patterns)
            .map_err(|e| RulesError::Matcher(e.to_string()))?;
        Ok(Rules { rules, set })
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn scratch(&self) -> Scratch {
        Scratch {
            set: PatternSet::new(self.rules.len()),
        }
    }

    /// The index of the rule that wins for this line, without taking captures.
    pub fn winner(
        &self,
        scratch: &mut Scratch,
        ident: Option<&str>,
        message: &str,
    ) -> Option<usize> {
        scratch.set.clear();
        self.set
            .which_overlapping_matches(&Input::new(message), &mut scratch.set);
        if scratch.set.is_empty() {
            return None;
        }
        scratch
            .set
            .iter()
            .map(|p| p.as_usize())
            .find(|&i| self.rules[i].applies_to(ident))
    }

    /// Classifies one message; `None` when no rule matches.
    pub fn classify(
        &self,
        scratch: &mut Scratch,
        ident: Option<&str>,
        message: &str,
    ) -> Option<Event<'_>> {
        let i = self.winner(scratch, ident, message)?;
        let rule = &self.rules[i];
        let mut labels = Vec::new();
        if !rule.labels.is_empty() {
            // The multi-pattern matcher said this regex matches; captures cannot fail.
            let caps = rule.regex.captures(message)?;
            for (label, groups) in &rule.labels {
                if let Some(m) = groups.iter().find_map(|&g| caps.get(g)) {
                    labels.push((*label, label.normalise(m.as_str())));
                }
            }
        }
        Some(Event {
            rule: i,
            kind: &rule.kind,
            severity: rule.severity,
            labels,
        })
    }
}

fn parse(text: &str, path: &Path) -> Result<Vec<RuleSpec>, RulesError> {
    toml::from_str::<RuleFile>(text)
        .map(|f| f.rule)
        .map_err(|source| RulesError::Parse {
            path: path.to_path_buf(),
            source,
        })
}

fn compile(spec: RuleSpec, path: &Path) -> Result<Rule, RulesError> {
    let invalid = |reason: String| RulesError::Invalid {
        path: path.to_path_buf(),
        rule: spec.name().to_string(),
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
    let regex = Regex::new(&spec.regex).map_err(|e| invalid(format!("bad regex: {e}")))?;
    let mut labels = Vec::new();
    for (name, caps) in &spec.labels {
        let label = Label::parse(name).ok_or_else(|| invalid(format!("unknown label {name:?}")))?;
        let names = match caps {
            Captures::One(c) => std::slice::from_ref(c),
            Captures::Many(v) => v.as_slice(),
        };
        let mut groups = Vec::new();
        for c in names {
            let idx = regex
                .capture_names()
                .position(|n| n == Some(c.as_str()))
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
    if let Some(s) = spec.samples.iter().find(|s| !regex.is_match(s)) {
        return Err(invalid(format!("sample does not match the regex: {s:?}")));
    }
    Ok(Rule {
        name: spec.name().to_string(),
        kind: spec.kind,
        severity: spec.severity,
        idents: spec.idents,
        regex,
        labels,
        samples: spec.samples,
    })
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;

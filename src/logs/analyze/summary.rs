//! What an analysis found, and how it is written: [`Summary`] (counts per kind and per
//! director, the incidents), its JSON (the incidents through the `json` module) and its text
//! report (the incidents by kind and host, then the timeline). Counting is in the parent
//! module.

use super::json;
use crate::incidents::Incident;
use crate::logs::event::rfc3339;
use crate::logs::rules::Severity;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{self, Write as _};

/// Each incident of an analysis, in order, handed to the function given: from a list in
/// memory or from the incidents `analyze` spilled to disk ([`crate::incidents::engine::Found`]). Called once per
/// pass over them.
pub type Each<'a> = &'a dyn Fn(&mut dyn FnMut(&Incident)) -> io::Result<()>;

/// [`Summary`] without its incidents, which [`json`] writes after it: the same JSON, field
/// for field.
#[derive(Serialize)]
struct SummaryHead<'a> {
    lines: u64,
    matched: u64,
    unmatched: u64,
    truncated: u64,
    events: &'a BTreeMap<String, u64>,
    hosts: &'a BTreeMap<String, BTreeMap<String, KindStats>>,
}

/// How often a kind happened on one host, and when first and last.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct KindStats {
    pub count: u64,
    /// RFC 3339 UTC; absent when no line of this kind carried a wall-clock time.
    #[serde(serialize_with = "ser_time", skip_serializing_if = "Option::is_none")]
    pub first: Option<i64>,
    #[serde(serialize_with = "ser_time", skip_serializing_if = "Option::is_none")]
    pub last: Option<i64>,
}

fn ser_time<S: serde::Serializer>(t: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(m) => s.serialize_str(&rfc3339(*m)),
        None => s.serialize_none(),
    }
}

impl KindStats {
    pub(super) fn add(&mut self, time: Option<i64>) {
        self.count += 1;
        if let Some(t) = time {
            self.first = Some(self.first.map_or(t, |f| f.min(t)));
            self.last = Some(self.last.map_or(t, |l| l.max(t)));
        }
    }

    pub(super) fn merge(&mut self, o: &KindStats) {
        self.count += o.count;
        for t in [o.first, o.last].into_iter().flatten() {
            self.first = Some(self.first.map_or(t, |f| f.min(t)));
            self.last = Some(self.last.map_or(t, |l| l.max(t)));
        }
    }
}

/// What a set of inputs contained. `lines` to `truncated` count every input line; `events`,
/// `hosts` and `incidents` what the [`super::Filter`] keeps.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub lines: u64,
    pub matched: u64,
    pub unmatched: u64,
    /// Lines longer than the cap, cut (and still classified on their first bytes).
    pub truncated: u64,
    /// Events per kind, all hosts together.
    pub events: BTreeMap<String, u64>,
    /// Per host (for lines that name none, their input's name, `FILE@HOST`, else `-`), per
    /// kind.
    pub hosts: BTreeMap<String, BTreeMap<String, KindStats>>,
    /// What the incident engine found, oldest first (empty when it did not run).
    pub incidents: Vec<Incident>,
}

impl Summary {
    pub fn to_json(&self) -> String {
        // Maps of strings and integers always serialise.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// [`Summary::to_json`] and a newline, written to `out` as it is made.
    pub fn write_json(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        self.write_json_each(out, &|f| {
            self.incidents.iter().for_each(f);
            Ok(())
        })
    }

    /// [`Summary::write_json`] with the incidents `each` gives instead of its own: the
    /// summary's other fields by serde_json, then the incidents by the `json` module as they are read.
    pub fn write_json_each(&self, out: &mut dyn std::io::Write, each: Each<'_>) -> io::Result<()> {
        let head = SummaryHead {
            lines: self.lines,
            matched: self.matched,
            unmatched: self.unmatched,
            truncated: self.truncated,
            events: &self.events,
            hosts: &self.hosts,
        };
        let mut buf = serde_json::to_vec_pretty(&head).map_err(io::Error::other)?;
        // A non-empty object ends with its closing brace on a line of its own; the
        // incidents field goes before it.
        if !buf.ends_with(b"\n}") {
            return Err(io::Error::other("the summary's JSON has no closing brace"));
        }
        buf.truncate(buf.len() - 2);
        buf.extend_from_slice(b",\n  \"incidents\": [");
        let (mut any, mut failed) = (false, None);
        let mut memo = json::Memo::default();
        each(&mut |i| {
            if failed.is_some() {
                return;
            }
            json::element(&mut buf, !any, i, &mut memo);
            any = true;
            if buf.len() >= 1 << 16 {
                failed = out.write_all(&buf).err();
                buf.clear();
            }
        })?;
        if let Some(e) = failed {
            return Err(e);
        }
        json::end(&mut buf, any);
        buf.extend_from_slice(b"\n}\n");
        out.write_all(&buf)?;
        out.flush()
    }

    pub fn to_text(&self) -> String {
        let mut out = Vec::new();
        // Writing to memory fails only with the incidents' source, here a list.
        let _ = self.write_text(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    /// [`Summary::to_text`], written to `out`.
    pub fn write_text(&self, out: &mut dyn std::io::Write) -> io::Result<()> {
        self.write_text_each(out, &|f| {
            self.incidents.iter().for_each(f);
            Ok(())
        })
    }

    /// [`Summary::write_text`] with the incidents `each` gives instead of its own (one
    /// pass).
    pub fn write_text_each(&self, out: &mut dyn std::io::Write, each: Each<'_>) -> io::Result<()> {
        let mut s = format!(
            "lines      {}\nmatched    {}\nunmatched  {}\ntruncated  {}\n",
            self.lines, self.matched, self.unmatched, self.truncated
        );
        if !self.events.is_empty() {
            s.push_str("events:\n");
            let width = self.events.keys().map(String::len).max().unwrap_or(0);
            for (k, n) in &self.events {
                s.push_str(&format!("  {k:<width$}  {n}\n"));
            }
        }
        let time = |t: Option<i64>| t.map_or_else(|| "-".to_string(), rfc3339);
        // One pass: the closed ones' lines wait in a temporary file (there may be millions),
        // the open ones' in memory (as the engine held them), until the count is known.
        let mut closed = io::BufWriter::new(tempfile::tempfile()?);
        let mut open: Vec<String> = Vec::new();
        let mut n = 0u64;
        let mut failed = None;
        let mut by_kind = ByKind::default();
        each(&mut |i| {
            n += 1;
            by_kind.add(i);
            let who = i.host.clone().unwrap_or_else(|| i.hosts.join(","));
            let sev = i.severity.as_str();
            let line = format!(
                "  {} … {}  {sev:<8}  {:<24}  {who}: {}\n      check: {}\n",
                rfc3339(i.start),
                time(i.end),
                i.kind,
                i.summary,
                i.hint
            );
            match i.end {
                Some(_) if failed.is_none() => failed = closed.write_all(line.as_bytes()).err(),
                Some(_) => {}
                None => open.push(line),
            }
        })?;
        if let Some(e) = failed {
            return Err(e);
        }
        if n > 0 {
            by_kind.write(&mut s, n, open.len());
            // Closed ones in time order, then what is still open at the end of the input.
            s.push_str(&format!("incidents ({n}):\n"));
            out.write_all(s.as_bytes())?;
            s.clear();
            let mut closed = closed.into_inner().map_err(|e| e.into_error())?;
            io::Seek::rewind(&mut closed)?;
            io::copy(&mut closed, out)?;
            if !open.is_empty() {
                out.write_all(b"  still open at the end of the input:\n")?;
                for l in &open {
                    out.write_all(l.as_bytes())?;
                }
            }
        }
        for (host, kinds) in &self.hosts {
            s.push_str(&format!("host {host}:\n"));
            let width = kinds.keys().map(String::len).max().unwrap_or(0);
            for (k, st) in kinds {
                s.push_str(&format!(
                    "  {k:<width$}  {:>6}  {}  {}\n",
                    st.count,
                    time(st.first),
                    time(st.last)
                ));
            }
        }
        out.write_all(s.as_bytes())
    }
}

/// The text report's summary of incidents: per kind, how many, how many still open, and
/// per director (an incident of several directors, a split brain, counts for each).
#[derive(Default)]
struct ByKind {
    kinds: BTreeMap<&'static str, KindCount>,
}

struct KindCount {
    severity: Severity,
    total: u64,
    open: u64,
    hosts: BTreeMap<String, u64>,
}

impl ByKind {
    fn add(&mut self, i: &Incident) {
        let k = self.kinds.entry(i.kind).or_insert_with(|| KindCount {
            severity: i.severity,
            total: 0,
            open: 0,
            hosts: BTreeMap::new(),
        });
        k.total += 1;
        k.open += u64::from(i.end.is_none());
        for h in i.host.iter().chain(&i.hosts) {
            match k.hosts.get_mut(h) {
                Some(n) => *n += 1,
                None => {
                    k.hosts.insert(h.clone(), 1);
                }
            }
        }
    }

    /// Critical kinds first, then by how many.
    fn write(&self, s: &mut String, n: u64, open: usize) {
        s.push_str(&format!(
            "incidents by kind and host ({n}, {open} still open):\n"
        ));
        let mut kinds: Vec<_> = self.kinds.iter().collect();
        let rank = |s: Severity| match s {
            Severity::Critical => 0,
            Severity::Warning => 1,
            Severity::Info => 2,
        };
        kinds.sort_by_key(|(name, k)| (rank(k.severity), std::cmp::Reverse(k.total), **name));
        let width = kinds.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
        s.push_str(&format!(
            "  {:<width$}  {:<8}  {:>6}  {:>6}  by host\n",
            "kind", "severity", "all", "open"
        ));
        for (name, k) in kinds {
            let hosts: Vec<String> = k.hosts.iter().map(|(h, c)| format!("{h} {c}")).collect();
            s.push_str(&format!(
                "  {name:<width$}  {:<8}  {:>6}  {:>6}  {}\n",
                k.severity.as_str(),
                k.total,
                k.open,
                hosts.join(", ")
            ));
        }
    }
}

//! Open incidents across a restart of `serve`: saved as data (in `--log.state-dir`, by
//! `incidents::live`) and put back, so a restart neither forgets what is open nor, since
//! the sources resume where they stopped, opens it twice. The verdicts across directors
//! (failovers, split brains) are made again from new transitions, not saved.

use super::*;
use serde::{Deserialize, Serialize};

/// One open incident as saved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Saved {
    pub kind: String,
    pub host: String,
    pub iname: Option<String>,
    pub virtual_service: Option<String>,
    pub real_server: Option<String>,
    pub start: i64,
    /// Set for a zero-length incident not yet moved to the history.
    pub end: Option<i64>,
    pub count: u64,
    /// (time, host, line) of each evidence line.
    pub evidence: Vec<(Option<i64>, String, String)>,
    pub summary: String,
    pub quiet: Option<u64>,
    pub last: i64,
    /// Opened by a look at the director (saved by lvsmon 0.x before this existed: no).
    #[serde(default)]
    pub by_look: bool,
    /// The hint, when its cause's rather than its kind's (saved before this existed: the
    /// kind's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Engine {
    /// The open incidents, to save.
    pub fn save(&self) -> Vec<Saved> {
        let mut all: Vec<Saved> = self
            .open
            .iter()
            .map(|(k, o)| {
                let inc = finish(k, o.clone());
                Saved {
                    kind: k.kind.to_string(),
                    host: k.host.to_string(),
                    iname: k.iname.as_deref().map(str::to_string),
                    virtual_service: inc.virtual_service,
                    real_server: inc.real_server,
                    start: inc.start,
                    end: inc.end,
                    count: inc.count,
                    evidence: inc
                        .evidence
                        .into_iter()
                        .map(|e| (e.time, e.host, e.line))
                        .collect(),
                    summary: inc.summary,
                    quiet: o.quiet,
                    last: o.last,
                    by_look: o.by_look,
                    hint: (cause_index(inc.hint) != 0).then(|| inc.hint.to_string()),
                }
            })
            .collect();
        // Oldest first, so two saves of the same state are the same file.
        all.sort_by(|a, b| (a.start, &a.kind, &a.host).cmp(&(b.start, &b.kind, &b.host)));
        all
    }

    /// Puts saved incidents back as open; one of a kind this build does not know, or
    /// whose identity no longer parses, is left out (and said once).
    pub fn restore(&mut self, saved: Vec<Saved>) {
        for s in saved {
            let Some(spec) = kind(&s.kind) else {
                tracing::info!(kind = %s.kind, "a saved incident of an unknown kind is dropped");
                continue;
            };
            let vs = match s
                .virtual_service
                .as_deref()
                .map(str::parse::<VirtualServiceId>)
            {
                Some(Err(_)) => continue,
                v => v.and_then(Result::ok),
            };
            let rs = match s.real_server.as_deref().map(str::parse::<RealServerId>) {
                Some(Err(_)) => continue,
                r => r.and_then(Result::ok),
            };
            let k = Key {
                kind: spec.name,
                host: s.host.as_str().into(),
                iname: s.iname.as_deref().map(Into::into),
                vs,
                rs,
            };
            let mut evidence =
                s.evidence
                    .into_iter()
                    .map(|(time, host, line)| Evidence { time, host, line });
            let Some(first) = evidence.next() else {
                continue;
            };
            let sev = self.s.severity_of(k.kind);
            let mut o = Open::new(&k, s.start, s.summary, first, sev);
            if let Some(h) = &s.hint {
                // As text, not an index: a state file outlives a reordering of CAUSES.
                o.hint = hint_at(k.kind, cause_index(h));
            }
            // The first lines stay first, the others are the newest (as `push_evidence`).
            let head = self.s.evidence_lines.div_ceil(2);
            let rest: Vec<Evidence> = evidence.collect();
            let split = head.saturating_sub(1).min(rest.len());
            o.evidence.extend(rest[..split].iter().cloned());
            o.count = s.count;
            o.end = s.end;
            self.seq += 1;
            o.quiet = s.quiet;
            o.last = s.last;
            o.tail = rest[split..].iter().cloned().collect();
            o.seq = self.seq;
            o.by_look = s.by_look;
            let h = self.host(&k.host);
            h.last_time = h.last_time.max(s.last);
            self.insert_open(k, o);
        }
    }
}

//! The verdicts across directors, from the MASTER transitions every director's events
//! gave: failovers naming the old and the new master, and split brains.

use super::*;

/// A VRRP instance entering or leaving MASTER on a director.
#[derive(Debug, Clone, Default)]
pub(super) struct Transition {
    pub(super) time: i64,
    pub(super) host: String,
    pub(super) iname: String,
    pub(super) master: bool,
    pub(super) line: String,
}

impl Engine {
    /// Failovers and split brains from the MASTER transitions of every director.
    pub(super) fn cross_director(&mut self) -> Vec<Incident> {
        let min_overlap = micros(self.s.split_brain_min_overlap);
        let severity = |k| self.s.severity_of(k);
        let (failover, split_brain) = (severity("vrrp_failover"), severity("split_brain"));
        let mut by_instance: BTreeMap<String, Vec<Transition>> = BTreeMap::new();
        for t in self.transitions.drain(..) {
            by_instance.entry(t.iname.clone()).or_default().push(t);
        }
        let mut out = Vec::new();
        for (iname, mut ts) in by_instance {
            ts.sort_by_key(|t| t.time);
            // MASTER intervals per director.
            let mut intervals: Vec<(String, i64, Option<i64>, String)> = Vec::new();
            for t in &ts {
                if t.master {
                    intervals.push((t.host.clone(), t.time, None, t.line.clone()));
                } else if let Some(i) = intervals
                    .iter_mut()
                    .rev()
                    .find(|i| i.0 == t.host && i.2.is_none())
                {
                    i.2 = Some(t.time);
                }
            }
            // A failover: MASTER on another director than the one before, which had left
            // (or left within the tolerance: both log a handover in the same second).
            // Overlapping longer is no failover but a split brain, below.
            for (i, (host, start, _, line)) in intervals.iter().enumerate() {
                let Some(prev) = i.checked_sub(1).map(|p| &intervals[p]) else {
                    continue;
                };
                let overlap = prev.2.map_or(i64::MAX, |end| end - start);
                if prev.0 == *host || overlap >= min_overlap {
                    continue;
                }
                let summary = format!("{iname}: MASTER moved from {} to {host}", prev.0);
                out.push(cross(
                    ("vrrp_failover", failover),
                    &iname,
                    vec![prev.0.clone(), host.clone()],
                    *start,
                    Some(*start),
                    summary,
                    vec![Evidence {
                        time: Some(*start),
                        host: host.clone(),
                        line: line.clone(),
                    }],
                ));
            }
            // A split brain: two directors' MASTER intervals overlap long enough. They are
            // in order of start, so the ones after `a` that start once it ended are not.
            for (i, a) in intervals.iter().enumerate() {
                let a_end = a.2.unwrap_or(i64::MAX);
                for b in intervals[i + 1..].iter().take_while(|b| b.1 < a_end) {
                    if a.0 == b.0 {
                        continue;
                    }
                    let start = a.1.max(b.1);
                    let end = match (a.2, b.2) {
                        (Some(x), Some(y)) => Some(x.min(y)),
                        (Some(x), None) | (None, Some(x)) => Some(x),
                        (None, None) => None,
                    };
                    if end.is_some_and(|e| e - start < min_overlap) {
                        continue;
                    }
                    let mut hosts = vec![a.0.clone(), b.0.clone()];
                    hosts.sort();
                    let summary = split_brain_summary(&iname, [&hosts[0], &hosts[1]]);
                    let evidence = [a, b]
                        .iter()
                        .map(|x| Evidence {
                            time: Some(x.1),
                            host: x.0.clone(),
                            line: x.3.clone(),
                        })
                        .collect();
                    out.push(cross(
                        ("split_brain", split_brain),
                        &iname,
                        hosts,
                        start,
                        end,
                        summary,
                        evidence,
                    ));
                }
            }
        }
        out
    }
}

/// "VI_1 had two masters, lb-a and lb-b" (`hosts` sorted), written piece by piece: half
/// a million of them on ten directors' logs. Both ways of making the verdicts use it.
pub(super) fn split_brain_summary(iname: &str, hosts: [&str; 2]) -> String {
    let mut s = String::new();
    push_split_brain_summary(&mut s, iname, hosts);
    s
}

/// [`split_brain_summary`], appended to `out`.
pub(super) fn push_split_brain_summary(out: &mut String, iname: &str, [a, b]: [&str; 2]) {
    for piece in [iname, " had two masters, ", a, " and ", b] {
        out.push_str(piece);
    }
}

/// How long before a split brain a mismatch may have begun and still explain it.
pub(super) const EXPLAINS_FROM: i64 = 10_000_000;

/// Adds to each split brain what its directors said of each other's adverts meanwhile (a
/// VIP list, a password, an interval that differ): "VI_1 had two masters, lb-a and lb-b;
/// lb-a: received an unexpected ip number count 2, expected 1; lb-b: …".
pub(super) fn explain_split_brains(all: &mut [Incident]) {
    // The mismatches of each (instance, director, kind), in order: one is open at a time,
    // so ends are in order too and a split brain's are found by bisection.
    type Mismatches<'a> = BTreeMap<(&'a str, &'a str, &'static str), Vec<&'a Incident>>;
    let mut by: Mismatches<'_> = BTreeMap::new();
    for m in all.iter() {
        if let (true, Some(i), Some(h)) = (
            matches!(m.kind, "vrrp_config_mismatch" | "vrrp_auth_mismatch"),
            &m.iname,
            &m.host,
        ) {
            by.entry((i.as_str(), h.as_str(), m.kind))
                .or_default()
                .push(m);
        }
    }
    for v in by.values_mut() {
        v.sort_by_key(|m| m.start);
    }
    let mut causes: Vec<(usize, String)> = Vec::new();
    for (n, sb) in all
        .iter()
        .enumerate()
        .filter(|(_, i)| i.kind == "split_brain")
    {
        let Some(iname) = &sb.iname else { continue };
        let mut why: Vec<String> = Vec::new();
        let by = &by;
        for (h, ms) in sb.hosts.iter().flat_map(|h| {
            ["vrrp_config_mismatch", "vrrp_auth_mismatch"]
                .into_iter()
                .filter_map(move |k| Some((h, by.get(&(iname.as_str(), h.as_str(), k))?)))
        }) {
            let from = sb.start - EXPLAINS_FROM;
            let first = ms.partition_point(|m| m.end.is_some_and(|e| e < from));
            let until = sb.end.unwrap_or(i64::MAX);
            for m in ms[first..].iter().take_while(|m| m.start <= until) {
                if let Some(e) = m.evidence.first() {
                    why.push(format!("{h}: {}", said(&e.line)));
                }
            }
        }
        why.sort();
        why.dedup();
        if !why.is_empty() {
            causes.push((n, why.join("; ")));
        }
    }
    for (n, why) in causes {
        all[n].summary = format!("{}; {why}", all[n].summary);
    }
}

/// The message of a keepalived line about an instance: what follows `(INAME) `.
pub(super) fn said(line: &str) -> &str {
    let msg = line.find(") ").map_or(line, |i| &line[i + 2..]);
    msg.trim().trim_end_matches('!')
}

/// An incident across directors, of kind `kind_name` and severity `severity`.
pub(super) fn cross(
    (kind_name, severity): (&'static str, crate::logs::rules::Severity),
    iname: &str,
    hosts: Vec<String>,
    start: i64,
    end: Option<i64>,
    summary: String,
    evidence: Vec<Evidence>,
) -> Incident {
    let spec = kind(kind_name);
    let mut inc = Incident {
        id: String::new(),
        kind: kind_name,
        severity,
        host: None,
        hosts,
        iname: Some(iname.to_string()),
        virtual_service: None,
        real_server: None,
        start,
        end,
        count: 1,
        evidence,
        summary,
        hint: spec.map_or("", |s| s.hint),
    };
    inc.id = id_of(&inc);
    inc
}

//! `check nagios incidents`: CRITICAL while a critical incident is open, WARNING while a
//! warning one is, else OK; perfdata counts the open incidents by severity and the long
//! output gives each one's kind and sentence.

use super::director::OpenIncident;
use super::nagios::{Perf, Report, Status};

pub fn check(open: &[OpenIncident]) -> Report {
    let count = |sev: &str| open.iter().filter(|i| i.severity == sev).count();
    let (critical, warning, info) = (count("critical"), count("warning"), count("info"));
    let status = if critical > 0 {
        Status::Critical
    } else if warning > 0 {
        Status::Warning
    } else {
        Status::Ok
    };
    let summary = if open.is_empty() {
        "no open incident".to_string()
    } else {
        // The worst first: what the status line shows when a person reads only it.
        let mut sorted: Vec<&OpenIncident> = open.iter().collect();
        sorted.sort_by_key(|i| match i.severity.as_str() {
            "critical" => 0,
            "warning" => 1,
            _ => 2,
        });
        format!(
            "{} open incident(s), {critical} critical, {warning} warning: {}",
            open.len(),
            sorted[0].summary
        )
    };
    let mut r = Report::new(status, summary);
    r.perf = vec![
        Perf::new("critical", critical as f64),
        Perf::new("warning", warning as f64),
        Perf::new("info", info as f64),
    ];
    r.long = open
        .iter()
        .map(|i| format!("{} {}: {}", i.severity, i.kind, i.summary))
        .collect();
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inc(sev: &str) -> OpenIncident {
        OpenIncident {
            kind: "k".into(),
            severity: sev.into(),
            summary: format!("a {sev} one"),
        }
    }

    #[test]
    fn severity_decides() {
        assert_eq!(check(&[]).status, Status::Ok);
        assert_eq!(check(&[inc("info")]).status, Status::Ok);
        assert_eq!(
            check(&[inc("info"), inc("warning")]).status,
            Status::Warning
        );
        let r = check(&[inc("warning"), inc("critical")]);
        assert_eq!(r.status, Status::Critical);
        assert!(r.summary.ends_with(": a critical one"), "{}", r.summary);
    }
}

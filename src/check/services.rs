//! `check nagios services`: every virtual service against the same thresholds as
//! `service` (default `-c 1:` on available backends), the worst state wins and the status
//! line names the services in trouble; `--exclude` leaves services out.

use super::director::Service;
use super::nagios::{Perf, Report, Status};
use super::range::Threshold;
use crate::model::VirtualServiceId;

/// How many services in trouble the status line names before it says "and N more".
const NAMED: usize = 5;

pub fn check(services: &[Service], exclude: &[VirtualServiceId], t: &Threshold) -> Report {
    let checked: Vec<&Service> = services
        .iter()
        .filter(|s| !exclude.iter().any(|e| e.matches(&s.id)))
        .collect();
    let mut worst = Status::Ok;
    let mut trouble = Vec::new();
    let (mut warning, mut critical) = (0, 0);
    let mut long = Vec::new();
    for s in &checked {
        let (available, configured) = (s.available(), s.backends.len());
        let st = t.status(available as f64);
        worst = worst.max(st);
        match st {
            Status::Critical => critical += 1,
            Status::Warning => warning += 1,
            _ => {}
        }
        let line = format!("{} {available}/{configured} available", s.id);
        if st != Status::Ok {
            trouble.push((st, format!("{} {}", st.name(), line)));
        }
        long.push(format!("{}: {line}", st.name()));
    }
    // The worst first, so the line names what matters most when it is cut.
    trouble.sort_by_key(|t| std::cmp::Reverse(t.0));
    let summary = if checked.is_empty() {
        "no virtual service to check".to_string()
    } else if trouble.is_empty() {
        format!(
            "{} virtual services, every one has backends available",
            checked.len()
        )
    } else {
        let mut names: Vec<String> = trouble.iter().take(NAMED).map(|(_, l)| l.clone()).collect();
        if trouble.len() > NAMED {
            names.push(format!("and {} more", trouble.len() - NAMED));
        }
        format!(
            "{} of {} virtual services in trouble: {}",
            trouble.len(),
            checked.len(),
            names.join(", ")
        )
    };
    let mut r = Report::new(worst, summary);
    r.perf = vec![
        Perf::new("services", checked.len() as f64),
        Perf::new("services_warning", warning as f64),
        Perf::new("services_critical", critical as f64),
    ];
    r.long = long;
    r
}

#[cfg(test)]
mod tests {
    use super::super::director::Backend;
    use super::*;

    fn svc(id: &str, weights: &[i64]) -> Service {
        Service {
            id: id.parse().unwrap(),
            backends: weights
                .iter()
                .map(|&w| Backend {
                    id: "10.2.0.11:80".parse().unwrap(),
                    weight: w,
                    active: 0,
                    inactive: 0,
                    checker_up: None,
                })
                .collect(),
            rates: None,
        }
    }

    #[test]
    fn worst_wins_and_exclude() {
        let all = [svc("TCP 10.0.0.1:80", &[1]), svc("FWM 42", &[0])];
        let t = super::super::service::default_threshold();
        let r = check(&all, &[], &t);
        assert_eq!(r.status, Status::Critical);
        assert_eq!(
            r.summary,
            "1 of 2 virtual services in trouble: CRITICAL FWM 42 0/1 available"
        );
        let r = check(&all, &["FWM 42".parse().unwrap()], &t);
        assert_eq!(r.status, Status::Ok);
        assert_eq!(r.perf[0].value, 1.0);
    }
}

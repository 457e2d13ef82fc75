//! `check nagios service --service ID`: one virtual service's available backends (weight
//! above zero) against the thresholds (default `-c 1:`), with perfdata for available and
//! configured backends, connections and, when read over netlink, the kernel's rates; the
//! long output lists each backend. A service that is not configured is CRITICAL.

use super::director::{Backend, Service};
use super::nagios::{Perf, Report, Status};
use super::range::Threshold;
use crate::model::VirtualServiceId;

/// The default when neither `-w` nor `-c` is given: CRITICAL without an available backend.
pub fn default_threshold() -> Threshold {
    Threshold {
        warning: None,
        critical: Some(super::range::Range {
            start: 1.0,
            end: f64::INFINITY,
            inside: false,
        }),
    }
}

/// A backend as the long output shows it.
pub fn backend_line(b: &Backend) -> String {
    let state = if b.weight > 0 { "available" } else { "drained" };
    let checker = match b.checker_up {
        Some(true) => ", keepalived: up",
        Some(false) => ", keepalived: DOWN",
        None => "",
    };
    format!(
        "{} weight {} {state}, {} active, {} inactive{checker}",
        b.id, b.weight, b.active, b.inactive
    )
}

/// Finds `want` among `services`. A bare `FWM 42` is the mark in either family: when
/// /proc lists an IPv4 and an IPv6 service with that mark (it cannot tell them apart), or
/// netlink knows both, the check covers both, their backends together — as the metrics'
/// series for `FWM 42` do. `FWM 42 IPv6` (known over netlink) picks one.
pub fn find(services: &[Service], want: &VirtualServiceId) -> Option<Service> {
    let exact: Vec<&Service> = services.iter().filter(|s| s.id == *want).collect();
    let found = if exact.is_empty() {
        services.iter().filter(|s| s.id.matches(want)).collect()
    } else {
        exact
    };
    let (first, rest) = found.split_first()?;
    if rest.is_empty() {
        return Some((*first).clone());
    }
    let mut all = Service {
        id: *want,
        backends: Vec::new(),
        rates: None,
    };
    for s in found {
        all.backends.extend(s.backends.iter().cloned());
        if let Some(r) = &s.rates {
            let t = all.rates.get_or_insert_with(Default::default);
            t.conns += r.conns;
            t.in_packets += r.in_packets;
            t.out_packets += r.out_packets;
            t.in_bytes += r.in_bytes;
            t.out_bytes += r.out_bytes;
        }
    }
    Some(all)
}

/// `found` is the service `want` named, if it is configured.
pub fn check(found: Option<&Service>, want: &VirtualServiceId, t: &Threshold) -> Report {
    let Some(s) = found else {
        return Report::new(Status::Critical, format!("{want} is not configured"));
    };
    let available = s.available();
    let configured = s.backends.len();
    let status = t.status(available as f64);
    let mut r = Report::new(
        status,
        format!("{}: {available} of {configured} backends available", s.id),
    );
    let sum = |f: fn(&Backend) -> i64| s.backends.iter().map(f).sum::<i64>() as f64;
    r.perf = vec![
        Perf::new("available", available as f64)
            .threshold(t)
            .max(configured as f64),
        Perf::new("configured", configured as f64),
        Perf::new("active", sum(|b| b.active)),
        Perf::new("inactive", sum(|b| b.inactive)),
    ];
    if let Some(rates) = &s.rates {
        r.perf.extend([
            Perf::new("conns_per_second", rates.conns as f64),
            Perf::new("inpkts_per_second", rates.in_packets as f64),
            Perf::new("outpkts_per_second", rates.out_packets as f64),
            Perf::new("inbytes_per_second", rates.in_bytes as f64).uom("B"),
            Perf::new("outbytes_per_second", rates.out_bytes as f64).uom("B"),
        ]);
    }
    // By address, whichever order the source listed them in.
    let mut backends: Vec<&Backend> = s.backends.iter().collect();
    backends.sort_by_key(|b| b.id);
    r.long = backends.into_iter().map(backend_line).collect();
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svc(weights: &[i64]) -> Service {
        Service {
            id: "TCP 10.1.0.100:80".parse().unwrap(),
            backends: weights
                .iter()
                .enumerate()
                .map(|(i, &w)| Backend {
                    id: format!("10.2.0.{}:80", 11 + i).parse().unwrap(),
                    weight: w,
                    active: 2,
                    inactive: 1,
                    checker_up: (i == 1).then_some(false),
                })
                .collect(),
            rates: None,
        }
    }

    #[test]
    fn states() {
        let want = "TCP 10.1.0.100:80".parse().unwrap();
        let t = default_threshold();
        let ok = check(Some(&svc(&[1, 0])), &want, &t);
        assert_eq!(ok.status, Status::Ok);
        assert_eq!(ok.summary, "TCP 10.1.0.100:80: 1 of 2 backends available");
        assert_eq!(
            ok.long[1],
            "10.2.0.12:80 weight 0 drained, 2 active, 1 inactive, keepalived: DOWN"
        );
        assert_eq!(
            check(Some(&svc(&[0, 0])), &want, &t).status,
            Status::Critical
        );
        let other = "UDP 10.1.0.100:80".parse().unwrap();
        let missing = check(None, &other, &t);
        assert_eq!(missing.status, Status::Critical);
        assert_eq!(missing.summary, "UDP 10.1.0.100:80 is not configured");
    }
}

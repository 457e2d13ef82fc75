//! What the IPVS page holds: the operator's cardinality controls. A director with 100,000
//! backends costs its Prometheus per series, so which backend labels are kept
//! (`--collector.ipvs.backend-labels`, summing the rest as node_exporter does), which
//! services are exported (`--collector.ipvs.service-include/-exclude`) and which families
//! (`--collector.ipvs.family-enable/-disable`) are the operator's choice.
//!
//! Default budget, at most 10 series per backend: `ipvs_backend_weight`,
//! `_connections_active`, `_connections_inactive`, `ipvs_backend_info`, the five
//! `ipvs_backend_*_total` counters and `_connections_persistent`. Off by default:
//! `ipvs_backend_rate_*_per_second` (5 series: the kernel's 2-second estimates, which
//! Prometheus computes better from the counters with `rate()`) and
//! `ipvs_backend_threshold_*` (2 series of configuration that rarely changes and is 0 on
//! most directors). Service-level rates stay on: one service's five are cheap.

use crate::model::{VirtualServiceId, REAL_SERVER_LABELS, SERVICE_LABELS};
use std::net::IpAddr;

/// Families off unless enabled by name.
pub const DEFAULT_OFF: [&str; 2] = ["ipvs_backend_rate_*", "ipvs_backend_threshold_*"];

/// The backend labels in the order they are written.
pub const BACKEND_LABELS: [&str; 6] = [
    SERVICE_LABELS[0],
    SERVICE_LABELS[1],
    SERVICE_LABELS[2],
    SERVICE_LABELS[3],
    REAL_SERVER_LABELS[0],
    REAL_SERVER_LABELS[1],
];

/// Which services a rule matches.
#[derive(Debug, Clone, PartialEq)]
pub enum ServiceMatch {
    /// One service by its text form (`TCP 10.1.0.100:80`, `FWM 42`).
    Id(VirtualServiceId),
    /// Services whose address is in a network (`10.1.0.0/16`, `2001:db8::/32`, or one
    /// address).
    Net(IpAddr, u8),
    /// Services on a port (`:443`).
    Port(u16),
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum OptionError {
    #[error("unknown backend label {0:?} (known: {labels})", labels = BACKEND_LABELS.join(","))]
    Label(String),
    #[error("bad service rule {0:?}: want a service (`TCP 10.1.0.100:80`, `FWM 42`), a network (`10.1.0.0/16`) or a port (`:443`)")]
    Rule(String),
}

impl std::str::FromStr for ServiceMatch {
    type Err = OptionError;

    fn from_str(s: &str) -> Result<ServiceMatch, OptionError> {
        let t = s.trim();
        let bad = || OptionError::Rule(s.to_string());
        if let Some(port) = t.strip_prefix(':') {
            return port.parse().map(ServiceMatch::Port).map_err(|_| bad());
        }
        if let Ok(id) = t.parse::<VirtualServiceId>() {
            return Ok(ServiceMatch::Id(id));
        }
        let (addr, len) = match t.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (t, None),
        };
        let addr: IpAddr = addr
            .trim_matches(|c| c == '[' || c == ']')
            .parse()
            .map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len = match len {
            Some(l) => l.parse::<u8>().ok().filter(|l| *l <= max).ok_or_else(bad)?,
            None => max,
        };
        Ok(ServiceMatch::Net(addr, len))
    }
}

fn in_net(addr: IpAddr, net: IpAddr, len: u8) -> bool {
    match (addr, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

impl ServiceMatch {
    pub fn matches(&self, id: &VirtualServiceId) -> bool {
        match (self, id) {
            (ServiceMatch::Id(want), _) => want == id,
            (ServiceMatch::Net(net, len), VirtualServiceId::Inet { addr, .. }) => {
                in_net(*addr, *net, *len)
            }
            (ServiceMatch::Port(p), VirtualServiceId::Inet { port, .. }) => p == port,
            _ => false,
        }
    }
}

/// `*` matches any run of characters; nothing else is special.
fn glob(pattern: &str, name: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    let tail: Vec<&str> = parts.collect();
    let Some((last, middle)) = tail.split_last() else {
        return rest.is_empty();
    };
    for p in middle {
        match rest.find(p) {
            Some(i) => rest = &rest[i + p.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// The IPVS page's cardinality controls.
#[derive(Debug, Clone, PartialEq)]
pub struct IpvsExport {
    /// Kept backend labels, by position in [`BACKEND_LABELS`].
    keep: [bool; 6],
    pub include: Vec<ServiceMatch>,
    pub exclude: Vec<ServiceMatch>,
    enable: Vec<String>,
    disable: Vec<String>,
    default_off: bool,
}

impl Default for IpvsExport {
    /// The default budget (module doc).
    fn default() -> IpvsExport {
        IpvsExport {
            keep: [true; 6],
            include: vec![],
            exclude: vec![],
            enable: vec![],
            disable: vec![],
            default_off: true,
        }
    }
}

impl IpvsExport {
    /// Every family, label and service: what the kernel has, for tests and comparisons.
    pub fn everything() -> IpvsExport {
        IpvsExport {
            default_off: false,
            ..IpvsExport::default()
        }
    }

    /// Keeps only these backend labels (node_exporter's `--collector.ipvs.backend-labels`).
    pub fn with_backend_labels(mut self, labels: &[String]) -> Result<IpvsExport, OptionError> {
        let mut keep = [false; 6];
        for l in labels.iter().map(|l| l.trim()).filter(|l| !l.is_empty()) {
            let i = BACKEND_LABELS
                .iter()
                .position(|b| *b == l)
                .ok_or_else(|| OptionError::Label(l.to_string()))?;
            keep[i] = true;
        }
        self.keep = keep;
        Ok(self)
    }

    /// Families to turn on or off by name (`*` globs; `_total` may be given or not).
    pub fn with_families(mut self, enable: Vec<String>, disable: Vec<String>) -> IpvsExport {
        let norm = |v: Vec<String>| {
            v.into_iter()
                .map(|n| n.trim().trim_end_matches("_total").to_string())
                .filter(|n| !n.is_empty())
                .collect()
        };
        self.enable = norm(enable);
        self.disable = norm(disable);
        self
    }

    /// Whether the family `name` (without `_total`) is written. A name disabled by the
    /// operator is off; else one they enabled is on; else the default list decides.
    pub fn on(&self, name: &str) -> bool {
        let any = |v: &[String]| v.iter().any(|p| glob(p, name));
        if any(&self.disable) {
            return false;
        }
        if any(&self.enable) {
            return true;
        }
        !(self.default_off && DEFAULT_OFF.iter().any(|p| glob(p, name)))
    }

    /// Whether a service is exported.
    pub fn service(&self, id: &VirtualServiceId) -> bool {
        (self.include.is_empty() || self.include.iter().any(|m| m.matches(id)))
            && !self.exclude.iter().any(|m| m.matches(id))
    }

    /// Whether every backend label is kept (no summing needed).
    pub fn all_labels(&self) -> bool {
        self.keep.iter().all(|k| *k)
    }

    /// Whether the backend label at `i` in [`BACKEND_LABELS`] is kept.
    pub fn keeps(&self, i: usize) -> bool {
        self.keep.get(i).copied().unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob(
            "ipvs_backend_rate_*",
            "ipvs_backend_rate_connections_per_second"
        ));
        assert!(glob("*_per_second", "ipvs_rate_connections_per_second"));
        assert!(glob("ipvs_*_bytes", "ipvs_backend_incoming_bytes"));
        assert!(!glob("ipvs_*_bytes", "ipvs_backend_incoming_bytes_x"));
        assert!(glob("ipvs_backend_weight", "ipvs_backend_weight"));
        assert!(!glob("ipvs_backend_weight", "ipvs_backend_weight2"));
        assert!(glob("*", "anything"));
        assert!(!glob("a*a", "a"));
    }

    #[test]
    fn the_default_budget_and_the_operators_word() {
        let d = IpvsExport::default();
        assert!(d.on("ipvs_backend_weight") && d.on("ipvs_backend_connections"));
        assert!(!d.on("ipvs_backend_rate_connections_per_second"));
        assert!(!d.on("ipvs_backend_threshold_upper"));
        assert!(d.on("ipvs_service_rate_connections_per_second"));
        let e = IpvsExport::default().with_families(
            vec!["ipvs_backend_rate_connections_per_second".into()],
            vec!["ipvs_backend_connections_total".into(), "ipvs_cpu_*".into()],
        );
        assert!(e.on("ipvs_backend_rate_connections_per_second"));
        assert!(!e.on("ipvs_backend_rate_incoming_bytes_per_second"));
        assert!(!e.on("ipvs_backend_connections"));
        assert!(!e.on("ipvs_cpu_incoming_bytes"));
        assert!(IpvsExport::everything().on("ipvs_backend_threshold_lower"));
    }

    #[test]
    fn service_rules() {
        let id = |s: &str| s.parse::<VirtualServiceId>().unwrap();
        let m = |s: &str| s.parse::<ServiceMatch>().unwrap();
        assert!(m("TCP 10.1.0.100:80").matches(&id("TCP 10.1.0.100:80")));
        assert!(!m("TCP 10.1.0.100:80").matches(&id("UDP 10.1.0.100:80")));
        assert!(m("10.1.0.0/16").matches(&id("UDP 10.1.7.1:53")));
        assert!(!m("10.1.0.0/16").matches(&id("UDP 10.2.7.1:53")));
        assert!(m("10.1.0.100").matches(&id("TCP 10.1.0.100:443")));
        assert!(m("2001:db8::/32").matches(&id("TCP [2001:db8::1]:80")));
        assert!(m("0.0.0.0/0").matches(&id("TCP 1.2.3.4:80")));
        assert!(m(":443").matches(&id("TCP 10.1.0.100:443")));
        assert!(!m(":443").matches(&id("FWM 443")));
        assert!(m("FWM 42").matches(&id("FWM 42")));
        for bad in ["", "10.0.0.0/33", ":http", "nonsense", "TCP nowhere"] {
            assert!(bad.parse::<ServiceMatch>().is_err(), "{bad:?}");
        }
        let e = IpvsExport {
            include: vec![m("10.1.0.0/16")],
            exclude: vec![m(":22")],
            ..IpvsExport::default()
        };
        assert!(e.service(&id("TCP 10.1.0.1:80")));
        assert!(!e.service(&id("TCP 10.1.0.1:22")));
        assert!(!e.service(&id("TCP 10.9.0.1:80")));
    }

    #[test]
    fn backend_labels_are_checked() {
        let e = IpvsExport::default()
            .with_backend_labels(&["remote_address".into(), "proto".into()])
            .unwrap();
        assert!(!e.all_labels() && e.keeps(0) && e.keeps(4) && !e.keeps(1));
        assert_eq!(
            IpvsExport::default().with_backend_labels(&["instance".into()]),
            Err(OptionError::Label("instance".into()))
        );
    }
}

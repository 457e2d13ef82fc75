//! `check nagios vrrp [--instance NAME] [--expect master|backup]`: keepalived's VRRP
//! instances. CRITICAL when keepalived is down or an instance is in FAULT (or the named
//! instance does not exist), WARNING when a state differs from `--expect` (or is INIT,
//! a state an instance only passes through), else OK.

use super::director::{vrrp_state_name, KeepalivedView};
use super::nagios::{Perf, Report, Status};

/// The state an operator expects of this director's instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Expect {
    Master,
    Backup,
}

impl Expect {
    fn state(self) -> u32 {
        match self {
            Expect::Master => 2,
            Expect::Backup => 1,
        }
    }
}

pub fn check(k: &KeepalivedView, instance: Option<&str>, expect: Option<Expect>) -> Report {
    if !k.up {
        return Report::new(Status::Critical, "keepalived is down");
    }
    let chosen: Vec<_> = k
        .instances
        .iter()
        .filter(|i| instance.is_none_or(|n| i.iname == n))
        .collect();
    if chosen.is_empty() {
        return match instance {
            Some(n) => Report::new(Status::Critical, format!("no VRRP instance {n}")),
            None => Report::new(Status::Ok, "keepalived runs no VRRP instance"),
        };
    }
    let mut worst = Status::Ok;
    let mut parts = Vec::new();
    let mut perf = Vec::new();
    for i in &chosen {
        let name = vrrp_state_name(i.state);
        let st = match (i.state, expect) {
            (3, _) => Status::Critical,
            (0, _) => Status::Warning,
            (s, Some(e)) if s != e.state() => Status::Warning,
            _ => Status::Ok,
        };
        worst = worst.max(st);
        let mut part = format!("{} {name}", i.iname);
        if st != Status::Ok {
            if let Some(e) = expect.filter(|_| i.state != 3) {
                part.push_str(&format!(" (expected {})", vrrp_state_name(e.state())));
            }
        }
        parts.push(part);
        // One instance needs no name in its labels; several keep theirs apart.
        let prefix = if chosen.len() == 1 {
            String::new()
        } else {
            format!("{} ", i.iname)
        };
        perf.push(Perf::new(format!("{prefix}state"), f64::from(i.state)).max(3.0));
        perf.push(Perf::new(format!("{prefix}priority"), f64::from(i.priority)).max(255.0));
    }
    let mut r = Report::new(worst, format!("VRRP {}", parts.join(", ")));
    r.perf = perf;
    r.long = chosen
        .iter()
        .map(|i| {
            format!(
                "{} vrid {} {} priority {}",
                i.iname,
                i.vrid,
                vrrp_state_name(i.state),
                i.priority
            )
        })
        .collect();
    r
}

#[cfg(test)]
mod tests {
    use super::super::director::Vrrp;
    use super::*;

    fn k(states: &[u32]) -> KeepalivedView {
        KeepalivedView {
            up: true,
            instances: states
                .iter()
                .enumerate()
                .map(|(n, &state)| Vrrp {
                    iname: format!("VI_{n}"),
                    vrid: 50 + n as u32,
                    state,
                    priority: 100,
                })
                .collect(),
        }
    }

    #[test]
    fn states_and_expectations() {
        assert_eq!(check(&k(&[2]), None, None).status, Status::Ok);
        let r = check(&k(&[1]), None, Some(Expect::Master));
        assert_eq!(r.status, Status::Warning);
        assert_eq!(r.summary, "VRRP VI_0 BACKUP (expected MASTER)");
        assert_eq!(check(&k(&[2, 3]), None, None).status, Status::Critical);
        assert_eq!(check(&k(&[2, 3]), Some("VI_0"), None).status, Status::Ok);
        assert_eq!(check(&k(&[2]), Some("VI_9"), None).status, Status::Critical);
        let down = KeepalivedView::default();
        assert_eq!(check(&down, None, None).summary, "keepalived is down");
    }
}

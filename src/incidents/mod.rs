//! Incidents: failure patterns found in the event stream, each with a start and an end,
//! the evidence that proves it, one sentence for a person and a hint of what to check.
//!
//! `engine` runs the detectors: per director as events arrive (a real server out, a
//! virtual service down, an instance in FAULT, mismatched adverts, a crash…), and across
//! directors from the VRRP transitions it kept (who was MASTER when: failovers and split
//! brains). What each kind is, how severe and what to check is data ([`KINDS`]); windows,
//! thresholds and severities are settings (`[incidents]` in the config file).
//!
//! A consumer of the readers' events: nothing here knows about Prometheus, HTTP or the CLI.

pub mod engine;
pub mod live;
pub mod observe;

pub use engine::Engine;
pub use live::Live;

use crate::logs::event::rfc3339;
use crate::logs::rules::Severity;
use serde::{Deserialize, Serialize};

/// One incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Incident {
    /// Stable for the same incident: kind, hosts, identity and start, hashed.
    pub id: String,
    pub kind: &'static str,
    pub severity: Severity,
    /// The director, when one is involved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The directors, when several are (a split brain, a failover between two).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
    pub iname: Option<String>,
    /// Text forms of the shared identity (`TCP 10.1.0.100:80`, `10.2.0.12:80`).
    pub virtual_service: Option<String>,
    pub real_server: Option<String>,
    #[serde(serialize_with = "ser_time")]
    pub start: i64,
    /// `None` while open.
    #[serde(serialize_with = "ser_opt_time")]
    pub end: Option<i64>,
    /// Repetitions folded into this incident.
    pub count: u64,
    pub evidence: Vec<Evidence>,
    pub summary: String,
    /// What to check: the kind's hint, or the hint of the cause its detector saw (data,
    /// [`KINDS`], [`CAUSES`]).
    pub hint: &'static str,
}

/// A line (or figure) that proves an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evidence {
    #[serde(serialize_with = "ser_opt_time")]
    pub time: Option<i64>,
    pub host: String,
    pub line: String,
}

fn ser_time<S: serde::Serializer>(t: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&rfc3339(*t))
}

fn ser_opt_time<S: serde::Serializer>(t: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&rfc3339(*t)),
        None => s.serialize_none(),
    }
}

/// What a kind of incident is: its name (a contract with users' alerts), its default
/// severity and what to check.
#[derive(Debug, Clone, Copy)]
pub struct Kind {
    pub name: &'static str,
    pub severity: Severity,
    pub hint: &'static str,
}

/// Every kind the engine reports, with its default severity and hint.
pub const KINDS: &[Kind] = &[
    Kind {
        name: "real_server_down",
        severity: Severity::Warning,
        hint: "keepalived's checker took the real server out: check the service on it (the \
               failed check names how), its health-check URL or port, and the path from the \
               director to it (`ipvsadm -Ln`, the checker's lines in the journal).",
    },
    Kind {
        name: "real_server_flapping",
        severity: Severity::Warning,
        hint: "the real server keeps failing and passing its check: an overloaded server, a \
               check timeout too close to the response time, or retries too low (`retry`, \
               `delay_before_retry`, `connect_timeout`).",
    },
    Kind {
        name: "virtual_service_down",
        severity: Severity::Critical,
        hint: "no real server can take traffic: clients get resets or the sorry server. Check \
               every real server's check, the quorum setting, and `ipvsadm -Ln` for weights.",
    },
    Kind {
        name: "vrrp_failover",
        severity: Severity::Info,
        hint: "the MASTER moved: see why the old master left (a crash, a FAULT, a priority \
               change, a stop) in the lines before.",
    },
    Kind {
        name: "vrrp_flapping",
        severity: Severity::Warning,
        hint: "the instance keeps changing state: lost adverts (multicast filtered, a busy \
               link, `advert_int` too short), a flapping track script or interface, or two \
               directors with the same priority and no `nopreempt`.",
    },
    Kind {
        name: "vrrp_fault",
        severity: Severity::Critical,
        hint: "the instance is in FAULT and holds no address: a tracked interface is down or \
               a track script fails (see the reason in the evidence).",
    },
    Kind {
        name: "vrrp_auth_mismatch",
        severity: Severity::Warning,
        hint: "adverts with another password or authentication type reach this instance: two \
               clusters share a VRID on one segment, or a peer's auth_pass differs (compare \
               `authentication` blocks).",
    },
    Kind {
        name: "vrrp_config_mismatch",
        severity: Severity::Warning,
        hint: "peers disagree on the instance: the virtual_ipaddress lists, the VRID, the \
               advert interval or the address owner differ. Compare both directors' \
               configurations; a mismatch can make both MASTER.",
    },
    Kind {
        name: "split_brain",
        severity: Severity::Critical,
        hint: "two directors hold the same addresses: they do not hear each other's adverts \
               (a filtered or broken link, VRRP multicast blocked, an auth or VIP mismatch). \
               Check `ip addr` on both, the link between them, and their configurations.",
    },
    Kind {
        name: "keepalived_crash",
        severity: Severity::Warning,
        hint: "keepalived or one of its children died on a signal or exited: look for the OOM \
               killer or a watchdog (`rlimit_rttime`) in the kernel log, and keepalived's core \
               file.",
    },
    Kind {
        name: "keepalived_config_error",
        severity: Severity::Warning,
        hint: "keepalived rejected configuration lines and runs without them: \
               `keepalived -t -f FILE` says which.",
    },
    Kind {
        name: "keepalived_down",
        severity: Severity::Critical,
        hint: "keepalived stopped answering: no failover and no health checks while it is \
               down. `systemctl status keepalived`, `journalctl -u keepalived`, and the \
               kernel log for the OOM killer.",
    },
    Kind {
        name: "nat_return_path_broken",
        severity: Severity::Critical,
        hint: "the real server receives the director's packets but its replies do not come \
               back through the director (LVS-NAT): its default route (or a route to the \
               clients) must point at the director. Check `ip route` on the real server and \
               `ipvsadm -Lnc` for SYN_RECV entries to it.",
    },
    Kind {
        name: "conntrack_table_full",
        severity: Severity::Critical,
        hint: "the kernel drops new connections: raise net.netfilter.nf_conntrack_max, or \
               exempt the VIP's traffic from conntrack.",
    },
    Kind {
        name: "ipvs_sync_errors",
        severity: Severity::Warning,
        hint: "the connection-sync daemon fails: a backup will not know the master's \
               connections after a failover. Check the sync interface, its MTU and \
               `ipvsadm --daemon` on both directors.",
    },
];

/// The kind named `name`.
pub fn kind(name: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|k| k.name == name)
}

/// Every kind's name, for a message that refuses another.
pub fn kind_names() -> String {
    let names: Vec<&str> = KINDS.iter().map(|k| k.name).collect();
    names.join(", ")
}

/// A cause a detector can tell, with a hint more precise than its kind's: an instance in
/// FAULT because a track script fails is checked otherwise than one whose link is down.
#[derive(Debug, Clone, Copy)]
pub struct Cause {
    pub kind: &'static str,
    /// Words that name the cause in the reason the detector saw (lowercase).
    pub words: &'static [&'static str],
    pub hint: &'static str,
}

/// The causes told apart, tried in order.
pub const CAUSES: &[Cause] = &[
    Cause {
        kind: "vrrp_fault",
        words: &["script"],
        hint: "a track script fails (named in the summary): run it by hand as keepalived \
               does (as its `script_user`, within its `timeout`) and fix what it checks; the \
               instance leaves FAULT once it passes `rise` times in a row.",
    },
    Cause {
        kind: "vrrp_fault",
        words: &["interface", "link"],
        hint: "a tracked interface is down (named in the summary): check its link (`ip link \
               show`, the cable or switch port, a bond's slaves) and the kernel log for the \
               driver; the instance leaves FAULT when the link is back up.",
    },
    Cause {
        kind: "vrrp_fault",
        words: &["file"],
        hint: "a tracked file holds a value that puts the instance in FAULT: see which \
               process writes it (`track_file` in keepalived.conf) and why.",
    },
];

/// The hint for an incident of kind `name` whose detector saw `reason` (`None`: no cause
/// known): its cause's, else its kind's.
pub fn hint_for(name: &str, reason: Option<&str>) -> &'static str {
    let cause = reason.and_then(|r| {
        CAUSES
            .iter()
            .find(|c| c.kind == name && c.words.iter().any(|w| says(r, w)))
    });
    match (cause, kind(name)) {
        (Some(c), _) => c.hint,
        (None, Some(k)) => k.hint,
        (None, None) => "",
    }
}

/// Whether `reason` holds `word` (lowercase ASCII, as every cause's words are) in any
/// case. An ASCII reason is compared in place; lower-casing it into a new string at every
/// FAULT was most of what finding its hint cost. Any other is lowered as `str` lowers it.
fn says(reason: &str, word: &str) -> bool {
    if !reason.is_ascii() {
        return reason.to_lowercase().contains(word);
    }
    word.is_empty()
        || reason
            .as_bytes()
            .windows(word.len())
            .any(|w| w.eq_ignore_ascii_case(word.as_bytes()))
}

/// Where a hint is in [`CAUSES`], plus one; 0 for a kind's own (how `analyze`'s sorted
/// runs keep it, in a byte).
pub fn cause_index(hint: &str) -> u8 {
    CAUSES
        .iter()
        .position(|c| c.hint == hint)
        .and_then(|i| u8::try_from(i + 1).ok())
        .unwrap_or(0)
}

/// The hint [`cause_index`] gave `index` for kind `name`.
pub fn hint_at(name: &str, index: u8) -> &'static str {
    match usize::from(index)
        .checked_sub(1)
        .and_then(|i| CAUSES.get(i))
    {
        Some(c) if c.kind == name => c.hint,
        _ => kind(name).map_or("", |k| k.hint),
    }
}

/// A kind's name in the config file (`[incidents.severity]`): one of [`KINDS`], or the file
/// is refused (a misspelt kind would silently keep its default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct KindName(pub &'static str);

impl<'de> Deserialize<'de> for KindName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<KindName, D::Error> {
        let name = String::deserialize(d)?;
        match kind(&name) {
            Some(k) => Ok(KindName(k.name)),
            None => Err(serde::de::Error::custom(format!(
                "unknown incident kind `{name}`; the kinds: {}",
                kind_names()
            ))),
        }
    }
}

/// Windows, thresholds and severities (`[incidents]` in the config file). Defaults suit directors with
/// keepalived's default timers (1 s adverts, checks every few seconds).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct Settings {
    /// Seconds over which down/up cycles and state changes are counted.
    pub flapping_window: u64,
    /// Down/up cycles of one real server within the window that make it flapping.
    pub real_server_flapping_cycles: usize,
    /// State changes of one VRRP instance within the window that make it flapping.
    pub vrrp_flapping_changes: usize,
    /// Seconds without a repeat after which a repeating message's incident closes
    /// (mismatched adverts, a full conntrack table, sync errors).
    pub quiet_window: u64,
    /// Seconds two directors must both be MASTER before it is a split brain (a handover
    /// is logged by both within the same second or two).
    pub split_brain_min_overlap: u64,
    /// Evidence lines kept per incident (the first and the last ones).
    pub evidence_lines: usize,
    /// Seconds between two looks at the kernel's table and keepalived's state under
    /// `serve` (0: no look; the log events alone then). Each look is a read of the table,
    /// as a scrape makes.
    pub observe_interval: u64,
    /// Looks in a row a condition must hold before it opens or closes an incident: one
    /// look may catch keepalived half way through a change.
    pub observe_confirmations: u32,
    /// Seconds over which a NAT real server's packets in and out are compared.
    pub nat_window: u64,
    /// Packets in, with none out, over the window that make a NAT return path broken.
    pub nat_min_packets: u64,
    /// Adverts received between two looks while MASTER throughout that make this director
    /// one of two masters (`serve`).
    pub split_brain_min_adverts: u64,
    /// Severities other than a kind's default ([`KINDS`]), by kind (`[incidents.severity]`):
    /// in the incidents, their metrics and alerts, and `analyze`'s exit status.
    pub severity: std::collections::BTreeMap<KindName, Severity>,
}

impl Settings {
    /// The severity of incidents of kind `name`: as configured, else the kind's default.
    pub fn severity_of(&self, name: &str) -> Severity {
        let spec = kind(name);
        spec.and_then(|k| self.severity.get(&KindName(k.name)).copied())
            .or(spec.map(|k| k.severity))
            .unwrap_or(Severity::Warning)
    }
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            flapping_window: 600,
            real_server_flapping_cycles: 3,
            vrrp_flapping_changes: 4,
            quiet_window: 60,
            split_brain_min_overlap: 2,
            evidence_lines: 4,
            observe_interval: 5,
            observe_confirmations: 2,
            nat_window: 30,
            nat_min_packets: 10,
            split_brain_min_adverts: 3,
            severity: std::collections::BTreeMap::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_cause_word_is_lowercase_ascii() {
        for w in CAUSES.iter().flat_map(|c| c.words) {
            assert!(
                !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()),
                "{w:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn a_reason_says_a_word_as_its_lowercase_copy_does(
            reason in "([Ss][Cc][Rr][Ii][Pp][Tt]|[Ll][Ii][Nn][Kk]|interface|FILE|[ -~]|é|\u{212a}){0,8}",
        ) {
            for w in CAUSES.iter().flat_map(|c| c.words) {
                prop_assert_eq!(says(&reason, w), reason.to_lowercase().contains(w), "{:?}", w);
            }
        }
    }
}

//! The event kinds the detectors read, as data: [`READS`] is the one list of them. It
//! says which events `analyze` hands the engine in full (the others only move a
//! director's clock, [`Engine::tick`]) and what [`Engine::detect`] dispatches on. A kind
//! added here needs its arm there, or the match is not exhaustive and nothing compiles;
//! a kind the detectors should read but missing here is read by none.

use super::*;

/// Defines [`Read`] and [`READS`] from one list: each way of reading, and the kinds read
/// that way.
macro_rules! reads {
    ($($read:ident: $($kind:literal)|+;)*) => {
        /// What a detector does with an event: one per event kind read, or per group of
        /// kinds read alike (keepalived's two wordings of a quorum down, of a child's
        /// death).
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(super) enum Read {
            $($read,)*
        }

        /// Each event kind (the pattern library's `kind`) a detector reads, and how.
        const READS: &[(&str, Read)] = &[$($(($kind, Read::$read),)+)*];
    };
}

reads! {
    RealServerDown: "real_server_down";
    RealServerUp: "real_server_up";
    CheckFailed: "check_failed";
    QuorumLost: "quorum_lost" | "quorum_down_at_start";
    QuorumGained: "quorum_gained";
    SorryServerOn: "sorry_server_on";
    SorryServerOff: "sorry_server_off";
    IpvsNoDestination: "ipvs_no_destination";
    VrrpMaster: "vrrp_master";
    VrrpHigherPriorityAdvert: "vrrp_higher_priority_advert";
    VrrpBackup: "vrrp_backup";
    VrrpPriorityZeroSent: "vrrp_priority_zero_sent";
    VrrpFault: "vrrp_fault";
    VrrpScriptFailed: "vrrp_script_failed";
    LinkDown: "link_down";
    VrrpFaultReason: "vrrp_fault_reason";
    VrrpAuthMismatch: "vrrp_auth_mismatch";
    VrrpVipMismatch: "vrrp_vip_mismatch";
    VrrpVridConflict: "vrrp_vrid_conflict";
    VrrpAdvertIntervalMismatch: "vrrp_advert_interval_mismatch";
    VrrpOwnerConflict: "vrrp_owner_conflict";
    KeepalivedStarted: "keepalived_started";
    KeepalivedStopped: "keepalived_stopped";
    KeepalivedChildDied: "keepalived_child_died" | "keepalived_child_exited";
    KeepalivedConfigError: "keepalived_config_error";
    ConntrackTableFull: "conntrack_table_full";
    IpvsSyncError: "ipvs_sync_error";
}

impl Read {
    /// How the detectors read events of `kind`, if they do.
    pub(super) fn of(kind: &str) -> Option<Read> {
        READS.iter().find(|(k, _)| *k == kind).map(|&(_, r)| r)
    }
}

impl Engine {
    /// Whether a detector reads events of `kind`. Most of a busy director's matched lines
    /// are check attempts and adverts no detector reads; `analyze` hands those to
    /// [`Engine::tick`] without building the event (its identities parsed, its labels
    /// copied): a fifth of the engine's time on bench/logs.sh's file.
    pub fn handles(kind: &str) -> bool {
        Read::of(kind).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_read_is_a_kind_the_pattern_library_makes() {
        // A misspelt kind here would be read by no detector, silently.
        let rules = crate::logs::rules::Rules::builtin().unwrap();
        let made: std::collections::BTreeSet<&str> =
            rules.rules().iter().map(|r| r.kind.as_str()).collect();
        let unknown: Vec<&str> = READS
            .iter()
            .map(|(k, _)| *k)
            .filter(|k| !made.contains(k))
            .collect();
        assert!(unknown.is_empty(), "no rule makes {unknown:?}");
        let mut kinds: Vec<&str> = READS.iter().map(|(k, _)| *k).collect();
        kinds.sort_unstable();
        kinds.dedup();
        assert_eq!(kinds.len(), READS.len(), "a kind listed twice");
    }
}

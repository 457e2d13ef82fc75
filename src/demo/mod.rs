//! `--demo`: a real director captured from a Debian kernel in the VM harness (`tests/vm/`,
//! scenario `syncd`: NAT traffic, two sync daemons, local and synced connections), compiled
//! into the binary so a newcomer sees real output with no IPVS: its /proc files and the
//! kernel's netlink replies recorded by lvsmon in the same capture.
//!
//! The files live here (`src/demo/net/`, `netlink.rec`, the capture's `meta.txt`), not
//! under tests/fixtures, so that re-running the harness never changes what `--demo` shows.

pub mod logs;

use crate::ipvs::netlink::recording::{Recording, RecordingError};
use crate::ipvs::source::{EmbeddedFile, ProcSource};

macro_rules! capture {
    ($($file:literal),+) => {
        &[$((concat!("net/", $file), include_bytes!(concat!("net/", $file)))),+]
    };
}

/// Where the capture came from (the VM harness scenario and kernel).
pub const META: &str = include_str!("meta.txt");

static FILES: &[EmbeddedFile] =
    capture!("ip_vs", "ip_vs_stats", "ip_vs_stats_percpu", "ip_vs_conn");

/// The same director's netlink conversation, recorded in the same capture.
const NETLINK: &str = include_str!("netlink.rec");

/// The recorded netlink conversation `--demo` replays: the netlink-only families (per
/// service and per backend counters and rates, thresholds, sync daemons…) decoded by the
/// same code as live replies.
pub fn netlink() -> Result<std::sync::Arc<Recording>, RecordingError> {
    Recording::parse(NETLINK).map(std::sync::Arc::new)
}

/// The embedded capture as a procfs source.
pub fn source() -> ProcSource {
    ProcSource::Embedded {
        label: "<demo capture>",
        files: FILES,
    }
}

/// keepalived's JSON and check-data dumps from the VM harness (`keepalived_check`: VRRP
/// MASTER, one real server taken down by its TCP_CHECK), for `--demo`.
pub fn keepalived_state() -> crate::keepalived::model::KeepalivedState {
    use crate::keepalived::dump;
    // Parsed by a unit test too: a bad embedded file fails the build's tests, not the demo.
    crate::keepalived::model::KeepalivedState {
        instances: dump::parse_json(include_str!("keepalived/keepalived.json")).unwrap_or_default(),
        virtual_services: dump::parse_check_data(include_str!("keepalived/keepalived_check.data"))
            .unwrap_or_default(),
    }
}

/// The keepalived reader's settings for `--demo`: the embedded dumps, as a fixed reading.
pub fn keepalived_options() -> crate::keepalived::KeepalivedOptions {
    crate::keepalived::KeepalivedOptions {
        origin: crate::keepalived::Origin::Fixed(keepalived_state()),
        min_interval: crate::keepalived::DEFAULT_MIN_INTERVAL,
        notify_fifos: Vec::new(),
        state: None,
    }
}

#[cfg(test)]
mod tests {
    use crate::keepalived::dump::{parse_check_data, parse_json};

    macro_rules! capture {
        ($f:literal) => {
            include_str!(concat!(
                "../../tests/fixtures/kernel/keepalived_check/keepalived/",
                $f
            ))
        };
    }

    #[test]
    fn the_keepalived_demo_shows_the_captured_state() {
        let d = super::keepalived_state();
        let json = parse_json(capture!("keepalived.json")).unwrap();
        assert_eq!(d.instances, json);
        let check = parse_check_data(capture!("keepalived_check.data")).unwrap();
        assert_eq!(d.virtual_services, check);
    }
}

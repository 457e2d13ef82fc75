//! `--demo`: a real director's /proc files, captured from a Debian kernel in the VM harness
//! (`tests/vm/`), compiled into the binary so a newcomer sees real output with no IPVS.
//!
//! The files live here (`src/demo/net/`, with the capture's `meta.txt`), not under
//! tests/fixtures, so that re-running the harness never changes what `--demo` shows.

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

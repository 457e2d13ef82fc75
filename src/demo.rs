//! `--demo`: a real director's /proc files, captured from a Debian kernel in the VM harness
//! (`tests/vm/`), compiled into the binary so a newcomer sees real output with no IPVS.

use crate::ipvs::source::{EmbeddedFile, ProcSource};

macro_rules! capture {
    ($scenario:literal, $($file:literal),+) => {
        &[$((
            concat!("net/", $file),
            include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/kernel/", $scenario, "/proc/net/", $file)),
        )),+]
    };
}

/// The capture used: which scenario it came from is part of the label shown in errors.
pub const SCENARIO: &str = "nat4";

static FILES: &[EmbeddedFile] = capture!(
    "nat4",
    "ip_vs",
    "ip_vs_stats",
    "ip_vs_stats_percpu",
    "ip_vs_conn"
);

/// The embedded capture as a procfs source.
pub fn source() -> ProcSource {
    ProcSource::Embedded {
        label: "<demo capture>",
        files: FILES,
    }
}

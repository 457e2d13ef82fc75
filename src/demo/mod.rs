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

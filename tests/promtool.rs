//! `promtool check metrics` (Prometheus' own linter) on every capture's output.
//!
//! promtool comes from Debian's `prometheus` package, installed by scripts/install-deps.sh.
//! Without it this test says so and passes, unless LVSMON_REQUIRE_TOOLS=1 (set by .ci/run),
//! where a missing tool is a failure.

mod common;

use common::*;
use lvsmon::ipvs::source::ProcSource;
use lvsmon::ipvs::IpvsOptions;
use lvsmon::metrics::{Exporter, Format};

#[test]
fn promtool_finds_no_problem_in_any_capture() {
    if promtool().is_none() {
        return;
    }
    let mut trees: Vec<_> = kernel_captures().iter().map(|c| c.join("proc")).collect();
    trees.push(root().join("tests/fixtures/node_exporter/proc"));
    for proc in trees {
        let opts = IpvsOptions {
            conntable: true,
            ..IpvsOptions::default()
        };
        let page = Exporter::ipvs(ProcSource::Dir(proc.clone()), opts).render(Format::Prometheus);
        let (ok, said) = promtool_check(&page).unwrap();
        assert!(
            ok && said.trim().is_empty(),
            "{}: promtool says:\n{said}",
            proc.display()
        );
    }
}

//! `promtool check metrics` (Prometheus' own linter) on every capture's output.
//!
//! promtool comes from Debian's `prometheus` package, installed by scripts/install-deps.sh.
//! Without it this test says so and passes, unless LVSMON_REQUIRE_TOOLS=1 (set by .ci/run),
//! where a missing tool is a failure.

mod common;

use common::*;
use lvsmon::ipvs::source::ProcSource;
use lvsmon::metrics::{Exporter, Format, IpvsOptions};
use std::io::Write;
use std::process::{Command, Stdio};

#[test]
fn promtool_finds_no_problem_in_any_capture() {
    let Some(tool) = promtool() else { return };
    let mut trees: Vec<_> = kernel_captures().iter().map(|c| c.join("proc")).collect();
    trees.push(root().join("tests/fixtures/node_exporter/proc"));
    for proc in trees {
        let opts = IpvsOptions {
            conntable: true,
            ..IpvsOptions::default()
        };
        let page = Exporter::ipvs(ProcSource::Dir(proc.clone()), opts).render(Format::Prometheus);
        let mut child = Command::new(tool)
            .args(["check", "metrics"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(page.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success() && said.trim().is_empty(),
            "{}: promtool says:\n{said}",
            proc.display()
        );
    }
}

//! `--demo` for the log families: real keepalived 2.2.7 console output, compiled in and
//! replayed once through the real file tailer, with one real rename rotation between the
//! two captures, so the page shows every `lvsmon_log_*` family with real figures:
//! - the VRRP capture of tests/logs_keepalived.rs (two directors: a crash, a failover, a
//!   preemption, a respawned VRRP child, an auth mismatch);
//! - the health checker of the VM harness's `keepalived_check` scenario, the same director
//!   whose dumps `--demo` shows (src/demo/keepalived/): a real server of TCP 10.0.0.100:80
//!   taken out by its TCP_CHECK, the quorum lost. Its events name the services and real
//!   servers of the IPVS demo, so joins across the three sources have something to join.
//!
//! Kept here rather than read from tests/fixtures so that re-capturing never changes what
//! `--demo` shows.

use crate::logs::source::file::{FileOptions, Tailer};
use crate::logs::source::Pipeline;
use std::io::Write;
use std::path::Path;

/// The embedded VRRP capture.
pub const CAPTURE: &str = include_str!("logs/keepalived-2.2.7.log");

/// The embedded health-checker capture (`tests/fixtures/kernel/keepalived_check/keepalived/
/// console.log`).
pub const CHECK_CAPTURE: &str = include_str!("logs/keepalived-2.2.7-check.log");

/// The `source` label of the replayed lines.
pub const SOURCE: &str = "demo";

/// Replays the captures through `pipeline` (whose source should be [`SOURCE`]): the VRRP
/// capture is written to a scratch file, the file is rotated (renamed), the checker's
/// capture goes to a new file; the scratch directory is removed afterwards.
pub fn replay(pipeline: Pipeline) -> std::io::Result<()> {
    let dir = std::env::temp_dir().join(format!("lvsmon-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = replay_in(&dir, pipeline);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn replay_in(dir: &Path, pipeline: Pipeline) -> std::io::Result<()> {
    let log = dir.join("keepalived.log");
    let first: Vec<&str> = CAPTURE.lines().collect();
    let second: Vec<&str> = CHECK_CAPTURE.lines().collect();
    write(&log, &first)?;
    let opts = FileOptions {
        from_beginning: true,
        ..FileOptions::default()
    };
    let mut t = Tailer::new(&log, pipeline, None, opts);
    t.poll();
    std::fs::rename(&log, dir.join("keepalived.log.1"))?;
    write(&log, &second)?;
    t.poll();
    Ok(())
}

fn write(path: &Path, lines: &[&str]) -> std::io::Result<()> {
    let mut f = std::fs::File::create(path)?;
    for l in lines {
        writeln!(f, "{l}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::rules::Rules;
    use crate::logs::stats::LogStats;
    use std::sync::Arc;

    #[test]
    fn the_demo_replays_every_line_and_one_rotation() {
        let stats = Arc::new(LogStats::new(100));
        let rules = Arc::new(Rules::builtin().unwrap());
        replay(Pipeline::new(rules, stats.clone(), SOURCE)).unwrap();
        let snap = stats.snapshot();
        let s = &snap.sources[SOURCE];
        assert_eq!(
            s.lines as usize,
            CAPTURE.lines().count() + CHECK_CAPTURE.lines().count()
        );
        assert_eq!(s.rotations.get("rename"), Some(&1));
        let masters = CAPTURE
            .lines()
            .chain(CHECK_CAPTURE.lines())
            .filter(|l| l.contains("Entering MASTER STATE"))
            .count();
        assert_eq!(snap.kind("vrrp_master") as usize, masters);
        // The checker's capture names the IPVS demo's service and real server.
        let down = snap
            .events
            .iter()
            .find(|(k, _)| {
                &*k.kind == "real_server_down"
                    && k.virtual_service
                        .is_some_and(|v| v.to_string().ends_with(":80"))
            })
            .expect("a real_server_down event");
        assert_eq!(
            down.0.virtual_service.map(|v| v.to_string()).as_deref(),
            Some("TCP 10.0.0.100:80")
        );
        assert_eq!(
            down.0.real_server.map(|r| r.to_string()).as_deref(),
            Some("10.1.0.12:80")
        );
    }
}

//! `--demo` for the log families: real keepalived 2.2.7 console output (two directors of
//! the capture in tests/logs_keepalived.rs: a crash, a failover, a preemption, a respawned
//! VRRP child, an auth mismatch), compiled in and replayed once through the real file
//! tailer, with one real rename rotation in the middle, so the page shows every
//! `lvsmon_log_*` family with real figures. Kept here rather than read from tests/fixtures
//! so that re-capturing never changes what `--demo` shows.

use crate::logs::source::file::{FileOptions, Tailer};
use crate::logs::source::Pipeline;
use std::io::Write;
use std::path::Path;

/// The embedded capture.
pub const CAPTURE: &str = include_str!("logs/keepalived-2.2.7.log");

/// The `source` label of the replayed lines.
pub const SOURCE: &str = "demo";

/// Replays the capture through `pipeline` (whose source should be [`SOURCE`]): the first
/// half is written to a scratch file, the file is rotated (renamed), the second half goes
/// to a new file; the scratch directory is removed afterwards.
pub fn replay(pipeline: Pipeline) -> std::io::Result<()> {
    let dir = std::env::temp_dir().join(format!("lvsmon-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = replay_in(&dir, pipeline);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn replay_in(dir: &Path, pipeline: Pipeline) -> std::io::Result<()> {
    let log = dir.join("keepalived.log");
    let lines: Vec<&str> = CAPTURE.lines().collect();
    let (first, second) = lines.split_at(lines.len() / 2);
    write(&log, first)?;
    let opts = FileOptions {
        from_beginning: true,
        ..FileOptions::default()
    };
    let mut t = Tailer::new(&log, pipeline, None, opts);
    t.poll();
    std::fs::rename(&log, dir.join("keepalived.log.1"))?;
    write(&log, second)?;
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
        assert_eq!(s.lines as usize, CAPTURE.lines().count());
        assert_eq!(s.rotations.get("rename"), Some(&1));
        let masters = CAPTURE
            .lines()
            .filter(|l| l.contains("Entering MASTER STATE"))
            .count();
        assert_eq!(snap.kind("vrrp_master") as usize, masters);
    }
}

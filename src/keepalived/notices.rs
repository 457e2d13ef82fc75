//! What keepalived's notify FIFOs have said: the latest line per VRRP instance, virtual
//! server and real server (and when it came), laid over the last dump's state at every
//! snapshot; and each FIFO's health. Pure bookkeeping: `fifo` reads, `notify` parses,
//! `state` owns one of these and keeps it in the state dir.
//!
//! keepalived tells a FIFO of changes only, so what it said holds for the run of keepalived
//! that said it, and no longer: the lines are tied to that run (its pid file's pid and
//! time). A new run drops them (it announces its own states), and lines saved by lvsmon
//! before a restart are taken back only if the same keepalived still runs.

use super::model::KeepalivedState;
use super::notify::{self, Notice, NoticeKey};
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Keys kept at most (instances plus servers): a director has tens to thousands.
pub const MAX_KEYS: usize = 100_000;

/// One FIFO as `/api/v1/state` and the metrics show it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FifoStatus {
    pub path: PathBuf,
    /// Open for reading now.
    pub open: bool,
    /// Lines read that keepalived writes (`ok`) and lines that are not (`bad`).
    pub lines: u64,
    pub bad_lines: u64,
    /// Why it is not open.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The first word of a saved record (its format's name and version).
const SAVED_HEADER: &str = "lvsmon-keepalived-notices 1";

/// One key's latest line: when it came, its order of arrival, the line parsed and as read.
#[derive(Debug)]
struct Latest {
    at: SystemTime,
    seq: u64,
    notice: Notice,
    line: Box<str>,
}

#[derive(Debug, Default)]
pub struct Notices {
    latest: HashMap<NoticeKey, Latest>,
    seq: u64,
    fifos: Vec<FifoStatus>,
    /// The run of keepalived the lines came from (see [`crate::keepalived::signal::run_of`]).
    run: Option<String>,
    /// Lines arrived since the last save.
    pub dirty: bool,
}

impl Notices {
    pub fn new(paths: &[PathBuf]) -> Notices {
        Notices {
            fifos: paths
                .iter()
                .map(|p| FifoStatus {
                    path: p.clone(),
                    error: Some("not opened yet".into()),
                    ..FifoStatus::default()
                })
                .collect(),
            ..Notices::default()
        }
    }

    fn fifo(&mut self, path: &Path) -> Option<&mut FifoStatus> {
        self.fifos.iter_mut().find(|f| f.path == path)
    }

    /// One line from `path`, received at `at` from keepalived's run `run` (None: unknown).
    /// Returns whether keepalived writes such lines.
    pub fn line(&mut self, path: &Path, line: &str, at: SystemTime, run: Option<&str>) -> bool {
        let parsed = notify::parse_line(line);
        if let Some(f) = self.fifo(path) {
            match parsed {
                Ok(_) => f.lines += 1,
                Err(_) => f.bad_lines += 1,
            }
        }
        let Ok(n) = parsed else { return false };
        self.same_run(run);
        self.remember(n, line, at);
        true
    }

    /// Forgets what an earlier run of keepalived said once another one speaks.
    pub fn same_run(&mut self, run: Option<&str>) {
        let Some(run) = run else { return };
        if self.run.as_deref() != Some(run) {
            if self.run.is_some() {
                self.latest.clear();
                self.dirty = true;
            }
            self.run = Some(run.to_string());
        }
    }

    fn remember(&mut self, notice: Notice, line: &str, at: SystemTime) {
        let Some(k) = notice.key() else { return };
        if self.latest.len() < MAX_KEYS || self.latest.contains_key(&k) {
            self.seq += 1;
            let line = line.trim_end().into();
            let seq = self.seq;
            self.latest.insert(
                k,
                Latest {
                    at,
                    seq,
                    notice,
                    line,
                },
            );
            self.dirty = true;
        }
    }

    /// The lines to keep across a restart of lvsmon: a header naming keepalived's run, then
    /// `MILLISECONDS LINE` in their order of arrival. None while the run is unknown.
    pub fn saved(&self) -> Option<String> {
        let run = self.run.as_deref()?;
        let mut out = format!("{SAVED_HEADER} {run}\n");
        for l in self.in_order(None) {
            let ms =
                l.at.duration_since(SystemTime::UNIX_EPOCH)
                    .unwrap_or_default();
            out.push_str(&format!("{} {}\n", ms.as_millis(), l.line));
        }
        Some(out)
    }

    /// Takes back what [`Notices::saved`] wrote if it came from keepalived's run `run` (the
    /// one running now). Returns the lines taken back.
    pub fn restore(&mut self, saved: &str, run: Option<&str>) -> usize {
        let mut lines = saved.lines();
        let header = lines.next().and_then(|h| h.strip_prefix(SAVED_HEADER));
        let (Some(was), Some(run)) = (header.map(str::trim), run) else {
            return 0;
        };
        if was != run {
            return 0;
        }
        self.same_run(Some(run));
        let mut n = 0;
        for l in lines {
            let Some((ms, line)) = l.split_once(' ') else {
                continue;
            };
            let (Ok(ms), Ok(notice)) = (ms.parse::<u64>(), notify::parse_line(line)) else {
                continue;
            };
            let at = SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(ms);
            self.remember(notice, line, at);
            n += 1;
        }
        self.dirty = false;
        n
    }

    /// The lines that came after `since` (all of them without it), oldest first.
    fn in_order(&self, since: Option<SystemTime>) -> Vec<&Latest> {
        let mut newer: Vec<_> = self
            .latest
            .values()
            .filter(|l| since.is_none_or(|s| l.at > s))
            .collect();
        newer.sort_by_key(|l| l.seq);
        newer
    }

    /// A line too long to be keepalived's.
    pub fn bad(&mut self, path: &Path) {
        if let Some(f) = self.fifo(path) {
            f.bad_lines += 1;
        }
    }

    pub fn status(&mut self, path: &Path, error: Option<String>) {
        if let Some(f) = self.fifo(path) {
            f.open = error.is_none();
            f.error = error;
        }
    }

    /// Whether every FIFO is open (vacuously true without FIFOs).
    pub fn all_open(&self) -> bool {
        self.fifos.iter().all(|f| f.open)
    }

    pub fn fifos(&self) -> Vec<FifoStatus> {
        self.fifos.clone()
    }

    /// Applies, in their order of arrival, the lines that came after `since` (the dump's
    /// time; all of them without a dump).
    pub fn overlay(&self, state: &mut KeepalivedState, since: Option<SystemTime>) {
        for l in self.in_order(since) {
            let secs =
                l.at.duration_since(SystemTime::UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_secs_f64();
            notify::apply(state, &l.notice, secs);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn only_lines_newer_than_the_dump_change_it() {
        let p = PathBuf::from("/run/lvsmon/keepalived.fifo");
        let mut n = Notices::new(std::slice::from_ref(&p));
        let t = SystemTime::now();
        assert!(n.line(&p, "INSTANCE \"VI_1\" BACKUP 100", t, None));
        assert!(n.line(
            &p,
            "INSTANCE \"VI_1\" MASTER 100",
            t + Duration::from_secs(2),
            None
        ));
        assert!(!n.line(&p, "INSTANCE \"VI_1\" MASTER", t, None));
        assert!(n.line(&p, "GROUP \"G\" MASTER 0", t, None));
        let f = &n.fifos()[0];
        assert_eq!((f.lines, f.bad_lines, f.open), (3, 1, false));

        // A dump from between the two lines: the later line wins over it.
        let mut dumped = KeepalivedState::default();
        n.overlay(&mut dumped, Some(t + Duration::from_secs(1)));
        assert_eq!(dumped.instances[0].state, 2);
        // A dump newer than every line is left as it is.
        let mut dumped = KeepalivedState::default();
        n.overlay(&mut dumped, Some(t + Duration::from_secs(3)));
        assert!(dumped.instances.is_empty());

        n.status(&p, None);
        assert!(n.all_open());
        n.status(&p, Some("gone".into()));
        assert!(!n.all_open());
    }

    #[test]
    fn lines_are_kept_for_the_run_of_keepalived_that_wrote_them() {
        let p = PathBuf::from("/run/lvsmon/keepalived.fifo");
        let t = SystemTime::UNIX_EPOCH + Duration::from_millis(1_764_700_000_123);
        let mut n = Notices::new(std::slice::from_ref(&p));
        n.line(&p, "INSTANCE \"VI_1\" MASTER 150", t, Some("41 7"));
        let rs = "RS [10.2.0.11]:tcp:80 [10.1.0.100]:tcp:80 DOWN";
        assert!(n.line(&p, rs, t + Duration::from_secs(1), Some("41 7")));
        assert!(n.dirty);
        let saved = n.saved().unwrap();
        assert!(saved.starts_with("lvsmon-keepalived-notices 1 41 7\n1764700000123 INSTANCE"));

        // lvsmon restarted, the same keepalived runs: every line back, with its time.
        let mut again = Notices::new(std::slice::from_ref(&p));
        assert_eq!(again.restore(&saved, Some("41 7")), 2);
        assert_eq!(again.saved().as_deref(), Some(saved.as_str()));
        let mut state = KeepalivedState::default();
        again.overlay(&mut state, None);
        assert_eq!(state.instances[0].state, 2);
        assert!(!state.virtual_services[0].real_servers[0].alive);

        // keepalived restarted meanwhile, or its run is unknown: nothing is taken back.
        let mut other = Notices::new(std::slice::from_ref(&p));
        assert_eq!(other.restore(&saved, Some("52 9")), 0);
        assert_eq!(other.restore(&saved, None), 0);
        assert_eq!(other.restore("garbage\n1 INSTANCE", Some("41 7")), 0);

        // A new run speaking drops what the old one said.
        again.line(&p, "INSTANCE \"VI_2\" BACKUP 100", t, Some("52 9"));
        let mut state = KeepalivedState::default();
        again.overlay(&mut state, None);
        assert_eq!(state.instances.len(), 1);
        assert_eq!(state.instances[0].iname, "VI_2");
    }
}

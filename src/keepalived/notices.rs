//! What keepalived's notify FIFOs have said since lvsmon started: the latest line per VRRP
//! instance, virtual server and real server (and when it came), laid over the last dump's
//! state at every snapshot; and each FIFO's health. Pure bookkeeping: `fifo` reads, `notify`
//! parses, `state` owns one of these.

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

#[derive(Debug, Default)]
pub struct Notices {
    /// The latest line per key, with when it came and its order of arrival.
    latest: HashMap<NoticeKey, (SystemTime, u64, Notice)>,
    seq: u64,
    fifos: Vec<FifoStatus>,
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

    /// One line from `path`, received at `at`. Returns whether keepalived writes such lines.
    pub fn line(&mut self, path: &Path, line: &str, at: SystemTime) -> bool {
        let parsed = notify::parse_line(line);
        if let Some(f) = self.fifo(path) {
            match parsed {
                Ok(_) => f.lines += 1,
                Err(_) => f.bad_lines += 1,
            }
        }
        let Ok(n) = parsed else { return false };
        if let Some(k) = n.key() {
            if self.latest.len() < MAX_KEYS || self.latest.contains_key(&k) {
                self.seq += 1;
                self.latest.insert(k, (at, self.seq, n));
            }
        }
        true
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
        let mut newer: Vec<_> = self
            .latest
            .values()
            .filter(|(at, ..)| since.is_none_or(|s| *at > s))
            .collect();
        newer.sort_by_key(|(_, seq, _)| *seq);
        for (at, _, n) in newer {
            let secs = at
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs_f64();
            notify::apply(state, n, secs);
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
        assert!(n.line(&p, "INSTANCE \"VI_1\" BACKUP 100", t));
        assert!(n.line(
            &p,
            "INSTANCE \"VI_1\" MASTER 100",
            t + Duration::from_secs(2)
        ));
        assert!(!n.line(&p, "INSTANCE \"VI_1\" MASTER", t));
        assert!(n.line(&p, "GROUP \"G\" MASTER 0", t));
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
}

//! Getting a fresh dump out of a running keepalived: its pid (pid file), the signal numbers
//! (`keepalived --signum=…`, else the Linux defaults when the binary cannot be run), its
//! dump directory (`TMPDIR` in `/proc/PID/environ`, else /tmp), and waiting until the files
//! it writes in place are complete and newer than the signal.

use super::dump::{self, DumpError};
use super::model::KeepalivedState;
use std::collections::HashMap;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

pub const JSON_FILE: &str = "keepalived.json";
pub const CHECK_FILE: &str = "keepalived_check.data";
/// A dump larger than this is not keepalived's (it writes kilobytes per instance).
const MAX_DUMP_BYTES: u64 = 64 << 20;
/// The kernel stamps files with a coarse clock that can lag the wall clock by a tick.
const MTIME_SLACK: Duration = Duration::from_millis(50);

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("no keepalived pid file at {path}")]
    NoPidFile { path: PathBuf },
    #[error("{path}: not a pid file")]
    BadPidFile { path: PathBuf },
    #[error("keepalived (pid {pid} from {path}) is not running")]
    NotRunning { pid: i32, path: PathBuf },
    #[error("cannot signal keepalived (pid {pid}): {source}")]
    Signal {
        pid: i32,
        #[source]
        source: std::io::Error,
    },
    #[error("{exe} has no {dump} dump (`--signum={dump}` refused): not signalling it")]
    NoSignal { exe: PathBuf, dump: &'static str },
    #[error("{path}: no dump (passive: lvsmon does not ask keepalived for one)")]
    NoDump { path: PathBuf },
    #[error("{path}: no complete dump newer than the signal within {waited:?}")]
    Timeout { path: PathBuf, waited: Duration },
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Dump {
        path: PathBuf,
        #[source]
        source: DumpError,
    },
}

impl SourceError {
    /// Whether keepalived itself is absent (its state, not a failure of the collector).
    pub fn is_absent(&self) -> bool {
        matches!(
            self,
            SourceError::NoPidFile { .. } | SourceError::NotRunning { .. }
        )
    }
}

/// Reads the pid file; a missing file is `NoPidFile`.
pub fn read_pid(path: &Path) -> Result<i32, SourceError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(SourceError::NoPidFile { path: path.into() })
        }
        Err(source) => {
            return Err(SourceError::Io {
                path: path.into(),
                source,
            })
        }
    };
    match text.trim().parse::<i32>() {
        Ok(pid) if pid > 0 => Ok(pid),
        _ => Err(SourceError::BadPidFile { path: path.into() }),
    }
}

/// Names one run of keepalived: the pid in its pid file and the file's modification time
/// (keepalived writes the file at every start). Only the pid file is read, so it works where
/// keepalived's /proc entry is hidden (`ProtectProc=invisible`). None without a live pid.
pub fn run_of(pid_file: &Path) -> Option<String> {
    let pid = running_pid(pid_file).ok()?;
    let mtime = std::fs::metadata(pid_file).ok()?.modified().ok()?;
    let t = mtime.duration_since(std::time::UNIX_EPOCH).ok()?;
    Some(format!("{pid} {}.{:09}", t.as_secs(), t.subsec_nanos()))
}

/// Whether `pid` is a live process (EPERM means it exists but belongs to someone else).
pub fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks for existence and permission; nothing is delivered.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// The pid from the pid file, if that process is alive.
pub fn running_pid(pid_file: &Path) -> Result<i32, SourceError> {
    let pid = read_pid(pid_file)?;
    if !alive(pid) {
        return Err(SourceError::NotRunning {
            pid,
            path: pid_file.into(),
        });
    }
    Ok(pid)
}

/// keepalived's own dump directory: `TMPDIR` from its environment, else /tmp.
pub fn dump_dir_of(pid: i32) -> PathBuf {
    let env = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
    env.split(|b| *b == 0)
        .find_map(|kv| kv.strip_prefix(b"TMPDIR="))
        .filter(|v| !v.is_empty())
        .map(|v| PathBuf::from(std::ffi::OsStr::from_bytes(v)))
        .unwrap_or_else(|| PathBuf::from("/tmp"))
}

/// Which dump a signal asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dump {
    Json,
    Data,
}

impl Dump {
    fn name(self) -> &'static str {
        match self {
            Dump::Json => "JSON",
            Dump::Data => "DATA",
        }
    }

    /// What keepalived uses on Linux when `--signum` cannot be asked.
    fn fallback(self) -> i32 {
        match self {
            Dump::Json => libc::SIGRTMIN() + 2,
            Dump::Data => libc::SIGUSR1,
        }
    }
}

/// Signal numbers, asked once per keepalived binary with `--signum` and then remembered.
#[derive(Debug, Default)]
pub struct Signums(Mutex<HashMap<(PathBuf, Dump), Option<i32>>>);

impl Signums {
    /// The number for `dump`, asked of the binary the process runs (`/proc/PID/exe`) so the
    /// answer matches its version, else of `keepalived` on PATH. Only when neither can be
    /// run (a sidecar without the binary) is the Linux default assumed. A binary that runs
    /// but knows no such dump (built without JSON) gets no signal at all: an unhandled
    /// real-time signal would terminate it.
    pub fn get(&self, pid: i32, dump: Dump) -> Result<i32, SourceError> {
        let exe = std::fs::read_link(format!("/proc/{pid}/exe"))
            .ok()
            .filter(|p| p.is_file())
            .unwrap_or_else(|| PathBuf::from("keepalived"));
        let mut cache = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let n = *cache
            .entry((exe.clone(), dump))
            .or_insert_with(|| match ask_signum(&exe, dump) {
                Ok(answer) => answer,
                Err(_) => Some(dump.fallback()),
            });
        n.ok_or(SourceError::NoSignal {
            exe,
            dump: dump.name(),
        })
    }
}

/// Ok(None): the binary ran and refused (no such dump in this build).
fn ask_signum(exe: &Path, dump: Dump) -> std::io::Result<Option<i32>> {
    let out = std::process::Command::new(exe)
        .arg(format!("--signum={}", dump.name()))
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()?;
    let n: Option<i32> = String::from_utf8_lossy(&out.stdout).trim().parse().ok();
    Ok(n.filter(|n| out.status.success() && *n > 0))
}

pub fn send(pid: i32, signum: i32) -> Result<(), SourceError> {
    // SAFETY: plain kill(2) on a pid we read; failure is reported, not assumed.
    if unsafe { libc::kill(pid, signum) } != 0 {
        return Err(SourceError::Signal {
            pid,
            source: std::io::Error::last_os_error(),
        });
    }
    Ok(())
}

/// What identifies one version of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub len: u64,
    pub mtime: SystemTime,
}

pub fn stamp(path: &Path) -> Option<Stamp> {
    let m = std::fs::metadata(path).ok()?;
    Some(Stamp {
        len: m.len(),
        mtime: m.modified().ok()?,
    })
}

/// When a dump counts as the answer to our signal.
#[derive(Debug, Clone, Copy)]
pub struct Freshness {
    /// The file as it was just before the signal (None: it did not exist).
    pub before: Option<Stamp>,
    /// When the signal was sent.
    pub signalled: SystemTime,
}

impl Freshness {
    fn accepts(&self, s: Stamp) -> bool {
        Some(s) != self.before && s.mtime + MTIME_SLACK >= self.signalled
    }
}

/// Polls `path` until it is fresh (when `fresh` is given), unchanged across two looks, and
/// parses whole; the delay doubles from 5 ms up to `deadline`. Returns the value and the
/// file's modification time.
pub fn wait_complete<T>(
    path: &Path,
    fresh: Option<Freshness>,
    deadline: Instant,
    parse: impl Fn(&str) -> Result<T, DumpError>,
) -> Result<(T, SystemTime), SourceError> {
    let start = Instant::now();
    let mut delay = Duration::from_millis(5);
    let mut last_err = None;
    let mut prev: Option<Stamp> = None;
    loop {
        let now = stamp(path);
        if let Some(s) = now.filter(|s| fresh.is_none_or(|f| f.accepts(*s))) {
            // Same size and time as at the previous look: keepalived has finished writing.
            if prev == Some(s) {
                match read_whole(path, s) {
                    Ok(Some(text)) => match parse(&text) {
                        Ok(v) => return Ok((v, s.mtime)),
                        Err(source) => {
                            last_err = Some(SourceError::Dump {
                                path: path.into(),
                                source,
                            })
                        }
                    },
                    Ok(None) => {} // changed while read: look again
                    Err(e) => last_err = Some(e),
                }
            }
        }
        prev = now;
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(last_err.unwrap_or(SourceError::Timeout {
                path: path.into(),
                waited: start.elapsed(),
            }));
        }
        std::thread::sleep(delay.min(left));
        delay = (delay * 2).min(Duration::from_millis(200));
    }
}

/// The file's text if it still has the length `s` says (None when it moved under us).
fn read_whole(path: &Path, s: Stamp) -> Result<Option<String>, SourceError> {
    if s.len > MAX_DUMP_BYTES {
        return Err(SourceError::Dump {
            path: path.into(),
            source: DumpError::Malformed {
                line: 0,
                reason: "larger than any keepalived dump",
            },
        });
    }
    let bytes = std::fs::read(path).map_err(|source| SourceError::Io {
        path: path.into(),
        source,
    })?;
    if bytes.len() as u64 != s.len || stamp(path) != Some(s) {
        return Ok(None);
    }
    Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
}

/// How to get dumps: from whom, where, and whether lvsmon may signal.
#[derive(Debug, Clone)]
pub struct DumpSource {
    pub pid_file: PathBuf,
    pub dump_dir: Option<PathBuf>,
    pub passive: bool,
    /// How long to wait for keepalived to finish a dump.
    pub timeout: Duration,
}

/// One complete reading.
#[derive(Debug, Clone)]
pub struct Reading {
    pub state: KeepalivedState,
    /// Modification time of the JSON dump the state came from.
    pub dumped_at: SystemTime,
}

impl DumpSource {
    /// Asks keepalived for fresh dumps (unless passive) and reads them.
    pub fn read(&self, signums: &Signums) -> Result<Reading, SourceError> {
        let pid = match (running_pid(&self.pid_file), self.passive) {
            (Ok(pid), _) => Some(pid),
            // Passive: the dumps may come from a keepalived this host cannot see.
            (Err(SourceError::NoPidFile { .. }), true) => None,
            (Err(e), _) => return Err(e),
        };
        let dir = match (&self.dump_dir, pid) {
            (Some(d), _) => d.clone(),
            (None, Some(pid)) => dump_dir_of(pid),
            (None, None) => PathBuf::from("/tmp"),
        };
        let json = dir.join(JSON_FILE);
        let check = dir.join(CHECK_FILE);
        let deadline = Instant::now() + self.timeout;
        // Passive and nothing to wait for: say so at once rather than after the timeout.
        // Neither a pid nor a dump: keepalived is absent, not the collector broken.
        if self.passive && !json.exists() {
            return Err(match pid {
                Some(_) => SourceError::NoDump { path: json },
                None => SourceError::NoPidFile {
                    path: self.pid_file.clone(),
                },
            });
        }
        let (fresh_json, fresh_check, want_check) = match pid {
            Some(pid) if !self.passive => self.signal(pid, signums, &json, &check)?,
            _ => (None, None, check.exists()),
        };
        let (instances, dumped_at) = wait_complete(&json, fresh_json, deadline, dump::parse_json)?;
        let virtual_services = if want_check {
            wait_complete(&check, fresh_check, deadline, dump::parse_check_data)?.0
        } else {
            Vec::new()
        };
        Ok(Reading {
            state: KeepalivedState {
                instances,
                virtual_services,
            },
            dumped_at,
        })
    }

    /// Sends JSON (and DATA when keepalived runs checkers); returns what fresh means for
    /// each file and whether to wait for the check data at all.
    fn signal(
        &self,
        pid: i32,
        signums: &Signums,
        json: &Path,
        check: &Path,
    ) -> Result<(Option<Freshness>, Option<Freshness>, bool), SourceError> {
        let want_check = check.exists() || children(pid) >= 2;
        let (jb, cb) = (stamp(json), stamp(check));
        let signalled = SystemTime::now();
        send(pid, signums.get(pid, Dump::Json)?)?;
        if want_check {
            send(pid, signums.get(pid, Dump::Data)?)?;
        }
        let f = |before| Some(Freshness { before, signalled });
        Ok((f(jb), f(cb), want_check))
    }
}

/// keepalived forks one child per subsystem (VRRP, checkers, BFD): two or more children
/// means the checkers may be running.
fn children(pid: i32) -> usize {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .map(|s| s.split_whitespace().count())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_binary_that_refuses_the_dump_gets_no_signal_and_a_missing_one_the_default() {
        assert_eq!(ask_signum(Path::new("false"), Dump::Json).unwrap(), None);
        assert!(ask_signum(Path::new("/nonexistent/keepalived"), Dump::Json).is_err());
        // The real keepalived, when installed, agrees with the Linux defaults.
        if let Ok(Some(n)) = ask_signum(Path::new("keepalived"), Dump::Json) {
            assert_eq!(n, Dump::Json.fallback());
            let data = ask_signum(Path::new("keepalived"), Dump::Data).unwrap();
            assert_eq!(data, Some(Dump::Data.fallback()));
        }
    }

    #[test]
    fn only_a_changed_file_written_after_the_signal_is_fresh() {
        let t = SystemTime::now();
        let old = Stamp {
            len: 10,
            mtime: t - Duration::from_secs(30),
        };
        let f = Freshness {
            before: Some(old),
            signalled: t,
        };
        assert!(!f.accepts(old));
        assert!(f.accepts(Stamp {
            len: 10,
            mtime: t + Duration::from_millis(1)
        }));
        // A coarse kernel clock may stamp a file a tick before the signal's wall time.
        assert!(f.accepts(Stamp {
            len: 11,
            mtime: t - Duration::from_millis(4)
        }));
        assert!(!f.accepts(Stamp {
            len: 11,
            mtime: t - Duration::from_secs(2)
        }));
    }
}

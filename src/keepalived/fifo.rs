//! Following keepalived's notify FIFOs: one thread per FIFO creates it when missing, opens
//! it without ever blocking, hands over each complete line, and reopens it when keepalived
//! re-creates it (it unlinks a FIFO it created when it stops) or it disappears.
//!
//! Ownership and mode: a FIFO lvsmon creates is `mkfifo(path, 0620)` under the process
//! umask, owned by lvsmon's user and group; keepalived, as root, writes to it regardless of
//! the mode and, finding it there, neither re-creates nor removes it. lvsmon opens it
//! read-write when it may (then keepalived stopping is no end of file, and what keepalived
//! writes while lvsmon restarts waits in the pipe, up to the kernel's 64 KiB), else
//! read-only (a FIFO keepalived created, 0644 root): then an end of file means no writer,
//! and lvsmon looks again every [`IDLE`]. Parsing is `notify`'s; nothing here knows a line.

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How often an open FIFO's path is checked for having been replaced, and how long a
/// reader waits after a failed open or an end of file.
pub const IDLE: Duration = Duration::from_millis(500);
/// keepalived's lines are short; a longer one is not keepalived's and is dropped.
pub const MAX_LINE: usize = 4096;
/// The mode of a FIFO lvsmon creates (before the umask).
pub const MODE: u32 = 0o620;

/// Why a FIFO cannot be followed right now.
#[derive(Debug, thiserror::Error)]
pub enum FifoError {
    #[error("{path}: exists and is not a FIFO")]
    NotFifo { path: PathBuf },
    #[error("cannot create the FIFO {path}: {source}")]
    Create {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open the FIFO {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What a follower tells its owner.
pub trait FifoSink: Send + Sync {
    /// One complete line, without its newline.
    fn line(&self, path: &Path, line: &str);
    /// The FIFO was opened (Ok) or cannot be (Err); told on every change.
    fn status(&self, path: &Path, result: Result<(), &FifoError>);
    /// A line longer than [`MAX_LINE`] was dropped.
    fn overlong(&self, path: &Path);
}

/// A following thread; stops (within [`IDLE`]) when dropped.
#[derive(Debug)]
pub struct Follower {
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

impl Follower {
    /// Lets the thread run for the life of the process.
    pub fn detach(mut self) {
        self.handle.take();
        // Dropping `self` below must not stop the thread: give Drop a flag of its own.
        self.stop = Arc::new(AtomicBool::new(false));
    }
}

/// Starts following `path`.
pub fn follow(path: PathBuf, sink: Arc<dyn FifoSink>) -> std::io::Result<Follower> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let handle = std::thread::Builder::new()
        .name("keepalived-fifo".into())
        .spawn(move || run(&path, &*sink, &flag))?;
    Ok(Follower {
        stop,
        handle: Some(handle),
    })
}

fn run(path: &Path, sink: &dyn FifoSink, stop: &AtomicBool) {
    let mut last_ok: Option<bool> = None;
    while !stop.load(Ordering::Relaxed) {
        match open(path) {
            Ok(file) => {
                if last_ok != Some(true) {
                    sink.status(path, Ok(()));
                    last_ok = Some(true);
                }
                read(path, file, sink, stop);
            }
            Err(e) => {
                if last_ok != Some(false) {
                    sink.status(path, Err(&e));
                    last_ok = Some(false);
                }
                std::thread::sleep(IDLE);
            }
        }
    }
}

/// Creates the FIFO when the path is free, then opens it non-blocking.
pub fn open(path: &Path) -> Result<File, FifoError> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_fifo() => {}
        Ok(_) => return Err(FifoError::NotFifo { path: path.into() }),
        Err(e) if e.kind() == ErrorKind::NotFound => mkfifo(path)?,
        Err(source) => {
            return Err(FifoError::Open {
                path: path.into(),
                source,
            })
        }
    }
    let flags = libc::O_NONBLOCK | libc::O_NOFOLLOW;
    let rw = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(flags)
        .open(path);
    match rw {
        Ok(f) => Ok(f),
        Err(e) if e.kind() == ErrorKind::PermissionDenied => std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(flags)
            .open(path),
        Err(e) => Err(e),
    }
    .map_err(|source| FifoError::Open {
        path: path.into(),
        source,
    })
}

fn mkfifo(path: &Path) -> Result<(), FifoError> {
    use std::os::unix::ffi::OsStrExt;
    let create = |source| FifoError::Create {
        path: path.into(),
        source,
    };
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| create(std::io::Error::from(ErrorKind::InvalidInput)))?;
    // SAFETY: a valid NUL-terminated path; mkfifo only creates a file system entry.
    if unsafe { libc::mkfifo(c.as_ptr(), MODE as libc::mode_t) } != 0 {
        let e = std::io::Error::last_os_error();
        // keepalived made it first: fine, it is a FIFO or the next look says not.
        if e.kind() != ErrorKind::AlreadyExists {
            return Err(create(e));
        }
    }
    Ok(())
}

/// Whether `path` still names the FIFO `file` has open.
fn same(path: &Path, file: &File) -> bool {
    match (std::fs::metadata(path), file.metadata()) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Splits bytes into lines, dropping (once each) lines longer than [`MAX_LINE`].
#[derive(Default)]
struct Lines {
    pending: Vec<u8>,
    skipping: bool,
}

impl Lines {
    fn feed(&mut self, bytes: &[u8], path: &Path, sink: &dyn FifoSink) {
        for part in bytes.split_inclusive(|b| *b == b'\n') {
            let (body, complete) = match part.strip_suffix(b"\n") {
                Some(b) => (b, true),
                None => (part, false),
            };
            if !self.skipping {
                self.pending.extend_from_slice(body);
            }
            if self.pending.len() > MAX_LINE {
                self.pending.clear();
                if !self.skipping {
                    sink.overlong(path);
                }
                self.skipping = true;
            }
            if complete {
                if !self.skipping {
                    sink.line(path, &String::from_utf8_lossy(&self.pending));
                }
                self.pending.clear();
                self.skipping = false;
            }
        }
    }
}

/// Reads lines until the path names another file (or none) or `stop` is set; what the old
/// FIFO still holds is read before it is let go.
fn read(path: &Path, mut file: File, sink: &dyn FifoSink, stop: &AtomicBool) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut lines = Lines::default();
    let mut looked = std::time::Instant::now();
    let mut leaving = false;
    while !stop.load(Ordering::Relaxed) {
        // Looked at every IDLE, busy or not: a busy old FIFO must not hide a new one.
        if !leaving && looked.elapsed() >= IDLE {
            leaving = !same(path, &file);
            looked = std::time::Instant::now();
        }
        let wait = if leaving {
            0
        } else {
            IDLE.as_millis() as libc::c_int
        };
        let mut pfd = libc::pollfd {
            fd: file.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd for the duration of the call.
        let n = unsafe { libc::poll(&mut pfd, 1, wait) };
        if n <= 0 || pfd.revents & (libc::POLLIN | libc::POLLHUP) == 0 {
            if leaving {
                return;
            }
            continue;
        }
        match file.read(&mut buf) {
            Ok(0) if leaving => return,
            Ok(0) => {
                // Read-only and no writer: wait for one (or for a new FIFO).
                std::thread::sleep(IDLE);
            }
            Ok(n) => lines.feed(&buf[..n], path, sink),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                if leaving {
                    return;
                }
            }
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::Mutex;
    use std::time::Instant;

    #[derive(Default)]
    struct Got {
        lines: Mutex<Vec<String>>,
        opened: Mutex<u32>,
        overlong: Mutex<u32>,
    }

    impl FifoSink for Got {
        fn line(&self, _: &Path, line: &str) {
            self.lines.lock().unwrap().push(line.into());
        }
        fn status(&self, _: &Path, r: Result<(), &FifoError>) {
            if r.is_ok() {
                *self.opened.lock().unwrap() += 1;
            }
        }
        fn overlong(&self, _: &Path) {
            *self.overlong.lock().unwrap() += 1;
        }
    }

    fn wait(what: impl Fn() -> bool) {
        let t0 = Instant::now();
        while !what() {
            assert!(t0.elapsed() < Duration::from_secs(10), "timed out");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// keepalived's way of writing: open read-write, non-blocking, write whole lines.
    fn writer(path: &Path) -> File {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
            .unwrap()
    }

    #[test]
    fn creates_reads_and_follows_a_recreated_fifo() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.fifo");
        let got = Arc::new(Got::default());
        let f = follow(path.clone(), got.clone()).unwrap();
        wait(|| *got.opened.lock().unwrap() == 1);
        let m = std::fs::symlink_metadata(&path).unwrap();
        assert!(m.file_type().is_fifo());
        let mut w = writer(&path);
        w.write_all(b"INSTANCE \"VI_1\" BACKUP 100\nINSTANCE \"VI_1\" MAS")
            .unwrap();
        w.write_all(b"TER 100\n").unwrap();
        let long = vec![b'x'; MAX_LINE * 3];
        w.write_all(&long).unwrap();
        w.write_all(b"\nVS FWM 5 UP\n").unwrap();
        wait(|| got.lines.lock().unwrap().len() == 3);
        drop(w);
        // keepalived stops (unlinks the FIFO it made) and starts again (makes a new one).
        std::fs::remove_file(&path).unwrap();
        // SAFETY: a valid path; as keepalived does.
        let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        let mut w = writer(&path);
        // Written before lvsmon has reopened: it waits in the pipe.
        w.write_all(b"RS [10.2.0.11]:tcp:80 [10.1.0.100]:tcp:80 DOWN\n")
            .unwrap();
        wait(|| got.lines.lock().unwrap().len() == 4);
        drop(f);
        assert_eq!(
            *got.lines.lock().unwrap(),
            [
                "INSTANCE \"VI_1\" BACKUP 100",
                "INSTANCE \"VI_1\" MASTER 100",
                "VS FWM 5 UP",
                "RS [10.2.0.11]:tcp:80 [10.1.0.100]:tcp:80 DOWN"
            ]
        );
        assert_eq!(*got.overlong.lock().unwrap(), 1);
        assert!(*got.opened.lock().unwrap() >= 1);
    }

    #[test]
    fn a_regular_file_is_never_read_as_a_fifo() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plain");
        std::fs::write(&path, "INSTANCE \"VI_1\" MASTER 100\n").unwrap();
        assert!(matches!(open(&path), Err(FifoError::NotFifo { .. })));
        let missing = dir.path().join("no/such/dir/k.fifo");
        assert!(matches!(open(&missing), Err(FifoError::Create { .. })));
    }
}

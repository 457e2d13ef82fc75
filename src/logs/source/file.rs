//! Following a log file across rotations, losing nothing and reading nothing twice.
//!
//! A file is identified by (device, inode) and a fingerprint (a hash of its first bytes).
//! Rotations handled:
//! - rename + create (logrotate's default): the old file is drained to its end through the
//!   descriptor still open, then the new one is read from its start;
//! - delete + recreate: the same (the open descriptor keeps the deleted file readable);
//! - copytruncate: the same inode becomes shorter than the offset, or its first bytes
//!   change: read again from the start. Lines written between the last read and the
//!   truncation are in the copy only: no tailer can recover them (see README).
//!
//! A file seen for the first time is read from its end (unless `--log.from-beginning`); a
//! file that appears later, or replaces a rotated one, is read from its start. With a state
//! dir, the offset is saved atomically and a restart resumes there; if the file was rotated
//! while lvsmon was down, the rotated file is found in the same directory by its inode and
//! drained first.
//!
//! notify (inotify) only wakes the loop early; a stat poll every `poll` runs regardless, so
//! a filesystem without inotify events (NFS, some overlays) still works.

use super::{fnv1a, Pipeline, StateStore, Stop};
use crate::health::OnceLog;
use crate::lines::Splitter;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Bytes hashed into a fingerprint.
const FP_BYTES: usize = 256;

#[derive(Debug, Clone)]
pub struct FileOptions {
    pub from_beginning: bool,
    pub max_line: usize,
    /// The stat-poll interval (and the longest wait for a notify wake-up).
    pub poll: Duration,
}

impl Default for FileOptions {
    fn default() -> FileOptions {
        FileOptions {
            from_beginning: false,
            max_line: 64 * 1024,
            poll: Duration::from_millis(250),
        }
    }
}

/// What is saved in the state dir for one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Saved {
    dev: u64,
    ino: u64,
    offset: u64,
    fp_len: usize,
    fp: u64,
}

struct Open {
    file: File,
    dev: u64,
    ino: u64,
    /// Bytes read so far (the splitter may hold the last, incomplete, ones).
    offset: u64,
    fp_len: usize,
    fp: u64,
}

/// Follows one path.
pub struct Tailer {
    path: PathBuf,
    pipeline: Pipeline,
    split: Splitter,
    cur: Option<Open>,
    store: Option<StateStore>,
    opts: FileOptions,
    started: bool,
    last_save: Option<Instant>,
    saved: Option<Saved>,
    /// A persisting error is logged once, its recovery once.
    log: OnceLog,
    buf: Vec<u8>,
}

impl Tailer {
    pub fn new(
        path: &Path,
        pipeline: Pipeline,
        store: Option<StateStore>,
        opts: FileOptions,
    ) -> Tailer {
        Tailer {
            path: path.to_path_buf(),
            split: Splitter::new(opts.max_line),
            pipeline,
            cur: None,
            store,
            opts,
            started: false,
            last_save: None,
            saved: None,
            log: OnceLog::default(),
            buf: vec![0; 1 << 16],
        }
    }

    /// One round: read what is new and handle a rotation. Returns whether bytes were read.
    pub fn poll(&mut self) -> bool {
        if !self.started {
            self.started = true;
            self.resume();
        }
        let mut progressed = false;
        match std::fs::metadata(&self.path) {
            Err(e) => {
                // Renamed or deleted and not yet replaced: keep reading what we hold.
                progressed |= self.drain();
                if self.cur.is_none() {
                    self.down(&format!("cannot stat {}: {e}", self.path.display()));
                }
            }
            Ok(meta) => {
                let same = self
                    .cur
                    .as_ref()
                    .is_some_and(|c| (c.dev, c.ino) == (meta.dev(), meta.ino()));
                if self.cur.is_some() && !same {
                    // Replaced: finish the old file through our descriptor, then switch.
                    progressed |= self.drain();
                    self.split.finish(&mut |l, cut| self.pipeline.line(l, cut));
                    let kind = match self.cur.as_ref().map(|c| c.file.metadata()) {
                        Some(Ok(m)) if m.nlink() == 0 => "delete",
                        _ => "rename",
                    };
                    self.pipeline.stats().rotation(self.pipeline.source(), kind);
                    self.cur = None;
                } else if self.truncated(meta.len()) {
                    // Checked before reading: bytes past our offset now belong to the new
                    // start and must not be read as the old file's continuation.
                    self.pipeline
                        .stats()
                        .rotation(self.pipeline.source(), "truncate");
                    self.split.reset();
                    self.cur = None;
                }
                if self.cur.is_none() {
                    self.open_at(0);
                }
                progressed |= self.drain();
            }
        }
        if progressed {
            self.save(false);
        }
        progressed
    }

    /// Whether the open file was truncated in place (copytruncate): shorter than what was
    /// read, or its first bytes are no longer those fingerprinted.
    fn truncated(&mut self, len: u64) -> bool {
        let Some(c) = self.cur.as_mut() else {
            return false;
        };
        if len < c.offset {
            return true;
        }
        match fingerprint(&mut c.file, c.fp_len) {
            Some((_, fp)) if fp != c.fp => true,
            _ => {
                if c.fp_len < FP_BYTES && len as usize > c.fp_len {
                    if let Some((n, fp)) = fingerprint(&mut c.file, FP_BYTES) {
                        (c.fp_len, c.fp) = (n, fp);
                    }
                }
                false
            }
        }
    }

    /// Opens the path and positions at `offset` (clamped to the file's length).
    fn open_at(&mut self, offset: u64) -> bool {
        let opened = File::open(&self.path).and_then(|mut f| {
            let meta = f.metadata()?;
            let (fp_len, fp) = fingerprint(&mut f, FP_BYTES).unwrap_or((0, fnv1a(b"")));
            let offset = offset.min(meta.len());
            f.seek(SeekFrom::Start(offset))?;
            Ok(Open {
                file: f,
                dev: meta.dev(),
                ino: meta.ino(),
                offset,
                fp_len,
                fp,
            })
        });
        match opened {
            Ok(o) => {
                self.cur = Some(o);
                self.up();
                true
            }
            Err(e) => {
                self.down(&format!("cannot open {}: {e}", self.path.display()));
                false
            }
        }
    }

    /// Reads the open file to its end.
    fn drain(&mut self) -> bool {
        let Some(c) = self.cur.as_mut() else {
            return false;
        };
        let mut any = false;
        let mut failed = None;
        loop {
            match c.file.read(&mut self.buf) {
                Ok(0) => break,
                Ok(n) => {
                    any = true;
                    c.offset += n as u64;
                    let pipeline = &mut self.pipeline;
                    self.split
                        .feed(&self.buf[..n], &mut |l, cut| pipeline.line(l, cut));
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    failed = Some(format!("cannot read {}: {e}", self.path.display()));
                    break;
                }
            }
        }
        if let Some(msg) = failed {
            self.down(&msg);
        }
        any
    }

    /// The first open: resume from the state dir, else start at the end (or beginning).
    fn resume(&mut self) {
        let saved = self
            .store
            .as_ref()
            .and_then(|s| s.load(&self.key()))
            .and_then(|t| serde_json::from_str::<Saved>(&t).ok());
        let Some(saved) = saved else {
            let from = if self.opts.from_beginning {
                0
            } else {
                u64::MAX
            };
            if std::fs::metadata(&self.path).is_ok() {
                self.open_at(from);
            }
            return;
        };
        self.saved = Some(saved);
        if self.open_at(saved.offset) {
            let same = self.cur.as_mut().is_some_and(|c| {
                (c.dev, c.ino) == (saved.dev, saved.ino)
                    && c.offset == saved.offset
                    && fingerprint(&mut c.file, saved.fp_len).map(|x| x.1) == Some(saved.fp)
            });
            if same {
                return;
            }
            // Rotated while we were down: the old file may still be beside it.
            self.drain_rotated(&saved);
            self.open_at(0);
        } else {
            self.drain_rotated(&saved);
        }
    }

    /// Finds the file that was (dev, ino) in the same directory and reads it from the saved
    /// offset to its end.
    fn drain_rotated(&mut self, saved: &Saved) {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let Ok(meta) = e.metadata() else { continue };
            if (meta.dev(), meta.ino()) != (saved.dev, saved.ino)
                || !meta.is_file()
                || e.path() == self.path
            {
                continue;
            }
            let Ok(mut f) = File::open(e.path()) else {
                continue;
            };
            if fingerprint(&mut f, saved.fp_len).map(|x| x.1) != Some(saved.fp)
                || f.seek(SeekFrom::Start(saved.offset)).is_err()
            {
                continue;
            }
            let mut split = Splitter::new(self.opts.max_line);
            let pipeline = &mut self.pipeline;
            while let Ok(n) = f.read(&mut self.buf) {
                if n == 0 {
                    break;
                }
                split.feed(&self.buf[..n], &mut |l, cut| pipeline.line(l, cut));
            }
            split.finish(&mut |l, cut| pipeline.line(l, cut));
            self.pipeline
                .stats()
                .rotation(self.pipeline.source(), "rename");
            return;
        }
    }

    fn key(&self) -> String {
        format!("file:{}", self.path.display())
    }

    /// Saves the position (at most once a second unless `force`).
    pub fn save(&mut self, force: bool) {
        let Some(store) = &self.store else { return };
        let Some(c) = &self.cur else { return };
        if !force
            && self
                .last_save
                .is_some_and(|t| t.elapsed() < Duration::from_secs(1))
        {
            return;
        }
        let s = Saved {
            dev: c.dev,
            ino: c.ino,
            offset: c.offset - self.split.pending() as u64,
            fp_len: c.fp_len,
            fp: c.fp,
        };
        if self.saved == Some(s) {
            return;
        }
        let json = serde_json::to_string(&s).unwrap_or_default();
        match store.save(&self.key(), &json) {
            Ok(()) => {
                self.saved = Some(s);
                self.last_save = Some(Instant::now());
            }
            Err(e) => tracing::warn!("{e}"),
        }
    }

    fn up(&mut self) {
        self.pipeline.stats().set_up(self.pipeline.source(), true);
        self.log.ok(
            "log file",
            &format!("{} readable again", self.path.display()),
        );
    }

    fn down(&mut self, msg: &str) {
        self.pipeline.stats().set_up(self.pipeline.source(), false);
        self.log.failed("log file", msg);
    }
}

/// (bytes hashed, hash) of the first `n` bytes; the read position is restored.
fn fingerprint(f: &mut File, n: usize) -> Option<(usize, u64)> {
    use std::os::unix::fs::FileExt;
    let mut buf = vec![0u8; n];
    let mut got = 0;
    while got < n {
        match f.read_at(&mut buf[got..], got as u64) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return None,
        }
    }
    Some((got, fnv1a(&buf[..got])))
}

/// Expands a `--log.file` argument: a path, or a glob (`*`, `?`) in its last component.
pub fn expand(pattern: &Path) -> Vec<PathBuf> {
    let name = pattern
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !name.contains(['*', '?']) {
        return vec![pattern.to_path_buf()];
    }
    let dir = pattern
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| wildcard(name.as_bytes(), e.file_name().as_encoded_bytes()))
        .map(|e| e.path())
        .collect();
    out.sort();
    out
}

/// `*` and `?` matching.
fn wildcard(p: &[u8], s: &[u8]) -> bool {
    match (p.first(), s.first()) {
        (None, None) => true,
        (Some(b'*'), _) => wildcard(&p[1..], s) || (!s.is_empty() && wildcard(p, &s[1..])),
        (Some(b'?'), Some(_)) => wildcard(&p[1..], &s[1..]),
        (Some(a), Some(b)) if a == b => wildcard(&p[1..], &s[1..]),
        _ => false,
    }
}

/// Follows every file matching `pattern` until `stop`: the body of a source thread.
pub fn run(pattern: PathBuf, make: impl Fn(&Path) -> Tailer, opts: FileOptions, stop: Stop) {
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let _watcher = watch(&pattern, tx);
    let mut tailers: Vec<Tailer> = Vec::new();
    let mut last_scan: Option<Instant> = None;
    while !stop.stopped() {
        if last_scan.is_none_or(|t| t.elapsed() > Duration::from_secs(5)) {
            last_scan = Some(Instant::now());
            for p in expand(&pattern) {
                if !tailers.iter().any(|t| t.path == p) {
                    tailers.push(make(&p));
                }
            }
        }
        let mut progressed = false;
        for t in &mut tailers {
            progressed |= t.poll();
        }
        if !progressed {
            let _ = rx.recv_timeout(opts.poll);
            while rx.try_recv().is_ok() {}
            for t in &mut tailers {
                t.pipeline.tick();
            }
        }
    }
    for t in &mut tailers {
        t.poll();
        t.save(true);
    }
}

/// An inotify watch on the file's directory that wakes the loop; `None` (stat polling only)
/// when it cannot be set up.
fn watch(pattern: &Path, tx: std::sync::mpsc::Sender<()>) -> Option<notify::RecommendedWatcher> {
    use notify::Watcher;
    let dir = pattern
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut w = notify::recommended_watcher(move |_res: notify::Result<notify::Event>| {
        let _ = tx.send(());
    })
    .map_err(|e| tracing::info!("no inotify for {}: polling ({e})", dir.display()))
    .ok()?;
    w.watch(dir, notify::RecursiveMode::NonRecursive)
        .map_err(|e| tracing::info!("cannot watch {}: polling ({e})", dir.display()))
        .ok()?;
    Some(w)
}

#[cfg(test)]
mod tests;

//! Small records lvsmon keeps across restarts in `--log.state-dir` (log positions, the
//! journal cursor, the kernel ring's sequence, keepalived's notify lines, open incidents):
//! one file per key, written atomically (temporary file, fsync, rename) so a crash leaves
//! the old record or the new one, never a torn one.

use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot write state file {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Small named records in `--log.state-dir`.
#[derive(Debug, Clone)]
pub struct StateStore {
    dir: PathBuf,
}

impl StateStore {
    pub fn new(dir: &Path) -> StateStore {
        StateStore {
            dir: dir.to_path_buf(),
        }
    }

    /// The file holding `key` (a source name; hashed so any path makes a file name).
    fn path(&self, key: &str) -> PathBuf {
        self.dir
            .join(format!("{:016x}.state", fnv1a(key.as_bytes())))
    }

    pub fn load(&self, key: &str) -> Option<String> {
        std::fs::read_to_string(self.path(key)).ok()
    }

    /// Writes atomically: a reader (or a restart after a crash) sees the old or the new
    /// record, never a torn one.
    pub fn save(&self, key: &str, value: &str) -> Result<(), StateError> {
        let path = self.path(key);
        let tmp = path.with_extension("tmp");
        let err = |source| StateError::Write {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(&self.dir).map_err(err)?;
        let mut f = std::fs::File::create(&tmp).map_err(err)?;
        f.write_all(value.as_bytes()).map_err(err)?;
        f.sync_all().map_err(err)?;
        std::fs::rename(&tmp, &path).map_err(err)
    }
}

/// FNV-1a, 64 bits: file-name hashing and content fingerprints (not security).
pub fn fnv1a(data: &[u8]) -> u64 {
    let mut h = Fnv1a::default();
    h.write(data);
    h.finish()
}

/// [`fnv1a`] over several pieces, without joining them first.
#[derive(Debug, Clone, Copy)]
pub struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Fnv1a {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv1a {
    pub fn write(&mut self, data: &[u8]) {
        for &b in data {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    pub fn finish(self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_is_saved_atomically_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let s = StateStore::new(&dir.path().join("sub"));
        assert_eq!(s.load("/var/log/syslog"), None);
        s.save("/var/log/syslog", "one").unwrap();
        s.save("/var/log/syslog", "two").unwrap();
        assert_eq!(s.load("/var/log/syslog").as_deref(), Some("two"));
        let names: Vec<_> = std::fs::read_dir(dir.path().join("sub")).unwrap().collect();
        assert_eq!(names.len(), 1, "no temporary file left behind");
    }
}

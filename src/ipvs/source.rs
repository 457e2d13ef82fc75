//! Where `/proc/net/ip_vs*` files come from: a procfs root on disk (the real `/proc`, or a
//! captured tree replayed with `--path.procfs`), or a capture compiled into the binary for
//! `--demo`. Readers ask for files by their path below the root (`net/ip_vs`).

use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::path::{Path, PathBuf};

/// An embedded file: its path below the procfs root and its bytes.
pub type EmbeddedFile = (&'static str, &'static [u8]);

#[derive(Debug, Clone)]
pub enum ProcSource {
    Dir(PathBuf),
    Embedded {
        label: &'static str,
        files: &'static [EmbeddedFile],
    },
}

/// Files larger than this are refused rather than read into memory: `/proc/net/ip_vs` of a
/// director with 100k destinations is about 6 MB, so this leaves a wide margin.
pub const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

impl ProcSource {
    /// The path a reader should name in errors and logs.
    pub fn display_path(&self, rel: &str) -> PathBuf {
        match self {
            ProcSource::Dir(root) => root.join(rel),
            ProcSource::Embedded { label, .. } => Path::new(label).join(rel),
        }
    }

    /// Reads a whole (small) file.
    pub fn read(&self, rel: &str) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        self.open(rel)?
            .take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut out)?;
        if out.len() as u64 > MAX_FILE_BYTES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("file larger than {MAX_FILE_BYTES} bytes"),
            ));
        }
        Ok(out)
    }

    /// Opens a file for streaming.
    pub fn open(&self, rel: &str) -> io::Result<Box<dyn BufRead + Send>> {
        match self {
            ProcSource::Dir(root) => {
                let file = File::open(root.join(rel))?;
                Ok(Box::new(BufReader::with_capacity(64 * 1024, file)))
            }
            ProcSource::Embedded { files, .. } => files
                .iter()
                .find(|(name, _)| *name == rel)
                .map(|(_, bytes)| Box::new(Cursor::new(*bytes)) as Box<dyn BufRead + Send>)
                .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "not in the demo capture")),
        }
    }
}

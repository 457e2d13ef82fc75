//! Bridges `fmt::Write` (what the metric encoders write to) and `io::Write` (stdout, files),
//! keeping the real I/O error that `fmt::Error` cannot carry.

use std::fmt;
use std::io;

pub struct IoWriter<'a, W: io::Write + ?Sized> {
    inner: &'a mut W,
    error: Option<io::Error>,
}

impl<'a, W: io::Write + ?Sized> IoWriter<'a, W> {
    pub fn new(inner: &'a mut W) -> Self {
        IoWriter { inner, error: None }
    }

    /// The I/O error behind a failed write (or a generic one if encoding itself failed).
    pub fn error(&mut self) -> io::Error {
        self.error
            .take()
            .unwrap_or_else(|| io::Error::other("encoding failed"))
    }
}

impl<W: io::Write + ?Sized> fmt::Write for IoWriter<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.inner.write_all(s.as_bytes()).map_err(|e| {
            self.error = Some(e);
            fmt::Error
        })
    }
}

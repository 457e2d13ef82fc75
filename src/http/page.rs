//! The metrics page as the server hands it out: encoded whole into memory (compressed when
//! the client accepts it) on a blocking thread, then written to the client with nothing
//! held but the bytes. Encoding never waits on a client, so a slow reader costs its
//! connection and a share of one page, not a thread or a lock.
//!
//! Concurrent scrapes of the same format and encoding share a page: a request takes the
//! newest page whose encoding began after the request arrived, or encodes one itself. So
//! fifty scrapers cost one or two encodings, and every answer is as fresh as if it had
//! been encoded for that request alone. At most `max_requests` scrapes wait or encode at
//! once; one beyond that waits up to `wait` for a place, then gets 503.

use crate::metrics::{Exporter, Format};
use bytes::Bytes;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::{Mutex, Semaphore};
use tokio::time::Instant;

/// A content coding the server can answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Identity,
    Gzip,
    Zstd,
}

/// gzip level, chosen by measurement (docs/benchmarks.md, "Compression"): level 1 costs a
/// fraction of the encoding itself and the page is already 15–20× smaller; higher levels
/// win a few percent of bytes for several times the CPU.
pub const GZIP_LEVEL: u32 = 1;
/// zstd level: 1 is about as fast as gzip 1 and smaller.
pub const ZSTD_LEVEL: i32 = 1;

impl Encoding {
    /// The `Content-Encoding` value, `None` for identity.
    pub fn header(self) -> Option<&'static str> {
        match self {
            Encoding::Identity => None,
            Encoding::Gzip => Some("gzip"),
            Encoding::Zstd => Some("zstd"),
        }
    }

    /// Picks from `Accept-Encoding`: zstd when accepted (smaller and cheaper than gzip at
    /// the levels used), else gzip, else identity. A coding with `q=0` is refused.
    pub fn negotiate(accept: Option<&str>) -> Encoding {
        let Some(accept) = accept else {
            return Encoding::Identity;
        };
        let mut gzip = false;
        let mut zstd = false;
        for item in accept.split(',') {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let refused = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            if refused {
                continue;
            }
            match name.as_str() {
                "gzip" | "x-gzip" => gzip = true,
                "zstd" => zstd = true,
                "*" => gzip = true,
                _ => {}
            }
        }
        if zstd {
            Encoding::Zstd
        } else if gzip {
            Encoding::Gzip
        } else {
            Encoding::Identity
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Encodes the page whole, compressed as asked.
pub fn encode(exporter: &Exporter, format: Format, encoding: Encoding) -> std::io::Result<Vec<u8>> {
    // The encoders write many small pieces: a buffer in front of the compressor keeps its
    // per-call cost out of the way.
    const BUF: usize = 64 * 1024;
    fn into<W: Write>(exporter: &Exporter, format: Format, out: W) -> std::io::Result<W> {
        let mut buf = std::io::BufWriter::with_capacity(BUF, out);
        let mut w = crate::fmtio::IoWriter::new(&mut buf);
        exporter.encode(format, &mut w).map_err(|_| w.error())?;
        buf.into_inner().map_err(|e| e.into_error())
    }
    match encoding {
        Encoding::Identity => {
            let mut s = String::with_capacity(BUF);
            exporter
                .encode(format, &mut s)
                .map_err(|_| std::io::Error::other("a collector failed to encode"))?;
            Ok(s.into_bytes())
        }
        Encoding::Gzip => {
            let gz =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(GZIP_LEVEL));
            into(exporter, format, gz)?.finish()
        }
        Encoding::Zstd => {
            let z = zstd::stream::write::Encoder::new(Vec::new(), ZSTD_LEVEL)?;
            into(exporter, format, z)?.finish()
        }
    }
}

/// A page's bytes, shared by every response that carries it.
#[derive(Debug)]
struct Shared(Arc<Vec<u8>>);

impl AsRef<[u8]> for Shared {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// The last page of one format and encoding. It is held strongly only while requests
/// queue for it (they will take it), weakly otherwise: an idle server keeps no page.
#[derive(Debug, Default)]
struct Slot {
    /// When the last page began encoding.
    began: Option<Instant>,
    strong: Option<Arc<Vec<u8>>>,
    weak: Weak<Vec<u8>>,
}

impl Slot {
    fn page_since(&self, arrived: Instant) -> Option<Arc<Vec<u8>>> {
        if self.began? < arrived {
            return None;
        }
        self.strong.clone().or_else(|| self.weak.upgrade())
    }
}

/// Why no page came.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error("too many scrapes at once (--web.max-requests)")]
    Busy,
    #[error("encoding failed: {0}")]
    Encode(#[from] std::io::Error),
}

/// The pages of one exporter, one slot per format and encoding.
#[derive(Debug)]
pub struct Pages {
    slots: [Mutex<Slot>; 6],
    /// Requests queued on each slot's lock.
    queued: [AtomicUsize; 6],
    places: Semaphore,
    wait: Duration,
}

impl Pages {
    pub fn new(max_requests: usize, wait: Duration) -> Pages {
        Pages {
            slots: Default::default(),
            queued: Default::default(),
            places: Semaphore::new(max_requests.max(1)),
            wait,
        }
    }

    /// A page encoded after `arrived`, shared with concurrent requests for the same one.
    pub async fn get(
        &self,
        site: Arc<super::Site>,
        format: Format,
        encoding: Encoding,
        arrived: Instant,
    ) -> Result<Bytes, PageError> {
        let _place = tokio::time::timeout(self.wait, self.places.acquire())
            .await
            .map_err(|_| PageError::Busy)?
            .map_err(|_| PageError::Busy)?;
        let i = encoding.index() * 2 + usize::from(format == Format::OpenMetrics);
        self.queued[i].fetch_add(1, Ordering::SeqCst);
        let mut slot = self.slots[i].lock().await;
        let others = self.queued[i].fetch_sub(1, Ordering::SeqCst) - 1;
        let page = match slot.page_since(arrived) {
            Some(page) => page,
            None => {
                let began = Instant::now();
                let page = tokio::task::spawn_blocking(move || {
                    site.stats.page_encoded();
                    encode(&site.exporter, format, encoding)
                })
                .await
                .map_err(|e| std::io::Error::other(e.to_string()))??;
                let page = Arc::new(page);
                slot.began = Some(began);
                slot.weak = Arc::downgrade(&page);
                slot.strong = Some(page.clone());
                page
            }
        };
        if others == 0 {
            // Nobody queued behind: let the page go with the last response that holds it.
            slot.strong = None;
        }
        Ok(Bytes::from_owner(Shared(page)))
    }
}

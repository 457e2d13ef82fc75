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

/// gzip level, chosen by measurement on the L page (docs/benchmarks.md, "Compression"):
/// level 1 makes it 9.3× smaller for 116 ms; level 2 saves 14% more bytes for 1.8× the
/// CPU, level 6 27% for 9×. The director's CPU is what a scrape costs its owner.
pub const GZIP_LEVEL: u32 = 1;
/// zstd level: 3 makes the same page 15× smaller in 87 ms, cheaper and smaller than any
/// gzip level, so zstd wins when a client accepts both.
pub const ZSTD_LEVEL: i32 = 3;

impl Encoding {
    /// The `Content-Encoding` value, `None` for identity.
    pub fn header(self) -> Option<&'static str> {
        match self {
            Encoding::Identity => None,
            Encoding::Gzip => Some("gzip"),
            Encoding::Zstd => Some("zstd"),
        }
    }

    /// Picks from `Accept-Encoding` by quality; on a tie zstd (smaller and cheaper than
    /// gzip at the levels used), then gzip. `q=0` refuses a coding; no header means
    /// identity.
    pub fn negotiate(accept: Option<&str>) -> Encoding {
        let Some(accept) = accept else {
            return Encoding::Identity;
        };
        let mut best = (0.0f32, Encoding::Identity);
        for item in accept.split(',') {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q=").map(|q| q.trim().parse::<f32>()))
                .unwrap_or(Ok(1.0))
                .unwrap_or(0.0);
            let coding = match name.as_str() {
                "zstd" => Encoding::Zstd,
                "gzip" | "x-gzip" | "*" => Encoding::Gzip,
                _ => continue,
            };
            let rank = |e: Encoding| if e == Encoding::Zstd { 2 } else { 1 };
            if q > 0.0 && (q > best.0 || (q == best.0 && rank(coding) > rank(best.1))) {
                best = (q, coding);
            }
        }
        best.1
    }

    /// Its position in `metrics::http::ENCODINGS`.
    pub fn index(self) -> usize {
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
                    site.stats.page_encoded(encoding.index());
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

#[cfg(test)]
mod tests {
    use super::Encoding::{self, *};

    #[test]
    fn negotiation_follows_quality_then_prefers_zstd() {
        let n = |h: &str| Encoding::negotiate(Some(h));
        assert_eq!(Encoding::negotiate(None), Identity);
        assert_eq!(n("gzip"), Gzip);
        assert_eq!(n("gzip, deflate, br"), Gzip);
        assert_eq!(n("gzip, zstd"), Zstd);
        assert_eq!(n("zstd;q=0.1, gzip"), Gzip);
        assert_eq!(n("gzip;q=0, identity"), Identity);
        assert_eq!(n("GZIP;q=0.5"), Gzip);
        assert_eq!(n("*"), Gzip);
        assert_eq!(n("br, deflate"), Identity);
        assert_eq!(n("gzip;q=garbage"), Identity);
        assert_eq!(n(";;,,;q="), Identity);
    }
}

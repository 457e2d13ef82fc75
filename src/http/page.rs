//! The metrics page as the server hands it out: encoded whole into memory, always
//! compressed, on a blocking thread, then written to the client with nothing held but the
//! bytes. Encoding never waits on a client, so a slow reader costs its connection and a
//! share of one compressed page, not a thread or a lock. A client that takes the page
//! uncompressed gets it inflated chunk by chunk as it reads (`Inflating`): the 67 MB page
//! of a 100,000-backend director is held as 5 MB.
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
/// How an uncompressed page is kept until its readers have it: zstd 1, the cheapest
/// (75 ms for the L page, 12.6× smaller; it inflates at several hundred MB/s).
const AT_REST_LEVEL: i32 = 1;
/// Bytes inflated per chunk of an uncompressed answer.
const CHUNK: usize = 64 * 1024;

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

/// Encodes the page whole, compressed as asked; an identity page is kept zstd-compressed
/// (see [`Inflating`]). Returns the bytes and the page's size uncompressed.
pub fn encode(exporter: &Exporter, format: Format, encoding: Encoding) -> std::io::Result<Stored> {
    // The encoders write many small pieces: a buffer in front of the compressor keeps its
    // per-call cost out of the way.
    const BUF: usize = 64 * 1024;
    /// Counts what goes through: the page's size uncompressed.
    struct Counted<W> {
        inner: W,
        n: u64,
    }
    impl<W: Write> Write for Counted<W> {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            let n = self.inner.write(b)?;
            self.n += n as u64;
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            self.inner.flush()
        }
    }
    fn into<W: Write>(exporter: &Exporter, format: Format, out: W) -> std::io::Result<(W, u64)> {
        let counted = Counted { inner: out, n: 0 };
        let mut buf = std::io::BufWriter::with_capacity(BUF, counted);
        let mut w = crate::fmtio::IoWriter::new(&mut buf);
        exporter.encode(format, &mut w).map_err(|_| w.error())?;
        let c = buf.into_inner().map_err(|e| e.into_error())?;
        Ok((c.inner, c.n))
    }
    let (data, plain_len) = match encoding {
        Encoding::Gzip => {
            let gz =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(GZIP_LEVEL));
            let (gz, n) = into(exporter, format, gz)?;
            (gz.finish()?, n)
        }
        Encoding::Zstd | Encoding::Identity => {
            let level = if encoding == Encoding::Zstd {
                ZSTD_LEVEL
            } else {
                AT_REST_LEVEL
            };
            let z = zstd::stream::write::Encoder::new(Vec::new(), level)?;
            let (z, n) = into(exporter, format, z)?;
            (z.finish()?, n)
        }
    };
    Ok(Stored { data, plain_len })
}

/// A page as kept in memory: compressed, and its size uncompressed.
#[derive(Debug)]
pub struct Stored {
    pub data: Vec<u8>,
    pub plain_len: u64,
}

/// An identity answer inflated from its zstd-compressed page as the client reads.
pub struct Inflating {
    decoder: zstd::stream::read::Decoder<'static, std::io::Cursor<Bytes>>,
    left: u64,
}

impl Inflating {
    pub fn new(page: Bytes, plain_len: u64) -> std::io::Result<Inflating> {
        Ok(Inflating {
            decoder: zstd::stream::read::Decoder::with_buffer(std::io::Cursor::new(page))?,
            left: plain_len,
        })
    }
}

impl hyper::body::Body for Inflating {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        use std::io::Read;
        let want = usize::try_from(self.left).unwrap_or(CHUNK).min(CHUNK);
        if want == 0 {
            return std::task::Poll::Ready(None);
        }
        let mut chunk = vec![0u8; want];
        let mut got = 0;
        while got < want {
            match self.decoder.read(&mut chunk[got..]) {
                Ok(0) | Err(_) => break,
                Ok(n) => got += n,
            }
        }
        if got == 0 {
            // Cannot happen with a page this module wrote; ending short makes hyper close
            // the connection rather than send a wrong length.
            self.left = 0;
            return std::task::Poll::Ready(None);
        }
        chunk.truncate(got);
        self.left -= got as u64;
        std::task::Poll::Ready(Some(Ok(hyper::body::Frame::data(Bytes::from(chunk)))))
    }

    fn is_end_stream(&self) -> bool {
        self.left == 0
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        hyper::body::SizeHint::with_exact(self.left)
    }
}

/// A page's bytes, shared by every response that carries it.
#[derive(Debug)]
struct Shared(Arc<Stored>);

impl AsRef<[u8]> for Shared {
    fn as_ref(&self) -> &[u8] {
        &self.0.data
    }
}

/// A page handed to one response: its bytes (compressed) and its size uncompressed.
#[derive(Debug, Clone)]
pub struct Page {
    pub bytes: Bytes,
    pub plain_len: u64,
}

impl Page {
    fn of(stored: Arc<Stored>) -> Page {
        Page {
            plain_len: stored.plain_len,
            bytes: Bytes::from_owner(Shared(stored)),
        }
    }
}

/// The last page of one format and encoding. It is held strongly only while requests
/// queue for it (they will take it), weakly otherwise: an idle server keeps no page.
#[derive(Debug, Default)]
struct Slot {
    /// When the last page began encoding.
    began: Option<Instant>,
    strong: Option<Arc<Stored>>,
    weak: Weak<Stored>,
}

impl Slot {
    fn page_since(&self, arrived: Instant) -> Option<Arc<Stored>> {
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
    ) -> Result<Page, PageError> {
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
        Ok(Page::of(page))
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

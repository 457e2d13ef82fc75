//! A connection's socket with a write deadline: once the server starts answering a request,
//! the client has `--web.write-timeout` to take the whole response, or the connection is
//! cut. That is what keeps a client that reads slowly (or not at all) from holding a
//! connection slot, and the memory of its page, for ever. (The read side is bounded by
//! hyper's header read timeout and the TLS handshake timeout.)

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// The deadline the request handler sets and the socket enforces: milliseconds after the
/// connection's start, 0 for none.
#[derive(Debug, Clone)]
pub struct WriteDeadline {
    start: Instant,
    at_ms: Arc<AtomicU64>,
    timeout: Duration,
}

impl WriteDeadline {
    pub fn new(timeout: Duration) -> WriteDeadline {
        WriteDeadline {
            start: Instant::now(),
            at_ms: Arc::new(AtomicU64::new(0)),
            timeout,
        }
    }

    /// A response begins: the client has `timeout` from now to read all of it.
    pub fn arm(&self) {
        let at = self.start.elapsed() + self.timeout;
        let ms = u64::try_from(at.as_millis()).unwrap_or(u64::MAX).max(1);
        self.at_ms.store(ms, Ordering::Relaxed);
    }

    fn at(&self) -> Option<Instant> {
        match self.at_ms.load(Ordering::Relaxed) {
            0 => None,
            ms => Some(self.start + Duration::from_millis(ms)),
        }
    }
}

/// A socket whose writes fail with `TimedOut` past the [`WriteDeadline`].
pub struct Guarded<S> {
    inner: S,
    deadline: WriteDeadline,
    sleep: Pin<Box<Sleep>>,
    /// Set once a write failed on the deadline (for the connection's closing count).
    pub timed_out: Arc<std::sync::atomic::AtomicBool>,
}

impl<S> Guarded<S> {
    pub fn new(inner: S, deadline: WriteDeadline) -> Guarded<S> {
        Guarded {
            inner,
            deadline,
            sleep: Box::pin(tokio::time::sleep(Duration::ZERO)),
            timed_out: Default::default(),
        }
    }

    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// Ready with an error when the deadline has passed; otherwise registers a wake-up at
    /// the deadline so that a write stuck on a full socket buffer is woken to fail.
    fn check(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        let Some(at) = self.deadline.at() else {
            return Poll::Pending;
        };
        if self.sleep.deadline() != at {
            self.sleep.as_mut().reset(at);
        }
        match self.sleep.as_mut().poll(cx) {
            Poll::Ready(()) => {
                self.timed_out.store(true, Ordering::Relaxed);
                Poll::Ready(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the client did not take the response within --web.write-timeout",
                ))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Guarded<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> Guarded<S> {
    fn guard<T>(
        &mut self,
        cx: &mut Context<'_>,
        op: impl FnOnce(Pin<&mut S>, &mut Context<'_>) -> Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        match op(Pin::new(&mut self.inner), cx) {
            Poll::Pending => match self.check(cx) {
                Poll::Ready(e) => Poll::Ready(Err(e)),
                Poll::Pending => Poll::Pending,
            },
            done => done,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Guarded<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.guard(cx, |s, cx| s.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.guard(cx, |s, cx| s.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.guard(cx, |s, cx| s.poll_flush(cx))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.guard(cx, |s, cx| s.poll_shutdown(cx))
    }
}

//! The HTTP side: `/` (a landing page), the telemetry path (`/metrics`), `/api/v1/state`
//! (keepalived's state as JSON), `/api/v1/events` (the last classified log events) and
//! `/api/v1/incidents`, nothing else.
//!
//! A scrape encodes on a blocking thread and streams the page in 64 KiB chunks, so the
//! body of a large director (tens of MB) is never held in memory whole. No lock is held
//! while a client reads: each reader serialises only its own read of the kernel or
//! keepalived, so concurrent scrapers queue there rather than multiply that work.

use crate::app::App;
use crate::logs::bus::Recent;
use crate::metrics::{Exporter, Format};
use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::body::{Body, Frame, Incoming};
use hyper::header::{HeaderValue, ACCEPT, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use std::convert::Infallible;
use std::fmt;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

const CHUNK: usize = 64 * 1024;

/// What the server needs: the application, its exporter and where it is served.
#[derive(Debug)]
pub struct Site {
    pub app: Arc<App>,
    pub exporter: Exporter,
    /// The last log events, when a log source is configured.
    pub recent: Option<Arc<Recent>>,
    pub telemetry_path: String,
}

/// A body fed by the encoding thread through a bounded channel.
struct ChannelBody(mpsc::Receiver<Bytes>);

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0.poll_recv(cx).map(|c| c.map(|b| Ok(Frame::data(b))))
    }
}

/// A `fmt::Write` that cuts the page into chunks and hands them to the body.
struct ChunkWriter {
    buf: String,
    tx: mpsc::Sender<Bytes>,
}

impl ChunkWriter {
    fn flush(&mut self) -> fmt::Result {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, String::with_capacity(CHUNK + 1024));
        // The receiver is gone when the client hung up: stop encoding.
        self.tx
            .blocking_send(Bytes::from(chunk))
            .map_err(|_| fmt::Error)
    }
}

impl fmt::Write for ChunkWriter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.buf.push_str(s);
        if self.buf.len() >= CHUNK {
            self.flush()?;
        }
        Ok(())
    }
}

fn landing_page(path: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html><head><title>lvsmon</title></head><body>\n\
         <h1>lvsmon {}</h1>\n<p>IPVS/LVS and keepalived exporter.</p>\n\
         <ul><li><a href=\"{path}\">Metrics</a></li>\n\
         <li><a href=\"/api/v1/state\">keepalived state (JSON)</a></li>\n\
         <li><a href=\"/api/v1/events\">recent log events (JSON)</a></li>\n\
         <li><a href=\"/api/v1/incidents?state=all\">incidents (JSON)</a></li></ul>\n</body></html>\n",
        crate::metrics::VERSION
    )
}

fn full(
    status: StatusCode,
    ctype: &'static str,
    body: String,
) -> Response<BoxBody<Bytes, Infallible>> {
    let mut r = Response::new(Full::new(Bytes::from(body)).boxed());
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(ctype));
    r
}

fn metrics(site: Arc<Site>, format: Format) -> Response<BoxBody<Bytes, Infallible>> {
    let (tx, rx) = mpsc::channel(4);
    tokio::task::spawn_blocking(move || {
        let mut w = ChunkWriter {
            buf: String::with_capacity(CHUNK + 1024),
            tx,
        };
        if site
            .exporter
            .encode(format, &mut w)
            .and_then(|_| w.flush())
            .is_err()
        {
            tracing::debug!("scrape abandoned (client went away or a collector failed to encode)");
        }
    });
    let mut r = Response::new(ChannelBody(rx).boxed());
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    r
}

/// A JSON answer produced on a blocking thread (a keepalived refresh may wait for a dump).
fn json<T: serde::Serialize>(
    make: impl FnOnce() -> T + Send + 'static,
) -> Response<BoxBody<Bytes, Infallible>> {
    let (tx, rx) = mpsc::channel(1);
    tokio::task::spawn_blocking(move || {
        // Serialising plain structs cannot fail; an empty body would show it if it did.
        let body = serde_json::to_string_pretty(&make()).unwrap_or_default() + "\n";
        let _ = tx.blocking_send(Bytes::from(body));
    });
    let mut r = Response::new(ChannelBody(rx).boxed());
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// keepalived's state as JSON (404 when its collector is off).
fn state(site: &Site) -> Response<BoxBody<Bytes, Infallible>> {
    match site.app.keepalived.clone() {
        Some(k) => json(move || k.snapshot()),
        None => full(
            StatusCode::NOT_FOUND,
            "text/plain",
            "keepalived collector is off\n".into(),
        ),
    }
}

/// The incidents, newest first: `?state=open` (the default) or `?state=all` (404 without
/// a log source).
fn incidents(site: &Site, query: Option<&str>) -> Response<BoxBody<Bytes, Infallible>> {
    let all = match query.unwrap_or("") {
        "" | "state=open" => false,
        "state=all" => true,
        _ => {
            return full(
                StatusCode::BAD_REQUEST,
                "text/plain",
                "want ?state=open or ?state=all\n".into(),
            )
        }
    };
    match site.app.incidents.clone() {
        Some(live) => json(move || {
            let mut v = live.incidents();
            v.retain(|i| all || i.end.is_none());
            v.reverse();
            v
        }),
        None => full(
            StatusCode::NOT_FOUND,
            "text/plain",
            "no log source is configured\n".into(),
        ),
    }
}

/// The virtual services as a check sees them (`?service=TEXT` for one), from a read of the
/// table at most a few seconds old (`check::api`); `{"error": …}` when the table cannot be
/// read (the answer is made on a blocking thread, after the status is sent).
fn services(site: &Site, query: Option<&str>) -> Response<BoxBody<Bytes, Infallible>> {
    let want = match crate::check::api::wanted(query) {
        Ok(w) => w,
        Err(why) => return full(StatusCode::BAD_REQUEST, "text/plain", why),
    };
    let app = site.app.clone();
    let (tx, rx) = mpsc::channel(1);
    tokio::task::spawn_blocking(move || {
        let body = crate::check::api::answer(app, want)
            .unwrap_or_else(|e| serde_json::json!({ "error": e }).to_string() + "\n");
        let _ = tx.blocking_send(Bytes::from(body));
    });
    let mut r = Response::new(ChannelBody(rx).boxed());
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// The last classified log events, oldest first (404 without a log source).
fn events(site: &Site) -> Response<BoxBody<Bytes, Infallible>> {
    match site.recent.clone() {
        Some(r) => json(move || r.list()),
        None => full(
            StatusCode::NOT_FOUND,
            "text/plain",
            "no log source is configured\n".into(),
        ),
    }
}

/// Answers one request.
pub fn route(site: Arc<Site>, req: &Request<Incoming>) -> Response<BoxBody<Bytes, Infallible>> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return full(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain",
            "GET only\n".into(),
        );
    }
    let path = req.uri().path();
    if path == site.telemetry_path {
        let accept = req.headers().get(ACCEPT).and_then(|v| v.to_str().ok());
        return metrics(site.clone(), Format::negotiate(accept));
    }
    if path == "/api/v1/state" {
        return state(&site);
    }
    if path == "/api/v1/events" {
        return events(&site);
    }
    if path == "/api/v1/incidents" {
        return incidents(&site, req.uri().query());
    }
    if path == "/api/v1/services" {
        return services(&site, req.uri().query());
    }
    if path == "/" {
        return full(
            StatusCode::OK,
            "text/html; charset=utf-8",
            landing_page(&site.telemetry_path),
        );
    }
    full(StatusCode::NOT_FOUND, "text/plain", "not found\n".into())
}

/// Serves on one listener until the task is dropped.
pub async fn serve(listener: TcpListener, site: Arc<Site>) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let site = site.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| {
                let site = site.clone();
                async move { Ok::<_, Infallible>(route(site, &req)) }
            });
            // half_close: a client that shuts its write side after the request (nc,
            // socat, shell probes) still gets the whole page; hyper's default drops it.
            let conn = hyper::server::conn::http1::Builder::new()
                .half_close(true)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), svc);
            if let Err(e) = conn.await {
                tracing::debug!(%peer, "connection ended with an error: {e}");
            }
        });
    }
}

/// Binds every address, failing on the first that cannot be bound.
pub async fn bind_all(addrs: &[SocketAddr]) -> std::io::Result<Vec<TcpListener>> {
    let mut out = Vec::new();
    for a in addrs {
        let l = TcpListener::bind(a)
            .await
            .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {a}: {e}")))?;
        out.push(l);
    }
    Ok(out)
}

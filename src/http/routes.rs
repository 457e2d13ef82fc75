//! What the server answers: `/` (a landing page), the telemetry path (`/metrics`, see
//! `page`), `/status` (the live page, see `status`), `/api/v1/state` (keepalived's state as
//! JSON), `/api/v1/events` (the last classified log events), `/api/v1/incidents` and
//! `/api/v1/services`, nothing else (no file serving).

use super::page::{Encoding, Inflating, PageError};
use super::Site;
use crate::metrics::Format;
use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::body::{Body, Frame, Incoming};
use hyper::header::{HeaderValue, ACCEPT, ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_TYPE, VARY};
use hyper::{Method, Request, Response, StatusCode};
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// A body fed once by a blocking thread (the JSON answers).
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

fn landing_page(path: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html><head><title>lvsmon</title><link rel=\"icon\" href=\"data:,\"></head><body>\n\
         <h1>lvsmon {}</h1>\n<p>IPVS/LVS and keepalived exporter.</p>\n\
         <ul><li><a href=\"/status\">Status: what is wrong right now</a></li>\n\
         <li><a href=\"{path}\">Metrics</a></li>\n\
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

async fn metrics(
    site: Arc<Site>,
    req: &Request<Incoming>,
    arrived: Instant,
) -> Response<BoxBody<Bytes, Infallible>> {
    let header = |h| {
        req.headers()
            .get(h)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let format = Format::negotiate(header(ACCEPT));
    let encoding = Encoding::negotiate(header(ACCEPT_ENCODING));
    match site
        .pages
        .get(site.clone(), format, encoding, arrived)
        .await
    {
        Ok(page) => {
            let body = match encoding {
                // Kept compressed; inflated as the client reads.
                Encoding::Identity => match Inflating::new(page.bytes, page.plain_len) {
                    Ok(b) => b.boxed(),
                    Err(e) => {
                        return full(
                            StatusCode::INTERNAL_SERVER_ERROR,
                            "text/plain",
                            format!("{e}\n"),
                        )
                    }
                },
                _ => Full::new(page.bytes).boxed(),
            };
            let mut r = Response::new(body);
            let h = r.headers_mut();
            h.insert(
                CONTENT_TYPE,
                HeaderValue::from_static(format.content_type()),
            );
            h.insert(VARY, HeaderValue::from_static("Accept-Encoding"));
            if let Some(e) = encoding.header() {
                h.insert(CONTENT_ENCODING, HeaderValue::from_static(e));
            }
            r
        }
        Err(e @ PageError::Busy) => full(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain",
            format!("{e}\n"),
        ),
        Err(e) => {
            tracing::warn!("scrape failed: {e}");
            full(
                StatusCode::INTERNAL_SERVER_ERROR,
                "text/plain",
                format!("{e}\n"),
            )
        }
    }
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

/// 401, asking for basic credentials.
pub fn unauthorized() -> Response<BoxBody<Bytes, Infallible>> {
    let mut r = full(
        StatusCode::UNAUTHORIZED,
        "text/plain",
        "Unauthorized\n".into(),
    );
    r.headers_mut().insert(
        hyper::header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"lvsmon\""),
    );
    r
}

/// Answers one request.
pub async fn route(
    site: Arc<Site>,
    req: &Request<Incoming>,
    arrived: Instant,
) -> Response<BoxBody<Bytes, Infallible>> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return full(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain",
            "GET only\n".into(),
        );
    }
    let path = req.uri().path();
    if path == site.telemetry_path {
        return metrics(site.clone(), req, arrived).await;
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
    if path == "/status" {
        return match super::status::page(&site.telemetry_path) {
            Ok(p) => full(StatusCode::OK, "text/html; charset=utf-8", p),
            Err(e) => full(
                StatusCode::INTERNAL_SERVER_ERROR,
                "text/plain",
                format!("{e}\n"),
            ),
        };
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

//! The HTTP server: listeners, connections and their limits. What it answers is in
//! `routes`, how a metrics page is made and shared in `page`, the write deadline in `io`.
//!
//! Built for the most exposed machine of the network: a client can hold a connection slot
//! (`--web.max-connections`), never a thread or a lock; a request head must arrive within
//! `--web.read-timeout` and fit in `--web.max-header-bytes` (else 431); a response must be
//! taken within `--web.write-timeout`; scrapes share pages and queue for at most
//! `--web.max-requests-wait` before a 503. Everything refused is counted
//! (`lvsmon_http_*`, see `metrics::http`).

pub mod auth;
pub mod io;
pub mod page;
pub mod routes;
pub mod status;
pub mod tls;
pub mod web;
pub mod webconfig;

use crate::app::App;
use crate::logs::bus::Recent;
use crate::metrics::http::{HttpStats, Refusal};
use crate::metrics::ipvs_options::IpvsExport;
use crate::metrics::Exporter;
use hyper_util::rt::{TokioIo, TokioTimer};
use io::{Guarded, WriteDeadline};
use page::Pages;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub use routes::route;

/// The server's limits; the defaults are the flags' defaults.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Connections open at once; more are closed on accept.
    pub max_connections: usize,
    /// Scrapes waiting for or encoding a page at once (writing one does not count).
    pub max_requests: usize,
    /// How long a scrape beyond `max_requests` waits for a place before its 503.
    pub max_requests_wait: Duration,
    /// A request head (and a TLS handshake) must arrive within this; it is also how long an
    /// idle keep-alive connection is kept.
    pub read_timeout: Duration,
    /// A response must be taken by the client within this, from its request.
    pub write_timeout: Duration,
    /// Request line plus headers, in bytes (at least 8192, hyper's floor); beyond: 431.
    pub max_header_bytes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_connections: 256,
            max_requests: 40,
            max_requests_wait: Duration::from_secs(5),
            read_timeout: Duration::from_secs(30),
            write_timeout: Duration::from_secs(60),
            max_header_bytes: 16 * 1024,
        }
    }
}

/// hyper refuses a read buffer smaller than this.
const MIN_HEADER_BYTES: usize = 8192;

/// What the server needs: the application, its exporter, where it is served, its limits.
#[derive(Debug)]
pub struct Site {
    pub app: Arc<App>,
    pub exporter: Exporter,
    /// The last log events, when a log source is configured.
    pub recent: Option<Arc<Recent>>,
    pub telemetry_path: String,
    pub limits: Limits,
    pub stats: Arc<HttpStats>,
    pub pages: Pages,
    /// TLS, users and headers (`--web.config.file`).
    pub web: web::Web,
    connections: Arc<Semaphore>,
}

impl Site {
    /// The site of `app`, its IPVS page cut as `export` says; its exporter includes the
    /// server's own `lvsmon_http_*`.
    pub fn new(
        app: Arc<App>,
        recent: Option<Arc<Recent>>,
        telemetry_path: String,
        limits: Limits,
        export: &IpvsExport,
    ) -> Site {
        let stats = HttpStats::new();
        Site {
            exporter: Exporter::serving(&app, export, stats.clone()),
            app,
            recent,
            telemetry_path,
            pages: Pages::new(limits.max_requests, limits.max_requests_wait),
            connections: Arc::new(Semaphore::new(limits.max_connections.max(1))),
            limits,
            web: web::Web::open(stats.clone()),
            stats,
        }
    }

    /// Puts every path behind the web config at `path` (TLS, basic auth, headers).
    pub fn with_web_config(
        mut self,
        path: &std::path::Path,
    ) -> Result<Site, webconfig::WebConfigError> {
        self.web = web::Web::load(path, self.stats.clone())?;
        Ok(self)
    }
}

/// Serves on one listener until the task is dropped.
pub async fn serve(listener: TcpListener, site: Arc<Site>) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = site.connections.clone().try_acquire_owned() else {
            site.stats.refused(Refusal::ConnectionLimit);
            drop(stream);
            continue;
        };
        tokio::spawn(connection(stream, peer, site.clone(), permit));
    }
}

/// Counts a connection open for as long as it lives.
struct Open(Arc<HttpStats>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.closed();
    }
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    site: Arc<Site>,
    _permit: OwnedSemaphorePermit,
) {
    site.stats.opened();
    let _open = Open(site.stats.clone());
    let _ = stream.set_nodelay(true);
    let deadline = WriteDeadline::new(site.limits.write_timeout);
    let Some(acceptor) = site.web.current().tls.clone() else {
        let io = Guarded::new(stream, deadline.clone());
        let timed_out = io.timed_out.clone();
        return serve_http(io, peer, site, deadline, timed_out).await;
    };
    let read_timeout = site.limits.read_timeout;
    // A TLS client speaks first, with a handshake record (0x16). Anything else is most
    // likely plain HTTP: say so, as Go's servers do, rather than fail obscurely.
    let mut first = [0u8; 1];
    match tokio::time::timeout(read_timeout, stream.peek(&mut first)).await {
        Err(_) => return site.stats.refused(Refusal::ReadTimeout),
        Ok(Ok(1)) if first[0] != 0x16 => {
            site.stats.refused(Refusal::PlainHttpOnTls);
            let mut stream = stream;
            let answer = b"HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nClient sent an HTTP request to an HTTPS server.\n";
            let _ = tokio::time::timeout(
                Duration::from_secs(1),
                tokio::io::AsyncWriteExt::write_all(&mut stream, answer),
            )
            .await;
            return;
        }
        Ok(Ok(1)) => {}
        Ok(_) => return,
    }
    let io = Guarded::new(stream, deadline.clone());
    let timed_out = io.timed_out.clone();
    match tokio::time::timeout(read_timeout, acceptor.accept(io)).await {
        Ok(Ok(tls)) => serve_http(tls, peer, site, deadline, timed_out).await,
        Ok(Err(e)) => {
            tracing::debug!(%peer, "TLS handshake failed: {e}");
            site.stats.refused(Refusal::TlsHandshake);
        }
        Err(_) => site.stats.refused(Refusal::ReadTimeout),
    }
}

/// Answers a request: credentials first when the web config has users, its headers on
/// every answer, refusals included.
async fn answer(
    site: Arc<Site>,
    req: hyper::Request<hyper::body::Incoming>,
    arrived: tokio::time::Instant,
) -> hyper::Response<http_body_util::combinators::BoxBody<bytes::Bytes, Infallible>> {
    let web = site.web.current();
    let auth = req
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let mut r = if web.users.is_empty() || web.users.check(auth).await == auth::Verdict::Allowed {
        route(site.clone(), &req, arrived).await
    } else {
        routes::unauthorized()
    };
    for (k, v) in &web.headers {
        r.headers_mut().insert(k.clone(), v.clone());
    }
    r
}

async fn serve_http<I>(
    io: I,
    peer: SocketAddr,
    site: Arc<Site>,
    deadline: WriteDeadline,
    write_timed_out: Arc<std::sync::atomic::AtomicBool>,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let limits = site.limits.clone();
    let stats = site.stats.clone();
    let svc = hyper::service::service_fn(move |req| {
        deadline.arm();
        let arrived = tokio::time::Instant::now();
        let site = site.clone();
        async move {
            let r = answer(site.clone(), req, arrived).await;
            site.stats.response(r.status().as_u16());
            Ok::<_, Infallible>(r)
        }
    });
    // half_close: a client that shuts its write side after the request (nc, socat, shell
    // probes) still gets the whole page; hyper's default drops it.
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.read_timeout)
        .max_buf_size(limits.max_header_bytes.max(MIN_HEADER_BYTES))
        .half_close(true)
        .serve_connection(TokioIo::new(io), svc);
    if let Err(e) = conn.await {
        tracing::debug!(%peer, "connection ended with an error: {e}");
        if write_timed_out.load(Ordering::Relaxed) {
            stats.refused(Refusal::WriteTimeout);
        } else if e.is_timeout() {
            stats.refused(Refusal::ReadTimeout);
        } else if e.is_parse_too_large() {
            // hyper answered it: 431, or 414 for a request line alone too long.
            let uri = e.to_string().contains("URI");
            stats.response(if uri { 414 } else { 431 });
        } else if e.is_parse_version_h2() {
            stats.response(505);
        } else if e.is_parse() {
            stats.response(400);
        }
    }
}

/// Binds every address, failing on the first that cannot be bound. The unspecified IPv6
/// address (`:PORT`) is bound dual-stack (IPv4 too), or IPv4 alone on a host without IPv6.
pub async fn bind_all(addrs: &[SocketAddr]) -> std::io::Result<Vec<TcpListener>> {
    let mut out = Vec::new();
    for a in addrs {
        let l = bind(*a)
            .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {a}: {e}")))?;
        out.push(l);
    }
    Ok(out)
}

fn bind(a: SocketAddr) -> std::io::Result<TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let dual = a.ip() == std::net::Ipv6Addr::UNSPECIFIED;
    let open = |a: SocketAddr| -> std::io::Result<TcpListener> {
        let s = Socket::new(Domain::for_address(a), Type::STREAM, Some(Protocol::TCP))?;
        if a.is_ipv6() {
            s.set_only_v6(!dual)?;
        }
        s.set_reuse_address(true)?;
        s.set_nonblocking(true)?;
        s.bind(&a.into())?;
        s.listen(1024)?;
        TcpListener::from_std(s.into())
    };
    match open(a) {
        Err(e) if dual && ipv6_unavailable(&e) => {
            tracing::info!("IPv6 is not available on this host: listening on IPv4 only");
            open(SocketAddr::new(
                std::net::Ipv4Addr::UNSPECIFIED.into(),
                a.port(),
            ))
        }
        r => r,
    }
}

fn ipv6_unavailable(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EAFNOSUPPORT) | Some(libc::EADDRNOTAVAIL) | Some(libc::EPROTONOSUPPORT)
    )
}

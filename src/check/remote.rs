//! `--url`: a check asks a running lvsmon instead of reading the director itself (no
//! privileges, and the server's readers are already warm). Services and backends come from
//! its `/metrics` page (the series `ipvs_service_backends`, `ipvs_backend_weight`,
//! `ipvs_backend_connections_{active,inactive}`, `keepalived_real_server_up` and the
//! netlink rates), keepalived from `/api/v1/state`, incidents from `/api/v1/incidents`.
//! A 404 from the last two means the server does not collect that (`None`). An lvsmon
//! behind `--web.config.file` is reached over TLS (`https://`, a CA file, a client
//! certificate) and with basic-auth credentials ([`Client`]).

use super::director::{Backend, Director, KeepalivedView, OpenIncident, ReadError, Service, Vrrp};
use super::exposition::{parse_line, Sample};
use crate::ipvs::Stats;
use crate::model::{RealServerId, VirtualServiceId};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use std::collections::BTreeMap;

/// How a check reaches an lvsmon behind `--web.config.file`: the CA its certificate is
/// checked against (default: the system's, `/etc/ssl/certs/ca-certificates.crt`), a client
/// certificate when it requires one, and basic-auth credentials (the password from a file,
/// never from the command line, where `ps` shows it).
#[derive(Debug, Clone, Default)]
pub struct Client {
    pub ca_file: Option<std::path::PathBuf>,
    pub cert_file: Option<std::path::PathBuf>,
    pub key_file: Option<std::path::PathBuf>,
    pub username: Option<String>,
    pub password_file: Option<std::path::PathBuf>,
}

/// The system's CA bundle (Debian's ca-certificates).
const SYSTEM_CAS: &str = "/etc/ssl/certs/ca-certificates.crt";

/// A running lvsmon at `http[s]://HOST:PORT[/PREFIX]`.
pub struct Remote {
    base: hyper::Uri,
    tls: Option<std::sync::Arc<rustls::ClientConfig>>,
    /// The `Authorization` header's value.
    auth: Option<String>,
}

impl Remote {
    /// Plain HTTP, no credentials.
    pub fn new(url: &str) -> Result<Remote, ReadError> {
        Remote::with_client(url, &Client::default())
    }

    pub fn with_client(url: &str, c: &Client) -> Result<Remote, ReadError> {
        let bad = || ReadError(format!("bad --url {url:?}: want http[s]://HOST:PORT"));
        let base: hyper::Uri = url.parse().map_err(|_| bad())?;
        if base.authority().is_none() {
            return Err(bad());
        }
        let tls = match base.scheme_str() {
            Some("http") => None,
            Some("https") => Some(client_tls(c)?),
            _ => return Err(bad()),
        };
        let auth = match (&c.username, &c.password_file) {
            (Some(user), Some(file)) => {
                use base64::Engine;
                let pass = std::fs::read_to_string(file)
                    .map_err(|e| ReadError(format!("{}: {e}", file.display())))?;
                let pass = pass.trim_end_matches(['\n', '\r']);
                let token =
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
                Some(format!("Basic {token}"))
            }
            (None, None) => None,
            _ => {
                return Err(ReadError(
                    "--auth.username and --auth.password-file go together".into(),
                ))
            }
        };
        Ok(Remote { base, tls, auth })
    }
    /// GETs `path`; `Ok(None)` on 404.
    fn get(&self, path: &str) -> Result<Option<Bytes>, ReadError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| ReadError(format!("cannot start the HTTP client: {e}")))?;
        let auth = self
            .base
            .authority()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let full = format!("{}{path}", self.base.path().trim_end_matches('/'));
        let where_ = format!("http://{auth}{full}");
        let fail = |e: &dyn std::fmt::Display| ReadError(format!("{where_}: {e}"));
        rt.block_on(async {
            let stream = tokio::net::TcpStream::connect(&auth)
                .await
                .map_err(|e| fail(&e))?;
            let mut req =
                hyper::Request::get(full.as_str()).header(hyper::header::HOST, auth.as_str());
            if let Some(a) = &self.auth {
                req = req.header(hyper::header::AUTHORIZATION, a.as_str());
            }
            let req = req.body(Empty::<Bytes>::new()).map_err(|e| fail(&e))?;
            let (status, body) = match &self.tls {
                None => exchange(stream, req).await,
                Some(cfg) => {
                    let host = self.base.host().unwrap_or_default();
                    let host = host.trim_start_matches('[').trim_end_matches(']');
                    let name = rustls::pki_types::ServerName::try_from(host.to_string())
                        .map_err(|e| fail(&e))?;
                    let tls = tokio_rustls::TlsConnector::from(cfg.clone())
                        .connect(name, stream)
                        .await
                        .map_err(|e| fail(&e))?;
                    exchange(tls, req).await
                }
            }
            .map_err(|e| fail(&e))?;
            if status == hyper::StatusCode::NOT_FOUND {
                Ok(None)
            } else if status.is_success() {
                Ok(Some(body))
            } else if status == hyper::StatusCode::UNAUTHORIZED {
                Err(fail(
                    &"HTTP 401 (credentials: --auth.username, --auth.password-file)",
                ))
            } else {
                Err(fail(&format!("HTTP {status}")))
            }
        })
    }

    fn json(&self, path: &str) -> Result<Option<serde_json::Value>, ReadError> {
        match self.get(path)? {
            None => Ok(None),
            Some(b) => serde_json::from_slice(&b)
                .map(Some)
                .map_err(|e| ReadError(format!("{path}: not JSON: {e}"))),
        }
    }
}

impl Remote {
    fn page(&self) -> Result<Bytes, ReadError> {
        self.get("/metrics")?
            .ok_or_else(|| ReadError("no /metrics on this server".into()))
    }
}

impl Director for Remote {
    /// From `/api/v1/services`; from the `/metrics` page of an lvsmon without it.
    fn services(&self) -> Result<Vec<Service>, ReadError> {
        match self.get("/api/v1/services")? {
            Some(body) => super::api::parse(&body),
            None => services_from_page(&String::from_utf8_lossy(&self.page()?), None),
        }
    }

    /// Asks for that service alone; an lvsmon without `/api/v1/services` has only its
    /// page, of which only that service's lines are parsed (tens of MB on a large
    /// director).
    fn service(&self, id: &VirtualServiceId) -> Result<Option<Service>, ReadError> {
        let path = format!("/api/v1/services?service={}", encode(&id.to_string()));
        let all = match self.get(&path)? {
            Some(body) => super::api::parse(&body)?,
            None => services_from_page(&String::from_utf8_lossy(&self.page()?), Some(id))?,
        };
        Ok(super::service::find(&all, id))
    }

    fn keepalived(&self) -> Result<Option<KeepalivedView>, ReadError> {
        Ok(self
            .json("/api/v1/state")?
            .map(|v| keepalived_from_json(&v)))
    }

    fn incidents(&self) -> Result<Option<Vec<OpenIncident>>, ReadError> {
        Ok(self
            .json("/api/v1/incidents?state=open")?
            .map(|v| incidents_from_json(&v)))
    }
}

/// A query value: everything but unreserved characters percent-encoded.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b':' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// One request over `stream` (plain or TLS): the status and the whole body.
async fn exchange<S>(
    stream: S,
    req: hyper::Request<Empty<Bytes>>,
) -> Result<(hyper::StatusCode, Bytes), Box<dyn std::error::Error + Send + Sync>>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut send, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let resp = send.send_request(req).await?;
    let status = resp.status();
    let body = resp.into_body().collect().await?.to_bytes();
    Ok((status, body))
}

/// The TLS client: the CA file given (or the system's), and a client certificate if given.
fn client_tls(c: &Client) -> Result<std::sync::Arc<rustls::ClientConfig>, ReadError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let err = |what: &std::path::Path, e: &dyn std::fmt::Display| {
        ReadError(format!("{}: {e}", what.display()))
    };
    let ca = c
        .ca_file
        .clone()
        .unwrap_or_else(|| std::path::PathBuf::from(SYSTEM_CAS));
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(&ca).map_err(|e| err(&ca, &e))? {
        let cert = cert.map_err(|e| err(&ca, &e))?;
        roots.add(cert).map_err(|e| err(&ca, &e))?;
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ReadError(e.to_string()))?
        .with_root_certificates(roots);
    let cfg = match (&c.cert_file, &c.key_file) {
        (Some(cert), Some(key)) => {
            let chain = CertificateDer::pem_file_iter(cert)
                .map_err(|e| err(cert, &e))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| err(cert, &e))?;
            let key = PrivateKeyDer::from_pem_file(key).map_err(|e| err(key, &e))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| err(cert, &e))?
        }
        (None, None) => builder.with_no_client_auth(),
        _ => {
            return Err(ReadError(
                "--tls.cert-file and --tls.key-file go together".into(),
            ))
        }
    };
    Ok(std::sync::Arc::new(cfg))
}

fn service_of(s: &Sample) -> Option<VirtualServiceId> {
    VirtualServiceId::from_labels(
        s.label("proto"),
        s.label("local_address"),
        s.label("local_port"),
        s.label("local_mark"),
    )
}

fn backend_of(s: &Sample) -> Option<(VirtualServiceId, RealServerId)> {
    Some((
        service_of(s)?,
        RealServerId::from_labels(s.label("remote_address"), s.label("remote_port"))?,
    ))
}

/// The labels every series of service `id` carries, as lvsmon writes them (in
/// `SERVICE_LABELS` order): a line without them is not about that service. A firewall mark
/// leaves its address out, since `FWM 42` as typed matches either family's series.
fn service_fragment(id: &VirtualServiceId) -> String {
    let l = id.labels();
    match id {
        VirtualServiceId::Fwmark { .. } => {
            format!(
                "local_port=\"{}\",local_mark=\"{}\"",
                l.local_port, l.local_mark
            )
        }
        VirtualServiceId::Inet { .. } => format!(
            "proto=\"{}\",local_address=\"{}\",local_port=\"{}\",local_mark=\"\"",
            l.proto, l.local_address, l.local_port
        ),
    }
}

/// The services and backends a `/metrics` page shows (only `only`'s lines when given).
/// Fails when the page has no IPVS table (lvsmon could not read it:
/// `lvsmon_collector_up{collector="ipvs"} 0`).
pub fn services_from_page(
    text: &str,
    only: Option<&VirtualServiceId>,
) -> Result<Vec<Service>, ReadError> {
    let fragment = only.map(service_fragment);
    let mut services: BTreeMap<VirtualServiceId, Service> = BTreeMap::new();
    let mut backends: BTreeMap<(VirtualServiceId, RealServerId), Backend> = BTreeMap::new();
    let mut verdicts = BTreeMap::new();
    let mut table_up = None;
    let new_backend = |rid| Backend {
        id: rid,
        weight: 0,
        active: 0,
        inactive: 0,
        checker_up: None,
    };
    for line in text.lines() {
        // Most of a large page is other families: skip them before parsing.
        if line.starts_with("lvsmon_collector_up") {
            // Always read: it says whether the table was read at all.
        } else if !["ipvs_", "keepalived_real_server_up"]
            .iter()
            .any(|p| line.starts_with(p))
            || fragment.as_deref().is_some_and(|f| !line.contains(f))
        {
            continue;
        }
        let Some(s) = parse_line(line) else { continue };
        let v = s.value;
        match s.name {
            "lvsmon_collector_up" if s.label("collector") == "ipvs" => table_up = Some(v == 1.0),
            "ipvs_service_backends" => {
                if let Some(id) = service_of(&s) {
                    services.entry(id).or_insert_with(|| Service {
                        id,
                        backends: Vec::new(),
                        rates: None,
                    });
                }
            }
            "ipvs_backend_weight"
            | "ipvs_backend_connections_active"
            | "ipvs_backend_connections_inactive"
            | "keepalived_real_server_up" => {
                let Some((sid, rid)) = backend_of(&s) else {
                    continue;
                };
                if s.name == "keepalived_real_server_up" {
                    verdicts.insert((sid, rid), v == 1.0);
                    continue;
                }
                let b = backends
                    .entry((sid, rid))
                    .or_insert_with(|| new_backend(rid));
                match s.name {
                    "ipvs_backend_weight" => b.weight = v as i64,
                    "ipvs_backend_connections_active" => b.active = v as i64,
                    _ => b.inactive = v as i64,
                }
            }
            name => {
                if let Some(field) = name
                    .strip_prefix("ipvs_service_rate_")
                    .and_then(|n| n.strip_suffix("_per_second"))
                {
                    let Some(svc) = service_of(&s).and_then(|id| services.get_mut(&id)) else {
                        continue;
                    };
                    let r = svc.rates.get_or_insert_with(Stats::default);
                    let v = v as u64;
                    match field {
                        "connections" => r.conns = v,
                        "incoming_packets" => r.in_packets = v,
                        "outgoing_packets" => r.out_packets = v,
                        "incoming_bytes" => r.in_bytes = v,
                        "outgoing_bytes" => r.out_bytes = v,
                        _ => {}
                    }
                }
            }
        }
    }
    if table_up == Some(false) {
        return Err(ReadError(
            "the running lvsmon cannot read the IPVS table (lvsmon_collector_up{collector=\"ipvs\"} 0)"
                .into(),
        ));
    }
    for ((sid, rid), mut b) in backends {
        // Only backends the kernel has: keepalived may still know ones it removed.
        b.checker_up = verdicts.get(&(sid, rid)).copied();
        if let Some(s) = services.get_mut(&sid) {
            s.backends.push(b);
        }
    }
    Ok(services.into_values().collect())
}

/// keepalived's state from `/api/v1/state`.
pub fn keepalived_from_json(v: &serde_json::Value) -> KeepalivedView {
    let num = |i: &serde_json::Value, k: &str| {
        i.get(k)
            .and_then(|x| x.as_u64())
            .and_then(|x| u32::try_from(x).ok())
            .unwrap_or(0)
    };
    KeepalivedView {
        up: v.get("up").and_then(|u| u.as_bool()).unwrap_or(false),
        instances: v
            .get("instances")
            .and_then(|i| i.as_array())
            .map(|a| {
                a.iter()
                    .map(|i| Vrrp {
                        iname: i
                            .get("iname")
                            .and_then(|n| n.as_str())
                            .unwrap_or("")
                            .to_string(),
                        vrid: num(i, "vrid"),
                        state: num(i, "state"),
                        priority: num(i, "priority_effective"),
                    })
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// The open incidents from `/api/v1/incidents?state=open`.
pub fn incidents_from_json(v: &serde_json::Value) -> Vec<OpenIncident> {
    let s = |i: &serde_json::Value, k: &str| {
        i.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string()
    };
    v.as_array()
        .map(|a| {
            a.iter()
                .filter(|i| i.get("end").is_none_or(|e| e.is_null()))
                .map(|i| OpenIncident {
                    kind: s(i, "kind"),
                    severity: s(i, "severity"),
                    summary: s(i, "summary"),
                })
                .collect()
        })
        .unwrap_or_default()
}

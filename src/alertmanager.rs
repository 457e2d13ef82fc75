//! Incidents pushed to Alertmanager's v2 API (`POST /api/v2/alerts`): each open incident
//! is an alert, re-sent while open (Alertmanager forgets an alert whose `endsAt` passes),
//! and sent once more with its `endsAt` when it closes, which resolves it.
//!
//! A consumer of the incident engine, in its own task: a change is pushed within a second,
//! a failed push is retried with backoff, and nothing here ever blocks detection or a
//! scrape. Pushes and failures are counted per Alertmanager (`lvsmon_alertmanager_*`).

use crate::incidents::{Incident, Live};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How often open incidents are re-sent; their `endsAt` is four of these ahead, as
/// Prometheus does, so a missed push does not resolve them.
pub const RESEND: Duration = Duration::from_secs(15);
/// How often the engine is looked at for a change.
const POLL: Duration = Duration::from_secs(1);
/// Longest wait for one Alertmanager's answer.
const TIMEOUT: Duration = Duration::from_secs(5);
/// Resolved alerts remembered for a re-send, in case the first resolve was lost.
const RESOLVED_KEEP: usize = 500;

/// One Alertmanager and its counters.
#[derive(Debug)]
pub struct Target {
    /// `host:port`, the label value of its series.
    pub name: String,
    uri: hyper::Uri,
    pub sent: AtomicU64,
    pub errors: AtomicU64,
}

/// Every configured Alertmanager.
#[derive(Debug, Default)]
pub struct Targets(pub Vec<Target>);

#[derive(Debug, thiserror::Error)]
pub enum UrlError {
    #[error("bad --alertmanager.url {0:?}: want http://HOST:PORT[/PATH]")]
    Bad(String),
}

impl Targets {
    /// Parses `http://HOST:PORT[/PATH]` URLs (TLS arrives with the web configuration).
    pub fn parse(urls: &[String]) -> Result<Targets, UrlError> {
        let mut v = Vec::new();
        for u in urls {
            let uri: hyper::Uri = u.parse().map_err(|_| UrlError::Bad(u.clone()))?;
            let (Some("http"), Some(auth)) = (uri.scheme_str(), uri.authority()) else {
                return Err(UrlError::Bad(u.clone()));
            };
            v.push(Target {
                name: auth.to_string(),
                uri: uri.clone(),
                sent: AtomicU64::new(0),
                errors: AtomicU64::new(0),
            });
        }
        Ok(Targets(v))
    }
}

/// `real_server_down` → `LvsmonRealServerDown`.
pub fn alertname(kind: &str) -> String {
    let mut s = String::from("Lvsmon");
    for part in kind.split('_') {
        let mut c = part.chars();
        if let Some(f) = c.next() {
            s.extend(f.to_uppercase());
            s.push_str(c.as_str());
        }
    }
    s
}

/// The alert for an incident, ending at `ends` (µs).
pub fn alert(i: &Incident, ends: i64, generator: &str) -> Value {
    let mut labels = BTreeMap::new();
    labels.insert("alertname", alertname(i.kind));
    labels.insert("severity", i.severity.as_str().to_string());
    let host = i.host.clone().unwrap_or_else(|| i.hosts.join(","));
    labels.insert("host", host);
    if let Some(n) = &i.iname {
        labels.insert("iname", n.clone());
    }
    if let Some(v) = i
        .virtual_service
        .as_deref()
        .and_then(|t| t.parse::<crate::model::VirtualServiceId>().ok())
    {
        let l = v.labels();
        for (k, val) in crate::model::SERVICE_LABELS.into_iter().zip(l.as_array()) {
            if !val.is_empty() {
                labels.insert(k, val.to_string());
            }
        }
    }
    if let Some(r) = i
        .real_server
        .as_deref()
        .and_then(|t| t.parse::<crate::model::RealServerId>().ok())
    {
        let (a, p) = r.labels();
        let [ka, kp] = crate::model::REAL_SERVER_LABELS;
        labels.insert(ka, a);
        labels.insert(kp, p);
    }
    let description = i
        .evidence
        .iter()
        .map(|e| format!("{} {}", e.host, e.line))
        .collect::<Vec<_>>()
        .join("\n");
    json!({
        "labels": labels,
        "annotations": {
            "summary": i.summary,
            "description": description,
            "hint": i.hint,
        },
        "startsAt": crate::logs::event::rfc3339(i.start),
        "endsAt": crate::logs::event::rfc3339(ends),
        "generatorURL": generator,
    })
}

fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

/// Pushes `live`'s incidents to every target until the task is dropped.
pub async fn run(targets: Arc<Targets>, live: Arc<Live>, generator: String) {
    let mut last_open: BTreeSet<String> = BTreeSet::new();
    let mut resolved: Vec<Value> = Vec::new();
    let mut since_resend = RESEND;
    let mut backoff = Duration::ZERO;
    let mut pending = false;
    let mut last_look = std::time::Instant::now();
    loop {
        // A change wakes the loop at once (an incident opened or closed is pushed within
        // the time a look and a post take); the poll still re-sends, and a backoff after
        // failures is waited out whatever changes.
        if backoff.is_zero() {
            tokio::select! {
                _ = tokio::time::sleep(POLL) => {}
                _ = live.changed() => {}
            }
        } else {
            tokio::time::sleep(backoff).await;
        }
        since_resend += last_look.elapsed();
        last_look = std::time::Instant::now();
        let l = live.clone();
        // The engine's lock is taken on a blocking thread, never in the runtime.
        let Ok(all) = tokio::task::spawn_blocking(move || l.incidents()).await else {
            continue;
        };
        let now = now_micros();
        let open: Vec<&Incident> = all.iter().filter(|i| i.end.is_none()).collect();
        let ids: BTreeSet<String> = open.iter().map(|i| i.id.clone()).collect();
        // Closed since the last look: resolve them (kept for a re-send or two).
        for i in all
            .iter()
            .filter(|i| i.end.is_some() && last_open.contains(&i.id))
        {
            resolved.push(alert(i, i.end.unwrap_or(now), &generator));
            if resolved.len() > RESOLVED_KEEP {
                resolved.remove(0);
            }
            pending = true;
        }
        if ids != last_open {
            pending = true;
        }
        if !pending && since_resend < RESEND {
            continue;
        }
        let ends = now + 4 * i64::try_from(RESEND.as_micros()).unwrap_or(60_000_000);
        let mut body: Vec<Value> = open.iter().map(|i| alert(i, ends, &generator)).collect();
        body.extend(resolved.iter().cloned());
        let payload = Bytes::from(serde_json::to_vec(&body).unwrap_or_default());
        let mut ok = true;
        for t in &targets.0 {
            match tokio::time::timeout(TIMEOUT, post(&t.uri, payload.clone())).await {
                Ok(Ok(())) => {
                    t.sent.fetch_add(1, Ordering::Relaxed);
                }
                Ok(Err(e)) => {
                    ok = false;
                    t.errors.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(alertmanager = %t.name, "push failed: {e}");
                }
                Err(_) => {
                    ok = false;
                    t.errors.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(alertmanager = %t.name, "push timed out");
                }
            }
        }
        last_open = ids;
        if ok {
            pending = false;
            since_resend = Duration::ZERO;
            backoff = Duration::ZERO;
            // Sent: a resolve is repeated once more at the next re-send, then forgotten.
            if resolved.len() > RESOLVED_KEEP / 2 {
                resolved.drain(..resolved.len() / 2);
            }
        } else {
            backoff = (backoff * 2).clamp(Duration::from_secs(1), Duration::from_secs(60));
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum PostError {
    #[error("connect: {0}")]
    Connect(std::io::Error),
    #[error("{0}")]
    Http(#[from] hyper::Error),
    #[error("answered {0}")]
    Status(hyper::StatusCode),
    #[error("bad request: {0}")]
    Request(#[from] hyper::http::Error),
}

/// One POST of `payload` to `base`'s `/api/v2/alerts`.
async fn post(base: &hyper::Uri, payload: Bytes) -> Result<(), PostError> {
    let auth = base.authority().map(|a| a.to_string()).unwrap_or_default();
    let stream = tokio::net::TcpStream::connect(&auth)
        .await
        .map_err(PostError::Connect)?;
    let (mut send, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let path = format!("{}/api/v2/alerts", base.path().trim_end_matches('/'));
    let req = Request::post(path)
        .header(hyper::header::HOST, auth)
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .body(Full::new(payload))?;
    let resp = send.send_request(req).await?;
    let status = resp.status();
    let _ = resp.into_body().collect().await;
    if status.is_success() {
        Ok(())
    } else {
        Err(PostError::Status(status))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_become_camel_case_alert_names() {
        assert_eq!(alertname("real_server_down"), "LvsmonRealServerDown");
        assert_eq!(alertname("split_brain"), "LvsmonSplitBrain");
        assert_eq!(alertname("vrrp_auth_mismatch"), "LvsmonVrrpAuthMismatch");
    }

    #[test]
    fn only_plain_http_urls_with_a_host_are_taken() {
        let t = Targets::parse(&[
            "http://127.0.0.1:9093".into(),
            "http://[::1]:9093/am".into(),
        ])
        .unwrap();
        assert_eq!(t.0[0].name, "127.0.0.1:9093");
        assert_eq!(t.0[1].uri.path(), "/am");
        for bad in ["127.0.0.1:9093", "ftp://x:1", "http:///x", "https://x:1"] {
            assert!(Targets::parse(&[bad.into()]).is_err(), "{bad}");
        }
    }
}

//! `GET /api/v1/services[?service=TEXT]`: the virtual services as a check sees them (their
//! backends with weights, connections and keepalived's checker verdict, the kernel's rates),
//! answered by `serve` from a read of the table at most [`MAX_AGE`] old. A check with
//! `--url` asks for its one service here instead of reading the whole `/metrics` page (tens
//! of MB on a director with 100,000 backends). The JSON is written and read by this module
//! alone, so both sides agree.

use super::director::{Backend, Director, Local, ReadError, Service};
use crate::app::App;
use crate::ipvs::Stats;
use crate::model::{RealServerId, VirtualServiceId};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// How old a read of the table may be for this answer: checks of many services within 5 s
/// share one read of the table.
pub const MAX_AGE: Duration = Duration::from_secs(5);

#[derive(Serialize, Deserialize)]
struct ServiceJson {
    /// The text form, `TCP 10.1.0.100:80`.
    virtual_service: String,
    backends: Vec<BackendJson>,
    /// The kernel's per-second estimates (netlink only).
    rates: Option<RatesJson>,
}

#[derive(Serialize, Deserialize)]
struct BackendJson {
    /// `10.2.0.11:80`, `[fd00::11]:80`.
    real_server: String,
    weight: i64,
    active: i64,
    inactive: i64,
    /// keepalived's checker verdict, when keepalived checks it.
    checker_up: Option<bool>,
}

#[derive(Serialize, Deserialize)]
struct RatesJson {
    conns: u64,
    in_packets: u64,
    out_packets: u64,
    in_bytes: u64,
    out_bytes: u64,
}

/// What `?service=…` asks for: `None` for every service.
pub fn wanted(query: Option<&str>) -> Result<Option<VirtualServiceId>, String> {
    let Some(q) = query.filter(|q| !q.is_empty()) else {
        return Ok(None);
    };
    let text = q
        .strip_prefix("service=")
        .ok_or_else(|| "want ?service=TCP%2010.1.0.100:80 or nothing\n".to_string())?;
    let text = decode(text).ok_or_else(|| "bad percent-encoding\n".to_string())?;
    text.parse()
        .map(Some)
        .map_err(|e| format!("bad service {text:?}: {e}\n"))
}

/// `%20` and `+` as a browser and `curl --data-urlencode` write them.
fn decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// The answer: the services (or the one asked for, none when it is not configured), or why
/// the table could not be read (served as `{"error": …}`).
pub fn answer(app: Arc<App>, want: Option<VirtualServiceId>) -> Result<String, String> {
    let local = Local::shared(app, MAX_AGE);
    let services = match want {
        Some(id) => local.service(&id).map(|s| s.into_iter().collect()),
        None => local.services(),
    }
    .map_err(|e| e.0)?;
    let out: Vec<ServiceJson> = services.iter().map(to_json).collect();
    Ok(serde_json::to_string(&out).unwrap_or_default() + "\n")
}

fn to_json(s: &Service) -> ServiceJson {
    ServiceJson {
        virtual_service: s.id.to_string(),
        backends: s
            .backends
            .iter()
            .map(|b| BackendJson {
                real_server: b.id.to_string(),
                weight: b.weight,
                active: b.active,
                inactive: b.inactive,
                checker_up: b.checker_up,
            })
            .collect(),
        rates: s.rates.map(|r| RatesJson {
            conns: r.conns,
            in_packets: r.in_packets,
            out_packets: r.out_packets,
            in_bytes: r.in_bytes,
            out_bytes: r.out_bytes,
        }),
    }
}

/// Reads an answer back (`--url`).
pub fn parse(body: &[u8]) -> Result<Vec<Service>, ReadError> {
    let bad = |e: String| ReadError(format!("unexpected /api/v1/services answer: {e}"));
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Answer {
        Services(Vec<ServiceJson>),
        Error { error: String },
    }
    let v = match serde_json::from_slice(body).map_err(|e| bad(e.to_string()))? {
        Answer::Services(v) => v,
        Answer::Error { error } => return Err(ReadError(error)),
    };
    v.into_iter()
        .map(|s| {
            Ok(Service {
                id: s.virtual_service.parse().map_err(|e| bad(format!("{e}")))?,
                backends: s
                    .backends
                    .into_iter()
                    .map(|b| {
                        Ok(Backend {
                            id: b
                                .real_server
                                .parse::<RealServerId>()
                                .map_err(|e| bad(format!("{e}")))?,
                            weight: b.weight,
                            active: b.active,
                            inactive: b.inactive,
                            checker_up: b.checker_up,
                        })
                    })
                    .collect::<Result<_, ReadError>>()?,
                rates: s.rates.map(|r| Stats {
                    conns: r.conns,
                    in_packets: r.in_packets,
                    out_packets: r.out_packets,
                    in_bytes: r.in_bytes,
                    out_bytes: r.out_bytes,
                }),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries() {
        assert_eq!(wanted(None), Ok(None));
        assert_eq!(
            wanted(Some("service=TCP%2010.1.0.100:80")),
            Ok(Some("TCP 10.1.0.100:80".parse().unwrap()))
        );
        assert_eq!(
            wanted(Some("service=UDP+%5Bfd00%3A%3A1%5D:53")),
            Ok(Some("UDP [fd00::1]:53".parse().unwrap()))
        );
        assert!(wanted(Some("service=TCP%2")).is_err());
        assert!(wanted(Some("service=%ff%fe")).is_err());
        assert!(wanted(Some("x=1")).is_err());
        assert!(wanted(Some("service=nonsense")).is_err());
    }
}

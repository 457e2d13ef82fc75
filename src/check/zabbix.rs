//! `check zabbix discovery services|backends|vrrp` (low-level discovery, the JSON array of
//! Zabbix 4.2+) and `check zabbix get KEY` (one value of one item), for the agent's
//! `UserParameter`s in `deploy/zabbix/lvsmon.conf`.
//!
//! Discovery macros: `{#SERVICE}` (the text form), `{#PROTO}`, `{#VIP}`, `{#VPORT}`,
//! `{#FWMARK}`; backends add `{#RIP}`, `{#RPORT}`; VRRP gives `{#INAME}`, `{#VRID}`.
//! Item keys name a service by `{#PROTO},{#VIP},{#VPORT},{#FWMARK}` rather than by
//! `{#SERVICE}`: the agent refuses `[`, `]` and quotes in parameters (unless the whole agent
//! is opened with `UnsafeUserParameters=1`), and an IPv6 service's text form has brackets.
//!
//! Keys (`FIELD` first, then the object):
//! - `lvsmon.service[available|configured|active|inactive,PROTO,VIP,VPORT,FWMARK]`
//! - `lvsmon.backend[weight|active|inactive,PROTO,VIP,VPORT,FWMARK,RIP,RPORT]`
//! - `lvsmon.vrrp[state|priority,INAME]` (state in keepalived's numbers: 0 INIT, 1 BACKUP,
//!   2 MASTER, 3 FAULT)
//! - `lvsmon.keepalived[up]` (1 or 0)
//! - `lvsmon.incidents[critical|warning|info|all]` (open incidents of that severity)

use super::director::{Director, ReadError, Service};
use crate::model::{RealServerId, VirtualServiceId};
use serde_json::{json, Map, Value};

/// What `discovery` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Discover {
    Services,
    Backends,
    Vrrp,
}

/// The service's own macros.
fn service_macros(id: &VirtualServiceId) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("{#SERVICE}".into(), json!(id.to_string()));
    let (proto, vip, vport, mark) = match id {
        VirtualServiceId::Inet { proto, addr, port } => (
            proto.name().into_owned(),
            addr.to_string(),
            port.to_string(),
            String::new(),
        ),
        VirtualServiceId::Fwmark { mark, .. } => {
            ("FWM".into(), String::new(), String::new(), mark.to_string())
        }
    };
    m.insert("{#PROTO}".into(), json!(proto));
    m.insert("{#VIP}".into(), json!(vip));
    m.insert("{#VPORT}".into(), json!(vport));
    m.insert("{#FWMARK}".into(), json!(mark));
    m
}

/// The discovery array for `what`.
pub fn discovery(d: &dyn Director, what: Discover) -> Result<Value, ReadError> {
    let mut rows: Vec<Map<String, Value>> = Vec::new();
    match what {
        Discover::Services | Discover::Backends => {
            for s in d.services()? {
                let m = service_macros(&s.id);
                if what == Discover::Services {
                    rows.push(m);
                    continue;
                }
                for b in &s.backends {
                    let mut m = m.clone();
                    m.insert("{#RIP}".into(), json!(b.id.addr.to_string()));
                    m.insert("{#RPORT}".into(), json!(b.id.port.to_string()));
                    rows.push(m);
                }
            }
        }
        Discover::Vrrp => {
            let k = d
                .keepalived()?
                .ok_or_else(|| ReadError("the keepalived collector is off".into()))?;
            for i in &k.instances {
                let mut m = Map::new();
                m.insert("{#INAME}".into(), json!(i.iname));
                m.insert("{#VRID}".into(), json!(i.vrid.to_string()));
                rows.push(m);
            }
        }
    }
    // An IPv4 and an IPv6 service with the same mark would give one item key twice, which
    // Zabbix refuses for the whole rule: keep the first.
    let mut seen = std::collections::BTreeSet::new();
    rows.retain(|m| seen.insert(Value::Object(m.clone()).to_string()));
    Ok(Value::Array(rows.into_iter().map(Value::Object).collect()))
}

/// Why a key could not be answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("bad item key: want NAME[PARAM,…]")]
    Syntax,
    #[error("unknown item key {0} (lvsmon.service, lvsmon.backend, lvsmon.vrrp, lvsmon.keepalived, lvsmon.incidents)")]
    Name(String),
    #[error("{0}")]
    Params(&'static str),
    #[error("no such {0}")]
    Missing(&'static str),
    #[error("{0}")]
    Read(#[from] ReadError),
}

/// Splits `name[p1,"p 2",…]` as Zabbix writes keys (parameters may be double-quoted, with
/// `\"` inside quotes).
pub fn parse_key(key: &str) -> Result<(&str, Vec<String>), KeyError> {
    let Some((name, rest)) = key.split_once('[') else {
        return Ok((key, Vec::new()));
    };
    let inner = rest.strip_suffix(']').ok_or(KeyError::Syntax)?;
    let mut params = Vec::new();
    let mut chars = inner.chars().peekable();
    loop {
        while chars.peek() == Some(&' ') {
            chars.next();
        }
        let mut p = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next().ok_or(KeyError::Syntax)? {
                    '"' => break,
                    '\\' if chars.peek() == Some(&'"') => p.push(chars.next().unwrap_or('"')),
                    c => p.push(c),
                }
            }
            while chars.peek() == Some(&' ') {
                chars.next();
            }
            if !matches!(chars.peek(), None | Some(',')) {
                return Err(KeyError::Syntax);
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                p.push(c);
                chars.next();
            }
        }
        params.push(p.trim_end().to_string());
        if chars.next().is_none() {
            break;
        }
    }
    Ok((name, params))
}

fn service_id(p: &[String]) -> Result<VirtualServiceId, KeyError> {
    let bad =
        KeyError::Params("a service is PROTO,VIP,VPORT,FWMARK: TCP,10.1.0.100,80, or FWM,,,42");
    match p {
        [proto, _, _, mark] if proto == "FWM" => format!("FWM {mark}").parse().map_err(|_| bad),
        [proto, vip, vport, _] => {
            let addr: std::net::IpAddr = vip.parse().map_err(|_| bad.clone())?;
            let port: u16 = vport.parse().map_err(|_| bad.clone())?;
            format!("{proto} {}", std::net::SocketAddr::new(addr, port))
                .parse()
                .map_err(|_| bad)
        }
        _ => Err(bad),
    }
}

fn find_service(d: &dyn Director, id: &VirtualServiceId) -> Result<Service, KeyError> {
    d.service(id)?.ok_or(KeyError::Missing("virtual service"))
}

/// The value of one item key.
pub fn get(d: &dyn Director, key: &str) -> Result<String, KeyError> {
    let (name, p) = parse_key(key)?;
    let field = p.first().map(String::as_str).unwrap_or("");
    match name {
        "lvsmon.service" => {
            let s = find_service(d, &service_id(p.get(1..).unwrap_or(&[]))?)?;
            let sum =
                |f: fn(&super::director::Backend) -> i64| -> i64 { s.backends.iter().map(f).sum() };
            Ok(match field {
                "available" => s.available().to_string(),
                "configured" => s.backends.len().to_string(),
                "active" => sum(|b| b.active).to_string(),
                "inactive" => sum(|b| b.inactive).to_string(),
                _ => {
                    return Err(KeyError::Params(
                        "available, configured, active or inactive",
                    ))
                }
            })
        }
        "lvsmon.backend" => {
            let (svc, rs) = match p.get(1..) {
                Some(rest) if rest.len() == 6 => (&rest[..4], &rest[4..]),
                _ => {
                    return Err(KeyError::Params(
                        "a backend is PROTO,VIP,VPORT,FWMARK,RIP,RPORT",
                    ))
                }
            };
            let s = find_service(d, &service_id(svc)?)?;
            let rid = RealServerId::from_labels(&rs[0], &rs[1])
                .ok_or(KeyError::Params("RIP,RPORT: an address and a port"))?;
            let b = s
                .backends
                .iter()
                .find(|b| b.id == rid)
                .ok_or(KeyError::Missing("backend"))?;
            Ok(match field {
                "weight" => b.weight.to_string(),
                "active" => b.active.to_string(),
                "inactive" => b.inactive.to_string(),
                _ => return Err(KeyError::Params("weight, active or inactive")),
            })
        }
        "lvsmon.vrrp" => {
            let iname = p
                .get(1)
                .ok_or(KeyError::Params("lvsmon.vrrp[state,INAME]"))?;
            let k = d
                .keepalived()?
                .ok_or(KeyError::Missing("keepalived collector"))?;
            let i = k
                .instances
                .iter()
                .find(|i| &i.iname == iname)
                .filter(|_| k.up)
                .ok_or(KeyError::Missing("VRRP instance (or keepalived is down)"))?;
            Ok(match field {
                "state" => i.state.to_string(),
                "priority" => i.priority.to_string(),
                _ => return Err(KeyError::Params("state or priority")),
            })
        }
        "lvsmon.keepalived" if field == "up" => {
            let k = d.keepalived()?;
            Ok(if k.is_some_and(|k| k.up) { "1" } else { "0" }.into())
        }
        "lvsmon.incidents" => {
            let open = d
                .incidents()?
                .ok_or(KeyError::Missing("incident engine (lvsmon follows no log)"))?;
            let n = match field {
                "all" => open.len(),
                "critical" | "warning" | "info" => {
                    open.iter().filter(|i| i.severity == field).count()
                }
                _ => return Err(KeyError::Params("critical, warning, info or all")),
            };
            Ok(n.to_string())
        }
        other => Err(KeyError::Name(other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_split_as_zabbix_writes_them() {
        let (n, p) = parse_key(r#"lvsmon.service[available,"TCP",fd00::1,80,]"#).unwrap();
        assert_eq!(n, "lvsmon.service");
        assert_eq!(p, ["available", "TCP", "fd00::1", "80", ""]);
        assert_eq!(
            parse_key("lvsmon.keepalived").unwrap().1,
            Vec::<String>::new()
        );
        assert_eq!(parse_key(r#"a["x\"y", z]"#).unwrap().1, ["x\"y", "z"]);
        assert!(parse_key("a[b").is_err());
        assert!(parse_key(r#"a["b"c]"#).is_err());
        assert!(parse_key(r#"a["b]"#).is_err());
    }

    #[test]
    fn services_from_parameters() {
        let p = |v: &[&str]| service_id(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            p(&["TCP", "10.1.0.100", "80", ""]).unwrap().to_string(),
            "TCP 10.1.0.100:80"
        );
        assert_eq!(
            p(&["UDP", "fd00::53", "53", ""]).unwrap().to_string(),
            "UDP [fd00::53]:53"
        );
        assert_eq!(p(&["FWM", "", "", "42"]).unwrap().to_string(), "FWM 42");
        assert!(p(&["TCP", "nope", "80", ""]).is_err());
        assert!(p(&["TCP", "10.0.0.1", "99999", ""]).is_err());
        assert!(p(&["TCP"]).is_err());
    }
}

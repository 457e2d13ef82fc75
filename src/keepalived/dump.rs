//! Pure parsers of keepalived's dump files: `keepalived.json` (VRRP state and counters),
//! `keepalived.stats` (the same counters as text) and `keepalived_check.data` (virtual and
//! real servers with the checkers' verdict).
//!
//! Only the fields lvsmon exports are deserialised: the JSON dump also carries `auth_data`
//! (the VRRP password in clear), which serde skips without ever storing it. A file that is
//! cut short (keepalived writes in place, so a reader can see a prefix) is an error, never a
//! smaller state: the JSON must parse whole, every stats block must carry all its counters,
//! and the check data must end where keepalived ends it (a newline after a complete block).

use super::model::{Protocol, RealServer, VirtualService, VrrpInstance, VrrpStats, VsAddress};
use serde::Deserialize;

/// Why a dump could not be read as a complete state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DumpError {
    #[error("not a complete keepalived JSON dump: {0}")]
    Json(String),
    #[error("line {line}: {reason}")]
    Malformed { line: usize, reason: &'static str },
    #[error("the dump ends early (half-written or truncated)")]
    Truncated,
}

/// One element of the JSON root: `{"data": {...}, "stats": {...}}`.
#[derive(Deserialize)]
struct RawInstance {
    data: RawData,
    #[serde(default)]
    stats: Option<VrrpStats>,
}

/// The exported part of `data`. Every other field (`auth_data` among them) is skipped.
#[derive(Deserialize)]
struct RawData {
    iname: String,
    vrid: u32,
    #[serde(default)]
    ifp_ifname: String,
    state: u32,
    wantstate: u32,
    base_priority: u32,
    effective_priority: u32,
    #[serde(default)]
    last_transition: f64,
    #[serde(default)]
    vips: Vec<serde::de::IgnoredAny>,
}

/// `json_version 2`: `{"vrrp": [...], "track_process": [...]}`.
#[derive(Deserialize)]
struct RootV2 {
    vrrp: Vec<RawInstance>,
}

/// Parses `keepalived.json`, either root: a bare array (`json_version 1`, keepalived up to
/// 2.2.7) or an object with `vrrp` (`json_version 2`, 2.2.8+).
pub fn parse_json(text: &str) -> Result<Vec<VrrpInstance>, DumpError> {
    // serde's messages can quote a value from the input: keep only the kind and position.
    let err = |e: serde_json::Error| {
        DumpError::Json(format!(
            "{:?} error at line {} column {}",
            e.classify(),
            e.line(),
            e.column()
        ))
    };
    let raw = match text.trim_start().as_bytes().first() {
        Some(b'[') => serde_json::from_str::<Vec<RawInstance>>(text).map_err(err)?,
        Some(b'{') => serde_json::from_str::<RootV2>(text).map_err(err)?.vrrp,
        Some(_) => return Err(DumpError::Json("neither an array nor an object".into())),
        None => return Err(DumpError::Truncated),
    };
    Ok(raw.into_iter().map(instance).collect())
}

fn instance(r: RawInstance) -> VrrpInstance {
    let d = r.data;
    VrrpInstance {
        iname: d.iname,
        vrid: d.vrid,
        interface: d.ifp_ifname,
        state: d.state,
        wanted_state: d.wantstate,
        priority_base: d.base_priority,
        priority_effective: d.effective_priority,
        last_transition: d.last_transition,
        vips: d.vips.len() as u64,
        stats: r.stats,
        from_notify: false,
    }
}

/// Parses `keepalived.stats`: per instance, the counters of the JSON `stats` object.
pub fn parse_stats(text: &str) -> Result<Vec<(String, VrrpStats)>, DumpError> {
    let mut out: Vec<(String, VrrpStats, u32)> = Vec::new();
    let mut section = "";
    for (i, line) in text.lines().enumerate() {
        let malformed = |reason| DumpError::Malformed {
            line: i + 1,
            reason,
        };
        if let Some(name) = line.strip_prefix("VRRP Instance: ") {
            out.push((name.to_string(), VrrpStats::default(), 0));
            continue;
        }
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        let (key, value) = t.split_once(':').ok_or(malformed("no ':'"))?;
        let value = value.trim();
        if value.is_empty() {
            section = match key {
                "Advertisements" | "Packet Errors" | "Authentication Errors" | "Priority Zero" => {
                    key
                }
                _ => return Err(malformed("unknown section")),
            };
            continue;
        }
        let n: u64 = value.parse().map_err(|_| malformed("not a number"))?;
        let (_, s, seen) = out
            .last_mut()
            .ok_or(malformed("counter before any instance"))?;
        let field = match (section, key) {
            ("Advertisements", "Received") => &mut s.advert_rcvd,
            ("Advertisements", "Sent") => &mut s.advert_sent,
            (_, "Became master") => &mut s.become_master,
            (_, "Released master") => &mut s.release_master,
            ("Packet Errors", "Length") => &mut s.packet_len_err,
            ("Packet Errors", "TTL") => &mut s.ip_ttl_err,
            ("Packet Errors", "Invalid Type") => &mut s.invalid_type_rcvd,
            ("Packet Errors", "Advertisement Interval") => &mut s.advert_interval_err,
            ("Packet Errors", "Address List") => &mut s.addr_list_err,
            ("Authentication Errors", "Invalid Type") => &mut s.invalid_authtype,
            ("Authentication Errors", "Type Mismatch") => &mut s.authtype_mismatch,
            ("Authentication Errors", "Failure") => &mut s.auth_failure,
            ("Priority Zero", "Received") => &mut s.pri_zero_rcvd,
            ("Priority Zero", "Sent") => &mut s.pri_zero_sent,
            _ => return Err(malformed("unknown counter")),
        };
        *field = n;
        *seen += 1;
    }
    // A prefix of the file parses line by line: only complete blocks are a state.
    if out.iter().any(|(_, _, seen)| *seen != VrrpStats::FIELDS) || !text.ends_with('\n') {
        return Err(DumpError::Truncated);
    }
    Ok(out.into_iter().map(|(n, s, _)| (n, s)).collect())
}

/// Where the parser is inside `keepalived_check.data`.
#[derive(Clone, Copy, PartialEq)]
enum Block {
    Other,
    Vs,
    Rs,
}

/// Parses the `LVS Topology` part of `keepalived_check.data`.
pub fn parse_check_data(text: &str) -> Result<Vec<VirtualService>, DumpError> {
    let mut out: Vec<VirtualService> = Vec::new();
    let mut block = Block::Other;
    let mut checkers_seen = false;
    for (i, line) in text.lines().enumerate() {
        let malformed = |reason| DumpError::Malformed {
            line: i + 1,
            reason,
        };
        let t = line.trim();
        if let Some(title) = t
            .strip_prefix("------<")
            .and_then(|r| r.strip_suffix(">------"))
        {
            block = match title.trim() {
                "Virtual server" => {
                    out.push(VirtualService::default());
                    Block::Vs
                }
                "Real server" if block != Block::Other => {
                    let vs = out
                        .last_mut()
                        .ok_or(malformed("real server outside a VS"))?;
                    vs.real_servers.push(RealServer::default());
                    Block::Rs
                }
                "Health checkers" => {
                    checkers_seen = true;
                    Block::Other
                }
                _ => Block::Other,
            };
            continue;
        }
        let Some((key, value)) = t.split_once(" = ") else {
            continue;
        };
        match (block, out.last_mut()) {
            (Block::Vs, Some(vs)) => vs_field(vs, key, value).map_err(malformed)?,
            (Block::Rs, Some(vs)) => match vs.real_servers.last_mut() {
                Some(rs) => rs_field(rs, key, value).map_err(malformed)?,
                None => return Err(malformed("real server outside a VS")),
            },
            _ => {}
        }
    }
    // keepalived writes the checkers after the topology: without them the file was cut.
    if !checkers_seen || !text.ends_with('\n') {
        return Err(DumpError::Truncated);
    }
    let complete =
        |v: &VirtualService| v.address.is_some() && v.real_servers.iter().all(|r| r.ip.is_some());
    if !out.iter().all(complete) {
        return Err(DumpError::Malformed {
            line: 0,
            reason: "a virtual or real server without an address",
        });
    }
    Ok(out)
}

fn num<T: std::str::FromStr>(v: &str) -> Result<T, &'static str> {
    v.trim().parse().map_err(|_| "not a number")
}

fn vs_field(vs: &mut VirtualService, key: &str, value: &str) -> Result<(), &'static str> {
    match key {
        "VS VIP" => {
            // "10.0.0.100, VPORT = 80"
            let (addr, port) = value
                .split_once(", VPORT = ")
                .ok_or("VS VIP without VPORT")?;
            vs.address = Some(VsAddress::Inet {
                ip: addr.parse().map_err(|_| "bad VS address")?,
                port: num(port)?,
            });
        }
        "VS FWMARK" => vs.address = Some(VsAddress::Fwmark(num(value)?)),
        "VS GROUP" => vs.address = Some(VsAddress::Group(value.trim().to_string())),
        "protocol" => vs.protocol = Protocol::parse(value.trim()),
        "quorum" => {
            let q = value.split(',').next().unwrap_or(value);
            vs.quorum = num(q)?;
        }
        "quorum_state_up" => vs.quorum_up = num::<u8>(value)? != 0,
        _ => {}
    }
    Ok(())
}

fn rs_field(rs: &mut RealServer, key: &str, value: &str) -> Result<(), &'static str> {
    match key {
        "RIP" => {
            // "10.1.0.11, RPORT = 80, WEIGHT = 1 EFF WEIGHT = 1"
            let (addr, rest) = value.split_once(", RPORT = ").ok_or("RIP without RPORT")?;
            let port = rest.split(',').next().unwrap_or(rest);
            rs.ip = Some(addr.parse().map_err(|_| "bad real server address")?);
            rs.port = num(port)?;
        }
        "effective weight" => rs.weight = num(value)?,
        "alive" => rs.alive = num::<u8>(value)? != 0,
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests;

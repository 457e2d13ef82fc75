//! Canonical forms of the virtual services and real servers named in log lines, so that one
//! service is one label value whichever keepalived version or the kernel wrote it.
//!
//! keepalived 1.3+ writes `[10.1.0.100]:tcp:80`, 1.2 `[10.1.0.100]:80`, the kernel
//! `TCP 10.1.0.100:80` / `TCP [fd00::1]:443` / `FWM 5 0x00000005`. The canonical forms are
//! `TCP 10.1.0.100:80`, `TCP [fd00::1]:443`, `FWM 42` for services and `10.2.0.12:80`,
//! `[fd00::12]:80` for real servers. A form that is not understood is kept as written.

use std::net::IpAddr;

/// A virtual service as `PROTO ADDR:PORT` or `FWM N`. Without a protocol (1.2 lines) the
/// result is `ADDR:PORT`.
pub fn virtual_service(s: &str) -> String {
    if let Some(rest) = s.strip_prefix("FWM ") {
        let mark = rest.split(' ').next().unwrap_or(rest);
        return format!("FWM {mark}");
    }
    if let Some((proto, rest)) = s.split_once(' ') {
        if let Some((ip, port)) = split_host_port(rest) {
            return format!("{} {}", proto.to_ascii_uppercase(), join(ip, None, port));
        }
        return s.to_string();
    }
    match keepalived_trio(s) {
        Some((ip, Some(proto), port)) => {
            format!("{} {}", proto.to_ascii_uppercase(), join(ip, None, port))
        }
        Some((ip, None, port)) => join(ip, None, port),
        None => s.to_string(),
    }
}

/// A real server as `ADDR:PORT` (IPv6 in brackets), or the bare address when no port is
/// given (MISC_CHECK in 1.x).
pub fn real_server(s: &str) -> String {
    if let Some((ip, _proto, port)) = keepalived_trio(s) {
        return join(ip, None, port);
    }
    if let Some(inner) = s.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        if let Ok(ip) = inner.parse::<IpAddr>() {
            return ip.to_string();
        }
    }
    if let Ok(ip) = s.parse::<IpAddr>() {
        return ip.to_string();
    }
    match split_host_port(s) {
        Some((ip, port)) => join(ip, None, port),
        None => s.to_string(),
    }
}

/// `[ip]:proto:port` or `[ip]:port`.
fn keepalived_trio(s: &str) -> Option<(IpAddr, Option<&str>, u16)> {
    let rest = s.strip_prefix('[')?;
    let (ip, after) = rest.split_once(']')?;
    let ip: IpAddr = ip.parse().ok()?;
    let after = after.strip_prefix(':')?;
    match after.split_once(':') {
        Some((proto, port)) => Some((ip, Some(proto), port.parse().ok()?)),
        None => Some((ip, None, after.parse().ok()?)),
    }
}

/// `10.0.0.1:80` or `[fd00::1]:80`.
fn split_host_port(s: &str) -> Option<(IpAddr, u16)> {
    let (host, port) = s.rsplit_once(':')?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    Some((host.parse().ok()?, port.parse().ok()?))
}

fn join(ip: IpAddr, _proto: Option<&str>, port: u16) -> String {
    match ip {
        IpAddr::V4(a) => format!("{a}:{port}"),
        IpAddr::V6(a) => format!("[{a}]:{port}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_writer_of_a_service_gives_one_form() {
        for (raw, want) in [
            ("[10.1.0.100]:tcp:80", "TCP 10.1.0.100:80"),
            ("TCP 10.1.0.100:80", "TCP 10.1.0.100:80"),
            ("[fd00:0::1]:tcp:443", "TCP [fd00::1]:443"),
            ("TCP [fd00:0:0::1]:443", "TCP [fd00::1]:443"),
            ("[10.0.0.53]:udp:53", "UDP 10.0.0.53:53"),
            ("FWM 42", "FWM 42"),
            ("FWM 5 0x00000005", "FWM 5"),
            ("[10.0.0.100]:80", "10.0.0.100:80"),
            ("[VSG_1]:tcp:80", "[VSG_1]:tcp:80"),
        ] {
            assert_eq!(virtual_service(raw), want, "{raw}");
        }
    }

    #[test]
    fn real_servers_drop_the_protocol() {
        for (raw, want) in [
            ("[10.2.0.12]:tcp:80", "10.2.0.12:80"),
            ("[fd00::12]:tcp:80", "[fd00::12]:80"),
            ("[10.0.0.21]:80", "10.0.0.21:80"),
            ("[10.0.0.23]", "10.0.0.23"),
            ("10.0.0.23", "10.0.0.23"),
            ("[10.0.0.25]:25", "10.0.0.25:25"),
            ("garbage", "garbage"),
        ] {
            assert_eq!(real_server(raw), want, "{raw}");
        }
    }
}

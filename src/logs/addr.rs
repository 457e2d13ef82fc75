//! Canonical forms of the virtual services and real servers named in log lines, so that one
//! service is one label value whichever keepalived version or the kernel wrote it.
//!
//! keepalived 1.3+ writes `[10.1.0.100]:tcp:80`, 1.2 `[10.1.0.100]:80`, the kernel
//! `TCP 10.1.0.100:80` / `TCP [fd00::1]:443` / `FWM 5 0x00000005`. The canonical forms are
//! `TCP 10.1.0.100:80`, `TCP [fd00::1]:443`, `FWM 42` for services and `10.2.0.12:80`,
//! `[fd00::12]:80` for real servers. A form that is not understood is kept as written.

use std::fmt::Write as _;
use std::net::IpAddr;

/// A virtual service as `PROTO ADDR:PORT` or `FWM N`, appended to `out` (the classifier
/// reuses one buffer). Without a protocol (1.2 lines) the result is `ADDR:PORT`.
pub fn virtual_service_into(s: &str, out: &mut String) {
    if let Some(rest) = s.strip_prefix("FWM ") {
        out.push_str("FWM ");
        out.push_str(rest.split(' ').next().unwrap_or(rest));
        return;
    }
    if let Some((proto, rest)) = s.split_once(' ') {
        match split_host_port(rest) {
            Some((ip, port)) => proto_join(proto, ip, port, out),
            None => out.push_str(s),
        }
        return;
    }
    match keepalived_trio(s) {
        Some((ip, Some(proto), port)) => proto_join(proto, ip, port, out),
        Some((ip, None, port)) => join(ip, port, out),
        None => out.push_str(s),
    }
}

/// A real server as `ADDR:PORT` (IPv6 in brackets), or the bare address when no port is
/// given (MISC_CHECK in 1.x), appended to `out`.
pub fn real_server_into(s: &str, out: &mut String) {
    if let Some((ip, _proto, port)) = keepalived_trio(s) {
        return join(ip, port, out);
    }
    let bare = s
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .unwrap_or(s);
    if let Some(ip) = Addr::parse(bare) {
        return ip.write(out);
    }
    match split_host_port(s) {
        Some((ip, port)) => join(ip, port, out),
        None => out.push_str(s),
    }
}

/// An address, kept as its text when that is already canonical (the common IPv4 case:
/// parsing and printing it again is most of the cost of normalising a label).
#[derive(Debug, Clone, Copy)]
enum Addr<'a> {
    Canonical(&'a str),
    Ip(IpAddr),
}

impl<'a> Addr<'a> {
    fn parse(s: &'a str) -> Option<Addr<'a>> {
        if is_canonical_v4(s.as_bytes()) {
            return Some(Addr::Canonical(s));
        }
        s.parse().ok().map(Addr::Ip)
    }

    fn is_v6(self) -> bool {
        matches!(self, Addr::Ip(IpAddr::V6(_)))
    }

    fn write(self, out: &mut String) {
        match self {
            Addr::Canonical(s) => out.push_str(s),
            // Writing to a String cannot fail.
            Addr::Ip(ip) => drop(write!(out, "{ip}")),
        }
    }
}

/// Four decimal octets, each 0-255 without leading zeros: how `Ipv4Addr` prints itself.
fn is_canonical_v4(s: &[u8]) -> bool {
    let (mut dots, mut value, mut digits) = (0, 0u32, 0);
    for &c in s {
        match c {
            b'0'..=b'9' => {
                if digits == 1 && value == 0 {
                    return false;
                }
                value = value * 10 + u32::from(c - b'0');
                digits += 1;
                if value > 255 {
                    return false;
                }
            }
            b'.' if digits > 0 && dots < 3 => {
                dots += 1;
                value = 0;
                digits = 0;
            }
            _ => return false,
        }
    }
    dots == 3 && digits > 0
}

/// `[ip]:proto:port` or `[ip]:port`.
fn keepalived_trio(s: &str) -> Option<(Addr<'_>, Option<&str>, u16)> {
    let rest = s.strip_prefix('[')?;
    let close = memchr::memchr(b']', rest.as_bytes())?;
    let ip = Addr::parse(&rest[..close])?;
    let after = rest[close + 1..].strip_prefix(':')?;
    match memchr::memchr(b':', after.as_bytes()) {
        Some(i) => Some((ip, Some(&after[..i]), after[i + 1..].parse().ok()?)),
        None => Some((ip, None, after.parse().ok()?)),
    }
}

/// `10.0.0.1:80` or `[fd00::1]:80`.
fn split_host_port(s: &str) -> Option<(Addr<'_>, u16)> {
    let (host, port) = s.rsplit_once(':')?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    Some((Addr::parse(host)?, port.parse().ok()?))
}

fn proto_join(proto: &str, ip: Addr<'_>, port: u16, out: &mut String) {
    out.extend(proto.chars().map(|c| c.to_ascii_uppercase()));
    out.push(' ');
    join(ip, port, out);
}

fn join(ip: Addr<'_>, port: u16, out: &mut String) {
    if ip.is_v6() {
        out.push('[');
        ip.write(out);
        out.push(']');
    } else {
        ip.write(out);
    }
    out.push(':');
    decimal(u32::from(port), out);
}

fn decimal(mut n: u32, out: &mut String) {
    let mut digits = [0u8; 10];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend(digits[i..].iter().map(|&d| char::from(d)));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn virtual_service(s: &str) -> String {
        let mut out = String::new();
        virtual_service_into(s, &mut out);
        out
    }

    fn real_server(s: &str) -> String {
        let mut out = String::new();
        real_server_into(s, &mut out);
        out
    }

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
    fn the_canonical_ipv4_test_agrees_with_the_standard_library() {
        for s in [
            "0.0.0.0",
            "10.2.0.1",
            "255.255.255.255",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.5",
            "256.1.1.1",
            "1..2.3",
            "1.2.3.",
            "",
            "1.2.3.4a",
            "00.1.2.3",
            "1.2.3.0",
        ] {
            let std = s.parse::<std::net::Ipv4Addr>().map(|a| a.to_string());
            assert_eq!(
                is_canonical_v4(s.as_bytes()),
                std.as_deref() == Ok(s),
                "{s}"
            );
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
            ("[0.0.0.0]:tcp:0", "0.0.0.0:0"),
            ("[255.255.255.255]:tcp:65535", "255.255.255.255:65535"),
            ("[010.2.0.1]:tcp:80", "[010.2.0.1]:tcp:80"),
            ("[10.2.0.256]:tcp:80", "[10.2.0.256]:tcp:80"),
            ("[::ffff:10.0.0.1]:tcp:80", "[::ffff:10.0.0.1]:80"),
        ] {
            assert_eq!(real_server(raw), want, "{raw}");
        }
    }
}

//! One identity for a virtual service and one for a real server, whichever source named them.
//!
//! The kernel (/proc, netlink), ipvsadm, keepalived's dumps and logs, and the kernel's log
//! lines all name the same service differently: `TCP  10.1.0.100:80`, `[10.1.0.100]:tcp:80`,
//! `FWM  7 IPv6`, `FWM 5 0x00000005`. [`VirtualServiceId`] and [`RealServerId`] are the keys
//! every reader converts to, so a consumer can join what two readers saw without knowing how
//! either spelled it. They are small `Copy` values (no allocation), ordered and hashable.
//!
//! Text form ([`fmt::Display`], parsed back by [`FromStr`]): `TCP 10.1.0.100:80`,
//! `UDP [fd00::53]:53`, `IP_47 10.0.0.1:0`, `FWM 42`, `FWM 42 IPv4`, `FWM 42 IPv6`, and
//! `10.2.0.11:80` / `[fd00:2::11]:80` for real servers. Display is canonical (kernel protocol
//! names, compressed IPv6, decimal numbers); parsing is forgiving of what a person types or a
//! log wrote, and `parse(display(x)) == x` always holds.
//!
//! Firewall-mark services carry an address family only when the reader knew it: netlink
//! does (`af`), /proc, keepalived and the kernel's log lines print `FWM 7` for either family
//! ([`FwmFamily::Unknown`]). Because `FWM 7` must parse back to `Unknown`, a known IPv4 mark
//! is written `FWM 7 IPv4` — a spelling ipvsadm never prints (it writes IPv4 as bare `FWM 7`).

use super::iptext::IpText;
use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// An IP protocol number, named the way the kernel's `ip_vs_proto_name()` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Protocol(pub u8);

impl Protocol {
    pub const IP: Protocol = Protocol(0);
    pub const ICMP: Protocol = Protocol(1);
    pub const TCP: Protocol = Protocol(6);
    pub const UDP: Protocol = Protocol(17);
    pub const ICMPV6: Protocol = Protocol(58);
    pub const SCTP: Protocol = Protocol(132);

    /// The names the kernel gives; every other number is `IP_<n>`.
    const NAMED: [(Protocol, &'static str); 6] = [
        (Protocol::IP, "IP"),
        (Protocol::ICMP, "ICMP"),
        (Protocol::TCP, "TCP"),
        (Protocol::UDP, "UDP"),
        (Protocol::ICMPV6, "ICMPv6"),
        (Protocol::SCTP, "SCTP"),
    ];

    fn static_name(self) -> Option<&'static str> {
        Protocol::NAMED
            .iter()
            .find(|(p, _)| *p == self)
            .map(|&(_, n)| n)
    }

    /// The kernel's name: `TCP`, `UDP`, `SCTP`, `IP`, `ICMP`, `ICMPv6` or `IP_<n>`.
    pub fn name(self) -> Cow<'static, str> {
        match self.static_name() {
            Some(n) => n.into(),
            None => format!("IP_{}", self.0).into(),
        }
    }

    /// Inverse of [`Protocol::name`]; `None` for anything the kernel would not print.
    pub fn from_name(name: &str) -> Option<Protocol> {
        match Protocol::NAMED.iter().find(|&&(_, n)| n == name) {
            Some(&(p, _)) => Some(p),
            None => Some(Protocol(name.strip_prefix("IP_")?.parse().ok()?)),
        }
    }

    /// keepalived's spelling in logs and configuration: `tcp`, `udp` or `sctp`, any case.
    /// keepalived prints nothing else for a protocol an IPVS service can have.
    pub fn from_keepalived(name: &str) -> Option<Protocol> {
        [Protocol::TCP, Protocol::UDP, Protocol::SCTP]
            .into_iter()
            .find(|p| {
                p.static_name()
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
            })
    }

    /// What a person may type: any kernel name in any case (`tcp`, `icmpv6`, `ip_47`).
    fn from_loose(name: &str) -> Option<Protocol> {
        if let Some(&(p, _)) = Protocol::NAMED
            .iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(name))
        {
            return Some(p);
        }
        let n = name.get(..3).filter(|p| p.eq_ignore_ascii_case("IP_"))?;
        digits(&name[n.len()..]).map(Protocol)
    }
}

impl Protocol {
    /// The kernel's name ([`Protocol::name`]) written without `write!`.
    fn write_name(self, out: &mut impl fmt::Write) -> fmt::Result {
        match self.static_name() {
            Some(n) => out.write_str(n),
            None => {
                out.write_str("IP_")?;
                out.write_str(itoa::Buffer::new().format(self.0))
            }
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_name(f)
    }
}

/// The address family of a firewall-mark service: the mark alone does not say, and IPVS
/// keeps an IPv4 and an IPv6 service with the same mark apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FwmFamily {
    /// The reader could not tell: /proc prints `FWM` for both, and so do keepalived and the
    /// kernel's log lines.
    Unknown,
    V4,
    V6,
}

impl FwmFamily {
    /// From a netlink `IPVS_SVC_ATTR_AF` value (`AF_INET` 2, `AF_INET6` 10).
    pub fn from_af(af: u16) -> FwmFamily {
        match i32::from(af) {
            libc::AF_INET => FwmFamily::V4,
            libc::AF_INET6 => FwmFamily::V6,
            _ => FwmFamily::Unknown,
        }
    }

    /// `IPv4`/`IPv6` as the text form writes them (`v4`, `inet6`… accepted, any case).
    fn from_word(w: &str) -> Option<FwmFamily> {
        let is = |names: &[&str]| names.iter().any(|n| n.eq_ignore_ascii_case(w));
        if is(&["ipv6", "v6", "inet6"]) {
            Some(FwmFamily::V6)
        } else if is(&["ipv4", "v4", "inet"]) {
            Some(FwmFamily::V4)
        } else {
            None
        }
    }

    /// Whether a service seen as `self` may be the one seen as `other`.
    fn compatible(self, other: FwmFamily) -> bool {
        self == other || self == FwmFamily::Unknown || other == FwmFamily::Unknown
    }
}

/// A virtual service: by protocol, address and port, or by firewall mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VirtualServiceId {
    Inet {
        proto: Protocol,
        addr: IpAddr,
        port: u16,
    },
    Fwmark {
        mark: u32,
        family: FwmFamily,
    },
}

/// A real server ("destination"): its address and port. The same server under two virtual
/// services is one `RealServerId`; pair it with a [`VirtualServiceId`] to name a backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RealServerId {
    pub addr: IpAddr,
    pub port: u16,
}

/// What was wrong with a text form. No variant carries the input: it may be huge or hostile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseIdError {
    #[error("empty")]
    Empty,
    #[error("unknown protocol (expected TCP, UDP, SCTP, IP_<n> or FWM)")]
    Protocol,
    #[error("no protocol: a virtual service needs one (`TCP 10.0.0.1:80`)")]
    MissingProtocol,
    #[error("no address")]
    MissingAddress,
    #[error("not an IP address")]
    Address,
    #[error("an IPv6 address needs brackets before a port (`[fd00::1]:80`)")]
    UnbracketedV6,
    #[error("no port")]
    MissingPort,
    #[error("not a port (0-65535)")]
    Port,
    #[error("not a firewall mark (a 32-bit number, decimal or 0x hex)")]
    Mark,
    #[error("unexpected text after the identity")]
    Trailing,
}

/// The label names of a virtual service on every family about one, in order.
pub const SERVICE_LABELS: [&str; 4] = ["proto", "local_address", "local_port", "local_mark"];

/// The label names a real server adds, in order.
pub const REAL_SERVER_LABELS: [&str; 2] = ["remote_address", "remote_port"];

/// The values of `proto`, `local_address`, `local_port` and `local_mark` for one service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceLabelValues {
    pub proto: Cow<'static, str>,
    pub local_address: Cow<'static, str>,
    pub local_port: Cow<'static, str>,
    pub local_mark: Cow<'static, str>,
}

impl ServiceLabelValues {
    /// In label order: `proto`, `local_address`, `local_port`, `local_mark`.
    pub fn as_array(&self) -> [&str; 4] {
        [
            &self.proto,
            &self.local_address,
            &self.local_port,
            &self.local_mark,
        ]
    }
}

impl VirtualServiceId {
    /// The same service with a firewall mark's family set (e.g. once a caller knows it read
    /// ipvsadm's listing, where a bare `FWM 7` is IPv4); other services are returned as is.
    pub fn with_fwm_family(self, family: FwmFamily) -> VirtualServiceId {
        match self {
            VirtualServiceId::Fwmark { mark, .. } => VirtualServiceId::Fwmark { mark, family },
            inet => inet,
        }
    }

    /// Whether `self` and `other` may be the same service as far as both readers could tell:
    /// equal, or the same mark where one side's family is `Unknown`. Use this to join /proc
    /// or keepalived with netlink; `==` to key maps.
    pub fn matches(&self, other: &VirtualServiceId) -> bool {
        match (*self, *other) {
            (
                VirtualServiceId::Fwmark {
                    mark: a,
                    family: fa,
                },
                VirtualServiceId::Fwmark {
                    mark: b,
                    family: fb,
                },
            ) => a == b && fa.compatible(fb),
            (a, b) => a == b,
        }
    }

    /// A virtual service as a log line names it: keepalived 1.3+/2.x `[10.1.0.100]:tcp:80`,
    /// `FWM 5`, the kernel's `TCP 10.1.0.100:80`, `TCP [fd00::1]:443`, `FWM 5 0x00000005`.
    /// `None` for keepalived 1.2's `[10.1.0.100]:80` (no protocol, so not one service),
    /// virtual server groups (`[VSG_1]:80`) and anything not understood.
    pub fn from_log(s: &str) -> Option<VirtualServiceId> {
        s.parse().ok()
    }

    /// The metric label values, as `metrics::labels` renders them: an address-and-port
    /// service gives `proto` (kernel name), `local_address` (canonical, no brackets),
    /// `local_port` and an empty `local_mark`; a firewall-mark service gives `FWM`, an empty
    /// address, port `0` and the mark in decimal. One exception: an IPv6 firewall-mark
    /// service whose family is known gets `local_address` `::`, so it is a series of its own
    /// rather than colliding with the IPv4 service of the same mark. A known IPv4 mark keeps
    /// the empty address, as does `Unknown` (a /proc reader cannot tell): the labels cannot
    /// tell `V4` from `Unknown`, and [`VirtualServiceId::from_labels`] gives `Unknown`.
    pub fn labels(&self) -> ServiceLabelValues {
        match *self {
            VirtualServiceId::Inet { proto, addr, port } => ServiceLabelValues {
                proto: proto.name(),
                local_address: addr.to_string().into(),
                local_port: port.to_string().into(),
                local_mark: "".into(),
            },
            VirtualServiceId::Fwmark { mark, family } => ServiceLabelValues {
                proto: "FWM".into(),
                local_address: if family == FwmFamily::V6 { "::" } else { "" }.into(),
                local_port: "0".into(),
                local_mark: mark.to_string().into(),
            },
        }
    }

    /// Inverse of [`VirtualServiceId::labels`] (strict: only what `labels` writes), so a
    /// series read back from Prometheus can be joined with a reader's model.
    pub fn from_labels(
        proto: &str,
        local_address: &str,
        local_port: &str,
        local_mark: &str,
    ) -> Option<VirtualServiceId> {
        if proto == "FWM" {
            let family = match local_address {
                "" => FwmFamily::Unknown,
                "::" => FwmFamily::V6,
                _ => return None,
            };
            return (local_port == "0").then_some(VirtualServiceId::Fwmark {
                mark: digits(local_mark)?,
                family,
            });
        }
        if !local_mark.is_empty() {
            return None;
        }
        Some(VirtualServiceId::Inet {
            proto: Protocol::from_name(proto)?,
            addr: local_address.parse().ok()?,
            port: digits(local_port)?,
        })
    }
}

impl RealServerId {
    /// A real server as a log line names it: `[10.2.0.12]:tcp:80` (keepalived 1.3+),
    /// `[10.2.0.12]:80` (1.2), `10.2.0.12:80`, `[fd00::12]:80`. `None` for a bare address
    /// (`[10.0.0.23]`, 1.x MISC_CHECK): the port is not unknown but unsaid, and port 0 is a
    /// real, different destination (firewall-mark services use it).
    pub fn from_log(s: &str) -> Option<RealServerId> {
        s.parse().ok()
    }

    /// `remote_address` (canonical, no brackets) and `remote_port`, as `metrics::labels`
    /// renders them.
    pub fn labels(&self) -> (String, String) {
        (self.addr.to_string(), self.port.to_string())
    }

    /// Inverse of [`RealServerId::labels`].
    pub fn from_labels(remote_address: &str, remote_port: &str) -> Option<RealServerId> {
        Some(RealServerId {
            addr: remote_address.parse().ok()?,
            port: digits(remote_port)?,
        })
    }
}

impl fmt::Display for VirtualServiceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_text(f)
    }
}

impl fmt::Display for RealServerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // As `SocketAddr` writes it: IPv6 bracketed and compressed, the canonical form.
        f.pad(IpText::with_port(self.addr, self.port).as_str())
    }
}

impl VirtualServiceId {
    /// Its text form, as `Display` writes it, appended to `out` without the formatting
    /// machinery: `analyze` names services in hundreds of thousands of incidents, and a
    /// summary written with `format!` and this type's `Display` took a thousand
    /// instructions (callgrind).
    pub fn push_text(&self, out: &mut String) {
        // Writing to a `String` cannot fail.
        let _ = self.write_text(out);
    }

    /// [`VirtualServiceId::push_text`] into a string of its own.
    pub fn text(&self) -> String {
        let mut s = String::with_capacity(32);
        self.push_text(&mut s);
        s
    }

    /// The text form, piece by piece (no `write!`): `Display` and `push_text` both.
    fn write_text(&self, out: &mut impl fmt::Write) -> fmt::Result {
        match *self {
            VirtualServiceId::Inet { proto, addr, port } => {
                proto.write_name(out)?;
                out.write_str(" ")?;
                out.write_str(IpText::with_port(addr, port).as_str())
            }
            VirtualServiceId::Fwmark { mark, family } => {
                out.write_str("FWM ")?;
                out.write_str(itoa::Buffer::new().format(mark))?;
                out.write_str(match family {
                    FwmFamily::Unknown => "",
                    FwmFamily::V4 => " IPv4",
                    FwmFamily::V6 => " IPv6",
                })
            }
        }
    }
}

impl RealServerId {
    /// Its text form, as `Display` writes it, appended to `out` (see
    /// [`VirtualServiceId::push_text`]).
    pub fn push_text(&self, out: &mut String) {
        out.push_str(IpText::with_port(self.addr, self.port).as_str());
    }

    /// [`RealServerId::push_text`] into a string of its own.
    pub fn text(&self) -> String {
        IpText::with_port(self.addr, self.port).as_str().to_string()
    }
}

impl FromStr for VirtualServiceId {
    type Err = ParseIdError;

    /// `PROTO ADDR:PORT` (protocol any case, IPv6 bracketed), keepalived's
    /// `[ADDR]:proto:PORT`, or `FWM N` / `fwmark N` with the mark decimal or `0x` hex, then
    /// optionally the kernel's hex echo of it (`0x00000005`) and a family (`IPv4`, `IPv6`).
    /// Words may be separated by any ASCII whitespace.
    fn from_str(s: &str) -> Result<VirtualServiceId, ParseIdError> {
        let mut words = s.split_ascii_whitespace();
        let first = words.next().ok_or(ParseIdError::Empty)?;
        if first.eq_ignore_ascii_case("FWM") || first.eq_ignore_ascii_case("fwmark") {
            return parse_fwmark(words);
        }
        let Some(second) = words.next() else {
            // One word: keepalived's `[ADDR]:proto:PORT`, or a service without a protocol.
            if !first.starts_with('[') {
                return Err(match Protocol::from_loose(first) {
                    Some(_) => ParseIdError::MissingAddress,
                    None => ParseIdError::MissingProtocol,
                });
            }
            let (addr, proto, port) = parse_bracketed(first)?;
            let proto = proto.ok_or(ParseIdError::MissingProtocol)?;
            let proto = Protocol::from_loose(proto).ok_or(ParseIdError::Protocol)?;
            return Ok(VirtualServiceId::Inet { proto, addr, port });
        };
        let proto = Protocol::from_loose(first).ok_or(ParseIdError::Protocol)?;
        let (addr, port) = parse_host_port(second)?;
        if words.next().is_some() {
            return Err(ParseIdError::Trailing);
        }
        Ok(VirtualServiceId::Inet { proto, addr, port })
    }
}

impl FromStr for RealServerId {
    type Err = ParseIdError;

    /// `ADDR:PORT` (IPv6 bracketed), `[ADDR]:PORT`, or keepalived's `[ADDR]:proto:PORT`
    /// (the protocol is the virtual service's and is dropped), with whitespace around.
    fn from_str(s: &str) -> Result<RealServerId, ParseIdError> {
        let mut words = s.split_ascii_whitespace();
        let word = words.next().ok_or(ParseIdError::Empty)?;
        if words.next().is_some() {
            return Err(ParseIdError::Trailing);
        }
        let (addr, port) = if word.starts_with('[') {
            let (addr, proto, port) = parse_bracketed(word)?;
            if proto.is_some_and(|p| Protocol::from_loose(p).is_none()) {
                return Err(ParseIdError::Protocol);
            }
            (addr, port)
        } else {
            parse_host_port(word)?
        };
        Ok(RealServerId { addr, port })
    }
}

/// What follows `FWM`: the mark, then in any order at most one hex echo of it (the kernel's
/// `FWM 5 0x00000005`) and at most one family word.
fn parse_fwmark<'a>(
    mut words: impl Iterator<Item = &'a str>,
) -> Result<VirtualServiceId, ParseIdError> {
    let mark = words.next().ok_or(ParseIdError::Mark)?;
    let mark = parse_mark(mark).ok_or(ParseIdError::Mark)?;
    let (mut family, mut echoed) = (None, false);
    for w in words {
        if let Some(hex) = strip_hex(w) {
            if echoed || !is_hex(hex) || u32::from_str_radix(hex, 16) != Ok(mark) {
                return Err(ParseIdError::Mark);
            }
            echoed = true;
        } else if let (None, Some(f)) = (family, FwmFamily::from_word(w)) {
            family = Some(f);
        } else {
            return Err(ParseIdError::Trailing);
        }
    }
    Ok(VirtualServiceId::Fwmark {
        mark,
        family: family.unwrap_or(FwmFamily::Unknown),
    })
}

/// A mark in decimal or `0x` hex.
fn parse_mark(w: &str) -> Option<u32> {
    match strip_hex(w) {
        Some(hex) if is_hex(hex) => u32::from_str_radix(hex, 16).ok(),
        Some(_) => None,
        None => digits(w),
    }
}

fn strip_hex(w: &str) -> Option<&str> {
    w.strip_prefix("0x").or_else(|| w.strip_prefix("0X"))
}

fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A decimal number of plain ASCII digits (the standard parsers also take a leading `+`).
fn digits<T: FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn parse_port(s: &str) -> Result<u16, ParseIdError> {
    if s.is_empty() {
        return Err(ParseIdError::MissingPort);
    }
    digits(s).ok_or(ParseIdError::Port)
}

fn parse_ip(s: &str) -> Result<IpAddr, ParseIdError> {
    match super::iptext::read_v4(s) {
        Some(v4) => Ok(IpAddr::V4(v4)),
        None => s.parse().map_err(|_| ParseIdError::Address),
    }
}

/// Splits at the first `c`. The texts are a few bytes long: a plain loop, where
/// `split_once` sets up a `memchr` search (a sixth of reading an identity, callgrind).
fn split_at_byte(s: &str, c: u8) -> Option<(&str, &str)> {
    let at = s.bytes().position(|b| b == c)?;
    // `c` is ASCII, so both sides are on character boundaries.
    Some((s.get(..at)?, s.get(at + 1..)?))
}

/// `[ADDR]:PORT` or `[ADDR]:proto:PORT` (keepalived: `inet_sockaddrtopair`/`…totrio`).
fn parse_bracketed(s: &str) -> Result<(IpAddr, Option<&str>, u16), ParseIdError> {
    let rest = s.strip_prefix('[').ok_or(ParseIdError::Address)?;
    let (host, after) = split_at_byte(rest, b']').ok_or(ParseIdError::Address)?;
    let addr = parse_ip(host)?;
    let after = after.strip_prefix(':').ok_or(ParseIdError::MissingPort)?;
    match split_at_byte(after, b':') {
        Some((proto, port)) => Ok((addr, Some(proto), parse_port(port)?)),
        None => Ok((addr, None, parse_port(after)?)),
    }
}

/// `10.0.0.1:80`, `[fd00::1]:80` or `[10.0.0.1]:80`.
fn parse_host_port(s: &str) -> Result<(IpAddr, u16), ParseIdError> {
    if s.starts_with('[') {
        return match parse_bracketed(s)? {
            (addr, None, port) => Ok((addr, port)),
            (_, Some(_), _) => Err(ParseIdError::Port),
        };
    }
    let (host, port) = s.rsplit_once(':').ok_or(ParseIdError::MissingPort)?;
    if host.contains(':') {
        return Err(ParseIdError::UnbracketedV6);
    }
    Ok((parse_ip(host)?, parse_port(port)?))
}

#[cfg(test)]
mod tests;

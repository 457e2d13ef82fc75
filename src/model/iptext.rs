//! IP addresses (and ports) as text, exactly as std writes them, made on the stack; and
//! dotted IPv4 text read exactly as std reads it.
//!
//! std's `Display` for `Ipv4Addr`, `Ipv6Addr` and `SocketAddr` goes through the formatting
//! machinery for every octet or group. Identities are written for every incident (its
//! summary, its JSON) and every backend's labels of every scrape: for `analyze` that was 8 %
//! of bench/logs.sh's file (callgrind: `SocketAddr` and `Ipv4Addr` `Display`, 70 M of 894 M
//! instructions), and IPv6 display 2–3 % of a scrape of the L tree, whose backends are a
//! third IPv6 (perf). The proptests in `identity`'s tests hold both writers to std's text
//! byte for byte.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Bytes of text written on the stack, at most `N`.
struct Stack<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> Stack<N> {
    fn new() -> Self {
        Stack {
            buf: [0; N],
            len: 0,
        }
    }

    /// Callers push at most `N` bytes in all (their longest text is counted below).
    fn push(&mut self, s: &[u8]) {
        self.buf[self.len..self.len + s.len()].copy_from_slice(s);
        self.len += s.len();
    }

    fn as_str(&self) -> &str {
        // Only ASCII digits, hex letters, dots, colons and brackets are written.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or_default()
    }
}

/// An address (and a port) as `IpAddr` and `SocketAddr` write them: `10.2.0.11`,
/// `10.2.0.11:80`; IPv6 by RFC 5952 as std applies it (lower-case hex without leading
/// zeros, the first longest run of two or more zero groups as `::`, IPv4-mapped addresses
/// as `::ffff:a.b.c.d`), bracketed before a port: `[fd00::11]:80`.
pub struct IpText(Stack<47>);

impl IpText {
    pub fn new(addr: IpAddr) -> IpText {
        let mut t = Stack::new();
        match addr {
            IpAddr::V4(v4) => write_v4(&mut t, v4),
            IpAddr::V6(v6) => write_v6(&mut t, v6),
        }
        IpText(t)
    }

    /// The same followed by `:PORT`, IPv6 in brackets (39 + 2 + 6 bytes at most).
    pub fn with_port(addr: IpAddr, port: u16) -> IpText {
        let mut t = Stack::new();
        match addr {
            IpAddr::V4(v4) => write_v4(&mut t, v4),
            IpAddr::V6(v6) => {
                t.push(b"[");
                write_v6(&mut t, v6);
                t.push(b"]");
            }
        }
        t.push(b":");
        t.push(itoa::Buffer::new().format(port).as_bytes());
        IpText(t)
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

fn write_v4<const N: usize>(t: &mut Stack<N>, addr: Ipv4Addr) {
    let mut digits = itoa::Buffer::new();
    for (i, o) in addr.octets().into_iter().enumerate() {
        if i > 0 {
            t.push(b".");
        }
        t.push(digits.format(o).as_bytes());
    }
}

fn write_v6<const N: usize>(t: &mut Stack<N>, addr: Ipv6Addr) {
    if let Some(v4) = addr.to_ipv4_mapped() {
        t.push(b"::ffff:");
        write_v4(t, v4);
        return;
    }
    let groups = addr.segments();
    // The first longest run of zero groups (std's rule), used when two or more long.
    let (mut best, mut best_len, mut run, mut run_len) = (0, 0, 0, 0);
    for (i, &g) in groups.iter().enumerate() {
        if g == 0 {
            if run_len == 0 {
                run = i;
            }
            run_len += 1;
            if run_len > best_len {
                (best, best_len) = (run, run_len);
            }
        } else {
            run_len = 0;
        }
    }
    let hex = |t: &mut Stack<N>, part: &[u16]| {
        for (i, &g) in part.iter().enumerate() {
            if i > 0 {
                t.push(b":");
            }
            push_hex(t, g);
        }
    };
    if best_len > 1 {
        hex(t, &groups[..best]);
        t.push(b"::");
        hex(t, &groups[best + best_len..]);
    } else {
        hex(t, &groups);
    }
}

/// A group in lower-case hex without leading zeros (`0` for zero).
fn push_hex<const N: usize>(t: &mut Stack<N>, g: u16) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 4];
    let mut n = 0;
    let mut started = false;
    for shift in [12, 8, 4, 0] {
        let d = (g >> shift) & 0xf;
        if d != 0 || started || shift == 0 {
            out[n] = DIGITS[usize::from(d)];
            n += 1;
            started = true;
        }
    }
    t.push(&out[..n]);
}

/// A dotted IPv4 address (`10.2.0.11`) read by std's rules (four decimal octets of one to
/// three digits, none above 255, no leading zero but in `0` itself, nothing around them),
/// without std's parser: `analyze` reads the real server and the virtual service of every
/// checker line, and std's `IpAddr` parser was a third of reading an identity (callgrind,
/// bench/logs.sh's file). `None` for any other text, IPv6 included: callers then ask std.
pub fn read_v4(s: &str) -> Option<Ipv4Addr> {
    let b = s.as_bytes();
    let mut octets = [0u8; 4];
    let mut i = 0;
    for (n, o) in octets.iter_mut().enumerate() {
        if n > 0 {
            if b.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
        let start = i;
        let mut v: u32 = 0;
        while let Some(&d) = b.get(i) {
            if !d.is_ascii_digit() || i - start == 3 {
                break;
            }
            v = v * 10 + u32::from(d - b'0');
            i += 1;
        }
        let len = i - start;
        if len == 0 || v > 255 || (len > 1 && b[start] == b'0') {
            return None;
        }
        *o = v as u8;
    }
    (i == b.len()).then_some(Ipv4Addr::from(octets))
}

use super::*;
use proptest::prelude::*;
use std::collections::BTreeSet;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};

fn vs(s: &str) -> VirtualServiceId {
    match s.parse() {
        Ok(v) => v,
        Err(e) => panic!("{s:?}: {e}"),
    }
}

fn rs(s: &str) -> RealServerId {
    match s.parse() {
        Ok(v) => v,
        Err(e) => panic!("{s:?}: {e}"),
    }
}

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Every spelling of a service or server address in the log fixtures (tests/fixtures/logs:
/// the real keepalived 2.2.7 captures and the reference lines, which are copies of
/// reference/logs), with what it names as a virtual service and as a real server.
const LOG_SPELLINGS: &[(&str, Option<&str>, Option<&str>)] = &[
    // keepalived 1.3+ / 2.x `inet_sockaddrtotrio`
    (
        "[10.0.0.100]:tcp:80",
        Some("TCP 10.0.0.100:80"),
        Some("10.0.0.100:80"),
    ),
    (
        "[10.0.0.100]:tcp:8080",
        Some("TCP 10.0.0.100:8080"),
        Some("10.0.0.100:8080"),
    ),
    // the keepalived_flap capture
    (
        "[10.0.0.100]:tcp:8090",
        Some("TCP 10.0.0.100:8090"),
        Some("10.0.0.100:8090"),
    ),
    (
        "[10.1.0.11]:tcp:8090",
        Some("TCP 10.1.0.11:8090"),
        Some("10.1.0.11:8090"),
    ),
    (
        "[10.1.0.12]:tcp:8090",
        Some("TCP 10.1.0.12:8090"),
        Some("10.1.0.12:8090"),
    ),
    (
        "[10.0.0.21]:tcp:80",
        Some("TCP 10.0.0.21:80"),
        Some("10.0.0.21:80"),
    ),
    (
        "[10.0.0.22]:tcp:80",
        Some("TCP 10.0.0.22:80"),
        Some("10.0.0.22:80"),
    ),
    (
        "[10.0.0.22]:tcp:443",
        Some("TCP 10.0.0.22:443"),
        Some("10.0.0.22:443"),
    ),
    (
        "[10.0.0.23]:tcp:80",
        Some("TCP 10.0.0.23:80"),
        Some("10.0.0.23:80"),
    ),
    (
        "[10.0.0.25]:tcp:25",
        Some("TCP 10.0.0.25:25"),
        Some("10.0.0.25:25"),
    ),
    (
        "[10.0.0.53]:udp:53",
        Some("UDP 10.0.0.53:53"),
        Some("10.0.0.53:53"),
    ),
    (
        "[10.0.0.54]:udp:514",
        Some("UDP 10.0.0.54:514"),
        Some("10.0.0.54:514"),
    ),
    (
        "[10.0.0.55]:tcp:80",
        Some("TCP 10.0.0.55:80"),
        Some("10.0.0.55:80"),
    ),
    (
        "[10.0.0.99]:tcp:80",
        Some("TCP 10.0.0.99:80"),
        Some("10.0.0.99:80"),
    ),
    (
        "[10.1.0.11]:tcp:8080",
        Some("TCP 10.1.0.11:8080"),
        Some("10.1.0.11:8080"),
    ),
    (
        "[10.1.0.11]:tcp:8081",
        Some("TCP 10.1.0.11:8081"),
        Some("10.1.0.11:8081"),
    ),
    (
        "[10.1.0.12]:tcp:8080",
        Some("TCP 10.1.0.12:8080"),
        Some("10.1.0.12:8080"),
    ),
    // keepalived-2.2.7-checkers.log: one service per checker type (SSL, DNS over UDP, SMTP)
    (
        "[10.0.0.100]:tcp:25",
        Some("TCP 10.0.0.100:25"),
        Some("10.0.0.100:25"),
    ),
    (
        "[10.0.0.100]:tcp:443",
        Some("TCP 10.0.0.100:443"),
        Some("10.0.0.100:443"),
    ),
    (
        "[10.0.0.100]:tcp:81",
        Some("TCP 10.0.0.100:81"),
        Some("10.0.0.100:81"),
    ),
    (
        "[10.0.0.100]:tcp:82",
        Some("TCP 10.0.0.100:82"),
        Some("10.0.0.100:82"),
    ),
    (
        "[10.0.0.100]:udp:53",
        Some("UDP 10.0.0.100:53"),
        Some("10.0.0.100:53"),
    ),
    (
        "[10.1.0.11]:tcp:8443",
        Some("TCP 10.1.0.11:8443"),
        Some("10.1.0.11:8443"),
    ),
    (
        "[10.1.0.11]:udp:5300",
        Some("UDP 10.1.0.11:5300"),
        Some("10.1.0.11:5300"),
    ),
    (
        "[10.1.0.12]:tcp:2525",
        Some("TCP 10.1.0.12:2525"),
        Some("10.1.0.12:2525"),
    ),
    (
        "[10.1.0.12]:tcp:8082",
        Some("TCP 10.1.0.12:8082"),
        Some("10.1.0.12:8082"),
    ),
    (
        "[10.1.0.12]:tcp:8083",
        Some("TCP 10.1.0.12:8083"),
        Some("10.1.0.12:8083"),
    ),
    (
        "[10.0.0.100]:tcp:84",
        Some("TCP 10.0.0.100:84"),
        Some("10.0.0.100:84"),
    ),
    (
        "[10.1.0.11]:tcp:8084",
        Some("TCP 10.1.0.11:8084"),
        Some("10.1.0.11:8084"),
    ),
    // SMTP_CHECK's own `inet_sockaddrtopair` of the real server
    ("[10.1.0.12]:2525", None, Some("10.1.0.12:2525")),
    // keepalived 1.2 `inet_sockaddrtopair`: no protocol, so no virtual service identity
    ("[10.0.0.100]:80", None, Some("10.0.0.100:80")),
    ("[10.0.0.21]:80", None, Some("10.0.0.21:80")),
    ("[10.0.0.25]:25", None, Some("10.0.0.25:25")),
    ("[10.36.6.35]:80", None, Some("10.36.6.35:80")),
    // 1.x MISC_CHECK names the server without a port
    ("[10.0.0.23]", None, None),
    ("10.0.0.23", None, None),
    // the kernel (`IPVS: sh: TCP [2001:db8::100]:443 - no destination available`)
    ("TCP 10.0.0.100:80", Some("TCP 10.0.0.100:80"), None),
    ("TCP 10.0.0.100:443", Some("TCP 10.0.0.100:443"), None),
    ("UDP 10.0.0.100:53", Some("UDP 10.0.0.100:53"), None),
    (
        "TCP 172.16.42.170:2222",
        Some("TCP 172.16.42.170:2222"),
        None,
    ),
    (
        "TCP 172.17.115.192:443",
        Some("TCP 172.17.115.192:443"),
        None,
    ),
    (
        "TCP [2001:db8::100]:443",
        Some("TCP [2001:db8::100]:443"),
        None,
    ),
    ("FWM 5 0x00000005", Some("FWM 5"), None),
    // keepalived `format_vs` for a firewall mark
    ("FWM 5", Some("FWM 5"), None),
];

/// More spellings the sources can write that the fixtures happen not to contain.
const OTHER_SPELLINGS: &[(&str, Option<&str>, Option<&str>)] = &[
    // the address inside the kernel's `TCP [2001:db8::100]:443`
    ("[2001:db8::100]:443", None, Some("[2001:db8::100]:443")),
    (
        "[fd00::12]:tcp:80",
        Some("TCP [fd00::12]:80"),
        Some("[fd00::12]:80"),
    ),
    (
        "[fd00:0::1]:tcp:443",
        Some("TCP [fd00::1]:443"),
        Some("[fd00::1]:443"),
    ),
    ("[fd00::12]:80", None, Some("[fd00::12]:80")),
    (
        "[10.1.0.100]:sctp:3868",
        Some("SCTP 10.1.0.100:3868"),
        Some("10.1.0.100:3868"),
    ),
    ("10.2.0.12:80", None, Some("10.2.0.12:80")),
    ("TCP [fd00:0:0::1]:443", Some("TCP [fd00::1]:443"), None),
    ("SCTP 10.1.0.100:3868", Some("SCTP 10.1.0.100:3868"), None),
    ("FWM 42 0x0000002A", Some("FWM 42"), None),
    ("fwmark 5", Some("FWM 5"), None),
    ("[VSG_1]:80", None, None),
    ("[VSG_1]:tcp:80", None, None),
    ("[fd00::12]", None, None),
    (
        "[::ffff:10.0.0.1]:tcp:80",
        Some("TCP [::ffff:10.0.0.1]:80"),
        Some("[::ffff:10.0.0.1]:80"),
    ),
];

fn check_spellings(table: &[(&str, Option<&str>, Option<&str>)]) {
    for &(raw, want_vs, want_rs) in table {
        let got_vs = VirtualServiceId::from_log(raw).map(|v| v.to_string());
        assert_eq!(got_vs.as_deref(), want_vs, "virtual service {raw:?}");
        let got_rs = RealServerId::from_log(raw).map(|r| r.to_string());
        assert_eq!(got_rs.as_deref(), want_rs, "real server {raw:?}");
    }
}

#[test]
fn every_log_spelling_maps() {
    check_spellings(LOG_SPELLINGS);
    check_spellings(OTHER_SPELLINGS);
}

/// Finds every address-like token in the log fixtures, so a spelling added to them later
/// fails here until it is in [`LOG_SPELLINGS`].
#[test]
fn the_table_covers_every_spelling_in_the_log_fixtures() {
    let token = regex::Regex::new(
        r"\[[0-9A-Fa-f:.]+\](?::[a-z]+)?(?::\d+)?|(?:TCP|UDP|SCTP) (?:\[[0-9A-Fa-f:]+\]|[0-9.]+):\d+|FWM \d+(?: 0x[0-9A-Fa-f]+)?",
    )
    .unwrap();
    let known: BTreeSet<&str> = LOG_SPELLINGS.iter().map(|&(s, _, _)| s).collect();
    let dir = fixture("tests/fixtures/logs");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "log" || x == "txt"))
        .collect();
    files.sort();
    assert!(files.len() >= 6, "{files:?}");
    let mut missing = BTreeSet::new();
    let mut seen = BTreeSet::new();
    for f in &files {
        for m in token.find_iter(&read(f)) {
            let t = m.as_str();
            // Pids (`[1235]`) and timestamps (`[12345.678901]`) are not addresses.
            let inner = t.strip_prefix('[').and_then(|r| r.split(']').next());
            if inner.is_some_and(|i| i.parse::<IpAddr>().is_err()) {
                continue;
            }
            seen.insert(t.to_string());
            if !known.contains(t) {
                missing.insert(format!("{t} ({})", f.display()));
            }
        }
    }
    assert!(missing.is_empty(), "not in LOG_SPELLINGS: {missing:#?}");
    // The bare MISC_CHECK form is found inside `[...]` by the capture, not by this scan.
    for &(s, _, _) in LOG_SPELLINGS {
        assert!(
            s == "10.0.0.23" || seen.contains(s),
            "{s} is not in the fixtures"
        );
    }
}

#[test]
fn text_forms_are_canonical() {
    for (typed, canonical) in [
        ("TCP 10.1.0.100:80", "TCP 10.1.0.100:80"),
        ("  tcp\t10.1.0.100:80 ", "TCP 10.1.0.100:80"),
        ("udp 10.1.0.100:053", "UDP 10.1.0.100:53"),
        ("Sctp 10.1.0.100:3868", "SCTP 10.1.0.100:3868"),
        ("TCP [fd00:1:0::100]:443", "TCP [fd00:1::100]:443"),
        ("TCP [10.1.0.100]:80", "TCP 10.1.0.100:80"),
        ("ip_47 10.0.0.1:0", "IP_47 10.0.0.1:0"),
        ("IP_6 10.0.0.1:80", "TCP 10.0.0.1:80"),
        ("icmpv6 [::1]:0", "ICMPv6 [::1]:0"),
        ("FWM 42", "FWM 42"),
        ("fwm   42", "FWM 42"),
        ("FWM 0x2a", "FWM 42"),
        ("FWM 42 IPv6", "FWM 42 IPv6"),
        ("fwm 42 ipv6", "FWM 42 IPv6"),
        ("FWM 42 0x2A v4", "FWM 42 IPv4"),
        ("FWM  7 IPv6", "FWM 7 IPv6"),
    ] {
        assert_eq!(vs(typed).to_string(), canonical, "{typed:?}");
    }
    for (typed, canonical) in [
        ("10.2.0.11:80", "10.2.0.11:80"),
        ("[fd00:2:0::11]:80", "[fd00:2::11]:80"),
        (" [10.2.0.11]:80 ", "10.2.0.11:80"),
        ("[10.2.0.11]:UDP:53", "10.2.0.11:53"),
    ] {
        assert_eq!(rs(typed).to_string(), canonical, "{typed:?}");
    }
}

#[test]
fn errors_say_what_was_wrong() {
    use ParseIdError as E;
    for (s, want) in [
        ("", E::Empty),
        ("   ", E::Empty),
        ("HTTP 10.0.0.1:80", E::Protocol),
        ("10.0.0.1:80", E::MissingProtocol),
        ("TCP", E::MissingAddress),
        ("fwmark", E::Mark),
        ("[10.0.0.1]:80", E::MissingProtocol),
        ("TCP 10.0.0.256:80", E::Address),
        ("TCP fd00::1:80", E::UnbracketedV6),
        ("TCP 10.0.0.1", E::MissingPort),
        ("TCP 10.0.0.1:", E::MissingPort),
        ("TCP 10.0.0.1:99999", E::Port),
        ("TCP 10.0.0.1:+80", E::Port),
        ("TCP 10.0.0.1:80 rr", E::Trailing),
        ("FWM", E::Mark),
        ("FWM -1", E::Mark),
        ("FWM 4294967296", E::Mark),
        ("FWM 5 0x6", E::Mark),
        ("FWM 5 IPv6 IPv4", E::Trailing),
        ("FWM 5 rr", E::Trailing),
        ("[VSG_1]:tcp:80", E::Address),
        ("[10.0.0.1]:bogus:80", E::Protocol),
    ] {
        assert_eq!(s.parse::<VirtualServiceId>(), Err(want), "{s:?}");
    }
    for (s, want) in [
        ("", E::Empty),
        ("10.0.0.1", E::MissingPort),
        ("[10.0.0.1]", E::MissingPort),
        ("fd00::1", E::UnbracketedV6),
        ("10.0.0.1:65536", E::Port),
        ("10.0.0.1:80 x", E::Trailing),
        ("[10.0.0.1]:zz:80", E::Protocol),
    ] {
        assert_eq!(s.parse::<RealServerId>(), Err(want), "{s:?}");
    }
    // Errors are short whatever the input.
    assert!(ParseIdError::Trailing.to_string().len() < 80);
}

#[test]
fn hostile_input_is_refused_without_panicking() {
    let huge = "9".repeat(1 << 20);
    let huge_v6 = format!("TCP [{}]:80", "1:".repeat(100_000));
    let many_brackets = "[".repeat(10_000);
    for s in [
        "[",
        "]",
        "]:",
        "[]:",
        "[]:80",
        "[:]:80",
        "[[10.0.0.1]]:80",
        "[10.0.0.1",
        "10.0.0.1]:80",
        "FWM",
        "FWM FWM",
        "FWM 0x",
        "FWM 0x+5",
        "TCP",
        "TCP [",
        "TCP ]:",
        "TCP 10.0.0.1:99999",
        "TCP [fd00::1]:99999",
        "ΤCP 10.0.0.1:80",
        "TCP 10.0.0.1:８０",
        "TCP\u{a0}10.0.0.1:80",
        "IP_ 10.0.0.1:80",
        "IP_256 10.0.0.1:80",
        "IPé 10.0.0.1:80",
        "é",
        "[fe80::1%eth0]:80",
        huge.as_str(),
        huge_v6.as_str(),
        many_brackets.as_str(),
    ] {
        assert!(s.parse::<VirtualServiceId>().is_err(), "{:.60}", s);
        assert!(VirtualServiceId::from_log(s).is_none(), "{:.60}", s);
        assert!(RealServerId::from_log(s).is_none(), "{:.60}", s);
    }
}

#[test]
fn labels_match_todays_series() {
    let cases = [
        ("TCP 10.1.0.100:80", ["TCP", "10.1.0.100", "80", ""]),
        ("UDP [fd00:1::53]:53", ["UDP", "fd00:1::53", "53", ""]),
        ("SCTP 10.1.0.100:3868", ["SCTP", "10.1.0.100", "3868", ""]),
        ("IP_47 10.0.0.1:0", ["IP_47", "10.0.0.1", "0", ""]),
        ("FWM 42", ["FWM", "", "0", "42"]),
        ("FWM 42 IPv4", ["FWM", "", "0", "42"]),
        // A known IPv6 mark is its own series.
        ("FWM 42 IPv6", ["FWM", "::", "0", "42"]),
    ];
    for (text, want) in cases {
        let id = vs(text);
        let labels = id.labels();
        assert_eq!(labels.as_array(), want, "{text}");
        let [p, a, port, m] = want;
        let back = VirtualServiceId::from_labels(p, a, port, m);
        assert_eq!(back, Some(id.with_fwm_family_if_v4_unknown()), "{text}");
    }
    assert_eq!(
        rs("[fd00:2::11]:80").labels(),
        ("fd00:2::11".to_string(), "80".to_string())
    );
    for bad in [
        ["FWM", "", "80", "42"],
        ["FWM", "10.0.0.1", "0", "42"],
        ["FWM", "", "0", ""],
        ["FWM", "", "0", "0x2a"],
        ["TCP", "10.0.0.1", "80", "5"],
        ["TCP", "[fd00::1]", "80", ""],
        ["tcp", "10.0.0.1", "80", ""],
        ["TCP", "10.0.0.1", "", ""],
    ] {
        let [p, a, port, m] = bad;
        assert_eq!(
            VirtualServiceId::from_labels(p, a, port, m),
            None,
            "{bad:?}"
        );
    }
}

impl VirtualServiceId {
    /// What survives a trip through the labels: a known IPv4 mark reads back as `Unknown`.
    fn with_fwm_family_if_v4_unknown(self) -> VirtualServiceId {
        match self {
            VirtualServiceId::Fwmark {
                mark,
                family: FwmFamily::V4,
            } => VirtualServiceId::Fwmark {
                mark,
                family: FwmFamily::Unknown,
            },
            other => other,
        }
    }
}

#[test]
fn protocol_names() {
    for (s, want) in [
        ("tcp", Some(Protocol::TCP)),
        ("UDP", Some(Protocol::UDP)),
        ("Sctp", Some(Protocol::SCTP)),
        ("icmp", None),
        ("IP_6", None),
        ("", None),
    ] {
        assert_eq!(Protocol::from_keepalived(s), want, "{s}");
    }
    for n in 0..=255u8 {
        let p = Protocol(n);
        assert_eq!(p.to_string(), p.name());
        assert_eq!(Protocol::from_name(&p.name()), Some(p));
        assert_eq!(Protocol::from_loose(&p.name().to_lowercase()), Some(p));
    }
}

fn any_ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<u32>().prop_map(|a| IpAddr::V4(Ipv4Addr::from(a))),
        any::<u128>().prop_map(|a| IpAddr::V6(Ipv6Addr::from(a))),
        // Few bits set: the compressed (`::`) forms.
        (any::<u16>(), any::<u16>(), 0..8u32).prop_map(|(a, b, s)| IpAddr::V6(Ipv6Addr::from(
            (u128::from(a) << 112) | (u128::from(b) << (16 * s))
        ))),
    ]
}

fn any_vs() -> impl Strategy<Value = VirtualServiceId> {
    let family = prop_oneof![
        Just(FwmFamily::Unknown),
        Just(FwmFamily::V4),
        Just(FwmFamily::V6)
    ];
    prop_oneof![
        (any::<u8>(), any_ip(), any::<u16>()).prop_map(|(p, addr, port)| {
            VirtualServiceId::Inet {
                proto: Protocol(p),
                addr,
                port,
            }
        }),
        (any::<u32>(), family).prop_map(|(mark, family)| VirtualServiceId::Fwmark { mark, family }),
    ]
}

proptest! {
    #[test]
    fn virtual_service_text_round_trips(id in any_vs()) {
        let text = id.to_string();
        prop_assert_eq!(text.parse::<VirtualServiceId>(), Ok(id));
        prop_assert_eq!(VirtualServiceId::from_log(&text), Some(id));
        // What a person types: lower case, extra blanks.
        let typed = format!("  {}  ", text.to_lowercase().replace(' ', " \t "));
        prop_assert_eq!(typed.parse::<VirtualServiceId>(), Ok(id), "{}", typed);
    }

    #[test]
    fn the_fast_text_is_the_display_text(id in any_vs(), addr in any_ip(), port in any::<u16>()) {
        prop_assert_eq!(id.text(), id.to_string());
        let mut s = String::from("x");
        id.push_text(&mut s);
        prop_assert_eq!(s, format!("x{id}"));
        let rs = RealServerId { addr, port };
        prop_assert_eq!(rs.text(), rs.to_string());
    }

    #[test]
    fn virtual_service_labels_round_trip(id in any_vs()) {
        let l = id.labels();
        let [p, a, port, m] = l.as_array();
        prop_assert_eq!(
            VirtualServiceId::from_labels(p, a, port, m),
            Some(id.with_fwm_family_if_v4_unknown())
        );
    }

    #[test]
    fn real_server_text_and_labels_round_trip(addr in any_ip(), port in any::<u16>()) {
        let id = RealServerId { addr, port };
        let text = id.to_string();
        prop_assert_eq!(text.parse::<RealServerId>(), Ok(id));
        let (a, p) = id.labels();
        prop_assert_eq!(RealServerId::from_labels(&a, &p), Some(id));
        // keepalived's spelling of the same server.
        let trio = format!("[{addr}]:tcp:{port}");
        prop_assert_eq!(RealServerId::from_log(&trio), Some(id));
    }

    #[test]
    fn any_text_parses_to_a_canonical_form_or_not_at_all(s in "\\PC{0,40}") {
        if let Ok(id) = s.parse::<VirtualServiceId>() {
            prop_assert_eq!(id.to_string().parse::<VirtualServiceId>(), Ok(id));
        }
        if let Ok(id) = s.parse::<RealServerId>() {
            prop_assert_eq!(id.to_string().parse::<RealServerId>(), Ok(id));
        }
    }

    #[test]
    fn near_miss_text_never_panics(
        s in "(?i)(fwm|fwmark|tcp|udp|sctp|ip_[0-9]{1,4})?[ \t]{0,2}\\[?[0-9a-f:.]{0,20}\\]?(:[a-z]{0,4})?(:[0-9]{0,6})?( 0x[0-9a-f]{0,9})?( ipv[46])?"
    ) {
        if let Ok(id) = s.parse::<VirtualServiceId>() {
            prop_assert_eq!(id.to_string().parse::<VirtualServiceId>(), Ok(id));
        }
        if let Some(id) = RealServerId::from_log(&s) {
            prop_assert_eq!(id.to_string().parse::<RealServerId>(), Ok(id));
        }
    }
}

proptest! {
    /// The stack-written IPv4 text is byte for byte what `SocketAddr` writes, with and
    /// without a width (a real server padded in a column), and a virtual service's text
    /// is the protocol and that.
    #[test]
    fn ipv4_identities_read_as_std_writes_them(a in any::<u32>(), port in any::<u16>(), w in 0usize..30) {
        let addr = std::net::Ipv4Addr::from(a);
        let std_text = SocketAddr::new(IpAddr::V4(addr), port).to_string();
        let rs = RealServerId { addr: IpAddr::V4(addr), port };
        prop_assert_eq!(rs.to_string(), std_text.clone());
        prop_assert_eq!(
            format!("{rs:>w$}|{rs:<w$}|{rs:^w$}"),
            format!("{std_text:>w$}|{std_text:<w$}|{std_text:^w$}")
        );
        let vs = VirtualServiceId::Inet { proto: Protocol::TCP, addr: IpAddr::V4(addr), port };
        prop_assert_eq!(vs.to_string(), format!("TCP {std_text}"));
    }
}

proptest! {
    /// The stack-written IPv6 text is byte for byte what `Ipv6Addr` and `SocketAddr`
    /// write: compressed runs, IPv4-mapped addresses, padding of a real server's column.
    #[test]
    fn ipv6_identities_read_as_std_writes_them(
        addr in prop_oneof![
            any_ip(),
            any::<u32>().prop_map(|a| IpAddr::V6(Ipv4Addr::from(a).to_ipv6_mapped())),
            any::<u32>().prop_map(|a| IpAddr::V6(Ipv6Addr::from(u128::from(a)))),
            Just(IpAddr::V6(Ipv6Addr::UNSPECIFIED)),
            Just(IpAddr::V6(Ipv6Addr::LOCALHOST)),
        ],
        port in any::<u16>(),
        w in 0usize..50,
    ) {
        // (any_ip gives IPv4 too: one writer serves both.)
        let text = crate::model::IpText::new(addr);
        prop_assert_eq!(text.as_str(), addr.to_string());
        let std_text = SocketAddr::new(addr, port).to_string();
        let text = crate::model::IpText::with_port(addr, port);
        prop_assert_eq!(text.as_str(), std_text.clone());
        let rs = RealServerId { addr, port };
        prop_assert_eq!(
            format!("{rs}|{rs:>w$}|{rs:<w$}|{rs:^w$}"),
            format!("{std_text}|{std_text:>w$}|{std_text:<w$}|{std_text:^w$}")
        );
        let vs = VirtualServiceId::Inet { proto: Protocol::UDP, addr, port };
        prop_assert_eq!(vs.to_string(), format!("UDP {std_text}"));
    }
}

proptest! {
    /// The dotted IPv4 reader accepts exactly what std's `Ipv4Addr` parser accepts, with
    /// the same address: on std's own text, and on near misses made of digits and dots
    /// (leading zeros, octets above 255, four digits, missing or extra octets, signs).
    #[test]
    fn dotted_ipv4_is_read_as_std_reads_it(
        text in prop_oneof![
            any::<u32>().prop_map(|a| Ipv4Addr::from(a).to_string()),
            "[0-9.]{0,18}",
            "(0|00|01|1|25[0-9]|2[0-9]{2}|[0-9]{3,4})(\\.(0|00|01|9|25[0-9]|[0-9]{3,4})){2,4}",
            "[0-9+-]{1,4}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9 ]{1,4}",
        ],
    ) {
        prop_assert_eq!(crate::model::iptext::read_v4(&text), text.parse::<Ipv4Addr>().ok());
        // Through the identities' reader, IPv6 and errors still by std.
        let rs: Result<RealServerId, _> = format!("[{text}]:tcp:80").parse();
        prop_assert_eq!(rs.ok().map(|r| r.addr), text.parse::<IpAddr>().ok());
    }
}

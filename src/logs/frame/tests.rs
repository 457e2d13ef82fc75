use super::*;
use crate::logs::clock::civil_year;
use jiff::tz::TimeZone;

const KEEPALIVED: &str = include_str!("../../../tests/fixtures/logs/keepalived_lines.txt");
const KERNEL: &str = include_str!("../../../tests/fixtures/logs/kernel_lines.txt");

/// In UTC, so that the expected instants do not depend on the machine's zone.
fn y2024() -> YearClock {
    YearClock::fixed(2024).with_zone(TimeZone::UTC)
}

fn f(line: &str) -> Frame<'_> {
    frame(line.as_bytes(), &y2024())
}

/// 2024-11-25T10:00:00Z in microseconds.
const T0: i64 = 1_732_528_800_000_000;

#[test]
fn every_transport_of_the_same_message_frames_to_the_same_fields() {
    let lines = [
        ("Nov 25 10:00:00 lb1 Keepalived_vrrp[1235]: (VI_1) Entering MASTER STATE", 0, Transport::Rfc3164),
        ("Nov 25 10:00:00.123456 lb1 Keepalived_vrrp[1235]: (VI_1) Entering MASTER STATE", 123_456, Transport::Rfc3164),
        ("2024-11-25T10:00:00.123456+00:00 lb1 Keepalived_vrrp[1235]: (VI_1) Entering MASTER STATE", 123_456, Transport::Rfc3339),
        ("2024-11-25T10:00:00+0000 lb1 Keepalived_vrrp[1235]: (VI_1) Entering MASTER STATE", 0, Transport::Rfc3339),
        ("2024-11-25T10:00:00+00:00 lb1 Keepalived_vrrp[1235]: (VI_1) Entering MASTER STATE", 0, Transport::Rfc3339),
        ("2024-11-25T11:00:00+01:00 lb1 Keepalived_vrrp[1235]: (VI_1) Entering MASTER STATE", 0, Transport::Rfc3339),
        ("Nov 25 10:00:00 lb1 daemon.info Keepalived_vrrp[1235]: (VI_1) Entering MASTER STATE", 0, Transport::Busybox),
        ("<30>Nov 25 10:00:00 lb1 Keepalived_vrrp[1235]: (VI_1) Entering MASTER STATE", 0, Transport::Rfc3164),
        ("<30>1 2024-11-25T10:00:00.123456+00:00 lb1 Keepalived_vrrp 1235 - - (VI_1) Entering MASTER STATE", 123_456, Transport::Rfc5424),
        ("<30>1 2024-11-25T11:00:00+01:00 lb1 Keepalived_vrrp 1235 - [origin software=\"rsyslogd\"] \u{feff}(VI_1) Entering MASTER STATE", 0, Transport::Rfc5424),
        (r#"{"__REALTIME_TIMESTAMP":"1732528800000000","_HOSTNAME":"lb1","SYSLOG_IDENTIFIER":"Keepalived_vrrp","_PID":"1235","MESSAGE":"(VI_1) Entering MASTER STATE"}"#, 0, Transport::Json),
    ];
    for (line, micros, transport) in lines {
        let fr = f(line);
        assert_eq!(fr.transport, transport, "{line}");
        assert_eq!(fr.time, Some(Time::Wall(T0 + micros)), "{line}");
        assert_eq!(fr.host.as_deref(), Some("lb1"), "{line}");
        assert_eq!(fr.ident.as_deref(), Some("Keepalived_vrrp"), "{line}");
        assert_eq!(fr.pid, Some(1235), "{line}");
        assert_eq!(fr.message, "(VI_1) Entering MASTER STATE", "{line}");
    }
}

#[test]
fn keepalived_console_and_log_file_carry_time_and_message_only() {
    for (line, micros) in [
        ("Mon Nov 25 10:00:00 2024: (VI_1) Entering MASTER STATE", 0),
        (
            "Mon Nov 25 10:00:00.123456789 2024: (VI_1) Entering MASTER STATE",
            123_456,
        ),
        ("Mon Nov  4 10:00:00 2024: (VI_1) Entering MASTER STATE", 0),
    ] {
        let fr = f(line);
        assert_eq!(fr.transport, Transport::KeepalivedConsole, "{line}");
        assert_eq!(fr.message, "(VI_1) Entering MASTER STATE");
        assert_eq!(fr.ident, None);
        if micros != 0 || line.contains("25") {
            assert_eq!(fr.time, Some(Time::Wall(T0 + micros)), "{line}");
        }
    }
}

#[test]
fn kernel_lines_lose_their_prefixes_in_every_transport() {
    let body = "IPVS: rr: TCP 10.0.0.100:80 - no destination available";
    for line in KERNEL.lines().filter(|l| l.ends_with(body)) {
        let fr = f(line);
        assert_ne!(fr.transport, Transport::Raw, "{line}");
        assert_eq!(fr.message, body, "{line}");
        assert_eq!(fr.ident.as_deref(), Some("kernel"), "{line}");
        assert!(fr.time.is_some(), "{line}");
    }
    assert_eq!(
        f("[12345.678901] x").time,
        Some(Time::SinceBoot(12_345_678_901))
    );
    let k = f("6,48214,12345679012,-;e1000e 0000:00:19.0 eth0: NIC Link is Down");
    assert_eq!(k.transport, Transport::Kmsg);
    assert_eq!(k.message, "e1000e 0000:00:19.0 eth0: NIC Link is Down");
}

#[test]
fn every_reference_line_frames_to_a_known_transport_or_is_kept_whole() {
    for line in KEEPALIVED.lines().chain(KERNEL.lines()) {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let fr = f(line);
        if fr.transport == Transport::Raw {
            assert_eq!(fr.message, line);
            // Only bare driver lines and kmsg dictionary continuations lack a prefix.
            assert!(
                line.starts_with(' ') || line.starts_with("igb "),
                "unframed: {line}"
            );
        } else {
            assert!(!fr.message.is_empty() || line.ends_with(": "), "{line}");
            if fr.transport != Transport::Json {
                assert!(line.ends_with(&*fr.message), "{line}");
            }
        }
    }
}

#[test]
fn json_message_may_be_a_byte_array() {
    let line = r#"{"SYSLOG_IDENTIFIER":"Keepalived_vrrp","MESSAGE":[40,86,73,95,49,41,32,255]}"#;
    let fr = f(line);
    assert_eq!(fr.message, "(VI_1) \u{fffd}");
    assert_eq!(fr.ident.as_deref(), Some("Keepalived_vrrp"));
    let kernel = r#"{"_TRANSPORT":"kernel","MESSAGE":"IPVS: ipvs loaded."}"#;
    assert_eq!(f(kernel).ident.as_deref(), Some("kernel"));
    // Not a record: kept whole.
    assert_eq!(f("{not json").transport, Transport::Raw);
}

#[test]
fn invalid_utf8_is_decoded_lossily() {
    let fr = frame(
        b"Nov 25 10:00:00 lb1 Keepalived[1]: bad \xff byte",
        &y2024(),
    );
    assert_eq!(fr.message, "bad \u{fffd} byte");
    assert_eq!(fr.ident.as_deref(), Some("Keepalived"));
}

#[test]
fn the_year_of_rfc3164_is_inferred_so_that_dates_are_not_in_the_future() {
    // Now: 2025-01-02T00:00:00Z. "Dec 31" belongs to 2024, "Jan  1" to 2025.
    let now = days_from_civil(2025, 1, 2) * 86_400;
    let clock = YearClock::at(now).with_zone(TimeZone::UTC);
    let dec = frame(b"Dec 31 23:00:00 h k: m", &clock);
    assert_eq!(
        dec.time,
        Some(Time::Wall(
            (days_from_civil(2024, 12, 31) * 86_400 + 23 * 3600) * 1_000_000
        ))
    );
    let jan = frame(b"Jan  1 00:00:00 h k: m", &clock);
    assert_eq!(
        jan.time,
        Some(Time::Wall(days_from_civil(2025, 1, 1) * 86_400 * 1_000_000))
    );
    assert_eq!(civil_year(days_from_civil(2024, 2, 29)), 2024);
}

#[test]
fn messages_without_a_tag_keep_the_host() {
    let fr = f("Nov 25 10:00:00 lb1 something happened");
    assert_eq!(fr.host.as_deref(), Some("lb1"));
    assert_eq!(fr.ident, None);
    assert_eq!(fr.message, "something happened");
}

#[test]
fn garbage_never_panics() {
    for line in [
        "", "[", "[]", "<", "<1>", "1,2", "Nov", "Mon Nov", "2024-", "{", "[ 1.] x",
    ] {
        let _ = f(line);
    }
}

#[test]
fn the_kernels_clock_line_dates_its_boot() {
    // Linux 6.1's wording (%ptR), then 2.6's: the seconds in brackets carry the time.
    for m in [
        "rtc_cmos 00:00: setting system clock to 2026-12-03T03:26:06 UTC (1796268366)",
        "rtc_cmos 00:02: setting system clock to 2026-12-03 03:26:06 UTC (1796268366) ",
    ] {
        let boot = clock_set_at(m, 1_234_567).unwrap();
        assert_eq!(boot, 1_796_268_366_500_000 - 1_234_567, "{m}");
    }
    for m in [
        "rtc_cmos 00:00: setting system clock to 2026-12-03T03:26:06 UTC",
        "rtc_cmos 00:00: setting system clock to 2026-12-03T03:26:06 UTC (-x)",
        "rtc_cmos 00:00: hctosys: unable to read the hardware clock",
        "setting system clock to  UTC (99999999999999999999)",
    ] {
        assert_eq!(clock_set_at(m, 5), None, "{m}");
    }
    assert_eq!(
        clock_set_at("setting system clock to x UTC (1)", u64::MAX),
        None
    );
}

proptest::proptest! {
    /// The pid read by hand is the pid searched and parsed, on texts of digits, brackets,
    /// colons, signs and letters (ten digits and more overflow or do not fit the fast
    /// path).
    #[test]
    fn pids_read_as_searched_and_parsed(p in "[0-9]{0,12}[\\]:+a ]{0,3}[0-9:]{0,4}") {
        proptest::prop_assert_eq!(pid_then_colon(&p), pid_then_colon_searched(&p));
    }
}

proptest::proptest! {
    /// Lines framed one after another with one cache of stamps frame exactly as each
    /// framed alone: neighbours share a stamp, differ from it by a byte, a fraction, a
    /// padding or a missing space, or are other transports.
    #[test]
    fn the_stamp_cache_never_changes_a_frame(
        lines in proptest::collection::vec(
            proptest::prop_oneof![
                "(Nov|Dec) (25| 5|5|05) 10:00:0[0-2](\\.[0-9]{1,7})?( |  |x|)(lb1 )?(Keepalived_vrrp\\[1\\]: )?(VI_1 up)?",
                "<[0-9]{1,2}>(Nov|Dec) 25 10:00:0[0-2] lb2 kernel: IPVS: x",
                "\\[ *[0-9]{1,3}\\.[0-9]{6}\\] IPVS: y",
                ".{0,30}",
            ],
            1..12,
        ),
    ) {
        let clock = y2024();
        let mut stamps = Stamps::default();
        for l in &lines {
            proptest::prop_assert_eq!(
                frame_with(l.as_bytes(), &clock, &mut stamps),
                frame(l.as_bytes(), &clock),
                "{:?}", l
            );
        }
    }
}

/// RFC 5424's own examples (§6.5), and what rsyslog and syslog-ng put in its fields.
#[test]
fn rfc5424_header_fields_structured_data_and_nil_values() {
    let fr = f("<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \u{feff}'su root' failed for lonvick on /dev/pts/8");
    assert_eq!(fr.transport, Transport::Rfc5424);
    assert_eq!(fr.time, Some(Time::Wall(1_065_910_455_003_000)));
    assert_eq!(fr.host.as_deref(), Some("mymachine.example.com"));
    assert_eq!(fr.ident.as_deref(), Some("su"));
    assert_eq!(fr.pid, None, "PROCID `-`");
    assert_eq!(
        fr.message, "'su root' failed for lonvick on /dev/pts/8",
        "the BOM goes"
    );

    let fr = f("<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.");
    assert_eq!(fr.time, Some(Time::Wall(1_061_727_255_000_003)));
    assert_eq!(
        (fr.host.as_deref(), fr.pid),
        (Some("192.0.2.1"), Some(8710))
    );
    assert_eq!(fr.message, "%% It's time to make the do-nuts.");

    // What rsyslog 8.2302 (RSYSLOG_SyslogProtocol23Format) writes for a local program's
    // syslog(3) line: its message keeps the space after the tag's colon.
    let fr = f("<13>1 2026-12-04T17:14:49.787576+00:00 vm Keepalived_vrrp 4242 - -  (VI_1) Entering BACKUP STATE");
    assert_eq!(
        (fr.host.as_deref(), fr.ident.as_deref()),
        (Some("vm"), Some("Keepalived_vrrp"))
    );
    assert_eq!(
        (fr.pid, fr.message.as_ref()),
        (Some(4242), "(VI_1) Entering BACKUP STATE")
    );

    // Two elements, quoted values holding `]`, `"` and `\` escaped, and no message.
    let fr = f(
        r#"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="App\]lication" eventID="10\"1\\1"][examplePriority@32473 class="high"]"#,
    );
    assert_eq!(fr.transport, Transport::Rfc5424);
    assert_eq!(fr.message, "");
    let fr = f(r#"<165>1 2003-10-11T22:14:15.003Z host app - - [a b="]"] the message"#);
    assert_eq!(fr.message, "the message");

    // Every header field nil: no time, no host, no ident.
    let fr = f("<13>1 - - - - - - hello");
    assert_eq!(fr.transport, Transport::Rfc5424);
    assert_eq!(
        (fr.time, fr.host, fr.ident, fr.pid),
        (None, None, None, None)
    );
    assert_eq!(fr.message, "hello");

    // Not RFC 5424: kept whole, as any line no transport fits.
    for line in [
        "<13>1 2003-10-11T22:14:15.003 host app - - - no offset",
        "<13>1 2003-10-11T22:14:15.003Z host app - - [unclosed x=\"y\" msg",
        "<13>1 2003-10-11T22:14:15.003Z host app - -",
        "<13>1 2003-10-11T22:14:15.003Z host app - - -message glued to the nil",
        "<13>1 2003-10-11T22:14:15.003Z  host app - - - two spaces",
    ] {
        let fr = f(line);
        assert_eq!(fr.transport, Transport::Raw, "{line}");
        assert_eq!(fr.message, line);
    }
}

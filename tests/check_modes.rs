//! `lvsmon check …` as Nagios and Zabbix run it: every Nagios mode and exit status on
//! real-kernel captures (`--path.procfs`), on the demo, and against a running `lvsmon
//! serve` (`--url`), which must give the same verdicts; bad arguments and a hung server
//! answer UNKNOWN (3), never clap's 2.

mod check_support;
mod common;

use check_support::{capture, check, perf, status_line};
use common::serve;
use std::time::{Duration, Instant};

#[test]
fn service_mode_on_a_real_kernel_capture() {
    let mixed = capture("mixed");
    let svc = |service: &str, extra: &[&str]| {
        let mut a = vec![
            "nagios",
            "service",
            "--service",
            service,
            "--path.procfs",
            &mixed,
        ];
        a.extend_from_slice(extra);
        check(&a)
    };
    // Two backends, one drained to weight 0: OK by default (`-c 1:`).
    let (code, out) = svc("TCP 10.2.0.1:80", &["-v"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        status_line(&out),
        "LVS OK - TCP 10.2.0.1:80: 1 of 2 backends available"
    );
    assert_eq!(
        perf(&out),
        "'available'=1;;1:;0;2 'configured'=2;;;0; 'active'=0;;;0; 'inactive'=0;;;0;"
    );
    assert!(
        out.contains("\n10.3.1.2:80 weight 0 drained, 0 active, 0 inactive\n"),
        "{out}"
    );
    assert!(
        out.contains("\n10.3.1.1:80 weight 3 available, 0 active, 0 inactive\n"),
        "{out}"
    );
    // Empty ranges (a command definition's unset $ARGn$) are none: the default applies.
    let (code, out) = svc("TCP 10.2.0.1:80", &["-w", "", "-c", ""]);
    assert_eq!(
        (code, perf(&out).split(' ').next()),
        (0, Some("'available'=1;;1:;0;2"))
    );
    // The thresholds decide.
    assert_eq!(svc("TCP 10.2.0.1:80", &["-w", "2:"]).0, 1);
    assert_eq!(svc("TCP 10.2.0.1:80", &["-c", "2:"]).0, 2);
    assert_eq!(svc("TCP 10.2.0.1:80", &["-c", "@1:1"]).0, 2);
    assert_eq!(svc("TCP 10.2.0.1:80", &["-w", "~:0"]).0, 1);
    // IPv6 and firewall marks by their text forms; a /proc mark matches `FWM 7` as typed.
    let (code, out) = svc("TCP [fd00:2::1]:443", &[]);
    assert_eq!(
        (code, status_line(&out)),
        (0, "LVS OK - TCP [fd00:2::1]:443: 2 of 2 backends available")
    );
    let (code, out) = svc("FWM 1", &[]);
    assert_eq!(
        (code, status_line(&out)),
        (0, "LVS OK - FWM 1: 2 of 2 backends available")
    );
    // A service without backends, and one that is not configured: CRITICAL.
    let (code, out) = svc("UDP 10.2.0.10:123", &[]);
    assert_eq!(
        (code, status_line(&out)),
        (
            2,
            "LVS CRITICAL - UDP 10.2.0.10:123: 0 of 0 backends available"
        )
    );
    let (code, out) = svc("TCP 10.2.0.1:81", &[]);
    assert_eq!(
        (code, out.as_str()),
        (2, "LVS CRITICAL - TCP 10.2.0.1:81 is not configured\n")
    );
    // No IPVS table: UNKNOWN, saying why.
    let (code, out) = check(&[
        "nagios",
        "service",
        "--service",
        "TCP 10.2.0.1:80",
        "--path.procfs",
        "/nonexistent",
    ]);
    assert_eq!(code, 3, "{out}");
    assert!(out.starts_with("LVS UNKNOWN - "), "{out}");
}

#[test]
fn services_mode_worst_state_wins() {
    let mixed = capture("mixed");
    let (code, out) = check(&["nagios", "services", "--path.procfs", &mixed]);
    assert_eq!(code, 2, "{out}");
    assert_eq!(
        status_line(&out),
        "LVS CRITICAL - 1 of 25 virtual services in trouble: CRITICAL UDP 10.2.0.10:123 0/0 available"
    );
    assert_eq!(
        perf(&out),
        "'services'=25;;;0; 'services_warning'=0;;;0; 'services_critical'=1;;;0;"
    );
    // Excluded, the rest is OK; a stricter warning names the services with one backend.
    let excluded = |extra: &[&str]| {
        let mut a = vec!["nagios", "services", "--path.procfs", &mixed];
        a.extend(["--exclude", "UDP 10.2.0.10:123"]);
        a.extend_from_slice(extra);
        check(&a)
    };
    let (code, out) = excluded(&[]);
    assert_eq!(
        (code, status_line(&out)),
        (
            0,
            "LVS OK - 24 virtual services, every one has backends available"
        )
    );
    let (code, out) = excluded(&["-w", "2:"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        status_line(&out).starts_with("LVS WARNING - 15 of 24 virtual services in trouble: "),
        "{out}"
    );
    assert!(status_line(&out).ends_with(", and 10 more"), "{out}");
    // An empty table is nothing to alert on.
    let (code, out) = check(&["nagios", "services", "--path.procfs", &capture("empty")]);
    assert_eq!(
        (code, status_line(&out)),
        (0, "LVS OK - no virtual service to check")
    );
}

#[test]
fn vrrp_and_incidents_modes_directly() {
    let (code, out) = check(&["nagios", "vrrp", "--demo"]);
    assert_eq!(
        (code, out.as_str()),
        (
            0,
            "LVS OK - VRRP VI_LB MASTER | 'state'=2;;;0;3 'priority'=120;;;0;255\n"
        )
    );
    let (code, out) = check(&["nagios", "vrrp", "--demo", "--expect", "backup"]);
    assert_eq!(
        (code, status_line(&out)),
        (1, "LVS WARNING - VRRP VI_LB MASTER (expected BACKUP)")
    );
    assert_eq!(
        check(&[
            "nagios",
            "vrrp",
            "--demo",
            "--instance",
            "VI_LB",
            "--expect",
            "master"
        ])
        .0,
        0
    );
    assert_eq!(
        check(&["nagios", "vrrp", "--demo", "--instance", "VI_9"]).0,
        2
    );
    // No keepalived on this machine: CRITICAL.
    let (code, out) = check(&[
        "nagios",
        "vrrp",
        "--path.procfs",
        &capture("nat4"),
        "--keepalived.pid-file",
        "/nonexistent/keepalived.pid",
    ]);
    assert_eq!(
        (code, out.as_str()),
        (2, "LVS CRITICAL - keepalived is down\n")
    );
    // The collector switched off: lvsmon cannot tell.
    assert_eq!(
        check(&["nagios", "vrrp", "--demo", "--no-collector.keepalived"]).0,
        3
    );

    // The demo's log capture opens a critical incident (a quorum lost) and two warnings.
    let (code, out) = check(&["nagios", "incidents", "--demo"]);
    assert_eq!(code, 2, "{out}");
    assert_eq!(status_line(&out), "LVS CRITICAL - 3 open incident(s), 1 critical, 2 warning: TCP 10.0.0.100:80 lost its quorum on vm");
    assert_eq!(
        perf(&out),
        "'critical'=1;;;0; 'warning'=2;;;0; 'info'=0;;;0;"
    );
    // Without a log source the engine still looks at the director once: a healthy one has
    // nothing open.
    let (code, out) = check(&["nagios", "incidents", "--path.procfs", &capture("nat4")]);
    assert_eq!(
        (code, out.as_str()),
        (
            0,
            "LVS OK - no open incident | 'critical'=0;;;0; 'warning'=0;;;0; 'info'=0;;;0;\n"
        )
    );
}

#[test]
fn a_running_lvsmon_gives_the_same_verdicts() {
    let (_srv, addr) = serve(&["--web.listen-address", "127.0.0.1:0", "--demo"]);
    let url = format!("http://{addr}");
    let cases: [&[&str]; 7] = [
        &["nagios", "service", "--service", "TCP 10.0.0.100:80"],
        &[
            "nagios",
            "service",
            "--service",
            "TCP 10.9.0.100:80",
            "-c",
            "2:",
        ],
        &["nagios", "service", "--service", "TCP 10.9.0.101:80"],
        &["nagios", "services", "-w", "2:"],
        &["nagios", "vrrp", "--expect", "backup"],
        &["nagios", "vrrp"],
        &["nagios", "incidents"],
    ];
    for args in cases {
        let mut direct = args.to_vec();
        direct.push("--demo");
        let mut remote = args.to_vec();
        remote.extend(["--url", url.as_str()]);
        let (dc, dout) = check(&direct);
        let (rc, rout) = check(&remote);
        assert_eq!(
            (rc, status_line(&rout)),
            (dc, status_line(&dout)),
            "{args:?}"
        );
        assert_eq!(perf(&rout), perf(&dout), "{args:?}");
    }
    // The long output joins keepalived's checker verdict over HTTP too.
    let (_, out) = check(&[
        "nagios",
        "service",
        "--service",
        "TCP 10.0.0.100:80",
        "-v",
        "--url",
        &url,
    ]);
    assert!(
        out.contains("10.1.0.12:80 weight 1 available, 0 active, 3 inactive, keepalived: DOWN"),
        "{out}"
    );
    // A capture with IPv6 and firewall-mark services (the mark 7 twice: IPv4 and IPv6).
    let mixed = capture("mixed");
    let (_srv2, addr2) = serve(&[
        "--web.listen-address",
        "127.0.0.1:0",
        "--path.procfs",
        &mixed,
    ]);
    let url2 = format!("http://{addr2}");
    for svc in [
        "FWM 7",
        "FWM 1",
        "TCP [fd00:2::1]:443",
        "UDP 10.2.0.10:123",
        "TCP 10.2.0.1:80",
        "TCP 10.2.0.1:81",
    ] {
        let args = ["nagios", "service", "--service", svc, "-v"];
        let direct = check(&[&args[..], &["--path.procfs", &mixed]].concat());
        let remote = check(&[&args[..], &["--url", &url2]].concat());
        assert_eq!(remote, direct, "{svc}");
    }
    let key = "lvsmon.service[configured,FWM,,,4096]";
    assert_eq!(
        check(&["zabbix", "get", key, "--url", &url2]),
        (0, "1\n".into())
    );
    // Nothing listening: UNKNOWN.
    drop(_srv);
    let (code, out) = check(&["nagios", "services", "--url", &url]);
    assert_eq!(code, 3, "{out}");
}

#[test]
fn bad_arguments_are_unknown_with_a_usage_line() {
    for args in [
        &["nagios", "service"][..],
        &["nagios", "service", "--service", "TCP nowhere"],
        &[
            "nagios",
            "service",
            "--service",
            "TCP 10.0.0.1:80",
            "-w",
            "10:5",
        ],
        &[
            "nagios",
            "service",
            "--service",
            "TCP 10.0.0.1:80",
            "-c",
            "x",
        ],
        &["nagios", "vrrp", "--expect", "fault"],
        &["nagios", "nosuchmode"],
        &["nagios", "services", "--no-such-flag"],
        &["zabbix", "discovery", "everything"],
    ] {
        let (code, out) = check(args);
        assert_eq!(code, 3, "{args:?}: {out}");
        let mut lines = out.lines();
        assert!(
            lines.next().unwrap().starts_with("LVS UNKNOWN - "),
            "{args:?}: {out}"
        );
        assert!(
            lines.next().unwrap().starts_with("Usage: lvsmon check "),
            "{args:?}: {out}"
        );
    }
    let (code, out) = check(&[
        "nagios",
        "service",
        "--service",
        "TCP 10.0.0.1:80",
        "-t",
        "soon",
    ]);
    assert_eq!(
        (code, status_line(&out)),
        (3, "LVS UNKNOWN - bad -t/--timeout \"soon\": want seconds")
    );
    // -h and -V print and exit UNKNOWN, as the Monitoring Plugins do.
    let (code, out) = check(&["nagios", "service", "-h"]);
    assert_eq!(code, 3);
    assert!(
        out.contains("--warning <RANGE>") && out.contains("--timeout <SECONDS>"),
        "{out}"
    );
    let (code, out) = check(&["nagios", "vrrp", "-V"]);
    assert_eq!(
        (code, out.trim()),
        (
            3,
            format!("lvsmon-check-nagios-vrrp {}", env!("CARGO_PKG_VERSION")).as_str()
        )
    );
}

#[test]
fn a_server_that_never_answers_is_unknown_within_the_timeout() {
    // Accepts connections and says nothing.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    let t0 = Instant::now();
    let (code, out) = check(&["nagios", "services", "--url", &url, "-t", "1"]);
    let took = t0.elapsed();
    assert_eq!(
        (code, out.as_str()),
        (3, "LVS UNKNOWN - no answer within 1 s\n")
    );
    assert!(took < Duration::from_secs(5), "{took:?}");
    drop(l);
}

#[test]
fn zabbix_discovery_and_items() {
    let mixed = capture("mixed");
    let (code, out) = check(&["zabbix", "discovery", "services", "--path.procfs", &mixed]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let rows = v.as_array().unwrap();
    // 25 services, the two `FWM 7` (an IPv4 and an IPv6 mark /proc cannot tell apart) as one.
    assert_eq!(rows.len(), 24);
    let v6 = rows
        .iter()
        .find(|r| r["{#SERVICE}"] == "TCP [fd00:2::1]:443")
        .unwrap();
    assert_eq!(
        v6,
        &serde_json::json!({"{#SERVICE}": "TCP [fd00:2::1]:443", "{#PROTO}": "TCP",
            "{#VIP}": "fd00:2::1", "{#VPORT}": "443", "{#FWMARK}": ""})
    );
    let fwm = rows.iter().find(|r| r["{#SERVICE}"] == "FWM 4096").unwrap();
    assert_eq!(
        (&fwm["{#PROTO}"], &fwm["{#VIP}"], &fwm["{#FWMARK}"]),
        (&"FWM".into(), &"".into(), &"4096".into())
    );

    let (_, out) = check(&["zabbix", "discovery", "backends", "--path.procfs", &mixed]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(
        v.as_array()
            .unwrap()
            .iter()
            .any(|r| r["{#SERVICE}"] == "TCP 10.2.0.3:8080"
                && r["{#RIP}"] == "10.3.3.2"
                && r["{#RPORT}"] == "80"),
        "{out}"
    );
    let (_, out) = check(&["zabbix", "discovery", "vrrp", "--demo"]);
    assert_eq!(out, "[{\"{#INAME}\":\"VI_LB\",\"{#VRID}\":\"77\"}]\n");

    let get = |key: &str, src: &[&str]| {
        let mut a = vec!["zabbix", "get", key];
        a.extend_from_slice(src);
        check(&a)
    };
    let on_mixed = ["--path.procfs", mixed.as_str()];
    let on_demo = ["--demo"];
    let m: &[&str] = &on_mixed;
    let d: &[&str] = &on_demo;
    for (key, src, want) in [
        ("lvsmon.service[available,TCP,10.2.0.1,80,]", m, "1"),
        ("lvsmon.service[configured,TCP,10.2.0.1,80,]", m, "2"),
        ("lvsmon.service[available,TCP,fd00:2::1,443,]", m, "2"),
        ("lvsmon.service[configured,FWM,,,1]", m, "2"),
        (
            "lvsmon.backend[weight,TCP,10.2.0.1,80,,10.3.1.2,80]",
            m,
            "0",
        ),
        (
            "lvsmon.backend[weight,TCP,10.2.0.2,443,,10.3.2.2,443]",
            m,
            "2",
        ),
        (
            "lvsmon.backend[inactive,TCP,10.0.0.100,80,,10.1.0.12,80]",
            d,
            "3",
        ),
        ("lvsmon.vrrp[state,VI_LB]", d, "2"),
        ("lvsmon.keepalived[up]", d, "1"),
        ("lvsmon.incidents[critical]", d, "1"),
        ("lvsmon.incidents[all]", d, "3"),
    ] {
        assert_eq!(get(key, src), (0, format!("{want}\n")), "{key}");
    }
    // What cannot be answered is an unsupported item, with the reason.
    let (code, out) = get("lvsmon.service[available,TCP,10.2.0.1,81,]", &on_mixed);
    assert_eq!(
        (code, out.as_str()),
        (1, "ZBX_NOTSUPPORTED\0no such virtual service\n")
    );
    assert_eq!(get("lvsmon.nothing[x]", &on_mixed).0, 1);
    assert_eq!(
        get("lvsmon.service[available,TCP,nowhere,80,]", &on_mixed).0,
        1
    );

    // The same answers from a running lvsmon.
    let (_srv, addr) = serve(&["--web.listen-address", "127.0.0.1:0", "--demo"]);
    let url = format!("http://{addr}");
    let via = ["--url", url.as_str()];
    for key in [
        "lvsmon.backend[inactive,TCP,10.0.0.100,80,,10.1.0.12,80]",
        "lvsmon.service[available,TCP,10.0.0.100,80,]",
        "lvsmon.vrrp[state,VI_LB]",
        "lvsmon.keepalived[up]",
        "lvsmon.incidents[critical]",
    ] {
        assert_eq!(get(key, &via), get(key, &on_demo), "{key}");
    }
    for what in ["services", "backends", "vrrp"] {
        let set = |out: String| -> std::collections::BTreeSet<String> {
            let v: serde_json::Value = serde_json::from_str(&out).unwrap();
            v.as_array()
                .unwrap()
                .iter()
                .map(|r| r.to_string())
                .collect()
        };
        let direct = check(&["zabbix", "discovery", what, "--demo"]).1;
        let remote = check(&["zabbix", "discovery", what, "--url", &url]).1;
        assert_eq!(set(remote), set(direct), "{what}");
    }
}

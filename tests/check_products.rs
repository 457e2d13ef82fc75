//! The shipped definitions run by the real products (Debian's packages, installed by
//! scripts/install-deps.sh), each started here on 127.0.0.1 with a temporary configuration
//! and stopped at the end: Nagios 4 runs the plugin through deploy/nagios's command
//! definitions and records state and perfdata; NRPE serves deploy/nagios's NRPE commands
//! to check_nrpe; Icinga 2's validator accepts the CheckCommands; the Zabbix agent runs
//! deploy/zabbix's UserParameters, through `-t` and over its passive protocol. Each asks a
//! `lvsmon serve --demo` started by the test, and must report what the plugin reports.
//!
//! Real daemons take seconds: `scripts/test.sh` runs these as the step `check-products`
//! (`cargo test --test check_products -- --include-ignored`).

mod check_support;
mod common;

use check_support::{
    check, free_port, installed, shipped, start, tempdir, wait_listening, write,
    zabbix_agent_config,
};
use common::{root, serve, tool};
use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// The services the Nagios test defines: (description, check_command, the same check run
/// directly).
fn nagios_services() -> Vec<(&'static str, &'static str, Vec<&'static str>)> {
    vec![
        (
            "web",
            "check_lvs_service!TCP 10.0.0.100:80!3:!1:",
            vec![
                "service",
                "--service",
                "TCP 10.0.0.100:80",
                "-w",
                "3:",
                "-c",
                "1:",
            ],
        ),
        (
            "web-default",
            "check_lvs_service!TCP 10.9.0.100:80!!",
            vec!["service", "--service", "TCP 10.9.0.100:80"],
        ),
        (
            "gone",
            "check_lvs_service!TCP 10.9.0.101:80!!",
            vec!["service", "--service", "TCP 10.9.0.101:80"],
        ),
        (
            "all",
            "check_lvs_services!2:!!--exclude 'TCP 10.9.0.100:80'",
            vec!["services", "-w", "2:", "--exclude", "TCP 10.9.0.100:80"],
        ),
        (
            "vrrp",
            "check_lvs_vrrp!--expect backup",
            vec!["vrrp", "--expect", "backup"],
        ),
        ("incidents", "check_lvs_incidents", vec!["incidents"]),
    ]
}

/// `key=value` lines of each `servicestatus { … }` block of Nagios's status.dat.
fn service_status(status: &str) -> Vec<std::collections::BTreeMap<String, String>> {
    let mut out = Vec::new();
    let mut cur: Option<std::collections::BTreeMap<String, String>> = None;
    for line in status.lines() {
        let l = line.trim();
        if l == "servicestatus {" {
            cur = Some(Default::default());
        } else if l == "}" {
            out.extend(cur.take());
        } else if let (Some(c), Some((k, v))) = (cur.as_mut(), l.split_once('=')) {
            c.insert(k.to_string(), v.to_string());
        }
    }
    out
}

#[test]
#[ignore = "real Nagios 4: scripts/test.sh step check-products"]
fn nagios4_runs_the_shipped_commands() {
    if !tool("nagios4") {
        return;
    }
    let (_srv, addr) = serve(&["--web.listen-address", "127.0.0.1:0", "--demo"]);
    let dir = tempdir();
    let d = dir.path().display().to_string();
    std::fs::create_dir(dir.path().join("checkresults")).unwrap();
    write(
        dir.path(),
        "lvsmon-commands.cfg",
        &shipped("deploy/nagios/lvsmon-commands.cfg", 0),
    );
    let mut objects = format!(
        "define timeperiod {{\n timeperiod_name 24x7\n alias always\n{}}}\n\
         define contact {{\n contact_name nobody\n host_notifications_enabled 0\n service_notifications_enabled 0\n\
          host_notification_period 24x7\n service_notification_period 24x7\n host_notification_options n\n\
          service_notification_options n\n host_notification_commands check_lvs_incidents\n\
          service_notification_commands check_lvs_incidents\n}}\n\
         define host {{\n use lvsmon-director\n host_name director\n address 127.0.0.1\n _lvsmon_port {}\n\
          max_check_attempts 1\n check_period 24x7\n contacts nobody\n notification_interval 0\n notification_period 24x7\n}}\n\
         define service {{\n name lvs\n host_name director\n max_check_attempts 1\n check_interval 1\n retry_interval 1\n\
          check_period 24x7\n contacts nobody\n notification_interval 0\n notification_period 24x7\n register 0\n}}\n",
        ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]
            .map(|day| format!(" {day} 00:00-24:00\n"))
            .concat(),
        addr.port()
    );
    for (desc, command, _) in nagios_services() {
        objects.push_str(&format!(
            "define service {{\n use lvs\n service_description {desc}\n check_command {command}\n}}\n"
        ));
    }
    write(dir.path(), "objects.cfg", &objects);
    // interval_length=1: the check interval of 1 is one second.
    let cfg = write(
        dir.path(),
        "nagios.cfg",
        &format!(
            "log_file={d}/nagios.log\ncfg_file={d}/lvsmon-commands.cfg\ncfg_file={d}/objects.cfg\n\
             object_cache_file={d}/objects.cache\nprecached_object_file={d}/objects.precache\n\
             status_file={d}/status.dat\nstatus_update_interval=1\nnagios_user=root\nnagios_group=root\n\
             check_result_path={d}/checkresults\ncheck_result_reaper_frequency=1\nlock_file={d}/nagios.lock\n\
             temp_file={d}/nagios.tmp\ntemp_path={d}\nstate_retention_file={d}/retention.dat\n\
             retain_state_information=0\ncheck_external_commands=0\ncommand_file={d}/nagios.cmd\n\
             query_socket={d}/nagios.qh\ninterval_length=1\nprocess_performance_data=1\n\
             service_perfdata_file={d}/service-perfdata\n\
             service_perfdata_file_template=$SERVICEDESC$\\t$SERVICESTATEID$\\t$SERVICEOUTPUT$\\t$SERVICEPERFDATA$\n\
             service_perfdata_file_mode=a\nservice_perfdata_file_processing_interval=0\n\
             enable_notifications=0\nexecute_host_checks=0\nuse_syslog=0\n\
             illegal_macro_output_chars=`~$&|'\"<>\n"
        ),
    );
    // The pre-flight check accepts the shipped definitions with no warning.
    let pre = Command::new("nagios4")
        .arg("-v")
        .arg(&cfg)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&pre.stdout);
    let said = said
        .split("Running pre-flight check")
        .last()
        .unwrap_or(&said);
    assert!(
        pre.status.success()
            && said.contains("Total Warnings: 0")
            && said.contains("Total Errors:   0"),
        "{said}"
    );

    let _nagios = start(Command::new("nagios4").arg(&cfg));
    let want = nagios_services();
    let t0 = Instant::now();
    let checked = loop {
        let status = std::fs::read_to_string(dir.path().join("status.dat")).unwrap_or_default();
        let s = service_status(&status);
        let done = s
            .iter()
            .filter(|b| b.get("has_been_checked").map(String::as_str) == Some("1"))
            .count();
        if done == want.len() {
            break s;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "Nagios checked {done} of {} services",
            want.len()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let perfdata = std::fs::read_to_string(dir.path().join("service-perfdata")).unwrap();
    let url = format!("http://{addr}");
    for (desc, _, args) in want {
        let b = checked
            .iter()
            .find(|b| b["service_description"] == desc)
            .unwrap();
        let mut direct = vec!["nagios"];
        direct.extend(&args);
        direct.extend(["--url", url.as_str()]);
        let (code, out) = check(&direct);
        let first = out.lines().next().unwrap();
        let (text, perf) = first.split_once(" | ").unwrap_or((first, ""));
        // What Nagios recorded is what the plugin says: state, text, perfdata, long output.
        assert_eq!(b["current_state"], code.to_string(), "{desc}: {b:?}");
        assert_eq!(b["plugin_output"], text, "{desc}");
        assert_eq!(b["performance_data"], perf, "{desc}");
        let long: Vec<&str> = out.lines().skip(1).collect();
        assert_eq!(b["long_plugin_output"], long.join("\\n"), "{desc}");
        assert!(
            perfdata
                .lines()
                .any(|l| l == format!("{desc}\t{code}\t{text}\t{perf}")),
            "{desc}: {perfdata}"
        );
    }
    // And the states themselves, so the comparison above cannot pass on two wrong answers.
    let state = |desc: &str| {
        checked
            .iter()
            .find(|b| b["service_description"] == desc)
            .unwrap()["current_state"]
            .clone()
    };
    let states: Vec<String> = ["web", "web-default", "gone", "all", "vrrp", "incidents"]
        .map(state)
        .to_vec();
    assert_eq!(states, ["1", "0", "2", "0", "1", "2"]);
}

#[test]
#[ignore = "real NRPE: scripts/test.sh step check-products"]
fn nrpe_serves_the_shipped_commands() {
    let check_nrpe = "/usr/lib/nagios/plugins/check_nrpe";
    if !installed(&["/usr/sbin/nrpe", check_nrpe]) {
        return;
    }
    let (_srv, addr) = serve(&["--web.listen-address", "127.0.0.1:0", "--demo"]);
    let dir = tempdir();
    let d = dir.path().display().to_string();
    // The shipped per-service example, switched on for one of the demo's services.
    let commands = shipped("deploy/nagios/lvsmon-nrpe.cfg", addr.port())
        .replace("#command[check_lvs_web]", "command[check_lvs_web]")
        .replace("TCP 10.1.0.100:80", "TCP 10.0.0.100:80");
    write(dir.path(), "lvsmon.cfg", &commands);
    let port = free_port();
    let cfg = write(
        dir.path(),
        "nrpe.cfg",
        &format!(
            "pid_file={d}/nrpe.pid\nserver_port={port}\nserver_address=127.0.0.1\nnrpe_user=nagios\n\
             nrpe_group=nagios\nallowed_hosts=127.0.0.1\ncommand_timeout=30\n\
             include={d}/lvsmon.cfg\n"
        ),
    );
    let _nrpe = start(Command::new("nrpe").arg("-c").arg(&cfg).arg("-f"));
    wait_listening(port, "nrpe");
    let url = format!("http://{addr}");
    let nrpe = |args: &[&str]| {
        let out = Command::new(check_nrpe)
            .args(["-H", "127.0.0.1", "-p", &port.to_string(), "-t", "30"])
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8(out.stdout).unwrap(),
        )
    };
    let cases: [(&str, &[&str], i32); 4] = [
        ("check_lvs_services", &["services"], 0),
        ("check_lvs_vrrp", &["vrrp"], 0),
        ("check_lvs_incidents", &["incidents"], 2),
        (
            "check_lvs_web",
            &[
                "service",
                "--service",
                "TCP 10.0.0.100:80",
                "-w",
                "2:",
                "-c",
                "1:",
            ],
            0,
        ),
    ];
    for (via, direct, want) in cases {
        let (code, out) = nrpe(&["-c", via]);
        let mut d = vec!["nagios"];
        d.extend(direct);
        d.extend(["--url", url.as_str()]);
        assert_eq!((code, out), check(&d), "{via:?}");
        assert_eq!(code, want, "{via:?}");
    }
}

#[test]
#[ignore = "real Icinga 2: scripts/test.sh step check-products"]
fn icinga2_validates_the_shipped_check_commands() {
    if !tool("icinga2") {
        return;
    }
    let dir = tempdir();
    let commands = root().join("deploy/nagios/lvsmon-icinga2.conf");
    let validate = |commands: &Path| {
        let cfg = write(
            dir.path(),
            "icinga2.conf",
            &format!(
                "include <itl>\ninclude \"{}\"\n\
                 object Host \"director\" {{ address = \"127.0.0.1\"\n check_command = \"dummy\" }}\n\
                 object Service \"web\" {{ host_name = \"director\"\n check_command = \"lvsmon-service\"\n\
                  vars.lvsmon_service = \"TCP 10.0.0.100:80\"\n vars.lvsmon_critical = \"1:\" }}\n\
                 object Service \"all\" {{ host_name = \"director\"\n check_command = \"lvsmon-services\"\n\
                  vars.lvsmon_exclude = [ \"FWM 42\", \"TCP 10.9.0.100:80\" ] }}\n\
                 object Service \"vrrp\" {{ host_name = \"director\"\n check_command = \"lvsmon-vrrp\"\n\
                  vars.lvsmon_expect = \"master\" }}\n\
                 object Service \"incidents\" {{ host_name = \"director\"\n check_command = \"lvsmon-incidents\" }}\n",
                commands.display()
            ),
        );
        let out = Command::new("icinga2")
            .args(["daemon", "-C", "-c"])
            .arg(&cfg)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (ok, said) = validate(&commands);
    assert!(ok, "{said}");
    eprintln!("{said}");
    assert!(said.contains("Instantiated 4 Services."), "{said}");
    assert!(!said.contains("warning/"), "{said}");
    // The validator really reads the file: a broken copy fails.
    let broken = write(
        dir.path(),
        "broken.conf",
        &common::read(&commands).replace("required = true", "required = maybe"),
    );
    let (ok, said) = validate(&broken);
    assert!(!ok, "{said}");
}

/// One passive check against a Zabbix agent (its TCP protocol: `ZBXD`, flags 1, length).
fn zabbix_get(port: u16, key: &str) -> String {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut msg = b"ZBXD\x01".to_vec();
    msg.extend((key.len() as u64).to_le_bytes());
    msg.extend(key.as_bytes());
    s.write_all(&msg).unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    assert!(buf.len() >= 13 && buf.starts_with(b"ZBXD"), "{buf:?}");
    String::from_utf8_lossy(&buf[13..]).into_owned()
}

#[test]
#[ignore = "real Zabbix agent: scripts/test.sh step check-products"]
fn zabbix_agent_runs_the_shipped_user_parameters() {
    if !installed(&["/usr/sbin/zabbix_agentd"]) {
        return;
    }
    let (_srv, addr) = serve(&["--web.listen-address", "127.0.0.1:0", "--demo"]);
    let dir = tempdir();
    let (cfg, port) = zabbix_agent_config(dir.path(), addr.port());
    let url = format!("http://{addr}");
    let keys = [
        ("lvsmon.discovery[services]", vec!["discovery", "services"]),
        ("lvsmon.discovery[backends]", vec!["discovery", "backends"]),
        ("lvsmon.discovery[vrrp]", vec!["discovery", "vrrp"]),
        (
            "lvsmon.service[available,TCP,10.0.0.100,80,]",
            vec!["get", "lvsmon.service[available,TCP,10.0.0.100,80,]"],
        ),
        (
            "lvsmon.service[configured,TCP,10.9.0.100,80,]",
            vec!["get", "lvsmon.service[configured,TCP,10.9.0.100,80,]"],
        ),
        (
            "lvsmon.backend[weight,TCP,10.0.0.100,80,,10.1.0.12,80]",
            vec![
                "get",
                "lvsmon.backend[weight,TCP,10.0.0.100,80,,10.1.0.12,80]",
            ],
        ),
        (
            "lvsmon.backend[inactive,TCP,10.0.0.100,80,,10.1.0.11,80]",
            vec![
                "get",
                "lvsmon.backend[inactive,TCP,10.0.0.100,80,,10.1.0.11,80]",
            ],
        ),
        (
            "lvsmon.vrrp[state,VI_LB]",
            vec!["get", "lvsmon.vrrp[state,VI_LB]"],
        ),
        (
            "lvsmon.keepalived[up]",
            vec!["get", "lvsmon.keepalived[up]"],
        ),
        (
            "lvsmon.incidents[critical]",
            vec!["get", "lvsmon.incidents[critical]"],
        ),
    ];
    // `zabbix_agentd -t KEY`, the agent's own test of an item, prints `KEY [t|VALUE]`.
    for (key, args) in &keys {
        let out = Command::new("zabbix_agentd")
            .arg("-c")
            .arg(&cfg)
            .args(["-t", key])
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stdout);
        let err = String::from_utf8_lossy(&out.stderr);
        let mut direct = vec!["zabbix"];
        direct.extend(args);
        direct.extend(["--url", url.as_str()]);
        let (code, value) = check(&direct);
        assert_eq!(code, 0, "{key}: {value}");
        assert!(
            said.trim_end()
                .ends_with(&format!("[t|{}]", value.trim_end())),
            "{key}: {:?} {said} {err}",
            out.status
        );
    }
    // The agent serving them to a Zabbix server or proxy.
    let _agent = start(Command::new("zabbix_agentd").arg("-c").arg(&cfg).arg("-f"));
    wait_listening(port, "zabbix_agentd");
    for (key, args) in &keys {
        let mut direct = vec!["zabbix"];
        direct.extend(args);
        direct.extend(["--url", url.as_str()]);
        assert_eq!(zabbix_get(port, key), check(&direct).1.trim_end(), "{key}");
    }
    let services: serde_json::Value =
        serde_json::from_str(&zabbix_get(port, "lvsmon.discovery[services]")).unwrap();
    assert_eq!(services.as_array().unwrap().len(), 2);
    assert_eq!(zabbix_get(port, "lvsmon.vrrp[state,VI_LB]"), "2");
    // What cannot be answered is unsupported; the agent refuses an IPv6 text form outright.
    assert!(
        zabbix_get(port, "lvsmon.service[available,TCP,10.0.0.101,80,]")
            .starts_with("ZBX_NOTSUPPORTED")
    );
    let refused = zabbix_get(port, "lvsmon.service[available,TCP [fd00::1]:80,x,y]");
    assert!(refused.starts_with("ZBX_NOTSUPPORTED"), "{refused}");
}

//! The shipped systemd unit, checked by systemd's own verifier, and the privilege it grants
//! (the VM suite runs lvsmon with exactly these credentials against a real kernel).

mod common;

use std::process::Command;

const UNIT: &str = include_str!("../deploy/lvsmon.service");

#[test]
fn the_unit_passes_systemd_analyze_verify() {
    if !common::tool("systemd-analyze") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let unit = dir.path().join("lvsmon.service");
    // verify checks that ExecStart exists: point it at the binary under test.
    let text = UNIT.replace("/usr/local/bin/lvsmon", env!("CARGO_BIN_EXE_lvsmon"));
    std::fs::write(&unit, text).unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&unit)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let ours: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("lvsmon.service"))
        .collect();
    assert!(ours.is_empty(), "{ours:?}");
}

#[test]
fn the_unit_grants_cap_net_admin_and_allows_netlink_sockets() {
    let key = |k: &str| -> Vec<&str> {
        UNIT.lines()
            .filter_map(|l| l.strip_prefix(k)?.strip_prefix('='))
            .flat_map(|v| v.split_whitespace())
            .collect()
    };
    assert_eq!(key("CapabilityBoundingSet"), ["CAP_NET_ADMIN"]);
    assert_eq!(key("AmbientCapabilities"), ["CAP_NET_ADMIN"]);
    assert!(key("RestrictAddressFamilies").contains(&"AF_NETLINK"));
    assert_eq!(key("User"), ["lvsmon"]);
}

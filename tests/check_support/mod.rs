//! What the `check_*` tests share: running `lvsmon check …` as a monitoring product does,
//! and the kernel captures it reads.
#![allow(dead_code)]

use std::process::Command;

/// Runs `lvsmon check ARGS`: (exit status, stdout).
pub fn check(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_lvsmon"))
        .arg("check")
        .args(args)
        .output()
        .unwrap();
    let code = out.status.code().expect("exited, not killed");
    (code, String::from_utf8(out.stdout).unwrap())
}

/// The proc tree of a real-kernel capture under tests/fixtures/kernel.
pub fn capture(name: &str) -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/kernel")
        .join(name)
        .join("proc")
        .display()
        .to_string()
}

/// The status line without its perfdata.
pub fn status_line(out: &str) -> &str {
    let first = out.lines().next().unwrap_or("");
    first.split(" | ").next().unwrap_or(first)
}

/// The perfdata of the status line.
pub fn perf(out: &str) -> &str {
    out.lines()
        .next()
        .and_then(|l| l.split_once(" | "))
        .map_or("", |(_, p)| p)
}

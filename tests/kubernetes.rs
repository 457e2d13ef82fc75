//! deploy/kubernetes: the DaemonSet (and its Namespace, ServiceAccount and Service)
//! validated offline against Kubernetes' own schemas by PyPI's `kubernetes-validate
//! --strict` (installed by scripts/install-deps.sh into ~/.cache/lvsmon-venv), which must
//! also reject a misspelt field; the ServiceMonitor and PodMonitor select what the DaemonSet
//! labels and name its port; and lvsmon accepts the DaemonSet's arguments.

mod common;

use serde_yaml_ng::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/kubernetes");

fn validator() -> Option<PathBuf> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let venv = home.map(|h| h.join(".cache/lvsmon-venv/bin/kubernetes-validate"));
    let found = venv
        .filter(|p| p.is_file())
        .or_else(|| common::tool("kubernetes-validate").then(|| "kubernetes-validate".into()));
    if found.is_none() {
        common::skip("kubernetes-validate not installed (scripts/install-deps.sh)");
    }
    found
}

fn docs(file: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(Path::new(DIR).join(file)).unwrap();
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .collect()
}

fn kind<'a>(all: &'a [Value], k: &str) -> &'a Value {
    all.iter().find(|d| d["kind"] == k).unwrap()
}

#[test]
fn kubernetes_validate_accepts_the_daemonset_and_rejects_a_misspelling() {
    let Some(kv) = validator() else { return };
    let run = |file: &Path| {
        Command::new(&kv)
            .args(["--strict", "-k", "1.30.0"])
            .arg(file)
            .output()
            .unwrap()
    };
    let good = Path::new(DIR).join("daemonset.yaml");
    let out = run(&good);
    let said =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    for r in [
        "namespace/lvsmon",
        "serviceaccount/lvsmon",
        "daemonset/lvsmon",
        "service/lvsmon",
    ] {
        assert!(
            said.contains(&format!("passed for resource {r}")),
            "{r}: {said}"
        );
    }
    // The validator validates: one misspelt field fails it.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    let text = std::fs::read_to_string(&good).unwrap();
    std::fs::write(
        &bad,
        text.replace("readOnlyRootFilesystem", "readOnlyRootFilesytem"),
    )
    .unwrap();
    assert!(!run(&bad).status.success());
}

#[test]
fn the_daemonset_runs_in_the_host_netns_with_net_admin_only_and_is_what_the_monitors_select() {
    let ds_file = docs("daemonset.yaml");
    let ds = kind(&ds_file, "DaemonSet");
    let pod = &ds["spec"]["template"]["spec"];
    assert_eq!(pod["hostNetwork"], true);
    let c = &pod["containers"][0];
    let sc = &c["securityContext"];
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert_eq!(sc["allowPrivilegeEscalation"], false);
    assert_eq!(sc["capabilities"]["drop"], Value::from(vec!["ALL"]));
    assert_eq!(sc["capabilities"]["add"], Value::from(vec!["NET_ADMIN"]));
    assert!(c["resources"]["limits"]["memory"].is_string());
    assert!(c["resources"]["limits"]["cpu"].is_string());
    let labels = &ds["spec"]["template"]["metadata"]["labels"];
    assert_eq!(kind(&ds_file, "Service")["spec"]["selector"], *labels);
    assert_eq!(c["ports"][0]["name"], "metrics");
    for (file, k, eps) in [
        ("servicemonitor.yaml", "ServiceMonitor", "endpoints"),
        ("podmonitor.yaml", "PodMonitor", "podMetricsEndpoints"),
    ] {
        let m = docs(file);
        let m = kind(&m, k);
        assert_eq!(m["spec"]["selector"]["matchLabels"], *labels, "{file}");
        assert_eq!(m["spec"]["endpoints"].is_null(), eps != "endpoints");
        let ep = &m["spec"][eps][0];
        assert_eq!(ep["port"], "metrics", "{file}");
        assert_eq!(ep["path"], "/metrics", "{file}");
        // lvsmon never sets `instance` or `job`; nor may its examples.
        for r in ep["relabelings"].as_sequence().unwrap() {
            assert!(!["instance", "job"].contains(&r["targetLabel"].as_str().unwrap()));
        }
    }

    // lvsmon takes the DaemonSet's arguments (on a free port here).
    let args: Vec<String> = c["args"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    assert_eq!(args[0], "serve");
    let mut here: Vec<&str> = args[1..]
        .iter()
        .filter(|a| !a.starts_with("--web.listen-address"))
        .map(String::as_str)
        .collect();
    here.extend([
        "--web.listen-address",
        "127.0.0.1:0",
        "--path.procfs",
        "/nonexistent",
    ]);
    let (_srv, addr) = common::serve(&here);
    let page = common::http_get(addr, "/metrics", None).2;
    assert!(page.contains("lvsmon_collector_up"), "{page}");
    assert!(
        !page.contains("keepalived_up"),
        "the keepalived collector is off"
    );
}

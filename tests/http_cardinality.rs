//! The operator's cardinality controls on a real-kernel capture (`--demo`, read over
//! netlink): the default budget of 10 series per backend, families turned on and off by
//! name, backend labels kept and summed as node_exporter does, services filtered.

mod common;

use common::{parse_exposition, Sample, IDENTITY};
use std::collections::{BTreeMap, HashMap};

fn dump(extra: &[&str]) -> Result<Vec<Sample>, String> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lvsmon"))
        .args(["dump", "--demo", "--no-collector.keepalived"])
        .args(extra)
        .output()
        .unwrap();
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).to_string());
    }
    Ok(parse_exposition(&String::from_utf8(out.stdout).unwrap()))
}

/// Series per backend (every `ipvs_backend_*` series grouped by the six identity labels).
fn per_backend(s: &[Sample]) -> HashMap<Vec<String>, usize> {
    let mut n = HashMap::new();
    for x in s.iter().filter(|x| x.name.starts_with("ipvs_backend")) {
        let key = IDENTITY.iter().map(|l| x.label(l).to_string()).collect();
        *n.entry(key).or_insert(0) += 1;
    }
    n
}

#[test]
fn the_default_budget_is_ten_series_per_backend_and_families_come_and_go_by_name() {
    let d = dump(&[]).unwrap();
    let n = per_backend(&d);
    assert_eq!(n.len(), 3, "{n:?}");
    assert!(n.values().all(|&c| c == 10), "{n:?}");
    assert!(!d.iter().any(|x| x.name.starts_with("ipvs_backend_rate_")));
    assert!(!d
        .iter()
        .any(|x| x.name.starts_with("ipvs_backend_threshold_")));
    // Service-level rates stay.
    assert!(d
        .iter()
        .any(|x| x.name == "ipvs_service_rate_connections_per_second"));

    let all = dump(&[
        "--collector.ipvs.family-enable",
        "ipvs_backend_rate_*,ipvs_backend_threshold_*",
    ])
    .unwrap();
    assert!(per_backend(&all).values().all(|&c| c == 17));
    let fewer = dump(&[
        "--collector.ipvs.family-disable",
        "ipvs_backend_*_bytes_total",
        "--collector.ipvs.family-disable",
        "ipvs_cpu_*",
    ])
    .unwrap();
    assert!(per_backend(&fewer).values().all(|&c| c == 8));
    assert!(!fewer.iter().any(|x| x.name.starts_with("ipvs_cpu_")));
    // Info families by the name they have on the page.
    let no_info = dump(&[
        "--collector.ipvs.family-disable",
        "ipvs_backend_info,ipvs_service_info",
    ])
    .unwrap();
    assert!(per_backend(&no_info).values().all(|&c| c == 9));
    assert!(!no_info.iter().any(|x| x.name == "ipvs_service_info"));
}

#[test]
fn backend_labels_keep_a_subset_and_sum_the_rest() {
    let full = dump(&[]).unwrap();
    let kept = dump(&[
        "--collector.ipvs.backend-labels",
        "proto,local_address,local_port",
    ])
    .unwrap();
    for family in [
        "ipvs_backend_weight",
        "ipvs_backend_connections_active",
        "ipvs_backend_connections_total",
    ] {
        let mut want: BTreeMap<Vec<String>, f64> = BTreeMap::new();
        for x in full.iter().filter(|x| x.name == family) {
            let k = ["proto", "local_address", "local_port"]
                .iter()
                .map(|l| x.label(l).to_string())
                .collect();
            *want.entry(k).or_default() += x.value;
        }
        let got: BTreeMap<Vec<String>, f64> = kept
            .iter()
            .filter(|x| x.name == family)
            .map(|x| {
                let names: Vec<&String> = x.labels.keys().collect();
                assert_eq!(names, ["local_address", "local_port", "proto"], "{family}");
                (
                    ["proto", "local_address", "local_port"]
                        .iter()
                        .map(|l| x.label(l).to_string())
                        .collect(),
                    x.value,
                )
            })
            .collect();
        assert_eq!(got, want, "{family}");
    }
    // The info series: one per kept label set and forwarding method.
    let info = kept
        .iter()
        .filter(|x| x.name == "ipvs_backend_info")
        .count();
    assert!((1..=2).contains(&info), "{info}");
    // Nothing kept: one series per family, the director's total.
    let none = dump(&["--collector.ipvs.backend-labels", ""]).unwrap();
    let weight: Vec<_> = none
        .iter()
        .filter(|x| x.name == "ipvs_backend_weight")
        .collect();
    let total: f64 = full
        .iter()
        .filter(|x| x.name == "ipvs_backend_weight")
        .map(|x| x.value)
        .sum();
    assert_eq!(weight.len(), 1);
    assert_eq!(weight[0].value, total);
    let err = dump(&["--collector.ipvs.backend-labels", "remote_address,instance"]).unwrap_err();
    assert!(err.contains("unknown backend label \"instance\""), "{err}");
}

#[test]
fn services_are_included_and_excluded_by_text_form_network_and_port() {
    let services = |s: &[Sample]| -> Vec<String> {
        let mut v: Vec<String> = s
            .iter()
            .filter(|x| x.name == "ipvs_service_info")
            .map(|x| x.label("local_address").to_string())
            .collect();
        v.sort();
        v
    };
    let all = dump(&[]).unwrap();
    assert_eq!(services(&all), ["10.0.0.100", "10.9.0.100"]);
    let one = dump(&["--collector.ipvs.service-include", "TCP 10.9.0.100:80"]).unwrap();
    assert_eq!(services(&one), ["10.9.0.100"]);
    // Its backends only.
    assert!(one
        .iter()
        .filter(|x| x.name.starts_with("ipvs_backend"))
        .all(|x| x.label("local_address") == "10.9.0.100"));
    let net = dump(&["--collector.ipvs.service-exclude", "10.9.0.0/16"]).unwrap();
    assert_eq!(services(&net), ["10.0.0.100"]);
    let port = dump(&["--collector.ipvs.service-exclude", ":80"]).unwrap();
    assert!(services(&port).is_empty());
    assert!(!port.iter().any(|x| x.name.starts_with("ipvs_backend")));
    let err = dump(&["--collector.ipvs.service-include", "10.0.0.0/40"]).unwrap_err();
    assert!(err.contains("bad service rule"), "{err}");
}

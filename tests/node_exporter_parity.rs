//! Parity with node_exporter on node_exporter's own IPVS fixture: every backend value and
//! total it expects, lvsmon gives too (with `local_mark` in decimal instead of hex).

mod common;

use common::*;
use lvsmon::ipvs::source::ProcSource;
use lvsmon::ipvs::IpvsOptions;
use lvsmon::metrics::{Exporter, Format};

fn lvsmon_samples() -> Vec<Sample> {
    let proc = root().join("tests/fixtures/node_exporter/proc");
    parse_exposition(
        &Exporter::ipvs(ProcSource::Dir(proc), IpvsOptions::default()).render(Format::Prometheus),
    )
}

fn expected() -> Vec<Sample> {
    parse_exposition(&read(
        &root().join("tests/fixtures/node_exporter/ip_vs_result.txt"),
    ))
}

#[test]
fn backend_values_equal_node_exporters_expectations() {
    let ours = lvsmon_samples();
    let mut checked = 0;
    for want in expected()
        .iter()
        .filter(|s| s.name.starts_with("node_ipvs_backend_"))
    {
        let name = want.name.replacen("node_", "", 1);
        let mark = match want.label("local_mark") {
            "" => String::new(),
            hex => u32::from_str_radix(hex, 16).unwrap().to_string(),
        };
        let key = [
            ("proto", want.label("proto")),
            ("local_address", want.label("local_address")),
            ("local_port", want.label("local_port")),
            ("local_mark", mark.as_str()),
            ("remote_address", want.label("remote_address")),
            ("remote_port", want.label("remote_port")),
        ];
        assert_eq!(one(&ours, &name, &key).value, want.value, "{name} {key:?}");
        checked += 1;
    }
    assert_eq!(checked, 30, "node_exporter expects 10 backends x 3 gauges");
}

#[test]
fn totals_equal_node_exporters_expectations() {
    let ours = lvsmon_samples();
    let totals: Vec<_> = expected()
        .into_iter()
        .filter(|s| s.name.starts_with("node_ipvs_") && s.name.ends_with("_total"))
        .collect();
    assert_eq!(totals.len(), 5);
    for want in totals {
        let name = want.name.replacen("node_", "", 1);
        assert_eq!(one(&ours, &name, &[]).value, want.value, "{name}");
    }
}

#[test]
fn the_fwmark_service_is_visible_with_a_decimal_mark() {
    let ours = lvsmon_samples();
    let fwm = one(&ours, "ipvs_service_info", &[("proto", "FWM")]);
    assert_eq!(fwm.label("local_mark"), "268439552"); // 0x10001000
    assert_eq!(fwm.label("local_address"), "");
    assert_eq!(fwm.label("local_port"), "0");
}

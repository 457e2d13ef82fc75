//! The shared identity labels join in Prometheus as the docs write the joins: the full
//! `serve --demo` page (IPVS with the conntable and netlink replay, keepalived, logs) has
//! no `instance` or `job` label of its own (Prometheus would rename it `exported_*`), the
//! JSON API shows identities in their text form, and `promtool test rules` evaluates
//!
//! - `ipvs_backend_weight * on(<6 identity labels>) group_left keepalived_real_server_up`
//! - `lvsmon_log_events_total{kind="real_server_down"} * on(<4 service labels>) group_left
//!   ipvs_service_info`
//!
//! over the scraped page to exactly the samples a join done here, in Rust, on the same page
//! gives. The expected samples come from the data, so the test follows the demo.
//!
//! promtool comes from Debian's `prometheus` package (2.42), installed by
//! scripts/install-deps.sh. Without it the promtool halves say so and pass, unless
//! LVSMON_REQUIRE_TOOLS is set, where a missing tool is a failure; the Rust-side checks
//! always run.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::OnceLock;

const SERVICE: [&str; 4] = ["proto", "local_address", "local_port", "local_mark"];

const BACKENDS_UP: &str = "ipvs_backend_weight * on(proto, local_address, local_port, \
     local_mark, remote_address, remote_port) group_left keepalived_real_server_up";

/// `*` rather than `and`: group_left makes Prometheus check that `ipvs_service_info` is
/// unique per service identity (two info series for one service would be an evaluation
/// error, which `and` would hide), and multiplying by an info metric (always 1) keeps the
/// event count as the value, so the result still says how often each backend was removed.
/// `and` would keep the metric name but prove less.
const DOWN_IN_IPVS: &str = "lvsmon_log_events_total{kind=\"real_server_down\"} * on(proto, \
     local_address, local_port, local_mark) group_left ipvs_service_info";

/// What one `serve --demo` showed: its address and three pages.
struct Scraped {
    addr: SocketAddr,
    metrics: String,
    state: String,
    events: String,
}

/// Starts `serve --demo` once for all tests here, scrapes it, and stops it (the guard kills
/// it when the closure ends, panic or not; every wait inside is bounded).
fn demo() -> &'static Scraped {
    static SCRAPED: OnceLock<Scraped> = OnceLock::new();
    SCRAPED.get_or_init(|| {
        let (_srv, addr) = serve(&["--demo", "--web.listen-address", "127.0.0.1:0"]);
        let get = |path: &str| {
            let (status, _, body) = http_get(addr, path, None);
            assert_eq!(status, 200, "GET {path}: {body}");
            body
        };
        Scraped {
            addr,
            metrics: get("/metrics"),
            state: get("/api/v1/state"),
            events: get("/api/v1/events"),
        }
    })
}

#[test]
fn no_family_of_the_full_demo_page_has_an_instance_or_job_label() {
    let d = demo();
    let s = parse_exposition(&d.metrics);
    let clashing: Vec<_> = s
        .iter()
        .filter(|x| x.labels.contains_key("instance") || x.labels.contains_key("job"))
        .collect();
    assert!(
        clashing.is_empty(),
        "target labels on the page: {clashing:?}"
    );

    // Not an empty page: every collector ran, and the joined families are there with the
    // identity labels.
    for c in find(&s, "lvsmon_collector_up", &[]) {
        assert_eq!(c.value, 1.0, "{c:?}");
    }
    for c in ["ipvs", "ipvs_conntable", "keepalived"] {
        one(&s, "lvsmon_collector_up", &[("collector", c)]);
    }
    assert_eq!(one(&s, "lvsmon_log_source_up", &[]).value, 1.0);
    for (family, identity) in [
        ("ipvs_backend_weight", &IDENTITY[..]),
        ("keepalived_real_server_up", &IDENTITY[..]),
        ("keepalived_real_server_weight", &IDENTITY[..]),
        ("keepalived_virtual_service_quorum_up", &SERVICE[..]),
        ("ipvs_service_info", &SERVICE[..]),
        ("lvsmon_log_events_total", &IDENTITY[..]),
    ] {
        let found = find(&s, family, &[]);
        assert!(!found.is_empty(), "no {family} on the demo page");
        for x in found {
            for k in identity {
                assert!(x.labels.contains_key(*k), "{family} without {k}: {x:?}");
            }
        }
    }

    // The JSON API names identities by their text forms.
    let state: serde_json::Value = serde_json::from_str(&d.state).expect("state is JSON");
    let services = state["virtual_services"]
        .as_array()
        .expect("virtual_services");
    assert!(!services.is_empty());
    for vs in services {
        assert!(vs["virtual_service"].is_string(), "{vs}");
        for rs in vs["real_servers"].as_array().expect("real_servers") {
            assert!(rs["real_server"].is_string(), "{rs}");
        }
    }
    let vs = services
        .iter()
        .find(|v| v["virtual_service"] == "TCP 10.0.0.100:80")
        .unwrap_or_else(|| panic!("no \"TCP 10.0.0.100:80\" in {}", d.state));
    let rs = vs["real_servers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["real_server"] == "10.1.0.12:80")
        .unwrap_or_else(|| panic!("no \"10.1.0.12:80\" in {vs}"));
    assert_eq!(
        rs["alive"], false,
        "keepalived's demo dump has it down: {rs}"
    );

    let events: serde_json::Value = serde_json::from_str(&d.events).expect("events are JSON");
    let events = events.as_array().expect("events are a list");
    assert!(!events.is_empty());
    for e in events {
        let fields = e.as_object().unwrap_or_else(|| panic!("event {e}"));
        for k in [
            "time",
            "host",
            "source",
            "kind",
            "iname",
            "virtual_service",
            "real_server",
            "line",
        ] {
            assert!(fields.contains_key(k), "event without {k}: {e}");
        }
        let t = e["time"].as_str().unwrap_or_else(|| panic!("time in {e}"));
        assert!(
            t.ends_with('Z') && t.parse::<jiff::Timestamp>().is_ok(),
            "time not RFC 3339 UTC: {e}"
        );
        for k in ["source", "kind", "line"] {
            assert!(e[k].as_str().is_some_and(|v| !v.is_empty()), "{k}: {e}");
        }
        for k in ["host", "iname", "virtual_service", "real_server"] {
            assert!(e[k].is_null() || e[k].is_string(), "{k}: {e}");
        }
    }
    assert!(
        events.iter().any(|e| e["kind"] == "real_server_down"
            && e["virtual_service"] == "TCP 10.0.0.100:80"
            && e["real_server"] == "10.1.0.12:80"),
        "no real_server_down of 10.1.0.12:80 in TCP 10.0.0.100:80: {}",
        d.events
    );
}

/// The page as Prometheus stores it after scraping `addr`: labels with empty values are
/// absent (PromQL treats absent and empty alike), and the target labels are added.
fn as_scraped(samples: &[Sample], addr: SocketAddr) -> Vec<Sample> {
    samples
        .iter()
        .map(|s| {
            let mut labels: BTreeMap<_, _> = s
                .labels
                .iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            labels.insert("instance".into(), addr.to_string());
            labels.insert("job".into(), "lvsmon".into());
            Sample {
                labels,
                ..s.clone()
            }
        })
        .collect()
}

/// `left * on(on) group_left right` (or `and on(on)` when `and`) as PromQL evaluates it:
/// each left sample meets the right sample whose `on` labels are equal; the product drops
/// the metric name, `and` keeps the left sample. Two right samples with one signature are
/// an error, as in Prometheus.
fn join(
    samples: &[Sample],
    left: impl Fn(&Sample) -> bool,
    right: &str,
    on: &[&str],
    and: bool,
) -> Result<Vec<Sample>, String> {
    let sig = |s: &Sample| {
        on.iter()
            .map(|k| s.label(k).to_string())
            .collect::<Vec<_>>()
    };
    let mut rhs: BTreeMap<Vec<String>, &Sample> = BTreeMap::new();
    for r in samples.iter().filter(|s| s.name == right) {
        if let Some(other) = rhs.insert(sig(r), r) {
            return Err(format!(
                "duplicate series for the match group on the right: {other:?}, {r:?}"
            ));
        }
    }
    Ok(samples
        .iter()
        .filter(|s| left(s))
        .filter_map(|l| {
            let r = rhs.get(&sig(l))?;
            Some(if and {
                l.clone()
            } else {
                Sample {
                    name: String::new(),
                    labels: l.labels.clone(),
                    value: l.value * r.value,
                }
            })
        })
        .collect())
}

fn backends_up(scraped: &[Sample]) -> Result<Vec<Sample>, String> {
    join(
        scraped,
        |s| s.name == "ipvs_backend_weight",
        "keepalived_real_server_up",
        &IDENTITY,
        false,
    )
}

fn down_in_ipvs(scraped: &[Sample]) -> Result<Vec<Sample>, String> {
    join(
        scraped,
        |s| s.name == "lvsmon_log_events_total" && s.label("kind") == "real_server_down",
        "ipvs_service_info",
        &SERVICE,
        false,
    )
}

/// `name{k="v",…}` as PromQL reads it, then single-quoted for YAML.
fn series(s: &Sample) -> String {
    let mut out = s.name.clone();
    out.push('{');
    for (i, (k, v)) in s.labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let v = v
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n");
        write!(out, "{k}=\"{v}\"").unwrap();
    }
    out.push('}');
    format!("'{}'", out.replace('\'', "''"))
}

/// A value in PromQL's series notation (`Inf`, not Rust's `inf`).
fn promql_value(v: f64) -> String {
    match v {
        f64::INFINITY => "Inf".into(),
        f64::NEG_INFINITY => "-Inf".into(),
        _ if v.is_nan() => "NaN".into(),
        _ => v.to_string(),
    }
}

/// A value as YAML reads a float.
fn yaml_value(v: f64) -> String {
    match v {
        f64::INFINITY => ".inf".into(),
        f64::NEG_INFINITY => "-.inf".into(),
        _ if v.is_nan() => ".nan".into(),
        _ => v.to_string(),
    }
}

/// A `promtool test rules` file: `input` as series constant over 0m..5m at a 1m interval,
/// and each expression evaluated at 2m against its expected samples. No rules are needed
/// (promtool 2.42 accepts `rule_files: []`).
fn rules_test(input: &[Sample], cases: &[(&str, &[Sample])]) -> String {
    let mut y = String::from(
        "rule_files: []\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n",
    );
    for s in input {
        let v = promql_value(s.value);
        let values = [v.as_str(); 6].join(" ");
        writeln!(
            y,
            "      - series: {}\n        values: '{values}'",
            series(s)
        )
        .unwrap();
    }
    y.push_str("    promql_expr_test:\n");
    for (expr, exp) in cases {
        writeln!(
            y,
            "      - expr: '{}'\n        eval_time: 2m\n        exp_samples:",
            expr.replace('\'', "''")
        )
        .unwrap();
        if exp.is_empty() {
            y.truncate(y.len() - 1);
            y.push_str(" []\n");
        }
        for s in exp.iter() {
            writeln!(
                y,
                "          - labels: {}\n            value: {}",
                series(s),
                yaml_value(s.value)
            )
            .unwrap();
        }
    }
    y
}

/// Runs `promtool test rules` on `yaml`: whether it passed, and everything it said.
fn promtool_test_rules(tool: &str, yaml: &str) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("identity_join.test.yml");
    std::fs::write(&file, yaml).unwrap();
    let out = std::process::Command::new(tool)
        .args(["test", "rules"])
        .arg(&file)
        .current_dir(dir.path())
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success() && !said.contains("FAILED"), said)
}

/// The expected-samples part of a rules test, for failure messages.
fn expectations(yaml: &str) -> &str {
    yaml.split_once("    promql_expr_test:\n")
        .map_or(yaml, |x| x.1)
}

#[test]
fn the_identity_joins_work_in_prometheus_as_written() {
    let d = demo();
    let scraped = as_scraped(&parse_exposition(&d.metrics), d.addr);
    let up = backends_up(&scraped).expect("the backend join");
    let down = down_in_ipvs(&scraped).expect("the event join");

    let demo_vs = [
        ("proto", "TCP"),
        ("local_address", "10.0.0.100"),
        ("local_port", "80"),
    ];
    let b12 = [("remote_address", "10.1.0.12"), ("remote_port", "80")];
    let want: Vec<_> = demo_vs.iter().chain(&b12).copied().collect();
    assert_eq!(
        one(&up, "", &want).value,
        0.0,
        "weight 1 * up 0 for the backend keepalived has down: {up:?}"
    );
    assert!(
        one(&down, "", &want).value > 0.0,
        "its removal is counted: {down:?}"
    );

    let Some(tool) = promtool() else { return };
    let yaml = rules_test(&scraped, &[(BACKENDS_UP, &up), (DOWN_IN_IPVS, &down)]);
    let (ok, said) = promtool_test_rules(tool, &yaml);
    assert!(
        ok,
        "promtool test rules failed:\n{said}\nexpected:\n{}",
        expectations(&yaml)
    );
}

/// The check can fail: with `remote_address` misnamed on keepalived's side, the join done
/// here stops matching, and promtool, given what the right names yield, says FAILED.
#[test]
fn a_misnamed_identity_label_breaks_the_join() {
    let d = demo();
    let scraped = as_scraped(&parse_exposition(&d.metrics), d.addr);
    let good = backends_up(&scraped).unwrap();
    assert!(!good.is_empty());
    let broken: Vec<Sample> = scraped
        .iter()
        .map(|s| {
            let mut s = s.clone();
            if s.name == "keepalived_real_server_up" {
                let v = s.labels.remove("remote_address").expect("remote_address");
                s.labels.insert("real_server_address".into(), v);
            }
            s
        })
        .collect();
    // Every real server of a service now has one signature: Prometheus refuses such a
    // right-hand side, and so does the join here.
    let err = backends_up(&broken).expect_err("a join on a label keepalived lacks");
    assert!(err.contains("duplicate"), "{err}");

    let Some(tool) = promtool() else { return };
    let yaml = rules_test(&broken, &[(BACKENDS_UP, &good)]);
    let (ok, said) = promtool_test_rules(tool, &yaml);
    assert!(!ok, "promtool accepted a broken join:\n{said}");
    assert!(
        said.contains("FAILED") && said.contains("group_left keepalived_real_server_up"),
        "promtool failed for another reason:\n{said}"
    );
}

//! Offline lint of the Grafana dashboards in dashboards/ and of the PromQL in alerts/.
//! (tests/prometheus_e2e.rs then runs every panel's query in a real Prometheus.)
//!
//! There is no Grafana server here, so this checks what Grafana would otherwise only show
//! at render time: the JSON model's required fields; every panel (rows' nested panels
//! included) has a title, the `${datasource}` variable as its data source, a unit and a place
//! on the 24-column grid; every PromQL expression parses (promql-parser, after replacing
//! Grafana's variables) and names only metrics that lvsmon really exports, with label names
//! they really carry. The same metric check covers every `expr` of the alert rules and their
//! unit tests, so a typo in a metric name fails here rather than silently never firing.

mod common;

use common::grafana::{all_panels, substitute};
use common::*;
use lvsmon::ipvs::source::ProcSource;
use lvsmon::ipvs::IpvsOptions;
use lvsmon::metrics::{Exporter, Format};
use promql_parser::label::MatchOp;
use promql_parser::parser::{self, Expr, VectorSelector};
use promql_parser::util::{walk_expr, ExprVisitor};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The metrics lvsmon exports from /proc (README.md), all of which the IPVS dashboard shows.
const CONTRACT: &[&str] = &[
    "ipvs_service_info",
    "ipvs_service_backends",
    "ipvs_service_backends_available",
    "ipvs_backend_weight",
    "ipvs_backend_connections_active",
    "ipvs_backend_connections_inactive",
    "ipvs_backend_info",
    "ipvs_connection_table_size",
    "ipvs_connections_total",
    "ipvs_incoming_packets_total",
    "ipvs_outgoing_packets_total",
    "ipvs_incoming_bytes_total",
    "ipvs_outgoing_bytes_total",
    "ipvs_rate_connections_per_second",
    "ipvs_rate_incoming_packets_per_second",
    "ipvs_rate_outgoing_packets_per_second",
    "ipvs_rate_incoming_bytes_per_second",
    "ipvs_rate_outgoing_bytes_per_second",
    "ipvs_cpu_connections_total",
    "ipvs_cpu_incoming_packets_total",
    "ipvs_cpu_outgoing_packets_total",
    "ipvs_cpu_incoming_bytes_total",
    "ipvs_cpu_outgoing_bytes_total",
    "ipvs_connections",
    "lvsmon_conntable_truncated",
    "lvsmon_build_info",
    "lvsmon_collector_up",
    "lvsmon_collector_duration_seconds",
    "lvsmon_collector_errors_total",
    "process_cpu_seconds_total",
    "process_resident_memory_bytes",
    "process_open_fds",
    "process_max_fds",
    "process_start_time_seconds",
];

/// Labels Prometheus attaches at scrape time; never in lvsmon's own output.
const TARGET_LABELS: &[&str] = &["job", "instance"];

/// Metric name → label names seen on its samples (`None`: declared with `# TYPE` but without
/// a sample in any capture, or recorded by a rule, so its labels are unknown). From
/// lvsmon's real output: the library run on the "mixed" real-kernel capture (every
/// forwarding method, FWM, IPv6, SCTP) and on every other capture, with the
/// connection-table summary on, and the page of `serve --demo` (netlink, keepalived, logs,
/// incidents).
fn exported() -> &'static BTreeMap<String, Option<BTreeSet<String>>> {
    static EXPORTED: OnceLock<BTreeMap<String, Option<BTreeSet<String>>>> = OnceLock::new();
    EXPORTED.get_or_init(|| {
        let mut trees = vec![root().join("tests/fixtures/kernel/mixed/proc")];
        trees.extend(kernel_captures().into_iter().map(|c| c.join("proc")));
        let mut names: BTreeMap<String, Option<BTreeSet<String>>> = BTreeMap::new();
        for proc in trees {
            let opts = IpvsOptions {
                conntable: true,
                ..Default::default()
            };
            let page = Exporter::ipvs(ProcSource::Dir(proc), opts).render(Format::Prometheus);
            add_series(&mut names, &page);
            for line in page.lines() {
                if let Some(rest) = line.strip_prefix("# TYPE ") {
                    let name = rest.split_whitespace().next().unwrap();
                    names.entry(name.to_string()).or_default();
                }
            }
        }
        // The whole `serve --demo` page: netlink, keepalived, logs and incidents (the demo
        // runs every collector on embedded real captures).
        let (_srv, addr) = serve(&["--demo", "--web.listen-address", "127.0.0.1:0"]);
        let (status, _, page) = http_get(addr, "/metrics", None);
        assert_eq!(status, 200, "serve --demo: {page}");
        add_series(&mut names, &page);
        // What the recording rules of alerts/ make (their labels are not checked here;
        // promtool's unit tests evaluate them).
        for f in alert_yaml_files() {
            for line in read(&f).lines() {
                if let Some(name) = line.trim_start().strip_prefix("- record:") {
                    names.entry(name.trim().to_string()).or_default();
                }
            }
        }
        for family in [
            "ipvs_service_connections_total",
            "ipvs_connections",
            "lvsmon_log_source_up",
            "keepalived_vrrp_state",
            "keepalived_real_server_up",
            "lvsmon_log_events_total",
            "lvsmon_incident_active",
        ] {
            assert!(
                names.get(family).is_some_and(Option::is_some),
                "serve --demo shows no {family}"
            );
        }
        assert!(
            names.contains_key("ipvs_service_backends") && names.contains_key("process_open_fds"),
            "lvsmon's output looks wrong: {:?}",
            names.keys()
        );
        names
    })
}

/// Collects every vector selector (plain or inside a range) of an expression.
struct Selectors(Vec<VectorSelector>);

impl ExprVisitor for Selectors {
    type Error = ();
    fn pre_visit(&mut self, e: &Expr) -> Result<bool, ()> {
        match e {
            Expr::VectorSelector(vs) => self.0.push(vs.clone()),
            Expr::MatrixSelector(ms) => self.0.push(ms.vs.clone()),
            _ => {}
        }
        Ok(true)
    }
}

/// Parses `expr` and checks every metric it selects against lvsmon's output. Returns the
/// problems found (empty when fine); `what` says where the expression comes from.
fn check_promql(what: &str, expr: &str) -> Vec<String> {
    let ast = match parser::parse(expr) {
        Ok(ast) => ast,
        Err(e) => return vec![format!("{what}: does not parse: {e}\n  {expr}")],
    };
    let mut sel = Selectors(Vec::new());
    walk_expr(&mut sel, &ast).unwrap();
    let mut problems = Vec::new();
    for vs in sel.0 {
        let matchers = vs
            .matchers
            .matchers
            .iter()
            .chain(vs.matchers.or_matchers.iter().flatten());
        let name = vs.name.clone().or_else(|| {
            matchers
                .clone()
                .find(|m| m.name == "__name__" && matches!(m.op, MatchOp::Equal))
                .map(|m| m.value.clone())
        });
        let Some(name) = name else {
            problems.push(format!("{what}: a selector without a metric name: {expr}"));
            continue;
        };
        let Some(labels) = exported().get(&name) else {
            problems.push(format!("{what}: lvsmon exports no metric `{name}`"));
            continue;
        };
        // A family without samples in any capture tells nothing about its labels.
        let Some(labels) = labels else { continue };
        for m in matchers {
            let l = m.name.as_str();
            if l != "__name__" && !TARGET_LABELS.contains(&l) && !labels.contains(l) {
                problems.push(format!("{what}: `{name}` has no label `{l}` ({labels:?})"));
            }
        }
    }
    problems
}

// ---------------------------------------------------------------------------------------
// Grafana

fn dashboards() -> Vec<PathBuf> {
    let dir = root().join("dashboards");
    let mut v: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no dashboards in {}", dir.display());
    v
}

fn load(p: &Path) -> Value {
    serde_json::from_str(&read(p)).unwrap_or_else(|e| panic!("{}: not JSON: {e}", p.display()))
}

/// Grafana's variables, replaced by what Grafana would put there: built-in intervals by a
/// duration, the dashboard's own variables by a literal (they sit in `=~"…"` matchers).
/// Longest names first, so that `$__range_s` is not read as `$__range` + `_s`.
fn substitutions(d: &Value) -> Vec<(String, String)> {
    let mut subs: Vec<(String, String)> = [
        ("__rate_interval", "5m"),
        ("__interval", "1m"),
        ("__interval_ms", "60000"),
        ("__range", "1h"),
        ("__range_s", "3600"),
        ("__range_ms", "3600000"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for var in d["templating"]["list"].as_array().into_iter().flatten() {
        let name = var["name"].as_str().expect("variable without a name");
        subs.push((name.to_string(), format!("lvsmon-test-{name}")));
    }
    subs.sort_by_key(|(k, _)| std::cmp::Reverse(k.len()));
    subs
}

fn is_datasource_var(ds: &Value) -> bool {
    ds.get("uid").and_then(Value::as_str) == Some("${datasource}")
        && ds
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("prometheus")
            == "prometheus"
}

/// The `[…]` ranges of an expression, as written.
fn ranges(expr: &str) -> Vec<&str> {
    expr.split('[')
        .skip(1)
        .filter_map(|r| r.split_once(']').map(|(inside, _)| inside))
        .collect()
}

fn lint_dashboard(path: &Path) -> Vec<String> {
    let d = load(path);
    let file = path.file_name().unwrap().to_string_lossy().to_string();
    let mut problems = Vec::new();
    let mut need = |ok: bool, msg: String| {
        if !ok {
            problems.push(format!("{file}: {msg}"));
        }
    };

    need(
        d["uid"]
            .as_str()
            .is_some_and(|u| !u.is_empty() && u.len() <= 40),
        "`uid` must be set (at most 40 characters)".into(),
    );
    need(
        d.get("id") == Some(&Value::Null),
        "`id` must be null".into(),
    );
    need(
        d["title"].as_str().is_some_and(|t| !t.is_empty()),
        "no title".into(),
    );
    need(
        d["tags"].as_array().is_some_and(|t| !t.is_empty()),
        "no tags".into(),
    );
    need(
        d["time"]["from"].is_string() && d["time"]["to"].is_string(),
        "no time range".into(),
    );
    need(d["refresh"].is_string(), "no refresh".into());
    need(
        d["schemaVersion"]
            .as_u64()
            .is_some_and(|v| (36..=41).contains(&v)),
        format!(
            "schemaVersion {} is not Grafana 10/11's",
            d["schemaVersion"]
        ),
    );

    let vars = d["templating"]["list"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let var = |n: &str| vars.iter().find(|v| v["name"] == n);
    need(
        var("datasource").is_some_and(|v| v["type"] == "datasource" && v["query"] == "prometheus"),
        "needs a `datasource` variable of type datasource, query prometheus".into(),
    );
    need(
        var("instance").is_some_and(|v| v["type"] == "query"),
        "needs an `instance` query variable (the director)".into(),
    );
    need(
        var("job").is_some_and(|v| v["type"] == "query"),
        "needs a `job` query variable".into(),
    );
    // A stable uid: the file's own name, so links between dashboards survive a re-import.
    need(
        path.file_stem().and_then(|s| s.to_str()) == d["uid"].as_str(),
        format!("uid {} is not the file's name", d["uid"]),
    );

    let subs = substitutions(&d);
    let mut exprs: Vec<(String, String)> = Vec::new();

    // Query variables: label_values(SELECTOR, label) must name a real metric and label.
    for v in vars.iter().filter(|v| v["type"] == "query") {
        let name = v["name"].as_str().unwrap_or("?");
        need(
            v.get("datasource").is_some_and(is_datasource_var),
            format!("variable {name}: data source must be ${{datasource}}"),
        );
        let q = v["query"]["query"]
            .as_str()
            .or(v["query"].as_str())
            .unwrap_or("");
        let Some(inner) = q
            .strip_prefix("label_values(")
            .and_then(|r| r.strip_suffix(')'))
        else {
            need(
                false,
                format!("variable {name}: expected label_values(selector, label), got {q:?}"),
            );
            continue;
        };
        let Some((selector, label)) = inner.rsplit_once(',') else {
            need(
                false,
                format!("variable {name}: label_values needs a selector: {q:?}"),
            );
            continue;
        };
        let label = label.trim();
        let metric = selector.split('{').next().unwrap().trim().to_string();
        let known = exported().get(&metric);
        need(
            known.is_some_and(|ls| {
                TARGET_LABELS.contains(&label) || ls.as_ref().is_some_and(|ls| ls.contains(label))
            }),
            format!("variable {name}: `{metric}` has no label `{label}`"),
        );
        exprs.push((format!("variable {name}"), selector.to_string()));
    }

    // Annotations from the Prometheus data source are PromQL too.
    for a in d["annotations"]["list"].as_array().into_iter().flatten() {
        if let Some(expr) = a["expr"].as_str() {
            let name = a["name"].as_str().unwrap_or("?");
            need(
                is_datasource_var(&a["datasource"]),
                format!("annotation {name}: data source must be ${{datasource}}"),
            );
            exprs.push((format!("annotation {name}"), expr.to_string()));
        }
    }

    let panels = all_panels(&d);
    let mut ids = BTreeSet::new();
    for p in &panels {
        let title = p["title"].as_str().unwrap_or("");
        let kind = p["type"].as_str().unwrap_or("");
        let at = format!("panel {:?} ({kind})", title);
        need(
            !title.trim().is_empty(),
            format!("a {kind} panel without a title"),
        );
        need(
            p["id"].as_u64().is_some_and(|id| ids.insert(id)),
            format!("{at}: missing or duplicate id"),
        );
        let g = &p["gridPos"];
        let (x, y, w, h) = (
            g["x"].as_u64(),
            g["y"].as_u64(),
            g["w"].as_u64(),
            g["h"].as_u64(),
        );
        need(
            matches!((x, y, w, h), (Some(x), Some(_), Some(w), Some(h)) if w >= 1 && h >= 1 && x + w <= 24),
            format!("{at}: gridPos {g} is not on the 24-column grid"),
        );
        if kind == "row" {
            need(
                p.get("targets").is_none(),
                format!("{at}: a row has no queries"),
            );
            continue;
        }
        need(
            is_datasource_var(&p["datasource"]),
            format!(
                "{at}: data source must be ${{datasource}}, is {}",
                p["datasource"]
            ),
        );
        need(
            p["fieldConfig"]["defaults"]["unit"]
                .as_str()
                .is_some_and(|u| !u.is_empty()),
            format!("{at}: no unit (fieldConfig.defaults.unit)"),
        );
        let targets = p["targets"].as_array().cloned().unwrap_or_default();
        need(!targets.is_empty(), format!("{at}: no queries"));
        let mut refs = BTreeSet::new();
        for t in &targets {
            need(
                is_datasource_var(&t["datasource"]),
                format!("{at}: a query's data source must be ${{datasource}}"),
            );
            need(
                t["refId"]
                    .as_str()
                    .is_some_and(|r| refs.insert(r.to_string())),
                format!("{at}: missing or duplicate refId"),
            );
            let Some(expr) = t["expr"].as_str() else {
                need(false, format!("{at}: a query without expr"));
                continue;
            };
            need(
                expr.contains("$job"),
                format!("{at}: a query that ignores the job variable: {expr}"),
            );
            for r in ranges(expr) {
                need(
                    r.starts_with("$__"),
                    format!("{at}: range [{r}] should be $__rate_interval (or another Grafana interval): {expr}"),
                );
            }
            exprs.push((at.clone(), expr.to_string()));
        }
    }

    // Panels must not overlap: the expanded layout, and each collapsed row's own panels.
    let mut layouts: Vec<Vec<&Value>> = vec![d["panels"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default()];
    for p in &panels {
        if p["type"] == "row" && p["collapsed"] == true {
            layouts.push(
                p["panels"]
                    .as_array()
                    .map(|a| a.iter().collect())
                    .unwrap_or_default(),
            );
        }
    }
    for layout in layouts {
        let rect = |p: &Value| {
            let g = &p["gridPos"];
            let n = |k: &str| g[k].as_u64().unwrap_or(0);
            (n("x"), n("y"), n("x") + n("w"), n("y") + n("h"))
        };
        for (i, a) in layout.iter().enumerate() {
            for b in &layout[i + 1..] {
                let (ax0, ay0, ax1, ay1) = rect(a);
                let (bx0, by0, bx1, by1) = rect(b);
                need(
                    ax1 <= bx0 || bx1 <= ax0 || ay1 <= by0 || by1 <= ay0,
                    format!("panels {:?} and {:?} overlap", a["title"], b["title"]),
                );
            }
        }
    }

    for (what, expr) in exprs {
        let e = substitute(&expr, &subs);
        if e.contains('$') {
            problems.push(format!("{file}: {what}: unknown variable left in {e:?}"));
            continue;
        }
        problems.extend(check_promql(&format!("{file}: {what}"), &e));
    }
    problems
}

#[test]
fn dashboards_pass_the_lint() {
    let mut problems = Vec::new();
    for d in dashboards() {
        problems.extend(lint_dashboard(&d));
    }
    assert!(
        problems.is_empty(),
        "dashboard problems:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_ipvs_dashboard_is_complete() {
    let d = load(&root().join("dashboards/lvsmon-ipvs.json"));
    assert_eq!(d["uid"], "lvsmon-ipvs");
    let panels = all_panels(&d);
    let mut used = BTreeSet::new();
    for p in &panels {
        for t in p["targets"].as_array().into_iter().flatten() {
            let e = substitute(t["expr"].as_str().unwrap(), &substitutions(&d));
            let mut sel = Selectors(Vec::new());
            walk_expr(&mut sel, &parser::parse(&e).unwrap()).unwrap();
            used.extend(sel.0.into_iter().filter_map(|vs| vs.name));
        }
    }
    // Every metric of lvsmon's /proc contract is exported and on the dashboard.
    let missing: Vec<_> = CONTRACT
        .iter()
        .filter(|m| !used.contains(**m) || !exported().contains_key(**m))
        .collect();
    assert!(
        missing.is_empty(),
        "metrics not exported or not on any panel: {missing:?}"
    );
    // Counters are shown as rates over $__rate_interval, never raw.
    for p in &panels {
        for t in p["targets"].as_array().into_iter().flatten() {
            let e = t["expr"].as_str().unwrap();
            for counter in exported().keys().filter(|m| m.ends_with("_total")) {
                let mut rest = e;
                while let Some(i) = rest.find(counter.as_str()) {
                    let before = &rest[..i];
                    assert!(
                        before.ends_with("rate(") || before.ends_with("increase("),
                        "panel {:?}: counter {counter} not under rate(): {e}",
                        p["title"]
                    );
                    rest = &rest[i + counter.len()..];
                }
            }
        }
    }
}

/// The three dashboards of issue 12, by title, each with what makes it what it is.
#[test]
fn the_director_keepalived_and_fleet_dashboards_exist() {
    let by_title: BTreeMap<String, Value> = dashboards()
        .iter()
        .map(|p| load(p))
        .map(|d| (d["title"].as_str().unwrap_or("").to_string(), d))
        .collect();
    let exprs = |d: &Value, kind: &str| -> Vec<String> {
        all_panels(d)
            .into_iter()
            .filter(|p| kind.is_empty() || p["type"] == kind)
            .flat_map(|p| p["targets"].as_array().cloned().unwrap_or_default())
            .filter_map(|t| t["expr"].as_str().map(str::to_string))
            .collect()
    };
    let has = |title: &str, kind: &str, needle: &str| {
        let d = by_title
            .get(title)
            .unwrap_or_else(|| panic!("no dashboard titled {title:?}: {:?}", by_title.keys()));
        assert!(
            exprs(d, kind).iter().any(|e| e.contains(needle)),
            "{title}: no {kind} panel on {needle}"
        );
    };
    has("lvsmon / Director", "", "ipvs_backend_connections_total");
    has("lvsmon / Director", "table", "keepalived_real_server_up");
    has("lvsmon / Director", "table", "lvsmon_incident_active");
    has("lvsmon / Director", "", "lvsmon_log_events_total");
    has("lvsmon / Director", "", "lvsmon_collector_up");
    has(
        "lvsmon / keepalived",
        "state-timeline",
        "keepalived_vrrp_state",
    );
    has(
        "lvsmon / keepalived",
        "",
        "keepalived_vrrp_priority_effective",
    );
    has(
        "lvsmon / keepalived",
        "",
        "keepalived_vrrp_become_master_total",
    );
    has(
        "lvsmon / keepalived",
        "",
        "keepalived_vrrp_advertisements_received_total",
    );
    has(
        "lvsmon / keepalived",
        "",
        "keepalived_vrrp_auth_failure_total",
    );
    has("lvsmon / Fleet", "table", "keepalived_vrrp_state");
    has(
        "lvsmon / Fleet",
        "stat",
        "cluster:keepalived_vrrp_masters:count{job=~\"$job\"} > 1",
    );
    has(
        "lvsmon / Fleet",
        "stat",
        "cluster:keepalived_vrrp_masters:count{job=~\"$job\"} == 0",
    );
    has("lvsmon / Fleet", "", "ipvs_service_backends_available");
    has("lvsmon / Fleet", "", "lvsmon_incident_active");
}

// ---------------------------------------------------------------------------------------
// Alert rules: the PromQL of every `expr:` (rules and their unit tests).

/// The `expr:` values of a YAML file, by a line scan: plain, quoted and block (`|`, `>`)
/// scalars. Returns (line number, expression).
fn yaml_exprs(text: &str) -> Vec<(usize, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim_start();
        let (t, indent) = match t.strip_prefix("- ") {
            Some(rest) => (rest, line.len() - t.len() + 2),
            None => (t, line.len() - t.len()),
        };
        let Some(v) = t.strip_prefix("expr:") else {
            continue;
        };
        let v = v.trim();
        let expr = if v.starts_with('|') || v.starts_with('>') {
            lines[i + 1..]
                .iter()
                .take_while(|l| l.trim().is_empty() || l.len() - l.trim_start().len() > indent)
                .map(|l| l.trim())
                .collect::<Vec<_>>()
                .join("\n")
        } else if let Some(q) = v.strip_prefix('\'').and_then(|q| q.strip_suffix('\'')) {
            q.replace("''", "'")
        } else if let Some(q) = v.strip_prefix('"').and_then(|q| q.strip_suffix('"')) {
            q.replace("\\\"", "\"").replace("\\\\", "\\")
        } else {
            v.to_string()
        };
        assert!(!expr.trim().is_empty(), "line {}: empty expr", i + 1);
        out.push((i + 1, expr));
    }
    out
}

fn alert_yaml_files() -> Vec<PathBuf> {
    let mut v = Vec::new();
    for dir in ["alerts", "alerts/tests"] {
        for e in std::fs::read_dir(root().join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "yml" || x == "yaml") {
                v.push(p);
            }
        }
    }
    v.sort();
    v
}

#[test]
fn alert_expressions_name_only_exported_metrics() {
    let mut problems = Vec::new();
    let mut rules_seen = 0;
    for f in alert_yaml_files() {
        let text = read(&f);
        let exprs = yaml_exprs(&text);
        if f.to_string_lossy().ends_with(".rules.yml") {
            // The scan must have found one expression per rule, none merged or skipped.
            let rules = rules_in(&text);
            assert_eq!(
                exprs.len(),
                rules,
                "{}: expressions found vs rules",
                f.display()
            );
            rules_seen += rules;
        }
        let name = f.strip_prefix(root()).unwrap().display().to_string();
        for (line, expr) in exprs {
            problems.extend(check_promql(&format!("{name}:{line}"), &expr));
        }
    }
    assert!(rules_seen > 0, "no rules found under alerts/");
    assert!(
        problems.is_empty(),
        "alert expression problems:\n{}",
        problems.join("\n")
    );
}

/// The checks above must be able to fail: a misspelt metric, a missing `_total`, a wrong
/// label and a syntax error are all reported.
#[test]
fn the_metric_check_catches_typos() {
    assert!(check_promql("ok", "rate(ipvs_incoming_packets_total[5m]) > 0").is_empty());
    assert!(check_promql("ok", r#"ipvs_connections{state="SYN_RECV",instance="x"}"#).is_empty());
    for bad in [
        "ipvs_service_backend == 0",
        "rate(ipvs_incoming_packets[5m])",
        r#"ipvs_backend_info{fwd="masq"}"#,
        r#"{__name__="ipvs_nonexistent"}"#,
        "sum(ipvs_service_backends",
    ] {
        assert!(!check_promql("bad", bad).is_empty(), "not caught: {bad}");
    }
    let scanned = yaml_exprs("      - alert: X\n        expr: |\n          foo\n            and bar\n        for: 1m\n      - expr: 'a{b=''c''}'\n");
    assert_eq!(
        scanned,
        vec![(2, "foo\nand bar".to_string()), (6, "a{b='c'}".to_string())]
    );
}

/// deploy/grafana's provisioning examples are valid YAML Grafana reads: a Prometheus data
/// source, and a file provider (the dashboards pick their data source by variable).
#[test]
fn the_grafana_provisioning_examples_parse() {
    let yaml = |f: &str| -> serde_yaml_ng::Value {
        serde_yaml_ng::from_str(&read(&root().join("deploy/grafana/provisioning").join(f)))
            .unwrap_or_else(|e| panic!("{f}: {e}"))
    };
    let ds = yaml("datasources/lvsmon.yaml");
    assert_eq!(ds["apiVersion"].as_u64(), Some(1));
    assert_eq!(ds["datasources"][0]["type"].as_str(), Some("prometheus"));
    let dash = yaml("dashboards/lvsmon.yaml");
    assert_eq!(dash["apiVersion"].as_u64(), Some(1));
    assert_eq!(dash["providers"][0]["type"].as_str(), Some("file"));
    assert!(dash["providers"][0]["options"]["path"].as_str().is_some());
}

/// Every recording rule of alerts/ is read by a dashboard or another rule, except the
/// `node_ipvs_*` names, which are for node_exporter's dashboards.
#[test]
fn every_recording_rule_is_used() {
    let mut users = String::new();
    for f in dashboards() {
        users.push_str(&read(&f));
    }
    let mut records = Vec::new();
    for f in alert_yaml_files() {
        let text = read(&f);
        for (_, expr) in yaml_exprs(&text) {
            users.push_str(&expr);
            users.push('\n');
        }
        records.extend(text.lines().filter_map(|l| {
            l.trim_start()
                .strip_prefix("- record:")
                .map(|n| n.trim().to_string())
        }));
    }
    assert!(!records.is_empty());
    for r in records.iter().filter(|r| !r.starts_with("node_ipvs_")) {
        assert!(
            users.contains(r.as_str()),
            "recording rule {r} is read by nothing"
        );
    }
}

/// Adds every series of an exposition `page` to `names`: its name and label names.
fn add_series(names: &mut BTreeMap<String, Option<BTreeSet<String>>>, page: &str) {
    for s in parse_exposition(page) {
        names
            .entry(s.name)
            .or_default()
            .get_or_insert_with(BTreeSet::new)
            .extend(s.labels.into_keys());
    }
}

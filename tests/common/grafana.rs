//! Reading Grafana dashboard JSON the way Grafana does, for the lint (tests/dashboards.rs)
//! and the end-to-end run in a real Prometheus (tests/prometheus_e2e.rs).

use serde_json::Value;

/// Every panel of a dashboard, rows' nested panels included, in document order.
pub fn all_panels(d: &Value) -> Vec<&Value> {
    fn walk<'a>(ps: &'a Value, out: &mut Vec<&'a Value>) {
        for p in ps.as_array().into_iter().flatten() {
            out.push(p);
            if let Some(nested) = p.get("panels") {
                walk(nested, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(&d["panels"], &mut out);
    out
}

/// Replaces Grafana's variables in an expression, in every syntax Grafana accepts
/// (`${name}`, `[[name]]`, `$name`). `subs` must list longer names first, so that
/// `$__range_s` is not read as `$__range` + `_s`.
pub fn substitute(expr: &str, subs: &[(String, String)]) -> String {
    let mut s = expr.to_string();
    for (k, v) in subs {
        s = s
            .replace(&format!("${{{k}}}"), v)
            .replace(&format!("[[{k}]]"), v)
            .replace(&format!("${k}"), v);
    }
    s
}

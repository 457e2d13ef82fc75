//! The report as one HTML page: the askama template `templates/report.html` (the summary
//! and the incident table rendered here, escaped by askama), the data as one JSON document
//! in a `<script type="application/json">` element, and the page's own script and styles
//! inline. Log lines are untrusted: in the JSON they are escaped so that nothing in them can
//! end the script element ([`script_json`]); the page's script only ever sets them as text.

use super::model::Report;
use crate::incidents::Incident;
use crate::logs::event::rfc3339;
use askama::Template;

/// The page's script: draws the timeline from the JSON (SVG), zoom, details, table links.
const SCRIPT: &str = include_str!("report.js");
const STYLE: &str = include_str!("report.css");

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("cannot encode the report's data: {0}")]
    Json(#[from] serde_json::Error),
    #[error("cannot render the report: {0}")]
    Template(#[from] askama::Error),
}

/// A row of the incident table.
struct Row<'a> {
    i: &'a Incident,
    start: String,
    end: String,
    who: String,
    what: String,
}

#[derive(Template)]
#[template(path = "report.html")]
struct Page<'a> {
    r: &'a Report,
    title: String,
    range: String,
    rows: Vec<Row<'a>>,
    /// Already escaped for a script element ([`script_json`]).
    data: String,
    script: &'static str,
    style: &'static str,
}

/// `v` as JSON that can sit inside a `<script>` element whatever its strings hold: `<`, `>`
/// and `&` as `\u003c`, `\u003e`, `\u0026` (so no `</script>`, `<!--` or entity can appear),
/// and U+2028/U+2029 escaped too (line terminators to older JavaScript parsers). Outside
/// strings JSON has none of these characters, so the result parses to the same value.
pub fn script_json<T: serde::Serialize>(v: &T) -> Result<String, serde_json::Error> {
    let s = serde_json::to_string(v)?;
    let mut out = String::with_capacity(s.len() + s.len() / 32);
    for c in s.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    Ok(out)
}

/// What an incident is about: the real server of its service, the service, or the
/// instance.
fn what(i: &Incident) -> String {
    match (&i.iname, &i.virtual_service, &i.real_server) {
        (_, Some(vs), Some(rs)) => format!("{vs} → {rs}"),
        (_, Some(vs), None) => vs.clone(),
        (Some(i), _, _) => i.clone(),
        _ => String::new(),
    }
}

/// The whole page.
pub fn render(r: &Report) -> Result<String, RenderError> {
    let time = |ms: i64| rfc3339(ms.saturating_mul(1000));
    let rows = r
        .incidents
        .iter()
        .map(|i| Row {
            i,
            start: rfc3339(i.start),
            end: i.end.map_or_else(|| "open".to_string(), rfc3339),
            who: i.host.clone().unwrap_or_else(|| i.hosts.join(", ")),
            what: what(i),
        })
        .collect();
    let page = Page {
        r,
        title: format!("lvsmon report: {}", r.hosts.join(", ")),
        range: format!("{} … {}", time(r.start), time(r.end)),
        rows,
        data: script_json(r)?,
        script: SCRIPT,
        style: STYLE,
    };
    Ok(page.render()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incidents::Evidence;
    use crate::logs::rules::Severity;
    use std::collections::BTreeMap;

    fn report_with_line(line: &str) -> Report {
        Report {
            version: "test",
            start: 0,
            end: 1000,
            lines: 1,
            matched: 1,
            untimed: 0,
            hosts: vec!["lb<1>".into()],
            vrrp: vec![],
            split_brain: vec![],
            servers: vec![],
            servers_omitted: 0,
            activity: vec![],
            incidents: vec![Incident {
                id: "x".into(),
                kind: "keepalived_config_error",
                severity: Severity::Warning,
                host: Some("lb<1>".into()),
                hosts: vec![],
                iname: None,
                virtual_service: None,
                real_server: None,
                start: 0,
                end: None,
                count: 1,
                evidence: vec![Evidence {
                    time: Some(0),
                    host: "lb<1>".into(),
                    line: line.into(),
                }],
                summary: line.into(),
                hint: "h",
            }],
            incidents_omitted: BTreeMap::new(),
        }
    }

    #[test]
    fn script_json_cannot_end_its_element_and_reads_back_the_same() {
        let nasty = "a</script><script>alert(1)</script> <!-- & \u{2028}\u{2029} \"q\" \\";
        let v = serde_json::json!({ "line": nasty, "n": [1, 2] });
        let s = script_json(&v).unwrap();
        for bad in ["<", ">", "&", "\u{2028}", "\u{2029}"] {
            assert!(!s.contains(bad), "{bad:?} left in {s}");
        }
        let back: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back, v);
    }

    proptest::proptest! {
        /// Whatever a log line holds, the JSON has none of the characters that could end
        /// or confuse the script element, and reads back to the same text.
        #[test]
        fn script_json_of_any_text(line in "\\PC*", raw in proptest::collection::vec(proptest::char::any(), 0..64)) {
            let raw: String = raw.into_iter().collect();
            let v = serde_json::json!({ "line": line, "raw": raw });
            let s = script_json(&v).unwrap();
            let bad = s.contains(['<', '>', '&', '\u{2028}', '\u{2029}']);
            proptest::prop_assert!(!bad, "{}", s);
            let back: serde_json::Value = serde_json::from_str(&s).unwrap();
            proptest::prop_assert_eq!(back, v);
        }
    }

    #[test]
    fn a_log_line_with_markup_stays_text_in_the_page() {
        let line = "Dec  2 lb1 Keepalived: </script><script>window.pwned=1</script><b>x</b>";
        let page = render(&report_with_line(line)).unwrap();
        // The only script elements are the page's own two (the data and the code).
        assert_eq!(page.matches("<script").count(), 2, "{page}");
        assert_eq!(page.matches("</script>").count(), 2);
        assert!(!page.contains("<b>x</b>"));
        // In the table (askama's escaping) the markup is shown as text.
        assert!(page.contains("&#60;/script&#62;&#60;script&#62;window.pwned=1"));
        assert!(page.contains("lb&#60;1&#62;"));
        // The data element's JSON reads back to the line itself.
        let start = page.find("id=\"report-data\">").unwrap() + "id=\"report-data\">".len();
        let end = start + page[start..].find("</script>").unwrap();
        let v: serde_json::Value = serde_json::from_str(&page[start..end]).unwrap();
        assert_eq!(v["incidents"][0]["evidence"][0]["line"], line);
    }

    #[test]
    fn the_page_is_self_contained() {
        let page = render(&report_with_line("x")).unwrap();
        assert!(
            page.contains("<link rel=\"icon\" href=\"data:,\">"),
            "no favicon.ico asked"
        );
        for external in ["src=", "href=\"http", "href=\"//", "@import", "url(http"] {
            assert!(!page.contains(external), "{external} in the page");
        }
    }
}

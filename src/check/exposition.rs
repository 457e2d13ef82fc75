//! Reading back the few series a check needs from a running lvsmon's `/metrics` page
//! (Prometheus text format 0.0.4): one sample line at a time, pure, never panicking on
//! what a server sent. Only what lvsmon writes is understood: `name{k="v",…} value`, label
//! values with the format's three escapes (`\\`, `\"`, `\n`).

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample<'a> {
    pub name: &'a str,
    pub labels: Vec<(&'a str, String)>,
    pub value: f64,
}

impl Sample<'_> {
    /// A label's value, `""` when absent (as Prometheus treats it).
    pub fn label(&self, name: &str) -> &str {
        self.labels
            .iter()
            .find(|(k, _)| *k == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

fn value(s: &str) -> Option<f64> {
    // A timestamp may follow the value; lvsmon writes none, but the format allows it.
    let v = s.split_whitespace().next()?;
    match v {
        "+Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        v => v.parse().ok(),
    }
}

/// Parses one line; `None` for comments, blank lines and anything malformed.
pub fn parse_line(line: &str) -> Option<Sample<'_>> {
    let line = line.trim_end();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let name_end = line.find(['{', ' '])?;
    let name = &line[..name_end];
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(mut r) = rest.strip_prefix('{') {
        loop {
            r = r.trim_start_matches([' ', ',']);
            if let Some(after) = r.strip_prefix('}') {
                rest = after;
                break;
            }
            let (key, after) = r.split_once("=\"")?;
            let mut val = String::new();
            let mut chars = after.char_indices();
            let end = loop {
                match chars.next()? {
                    (i, '"') => break i,
                    (_, '\\') => match chars.next()?.1 {
                        'n' => val.push('\n'),
                        c => val.push(c),
                    },
                    (_, c) => val.push(c),
                }
            };
            labels.push((key.trim(), val));
            r = &after[end + 1..];
        }
    }
    Some(Sample {
        name,
        labels,
        value: value(rest)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_lvsmon_writes() {
        let s = parse_line(
            r#"ipvs_backend_weight{proto="TCP",local_address="fd00::1",local_port="80",local_mark="",remote_address="a\"b\\c",remote_port="80"} 3"#,
        )
        .unwrap();
        assert_eq!(s.name, "ipvs_backend_weight");
        assert_eq!(s.label("local_address"), "fd00::1");
        assert_eq!(s.label("remote_address"), "a\"b\\c");
        assert_eq!(s.label("missing"), "");
        assert_eq!(s.value, 3.0);
        assert_eq!(parse_line("keepalived_up 1.0").unwrap().value, 1.0);
        assert_eq!(parse_line("x{} 2 1700000000").unwrap().value, 2.0);
    }

    #[test]
    fn malformed_lines_are_skipped() {
        for l in [
            "",
            "# HELP x y",
            "x",
            "x{a=\"1\" 2",
            "x{a=1} 2",
            "x{a=\"1\"}",
            "x 1e",
            "x{a=\"\\",
        ] {
            assert_eq!(parse_line(l), None, "{l:?}");
        }
    }
}

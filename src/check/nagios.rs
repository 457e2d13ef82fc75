//! What a Nagios plugin prints and how it exits: one status line
//! `LVS <STATE> - text | perfdata`, long output on the lines after it, and exit status
//! 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (the Monitoring Plugins guidelines).
//!
//! Perfdata is `'label'=value[UOM];warn;crit;min;max`; labels are quoted, and a label or
//! text taken from outside (a VRRP instance name, an incident summary) is cleaned of the
//! characters that would break the line's grammar (`|`, `'`, `=`, line breaks). A threshold
//! that alerts inside its range (`@…`) still decides the state but is not written into the
//! perfdata, which Monitoring::Plugin's parser could not read past.

use super::range::{Range, Threshold};
use std::fmt::Write as _;

/// A plugin's verdict, ordered so that the worst is the greatest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    Ok,
    Warning,
    Unknown,
    Critical,
}

impl Status {
    /// The exit status Nagios reads.
    pub fn code(self) -> u8 {
        match self {
            Status::Ok => 0,
            Status::Warning => 1,
            Status::Critical => 2,
            Status::Unknown => 3,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::Warning => "WARNING",
            Status::Critical => "CRITICAL",
            Status::Unknown => "UNKNOWN",
        }
    }
}

/// One performance figure.
#[derive(Debug, Clone, PartialEq)]
pub struct Perf {
    pub label: String,
    pub value: f64,
    /// `""`, `s`, `%`, `B`, `c`…
    pub uom: &'static str,
    pub warning: Option<Range>,
    pub critical: Option<Range>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

impl Perf {
    /// A figure without thresholds, its minimum 0 (every figure lvsmon reports is a count
    /// or a rate).
    pub fn new(label: impl Into<String>, value: f64) -> Perf {
        Perf {
            label: label.into(),
            value,
            uom: "",
            warning: None,
            critical: None,
            min: Some(0.0),
            max: None,
        }
    }

    pub fn threshold(mut self, t: &Threshold) -> Perf {
        self.warning = t.warning;
        self.critical = t.critical;
        self
    }

    pub fn max(mut self, max: f64) -> Perf {
        self.max = Some(max);
        self
    }

    pub fn uom(mut self, uom: &'static str) -> Perf {
        self.uom = uom;
        self
    }

    fn write(&self, out: &mut String) {
        let opt = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
        // An inside range (`@10:20`) is left out: Monitoring::Plugin's perfdata parser (and
        // the graphers that follow it) stops at the `@` and loses the rest of the item.
        let range = |r: Option<Range>| {
            r.filter(|r| !r.inside)
                .map(|r| r.to_string())
                .unwrap_or_default()
        };
        let _ = write!(
            out,
            "'{}'={}{};{};{};{};{}",
            label(&self.label),
            self.value,
            self.uom,
            range(self.warning),
            range(self.critical),
            opt(self.min),
            opt(self.max)
        );
    }
}

/// A label as perfdata may carry it inside quotes.
fn label(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\'' | '=' | '|' => '_',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect()
}

/// Text for the status or a long-output line: no `|` (it starts perfdata), one line.
pub fn text(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '|' => '/',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect()
}

/// A check's result, printed once.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub status: Status,
    pub summary: String,
    pub perf: Vec<Perf>,
    /// Lines after the status line (`-v` and the per-item detail).
    pub long: Vec<String>,
}

impl Report {
    pub fn new(status: Status, summary: impl Into<String>) -> Report {
        Report {
            status,
            summary: summary.into(),
            perf: Vec::new(),
            long: Vec::new(),
        }
    }

    /// UNKNOWN with a reason (a source that cannot be read, a bad argument, a timeout).
    pub fn unknown(why: impl Into<String>) -> Report {
        Report::new(Status::Unknown, why)
    }

    /// The plugin's whole output, ending with a newline.
    pub fn render(&self) -> String {
        let mut out = format!("LVS {} - {}", self.status.name(), text(&self.summary));
        if !self.perf.is_empty() {
            out.push_str(" |");
            for p in &self.perf {
                out.push(' ');
                p.write(&mut out);
            }
        }
        out.push('\n');
        for l in &self.long {
            out.push_str(&text(l));
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_line_perfdata_and_long_output() {
        let t = Threshold {
            warning: None,
            critical: Some("1:".parse().unwrap()),
        };
        let mut r = Report::new(Status::Ok, "TCP 10.1.0.100:80: 2 of 2 | available");
        r.perf
            .push(Perf::new("available", 2.0).threshold(&t).max(2.0));
        r.perf.push(Perf::new("it's=odd", 0.5).uom("B"));
        r.long.push("10.1.0.11:80 weight 1\nforged".into());
        assert_eq!(
            r.render(),
            "LVS OK - TCP 10.1.0.100:80: 2 of 2 / available | 'available'=2;;1:;0;2 \
             'it_s_odd'=0.5B;;;0;\n10.1.0.11:80 weight 1 forged\n"
        );
    }

    #[test]
    fn worst_wins_and_codes() {
        assert!(Status::Critical > Status::Unknown && Status::Unknown > Status::Warning);
        let codes: Vec<u8> = [
            Status::Ok,
            Status::Warning,
            Status::Critical,
            Status::Unknown,
        ]
        .map(Status::code)
        .to_vec();
        assert_eq!(codes, [0, 1, 2, 3]);
    }
}

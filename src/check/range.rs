//! Nagios threshold ranges (`[@]start:end`, `~` for minus infinity) and the warning/critical
//! pair a check evaluates, with the Monitoring Plugins semantics: `10` alerts outside
//! 0..10, `10:` below 10, `~:10` above 10, `10:20` outside 10..20, `@10:20` inside it
//! (bounds inclusive). Pure: the parsing is what `-w`/`-c` give and what the perfdata
//! writes back.

use super::nagios::Status;
use std::fmt;
use std::str::FromStr;

/// One range. `start` is `-inf` for `~`, `end` is `+inf` when omitted after the colon.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    pub start: f64,
    pub end: f64,
    /// `@`: alert when the value is inside, not outside.
    pub inside: bool,
}

/// Why a range did not parse; the offending text is the caller's to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    #[error("empty range")]
    Empty,
    #[error("not a number in the range")]
    Number,
    #[error("the range's start is above its end")]
    Inverted,
}

fn number(s: &str) -> Result<f64, RangeError> {
    let v: f64 = s.parse().map_err(|_| RangeError::Number)?;
    if v.is_finite() {
        Ok(v)
    } else {
        Err(RangeError::Number)
    }
}

impl FromStr for Range {
    type Err = RangeError;

    fn from_str(text: &str) -> Result<Range, RangeError> {
        let t = text.trim();
        let (inside, t) = match t.strip_prefix('@') {
            Some(rest) => (true, rest),
            None => (false, t),
        };
        if t.is_empty() {
            return Err(RangeError::Empty);
        }
        let (start, end) = match t.split_once(':') {
            None => (0.0, number(t)?),
            Some((s, e)) => {
                let start = match s {
                    "~" => f64::NEG_INFINITY,
                    "" => 0.0,
                    s => number(s)?,
                };
                let end = if e.is_empty() {
                    f64::INFINITY
                } else {
                    number(e)?
                };
                (start, end)
            }
        };
        if start > end {
            return Err(RangeError::Inverted);
        }
        Ok(Range { start, end, inside })
    }
}

impl Range {
    /// Whether `value` raises an alert under this range.
    pub fn alerts(&self, value: f64) -> bool {
        let within = self.start <= value && value <= self.end;
        within == self.inside
    }
}

/// The canonical text, as perfdata carries it: `10`, `10:`, `~:10`, `10:20`, `@10:20`.
impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.inside {
            f.write_str("@")?;
        }
        match (self.start, self.end) {
            (s, e) if s == 0.0 && e.is_finite() => write!(f, "{e}"),
            (s, e) => {
                if s == f64::NEG_INFINITY {
                    f.write_str("~:")?;
                } else {
                    write!(f, "{s}:")?;
                }
                if e.is_finite() {
                    write!(f, "{e}")?;
                }
                Ok(())
            }
        }
    }
}

/// A warning and a critical range; either may be absent.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Threshold {
    pub warning: Option<Range>,
    pub critical: Option<Range>,
}

impl Threshold {
    /// CRITICAL when the critical range alerts, else WARNING when the warning one does.
    pub fn status(&self, value: f64) -> Status {
        if self.critical.is_some_and(|r| r.alerts(value)) {
            Status::Critical
        } else if self.warning.is_some_and(|r| r.alerts(value)) {
            Status::Warning
        } else {
            Status::Ok
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> Range {
        s.parse().unwrap()
    }

    #[test]
    fn the_guidelines_examples() {
        // `10`: outside 0..10.
        assert!(r("10").alerts(-1.0) && r("10").alerts(11.0));
        assert!(!r("10").alerts(0.0) && !r("10").alerts(10.0));
        // `10:`: below 10.
        assert!(r("10:").alerts(9.9) && !r("10:").alerts(10.0) && !r("10:").alerts(1e9));
        // `~:10`: above 10.
        assert!(r("~:10").alerts(10.1) && !r("~:10").alerts(-1e9));
        // `10:20`: outside, bounds inclusive.
        assert!(r("10:20").alerts(9.0) && r("10:20").alerts(21.0) && !r("10:20").alerts(20.0));
        // `@10:20`: inside, bounds inclusive.
        assert!(r("@10:20").alerts(10.0) && r("@10:20").alerts(20.0) && !r("@10:20").alerts(21.0));
    }

    #[test]
    fn display_parses_back() {
        for s in [
            "10", "10:", "~:10", "10:20", "@10:20", "1:", "@~:0", "-5:5", "0.5",
        ] {
            assert_eq!(r(s).to_string(), s);
            assert_eq!(r(&r(s).to_string()), r(s));
        }
    }

    #[test]
    fn bad_ranges() {
        for s in ["", "@", "x", "10:5", "1:2:3", "nan", "inf", ":x", "~"] {
            assert!(s.parse::<Range>().is_err(), "{s:?} parsed");
        }
    }

    #[test]
    fn critical_wins() {
        let t = Threshold {
            warning: Some(r("2:")),
            critical: Some(r("1:")),
        };
        assert_eq!(t.status(0.0), Status::Critical);
        assert_eq!(t.status(1.0), Status::Warning);
        assert_eq!(t.status(2.0), Status::Ok);
    }
}

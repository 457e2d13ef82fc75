//! `lvsmon analyze`: classify whole files (plain or gzip) or standard input once and
//! summarise what happened.
//!
//! Counting is per rule while reading (an array index, no map lookups) and folded into kinds
//! at the end. The summary names kinds only, so the winner's captures are taken (matching
//! does that) but not rendered into normalised label values, which only the exporter's
//! series need.

use super::frame::{frame, YearClock};
use super::lines::Splitter;
use super::rules::Rules;
use std::collections::BTreeMap;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum AnalyzeError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// What a set of inputs contained.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub lines: u64,
    pub matched: u64,
    pub unmatched: u64,
    /// Lines longer than the cap, cut (and still classified on their first bytes).
    pub truncated: u64,
    pub events: BTreeMap<String, u64>,
}

impl Summary {
    pub fn to_json(&self) -> String {
        // A map of strings and integers always serialises.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    pub fn to_text(&self) -> String {
        let mut s = format!(
            "lines      {}\nmatched    {}\nunmatched  {}\ntruncated  {}\n",
            self.lines, self.matched, self.unmatched, self.truncated
        );
        if !self.events.is_empty() {
            s.push_str("events:\n");
            let width = self.events.keys().map(String::len).max().unwrap_or(0);
            for (k, n) in &self.events {
                s.push_str(&format!("  {k:<width$}  {n}\n"));
            }
        }
        s
    }
}

/// Classifies line after line and counts. Lines are classified in pairs (see
/// [`Rules::winner_pair`]): the first of a pair waits, copied, for the second.
pub struct Analyzer<'r> {
    rules: &'r Rules,
    scratch: [super::rules::Scratch; 2],
    /// The first line of a pair, waiting.
    held: Vec<u8>,
    holding: bool,
    clock: YearClock,
    per_rule: Vec<u64>,
    lines: u64,
    truncated: u64,
    max_line: usize,
}

impl<'r> Analyzer<'r> {
    pub fn new(rules: &'r Rules, clock: YearClock, max_line: usize) -> Analyzer<'r> {
        Analyzer {
            rules,
            scratch: [rules.scratch(), rules.scratch()],
            held: Vec::new(),
            holding: false,
            clock,
            per_rule: vec![0; rules.rules().len()],
            lines: 0,
            truncated: 0,
            max_line,
        }
    }

    /// One line, without its newline.
    pub fn line(&mut self, bytes: &[u8], cut: bool) {
        self.lines += 1;
        self.truncated += u64::from(cut);
        if !self.holding {
            self.held.clear();
            self.held.extend_from_slice(bytes);
            self.holding = true;
            return;
        }
        self.holding = false;
        let (a, b) = (frame(&self.held, &self.clock), frame(bytes, &self.clock));
        let [sa, sb] = &mut self.scratch;
        let won = self.rules.winner_pair(
            [sa, sb],
            [
                (a.ident.as_deref(), &a.message),
                (b.ident.as_deref(), &b.message),
            ],
        );
        for rule in won.into_iter().flatten() {
            self.per_rule[rule] += 1;
        }
    }

    /// Classifies a line still waiting for its pair.
    fn flush(&mut self) {
        if !std::mem::take(&mut self.holding) {
            return;
        }
        let f = frame(&self.held, &self.clock);
        if let Some(rule) = self
            .rules
            .winner(&mut self.scratch[0], f.ident.as_deref(), &f.message)
        {
            self.per_rule[rule] += 1;
        }
    }

    /// Reads `input` to its end. Gzip is detected by its magic bytes, not the file name.
    pub fn read(&mut self, input: impl Read) -> io::Result<()> {
        let mut input = io::BufReader::with_capacity(1 << 16, input);
        let gz = io::BufRead::fill_buf(&mut input)?.starts_with(&[0x1f, 0x8b]);
        if gz {
            self.read_plain(flate2::read::MultiGzDecoder::new(input))
        } else {
            self.read_plain(input)
        }
    }

    fn read_plain(&mut self, mut input: impl Read) -> io::Result<()> {
        let mut split = Splitter::new(self.max_line);
        let mut buf = vec![0u8; 1 << 18];
        loop {
            let n = match input.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            split.feed(&buf[..n], &mut |l, cut| self.line(l, cut));
        }
        split.finish(&mut |l, cut| self.line(l, cut));
        self.flush();
        Ok(())
    }

    /// Reads a file, or standard input for `-`.
    pub fn read_path(&mut self, path: &Path) -> Result<(), AnalyzeError> {
        let err = |source| AnalyzeError::Io {
            path: path.to_path_buf(),
            source,
        };
        if path == Path::new("-") {
            self.read(io::stdin().lock()).map_err(err)
        } else {
            let f = std::fs::File::open(path).map_err(err)?;
            self.read(f).map_err(err)
        }
    }

    pub fn summary(&self) -> Summary {
        let mut events = BTreeMap::new();
        let mut matched = 0;
        for (rule, &n) in self.rules.rules().iter().zip(&self.per_rule) {
            if n > 0 {
                *events.entry(rule.kind.clone()).or_insert(0) += n;
                matched += n;
            }
        }
        Summary {
            lines: self.lines,
            matched,
            unmatched: self.lines - matched,
            truncated: self.truncated,
            events,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn analyze(bytes: &[u8]) -> Summary {
        let rules = Rules::builtin().unwrap();
        let mut a = Analyzer::new(&rules, YearClock::fixed(2024), 4096);
        a.read(bytes).unwrap();
        a.summary()
    }

    const TEXT: &[u8] = b"Nov 25 10:00:00 lb1 Keepalived_vrrp[1]: (VI_1) Entering MASTER STATE\n\
        Nov 25 10:00:01 lb1 Keepalived_vrrp[1]: (VI_1) Entering BACKUP STATE\n\
        Nov 25 10:00:02 lb1 sshd[9]: Accepted publickey for root\n\
        [ 12.5] nf_conntrack: table full, dropping packet";

    #[test]
    fn counts_lines_events_and_the_unmatched() {
        let s = analyze(TEXT);
        assert_eq!((s.lines, s.matched, s.unmatched), (4, 3, 1));
        assert_eq!(s.events.get("vrrp_master"), Some(&1));
        assert_eq!(s.events.get("conntrack_table_full"), Some(&1));
        let json: serde_json::Value = serde_json::from_str(&s.to_json()).unwrap();
        assert_eq!(json["lines"], 4);
        assert_eq!(json["matched"], 3);
        assert_eq!(json["events"]["vrrp_backup"], 1);
        assert!(s.to_text().contains("vrrp_master"));
    }

    /// Lines go through in pairs; odd counts, mixed idents and lines no rule applies to must
    /// count exactly as classifying each line alone by the reference does.
    #[test]
    fn pairs_count_what_the_reference_counts_line_by_line() {
        let rules = Rules::builtin().unwrap();
        let clock = YearClock::fixed(2024);
        let mut text = String::new();
        for f in [
            include_str!("../../tests/fixtures/logs/keepalived-2.2.7-lbA.log"),
            include_str!("../../tests/fixtures/logs/keepalived_lines.txt"),
            include_str!("../../tests/fixtures/logs/kernel_lines.txt"),
        ] {
            text.push_str(f);
            text.push_str("Nov 25 10:00:02 lb1 sshd[9]: Accepted publickey for root\n");
        }
        // Either count of lines ends in an event, the one a held line would lose.
        text.push_str("(VI_9) Entering MASTER STATE\n(VI_9) Entering MASTER STATE\n");
        for take in [text.lines().count(), text.lines().count() - 1] {
            let lines: Vec<&str> = text.lines().take(take).collect();
            let mut a = Analyzer::new(&rules, clock, 4096);
            a.read(lines.join("\n").as_bytes()).unwrap();
            let mut want = BTreeMap::new();
            for l in &lines {
                let f = frame(l.as_bytes(), &clock);
                if let Some((i, _)) = rules.classify_reference(f.ident.as_deref(), &f.message) {
                    *want.entry(rules.rules()[i].kind.clone()).or_insert(0) += 1;
                }
            }
            let got = a.summary();
            assert_eq!(got.lines, take as u64);
            assert_eq!(got.events, want, "{take} lines");
        }
    }

    #[test]
    fn gzip_is_read_like_the_plain_text() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(TEXT).unwrap();
        assert_eq!(analyze(&gz.finish().unwrap()), analyze(TEXT));
    }

    #[test]
    fn a_huge_line_is_cut_counted_and_the_next_still_classified() {
        let mut input = vec![b'x'; 2 << 20];
        input.extend_from_slice(b"\n(VI_1) Entering MASTER STATE\n\xff\xfe\n");
        let s = analyze(&input);
        assert_eq!((s.lines, s.truncated, s.matched), (3, 1, 1));
    }
}

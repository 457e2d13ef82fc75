//! Monitoring::Plugin (Debian's libmonitoring-plugin-perl), the reference implementation of
//! the plugin guidelines, as the oracle: it parses every mode's perfdata, and its
//! `Threshold` judges the edge ranges (`10`, `10:`, `~:10`, `10:20`, `@10:20`…) exactly as
//! lvsmon does, both in the library and through the plugin's exit status.

mod check_support;
mod common;

use check_support::{capture, check};
use common::tool;
use lvsmon::check::range::{Range, Threshold};
use std::io::Write;
use std::process::Command;

/// Runs a Perl program over `input` (read with `<>` from a file) and returns its stdout.
fn perl(program: &str, input: &str) -> String {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(input.as_bytes()).unwrap();
    let out = Command::new("perl")
        .args([
            "-MMonitoring::Plugin::Threshold",
            "-MMonitoring::Plugin::Performance",
            "-e",
        ])
        .arg(program)
        .arg(file.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "perl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Whether Monitoring::Plugin is installed (see `common::tool`).
fn oracle() -> bool {
    tool("perl")
        && (Command::new("perl")
            .args(["-MMonitoring::Plugin::Threshold", "-e", "1"])
            .status()
            .is_ok_and(|s| s.success())
            || {
                assert!(
                    std::env::var("LVSMON_REQUIRE_TOOLS").is_err(),
                    "libmonitoring-plugin-perl is required but not installed"
                );
                eprintln!("Monitoring::Plugin not installed: skipping");
                false
            })
}

/// `warning TAB critical TAB value` per line → the status Monitoring::Plugin gives and how
/// it writes each range back.
const JUDGE: &str = r#"
while (<>) {
    chomp; my ($w, $c, $v) = split /\t/, $_, -1;
    my %t; $t{warning} = $w if length $w; $t{critical} = $c if length $c;
    my $t = Monitoring::Plugin::Threshold->set_thresholds(%t);
    my $ws = $t->warning->is_set ? "" . $t->warning : "";
    my $cs = $t->critical->is_set ? "" . $t->critical : "";
    print join("\t", $t->get_status($v), $ws, $cs), "\n";
}
"#;

#[test]
fn ranges_mean_what_monitoring_plugin_says() {
    if !oracle() {
        return;
    }
    let ranges = [
        "", "10", "10:", "~:10", "10:20", "@10:20", "@10", "@~:10", "@10:", "0", "1:", "~:0",
        "-5:5", "@-5:5", "0.5:1.5", "@0:0", "~:-1", "2.5",
    ];
    let values = [
        -10.0, -5.0, -1.0, 0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 5.0, 9.9, 10.0, 10.1, 15.0, 20.0, 20.5,
        100.0,
    ];
    let mut input = String::new();
    let mut mine = Vec::new();
    let parse = |s: &str| (!s.is_empty()).then(|| s.parse::<Range>().unwrap());
    for w in ranges {
        for c in ranges {
            for v in values {
                input.push_str(&format!("{w}\t{c}\t{v}\n"));
                let t = Threshold {
                    warning: parse(w),
                    critical: parse(c),
                };
                let shown = |r: Option<Range>| r.map(|r| r.to_string()).unwrap_or_default();
                mine.push(format!(
                    "{}\t{}\t{}",
                    t.status(v).code(),
                    shown(t.warning),
                    shown(t.critical)
                ));
            }
        }
    }
    let theirs = perl(JUDGE, &input);
    let theirs: Vec<&str> = theirs.lines().collect();
    assert_eq!(theirs.len(), mine.len());
    let mut wrong = Vec::new();
    for ((line, m), t) in input.lines().zip(&mine).zip(&theirs) {
        if m != t {
            wrong.push(format!("{line:?}: lvsmon {m:?}, Monitoring::Plugin {t:?}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} differ:\n{}",
        wrong.len(),
        mine.len(),
        wrong[..wrong.len().min(20)].join("\n")
    );
}

/// `warning TAB critical TAB perfdata` per line → the number of items parsed, the status
/// Monitoring::Plugin gives the item named `available` under those thresholds (or `-`),
/// and every item as `label|value|uom|warn|crit|min|max`.
const PARSE: &str = r#"
while (<>) {
    chomp; my ($w, $c, $perf) = split /\t/, $_, -1;
    my %t; $t{warning} = $w if length $w; $t{critical} = $c if length $c;
    %t = (critical => "1:") unless %t;
    my $given = Monitoring::Plugin::Threshold->set_thresholds(%t);
    my @p = Monitoring::Plugin::Performance->parse_perfstring($perf);
    my $status = "-";
    my @items;
    for my $p (@p) {
        my $t = $p->threshold;
        push @items, join("|", $p->label, $p->value, $p->uom,
            ($t->warning->is_set ? $t->warning : ""), ($t->critical->is_set ? $t->critical : ""),
            $p->min // "", $p->max // "");
        $status = $given->get_status($p->value) if $p->label eq "available";
    }
    print join(" ", scalar(@p), $status, @items), "\n";
}
"#;

#[test]
fn every_modes_perfdata_parses_and_thresholds_agree() {
    if !oracle() {
        return;
    }
    let (mixed, nat6) = (capture("mixed"), capture("nat6"));
    let run = |args: &[&str], tree: Option<&str>| -> Vec<String> {
        let src = match tree {
            Some(t) => vec!["--path.procfs", t],
            None => vec!["--demo"],
        };
        args.iter().chain(&src).map(|s| s.to_string()).collect()
    };
    let mut runs = Vec::new();
    // The service mode under every edge range, on services with 0, 1, 2 and 4 backends.
    for svc in [
        "UDP 10.2.0.10:123",
        "TCP 10.2.0.1:80",
        "UDP 10.2.0.4:53",
        "TCP 10.2.0.2:443",
    ] {
        for r in [
            "10", "10:", "~:10", "10:20", "@10:20", "1", "1:", "~:1", "1:2", "@1:2", "@0", "4:",
            "@~:3",
        ] {
            for thresholds in [&["-w", r][..], &["-c", r], &["-w", r, "-c", "@10:20"]] {
                let mut a = vec!["nagios", "service", "--service", svc];
                a.extend_from_slice(thresholds);
                runs.push(run(&a, Some(&mixed)));
            }
        }
    }
    let service = ["nagios", "service", "--service"];
    runs.push(run(
        &[&service[..], &["UDP [fd00:1::100]:53"]].concat(),
        Some(&nat6),
    ));
    runs.push(run(&[&service[..], &["TCP 10.0.0.100:80"]].concat(), None));
    runs.push(run(&["nagios", "services"], Some(&mixed)));
    runs.push(run(&["nagios", "services", "-w", "3:"], Some(&nat6)));
    runs.push(run(&["nagios", "vrrp"], None));
    runs.push(run(&["nagios", "incidents"], None));

    let mut input = String::new();
    let mut results = Vec::new();
    for args in &runs {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, out) = check(&a);
        let first = out.lines().next().unwrap_or("");
        let (_, perf) = first
            .split_once(" | ")
            .unwrap_or_else(|| panic!("{a:?}: no perfdata in {out:?}"));
        // The thresholds given on the command line (the plugin's default is `-c 1:`).
        let flag = |f: &str| a.iter().position(|x| *x == f).map_or("", |i| a[i + 1]);
        input.push_str(&format!("{}\t{}\t{perf}\n", flag("-w"), flag("-c")));
        results.push((a.join(" "), code, perf.to_string()));
    }
    let parsed = perl(PARSE, &input);
    let allowed_uom = ["", "s", "ms", "us", "%", "B", "KB", "MB", "TB", "c"];
    for ((args, code, perf), line) in results.iter().zip(parsed.lines()) {
        let mut f = line.split(' ');
        let count: usize = f.next().unwrap().parse().unwrap();
        let status = f.next().unwrap();
        let items: Vec<&str> = f.collect();
        // Every item we wrote was understood (no item dropped as unparseable).
        assert_eq!(count, perf.matches("'=").count(), "{args}: {perf} → {line}");
        let mut prefixes = std::collections::BTreeSet::new();
        for it in &items {
            let p: Vec<&str> = it.split('|').collect();
            assert!(allowed_uom.contains(&p[2]), "{args}: uom {:?}", p[2]);
            assert_eq!(p[5], "0", "{args}: every figure has min 0: {it}");
            assert!(
                prefixes.insert(p[0].chars().take(19).collect::<String>()),
                "{args}: labels not unique in 19 chars"
            );
        }
        // In the service mode the plugin's verdict is the oracle's verdict on `available`.
        if args.starts_with("nagios service ") && !perf.is_empty() {
            assert_eq!(status, code.to_string(), "{args}: {perf}");
            // The thresholds are in the perfdata as given, but for inside (`@`) ranges.
            let fields: Vec<&str> = items[0].split('|').collect();
            let flag = |f: &str| {
                let v: Vec<&str> = args.split(' ').collect();
                v.iter().position(|x| *x == f).map_or("", |i| v[i + 1])
            };
            fn shown(r: &str) -> &str {
                if r.starts_with('@') {
                    ""
                } else {
                    r
                }
            }
            let (w, c) = (shown(flag("-w")), shown(flag("-c")));
            let c = if flag("-w").is_empty() && flag("-c").is_empty() {
                "1:"
            } else {
                c
            };
            assert_eq!(
                (fields[0], fields[3], fields[4]),
                ("available", w, c),
                "{args}: {perf}"
            );
            let avail = items.iter().find(|i| i.starts_with("available|")).unwrap();
            let configured = items.iter().find(|i| i.starts_with("configured|")).unwrap();
            assert_eq!(
                avail.rsplit('|').next(),
                configured.split('|').nth(1),
                "{args}: max of available is the configured count"
            );
        }
    }
    assert_eq!(parsed.lines().count(), results.len());
}

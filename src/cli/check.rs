//! `lvsmon check …`: builds the director a check reads (the same [`App`] as `serve`, or a
//! running lvsmon with `--url`), runs the mode under its `-t` timeout and prints what
//! Nagios or Zabbix reads. Nagios reads an exit status of 2 as CRITICAL, so nothing here
//! (bad arguments included: [`parse_failed`]) exits with anything but 0–3.

use super::args::{CheckArgs, CheckKind, CheckSource, NagiosMode, Thresholds, ZabbixCommand};
use super::settings::{load_config, parse_duration, resolve};
use crate::app::App;
use crate::check::director::{Director, Local, ReadError};
use crate::check::nagios::{Report, Status};
use crate::check::range::{Range, Threshold};
use crate::check::remote::Remote;
use crate::check::{self, Mode};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// How long a direct `incidents` check lets the demo's log replay reach the detectors.
const SETTLE: Duration = Duration::from_secs(2);

/// The director the flags name.
fn director(src: &CheckSource, incidents: bool) -> Result<Box<dyn Director>, ReadError> {
    if let Some(url) = &src.url {
        let client = crate::check::remote::Client {
            ca_file: src.tls_ca_file.clone(),
            cert_file: src.tls_cert_file.clone(),
            key_file: src.tls_key_file.clone(),
            username: src.auth_username.clone(),
            password_file: src.auth_password_file.clone(),
        };
        return Ok(Box::new(Remote::with_client(url, &client)?));
    }
    let e = |e: anyhow::Error| ReadError(format!("{e:#}"));
    let file = load_config(src.common.config.as_deref()).map_err(e)?;
    let s = resolve(&src.common, &file).map_err(e)?;
    if let Some(level) = &src.common.log_level {
        super::init_logging(level).map_err(e)?;
    }
    if !incidents {
        let app = App::new(s.app, None).map_err(|err| ReadError(err.to_string()))?;
        return Ok(Box::new(Local::new(app)));
    }
    // The incident engine as `serve` builds it: the open incidents a `serve` saved in
    // --log.state-dir, the demo's log capture replayed, and one look at the director now
    // (the log sources themselves are not followed, and nothing is saved).
    let store = s
        .logs
        .state_dir
        .as_deref()
        .map(crate::logs::source::StateStore::new);
    let live = crate::incidents::Live::new(s.incidents.clone(), super::logs::hostname(), store);
    let logs = super::logs::LogSetup::new(&s.logs, Some(&live), s.demo).map_err(e)?;
    let app = App::with_incidents(
        s.app,
        logs.as_ref().map(|l| l.pipeline.clone()),
        Some(live.clone()),
    )
    .map_err(|err| ReadError(err.to_string()))?;
    let table = app.ipvs.read();
    let keepalived = app.keepalived.as_ref().map(|k| k.snapshot());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
    live.observe(&crate::incidents::observe::Observation::of(
        &table,
        keepalived.as_ref(),
        now,
    ));
    if s.demo {
        settle(|| live.incidents().len());
    }
    Ok(Box::new(Local::new(app)))
}

/// Waits (bounded) until `count` stops changing: the detectors run in their own thread.
fn settle(count: impl Fn() -> usize) {
    let t0 = Instant::now();
    let mut last = (count(), 0);
    while t0.elapsed() < SETTLE && last.1 < 5 {
        std::thread::sleep(Duration::from_millis(20));
        let n = count();
        last = if n == last.0 && n > 0 {
            (n, last.1 + 1)
        } else {
            (n, 0)
        };
    }
}

/// The ranges given (an empty one is none); `-c 1:` when there is none at all.
fn threshold(t: &Thresholds) -> Result<Threshold, String> {
    let parse = |flag: &str, v: &Option<String>| -> Result<Option<Range>, String> {
        match v.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(r) => r
                .parse()
                .map(Some)
                .map_err(|e| format!("bad {flag} {r:?}: {e}")),
        }
    };
    let warning = parse("-w/--warning", &t.warning)?;
    let critical = parse("-c/--critical", &t.critical)?;
    Ok(if warning.is_none() && critical.is_none() {
        check::service::default_threshold()
    } else {
        Threshold { warning, critical }
    })
}

fn timeout(src: &CheckSource) -> Result<Duration, String> {
    parse_duration(&src.timeout)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("bad -t/--timeout {:?}: want seconds", src.timeout))
}

/// Prints the report and exits with its status.
fn finish(r: &Report) -> ExitCode {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(r.render().as_bytes());
    let _ = out.flush();
    ExitCode::from(r.status.code())
}

/// UNKNOWN for an argument clap let through but the check cannot use, with the usage line.
fn bad_argument(why: String) -> ExitCode {
    let mut r = Report::unknown(why);
    r.long.push(usage_of(std::env::args().skip(1)));
    finish(&r)
}

fn nagios(mode: NagiosMode) -> ExitCode {
    let (m, src) = match mode {
        NagiosMode::Service(a) => match threshold(&a.thresholds) {
            Ok(threshold) => (
                Mode::Service {
                    service: a.service,
                    threshold,
                },
                a.source,
            ),
            Err(why) => return bad_argument(why),
        },
        NagiosMode::Services(a) => match threshold(&a.thresholds) {
            Ok(threshold) => (
                Mode::Services {
                    exclude: a.exclude,
                    threshold,
                },
                a.source,
            ),
            Err(why) => return bad_argument(why),
        },
        NagiosMode::Vrrp(a) => (
            Mode::Vrrp {
                instance: a.instance,
                expect: a.expect,
            },
            a.source,
        ),
        NagiosMode::Incidents(a) => (Mode::Incidents, a.source),
    };
    let limit = match timeout(&src) {
        Ok(t) => t,
        Err(why) => return bad_argument(why),
    };
    let verbose = src.verbose;
    let mut report = check::run_with_timeout(
        limit,
        move || match director(&src, matches!(m, Mode::Incidents)) {
            Ok(d) => check::nagios(d.as_ref(), &m),
            Err(e) => Report::unknown(e.0),
        },
        || Report::unknown(format!("no answer within {} s", limit.as_secs_f64())),
    );
    // Long output is for `-v`, except where it explains a problem.
    if verbose == 0 && report.status == Status::Ok {
        report.long.clear();
    }
    finish(&report)
}

fn zabbix(cmd: ZabbixCommand) -> ExitCode {
    let src = match &cmd {
        ZabbixCommand::Discovery { source, .. } | ZabbixCommand::Get { source, .. } => source,
    };
    let limit = match timeout(src) {
        Ok(t) => t,
        Err(why) => {
            eprintln!("{why}");
            return ExitCode::from(3);
        }
    };
    let result = check::run_with_timeout(
        limit,
        move || -> Result<String, String> {
            match cmd {
                ZabbixCommand::Discovery { what, source } => {
                    let d = director(&source, false).map_err(|e| e.0)?;
                    check::zabbix::discovery(d.as_ref(), what)
                        .map(|v| v.to_string())
                        .map_err(|e| e.0)
                }
                ZabbixCommand::Get { key, source } => {
                    let incidents = key.starts_with("lvsmon.incidents");
                    let d = director(&source, incidents).map_err(|e| e.0)?;
                    check::zabbix::get(d.as_ref(), &key).map_err(|e| e.to_string())
                }
            }
        },
        || Err(format!("no answer within {} s", limit.as_secs_f64())),
    );
    match result {
        Ok(v) => {
            println!("{v}");
            ExitCode::SUCCESS
        }
        // The agent turns this into an unsupported item with the reason as its error.
        Err(why) => {
            println!("ZBX_NOTSUPPORTED\0{why}");
            ExitCode::from(1)
        }
    }
}

pub fn run(a: CheckArgs) -> ExitCode {
    match a.kind {
        CheckKind::Nagios(n) => nagios(n.mode),
        CheckKind::Zabbix(z) => zabbix(z.command),
    }
}

/// clap could not parse the command line. Under `check`, answer as a plugin: UNKNOWN (3)
/// with the reason and a usage line on stdout (`-h` and `-V` print and exit 3 too, as
/// the Monitoring Plugins do); elsewhere, clap's own behaviour.
pub fn parse_failed(e: clap::Error) -> ExitCode {
    let under_check = std::env::args().nth(1).as_deref() == Some("check");
    if !under_check {
        e.exit();
    }
    use clap::error::ErrorKind;
    let text = e.render().to_string();
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        print!("{text}");
        return ExitCode::from(3);
    }
    // The message up to its first blank line, on one line ("the following required
    // arguments were not provided: --service <SERVICE>").
    let reason = text
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ");
    let reason = reason.trim_start_matches("error: ");
    let usage = usage_of(std::env::args().skip(1));
    let r = Report {
        status: Status::Unknown,
        summary: reason.to_string(),
        perf: Vec::new(),
        long: vec![usage],
    };
    finish(&r)
}

/// The usage line of the deepest subcommand the arguments name (`check nagios service`).
fn usage_of(args: impl Iterator<Item = String>) -> String {
    use clap::CommandFactory;
    let mut cmd = super::args::Cli::command();
    cmd.build();
    for a in args {
        match cmd.find_subcommand(&a) {
            Some(sub) => cmd = sub.clone(),
            None => break,
        }
    }
    cmd.render_usage().to_string()
}

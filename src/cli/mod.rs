//! The command line, in one home: `args` (every flag, as parsed), `settings` (flags merged
//! over the config file over defaults, by one rule), and here the subcommands, which build
//! the application state once and hand it to its consumers. `main.rs` only calls [`main`].

pub mod args;
pub mod cardinality;
pub mod check;
pub mod config;
pub mod generate;
pub mod logs;
mod progress;
pub mod settings;
pub mod web;
mod when;

use crate::app::App;
use crate::http::{self, Site};
use crate::incidents::{Engine, Incident};
use crate::logs::analyze::Analyzer;
use crate::logs::frame::YearClock;
use crate::logs::rules::Rules;
use crate::metrics::{Exporter, Format};
use anyhow::{bail, Context, Result};
use args::{AnalyzeArgs, Cli, Command, DumpArgs, OutputFormat, ServeArgs};
use clap::Parser;
use settings::{load_config, pick, resolve};
use std::io::Write;
use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::sync::Arc;

/// Parses the command line and runs the subcommand. Exit status: 0; 1 on an error of
/// `serve` or `dump`; for `analyze` (scripts rely on it) 0, 1 when it found a critical
/// incident, 2 on an error; `check` exits as a plugin does (0–3, see `check`).
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => return check::parse_failed(e),
    };
    let (result, error_status) = match cli.command {
        Command::Serve(a) => (serve(a).map(|_| ExitCode::SUCCESS), 1),
        Command::Dump(a) => (dump(a).map(|_| ExitCode::SUCCESS), 1),
        Command::Analyze(a) => (analyze(a), 2),
        Command::Check(a) => return check::run(a),
        Command::Generate(a) => (
            generate::run(&a).map(|files| {
                for f in files {
                    println!("{}", f.display());
                }
                ExitCode::SUCCESS
            }),
            1,
        ),
    };
    result.unwrap_or_else(|e| {
        eprintln!("Error: {e:?}");
        ExitCode::from(error_status)
    })
}

/// The clock for timestamps without a year or zone: `--log.timezone` (or the system's
/// zone), and `--year` when given.
pub fn clock(timezone: Option<&str>, year: Option<i32>) -> Result<YearClock> {
    let clock = match year {
        Some(y) => YearClock::fixed(y),
        None => YearClock::now(),
    };
    Ok(match timezone {
        Some(z) => clock.with_zone(crate::logs::clock::parse_zone(z)?),
        None => clock,
    })
}

fn init_logging(level: &str) -> Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_new(level)
        .with_context(|| format!("bad --log.level {level:?}"))?;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    Ok(())
}

/// Parses `HOST:PORT`, `[V6]:PORT` or `:PORT` (every address: bound dual-stack on `[::]`).
fn parse_listen(addr: &str) -> Result<Vec<SocketAddr>> {
    let full = match addr.strip_prefix(':') {
        Some(port) => format!("[::]:{port}"),
        None => addr.to_string(),
    };
    let addrs: Vec<_> = full
        .to_socket_addrs()
        .with_context(|| format!("bad listen address {addr:?}"))?
        .collect();
    if addrs.is_empty() {
        bail!("listen address {addr:?} resolves to nothing");
    }
    Ok(addrs)
}

/// One malloc arena for the process, set before any thread starts. The incident engine's
/// look reads the whole table every few seconds in its own thread; in a thread arena glibc
/// trims only free chunks, never the arena's top, and its dynamic mmap threshold (raised
/// by the first large read) puts the next look's buffers there: after one changed
/// allocation pattern a 100,000-backend director sat at 14.6 MB of free heap at rest
/// against 1.9 MB live (heaptrack). The main arena's top is trimmed (`malloc_trim`), and
/// a page built under it is still reused between scrapes; lvsmon's threads seldom
/// allocate at once.
fn one_malloc_arena() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt changes a setting of glibc's allocator; it takes no pointer, and one
    // arena is a valid setting at any time (threads that hold another arena keep it).
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

fn serve(args: ServeArgs) -> Result<()> {
    one_malloc_arena();
    let file = load_config(args.common.config.as_deref())?;
    let s = resolve(&args.common, &file)?;
    init_logging(&s.log_level)?;
    let listen = if args.listen.is_empty() {
        file.web
            .listen_address
            .clone()
            .unwrap_or_else(|| vec![format!(":{}", config::DEFAULT_PORT)])
    } else {
        args.listen.clone()
    };
    let mut addrs = Vec::new();
    for a in &listen {
        addrs.extend(parse_listen(a)?);
    }
    let path = pick(
        args.telemetry_path.as_ref(),
        file.web.telemetry_path.as_ref(),
        || "/metrics".into(),
    );
    if !path.starts_with('/') || path == "/" {
        bail!("--web.telemetry-path must start with / and not be / itself (got {path:?})");
    }
    // The incident engine runs with or without logs: it also looks at the tables.
    let store = s
        .logs
        .state_dir
        .as_deref()
        .map(crate::logs::source::StateStore::new);
    let live = crate::incidents::Live::new(s.incidents.clone(), logs::hostname(), store);
    let logs = logs::LogSetup::new(&s.logs, Some(&live), s.demo)?;
    let am_urls = if args.alertmanager_url.is_empty() {
        file.alertmanager.url.clone().unwrap_or_default()
    } else {
        args.alertmanager_url.clone()
    };
    let targets = Arc::new(crate::alertmanager::Targets::parse(&am_urls)?);
    // Where the tables are read, as round 1 logged it: the procfs root or the demo's label.
    let source = match &s.app.ipvs_at {
        crate::app::IpvsAt::Here(crate::ipvs::source::ProcSource::Dir(d)) => {
            d.display().to_string()
        }
        crate::app::IpvsAt::Here(crate::ipvs::source::ProcSource::Embedded { label, .. }) => {
            label.to_string()
        }
        crate::app::IpvsAt::Netns(ns) => format!("netns {}", ns.display()),
    };
    let mut app = App::with_incidents(
        s.app,
        logs.as_ref().map(|l| l.pipeline.clone()),
        Some(live.clone()),
    )?;
    live.watch(app.ipvs.clone(), app.keepalived.clone())?;
    // keepalived's notify FIFOs are followed for the life of the process.
    if let Some(k) = &app.keepalived {
        for f in k
            .follow_notify_fifos()
            .context("starting the notify FIFO readers")?
        {
            f.detach();
        }
    }
    app.alertmanager = (!targets.0.is_empty()).then(|| targets.clone());
    let app = Arc::new(app);
    let limits = web::limits(&args.web, &file.web)?;
    let mut site = Site::new(
        app,
        logs.as_ref().map(|l| l.recent.clone()),
        path.clone(),
        limits,
        &cardinality::export(&args.common.cardinality, &file.collector.ipvs)?,
    );
    if let Some(f) = web::config_file(&args.web, &file.web) {
        site = site
            .with_web_config(&f)
            .with_context(|| format!("--web.config.file {}", f.display()))?;
    }
    let tls = site.web.tls();
    let site = Arc::new(site);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(4)
        .build()?;
    rt.block_on(async move {
        let listeners = http::bind_all(&addrs).await?;
        if let (Some(live), Some(l)) = (&site.app.incidents, listeners.first()) {
            if !targets.0.is_empty() {
                let generator = format!("http://{}/api/v1/incidents", l.local_addr()?);
                tokio::spawn(crate::alertmanager::run(
                    targets.clone(),
                    live.clone(),
                    generator,
                ));
            }
        }
        for l in listeners {
            tracing::info!(address = %l.local_addr()?, path = %path, source, tls, "serving metrics");
            tokio::spawn(http::serve(l, site.clone()));
        }
        let stop = crate::logs::source::Stop::default();
        let log_threads = logs.as_ref().map(|l| l.start(&stop)).unwrap_or_default();
        shutdown_signal().await;
        tracing::info!("shutting down");
        stop.stop();
        for t in log_threads {
            let _ = t.join();
        }
        if let Some(live) = &site.app.incidents {
            live.save();
        }
        Ok(())
    })
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Writes to standard output; a reader that went away (`lvsmon dump | head`) ends the
/// command quietly and successfully, as it does for `cat`.
fn write_stdout(write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> Result<()> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match write(&mut out).and_then(|_| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r.context("writing to standard output"),
    }
}

fn dump(args: DumpArgs) -> Result<()> {
    let file = load_config(args.common.config.as_deref())?;
    let s = resolve(&args.common, &file)?;
    init_logging(&s.log_level)?;
    if s.logs.any_source() {
        bail!(
            "dump prints one page of the director's state and does not read logs: \
             --log.file, --log.journal and --log.kmsg (or [log] file/journal/kmsg) are for \
             `lvsmon serve` (to follow them) and `lvsmon analyze FILE…` (to read them once)"
        );
    }
    let logs = logs::LogSetup::new(&s.logs, None, s.demo)?;
    let app = App::new(s.app, logs.map(|l| l.pipeline))?;
    let exporter = Exporter::with_options(
        &app,
        &cardinality::export(&args.common.cardinality, &file.collector.ipvs)?,
    );
    let format = if args.openmetrics {
        Format::OpenMetrics
    } else {
        Format::Prometheus
    };
    write_stdout(|out| {
        let mut w = crate::fmtio::IoWriter::new(out);
        exporter.encode(format, &mut w).map_err(|_| w.error())
    })
}

/// `FILE@HOST` names the director whose lines (if they name none) the file holds; a path
/// that exists as given is a path, even with an `@` in it.
fn input_name(arg: &std::path::Path) -> (Option<String>, std::path::PathBuf) {
    let text = arg.to_string_lossy();
    match text.rsplit_once('@') {
        Some((file, host))
            if !arg.exists() && !host.is_empty() && !host.contains('/') && !file.is_empty() =>
        {
            (Some(host.to_string()), file.into())
        }
        _ => (None, arg.to_path_buf()),
    }
}

/// `--boot-time [HOST=]TIME`: RFC 3339, or a civil date and time (`uptime -s`) in `zone`.
fn boot_times(
    args: &[String],
    zone: &jiff::tz::TimeZone,
) -> Result<crate::logs::analyze::BootTimes> {
    let mut boots = crate::logs::analyze::BootTimes::default();
    for arg in args {
        // A host name holds no `=`; neither does a time.
        let (host, time) = match arg.split_once('=') {
            Some((h, t)) => (Some(h), t),
            None => (None, arg.as_str()),
        };
        let t = when::instant(time, zone).with_context(|| {
            format!("--boot-time {arg:?}: want [HOST=]TIME, TIME as 2026-12-03T03:26:06Z or 2026-12-03 03:26:06 (`uptime -s`)")
        })?;
        match host {
            Some(h) => {
                boots.by_host.insert(h.to_string(), t.as_microsecond());
            }
            None => boots.other = Some(t.as_microsecond()),
        }
    }
    Ok(boots)
}

/// Open real-server incidents `analyze` makes room for at the start: one per thousand
/// bytes of its files (a line per hundred bytes, a real server out per ten lines), at
/// most a million (18 MB of index); standard input and unreadable paths count nothing.
/// Only a guess at the peak: more still fit, in a table that then grows as it would.
fn open_room<'a>(paths: impl Iterator<Item = &'a std::path::Path>) -> usize {
    let bytes = progress::stored_bytes(paths);
    usize::try_from(bytes / 1000).map_or(MOST_ROOM, |n| n.min(MOST_ROOM))
}

const MOST_ROOM: usize = 1 << 20;

fn analyze(args: AnalyzeArgs) -> Result<ExitCode> {
    // Millions of small blocks made and freed; crate::alloc says why analyze and not serve.
    crate::alloc::use_mimalloc();
    let file = load_config(args.config.as_deref())?;
    let rules = Arc::new(Rules::load(args.rules.as_deref())?);
    let clock = clock(args.timezone.as_deref(), args.year)?;
    let max_line = args.max_line.unwrap_or(settings::DEFAULT_MAX_LINE);
    let at = |flag: &str, text: &Option<String>| -> Result<Option<i64>> {
        let Some(text) = text else { return Ok(None) };
        let t = when::instant(text, clock.zone())
            .with_context(|| format!("{flag} {text:?}: want {}", when::FORMS))?;
        Ok(Some(t.as_microsecond()))
    };
    // A misspelt kind would report nothing and exit 0: "no critical incident".
    if let Some(k) = args
        .kind
        .iter()
        .find(|k| crate::incidents::kind(k).is_none())
    {
        anyhow::bail!(
            "--kind {k:?} is no incident kind; the kinds: {}",
            crate::incidents::kind_names()
        );
    }
    let filter = crate::logs::analyze::Filter {
        since: at("--since", &args.since)?,
        until: at("--until", &args.until)?,
        hosts: args.host.clone(),
    };
    // Incidents leave memory as they close: a post-mortem of millions of lines finds
    // millions of them.
    let boots = boot_times(&args.boot_time, clock.zone())?;
    let mut a = Analyzer::new(rules, clock, max_line)
        .with_filter(filter.clone())
        .with_boot_times(boots)
        .spilling();
    let html = matches!(args.format, OutputFormat::Html);
    // The report draws as it reads; the analyzer hands it each kept event.
    let timeline = std::rc::Rc::new(std::cell::RefCell::new(crate::report::Timeline::new()));
    if html {
        a = a.with_observer(Box::new(timeline.clone()));
    }
    if html && args.no_incidents {
        anyhow::bail!("--format html draws the incidents: it cannot go with --no-incidents");
    }
    // The engine runs unless told not to: a post-mortem is its incidents, and scripts read
    // the exit status.
    let engine = !args.no_incidents;
    let inputs: Vec<_> = args.files.iter().map(|f| input_name(f)).collect();
    if engine {
        let settings = file.incidents.clone().unwrap_or_default();
        let room = open_room(inputs.iter().map(|(_, p)| p.as_path()));
        a = a.with_engine(Engine::new(settings).with_room_for_real_servers(room));
    }
    let bar = progress::Progress::new(inputs.iter().map(|(_, p)| p.as_path()));
    // Several inputs are merged by time, so that a director's rotations and its kern.log
    // beside its daemon.log reach the detectors in order, whatever order they were given in.
    let mut readers: Vec<(Box<dyn std::io::Read>, String)> = Vec::new();
    for (host, path) in &inputs {
        // Unnamed inputs are one director, `-`: a file and its rotations are one keepalived.
        let name = host
            .as_deref()
            .unwrap_or(crate::logs::analyze::NO_HOST)
            .to_string();
        let r: Box<dyn std::io::Read> = if path.as_path() == std::path::Path::new("-") {
            Box::new(std::io::stdin().lock())
        } else {
            let f =
                std::fs::File::open(path).with_context(|| format!("analyze {}", path.display()))?;
            bar.wrap(f)
        };
        readers.push((r, name));
    }
    let read = a.read_merged(readers).map_err(|e| {
        anyhow::Error::from(e.source).context(format!("analyze {}", inputs[e.input].1.display()))
    })?;
    // Unnamed inputs whose lines name no host: all read as one director.
    let mut unnamed = Vec::new();
    for ((host, path), read) in inputs.iter().zip(&read) {
        if read.undated > 0 {
            eprintln!(
                "lvsmon: {}: {} kernel lines carry only the time since boot and no boot time \
                 is known: their events are undated; give --boot-time {}TIME (`uptime -s` on \
                 that director) or read `dmesg -T`, the journal or /dev/kmsg instead",
                path.display(),
                read.undated,
                host.as_deref().map_or(String::new(), |h| format!("{h}="))
            );
        }
        if host.is_none() && read.hostless > 0 {
            unnamed.push(path.display().to_string());
        }
    }
    bar.finish();
    for h in a.hosts_never_seen() {
        eprintln!(
            "lvsmon: --host {h:?} names no director in the inputs: a director is named as its \
             lines name it (syslog's host field), or by FILE@HOST"
        );
    }
    if unnamed.len() > 1 {
        // Right for a file and its rotations, wrong for several directors' consoles: their
        // starts would read as crashes and their changes as one instance flapping.
        eprintln!(
            "lvsmon: lines that name no host in {} are read as one director, `{}` (a file \
             and its rotations); if they are several directors' logs, name each: FILE@HOST",
            unnamed.join(", "),
            crate::logs::analyze::NO_HOST
        );
    }
    let (s, found) = a.into_found()?;
    // The incidents kept (`--since`, `--until`, `--host`, `--kind`), read from disk at
    // each pass.
    // Every output reads them once; it notes on the way whether one is critical.
    let critical = std::cell::Cell::new(false);
    let each = |f: &mut dyn FnMut(&Incident)| -> std::io::Result<()> {
        let Some(found) = &found else { return Ok(()) };
        found.each(&mut |i| {
            if filter.keeps_incident(i)
                && (args.kind.is_empty() || args.kind.iter().any(|k| k == i.kind))
            {
                let sev = i.severity == crate::logs::rules::Severity::Critical;
                critical.set(critical.get() || sev);
                f(i);
            }
        })
    };
    let page = if html {
        let t = std::mem::take(&mut *timeline.borrow_mut());
        let report = t
            .report_each(&s, &each)
            .context("cannot read the incidents back")?;
        Some(crate::report::render(&report)?)
    } else {
        None
    };
    // Written as it is made: a post-mortem of millions of lines has tens of MB of output.
    let write = |out: &mut dyn Write| match (&page, args.format) {
        (Some(p), _) => out.write_all(p.as_bytes()),
        (None, OutputFormat::Json) => s.write_json_each(out, &each),
        (None, _) => s.write_text_each(out, &each),
    };
    match &args.output {
        Some(path) => {
            let mut f = std::io::BufWriter::new(
                std::fs::File::create(path)
                    .with_context(|| format!("cannot create {}", path.display()))?,
            );
            write(&mut f)
                .and_then(|()| f.flush())
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        None => write_stdout(write)?,
    }
    Ok(if engine && critical.get() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_is_made_by_the_files_size_and_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.log"), dir.path().join("b.log.gz"));
        std::fs::write(&a, vec![b'x'; 25_000]).unwrap();
        std::fs::write(&b, vec![b'x'; 5_999]).unwrap();
        let missing = dir.path().join("gone.log");
        let dash = std::path::Path::new("-");
        let paths = [a.as_path(), b.as_path(), missing.as_path(), dash];
        assert_eq!(open_room(paths.into_iter()), 30);
        assert_eq!(open_room(std::iter::empty()), 0);
        // A sparse file a thousand bytes past the cap's size.
        let sparse = dir.path().join("sparse.log");
        let past = (MOST_ROOM as u64 + 1) * 1000;
        std::fs::File::create(&sparse)
            .unwrap()
            .set_len(past)
            .unwrap();
        assert_eq!(open_room([sparse.as_path()].into_iter()), MOST_ROOM);
    }
}

//! The IPVS reader: reads the kernel's tables when asked (at scrape time, or by a check)
//! and hands out one immutable [`Snapshot`] per read.
//!
//! The service table comes from netlink (64-bit per-service and per-backend counters,
//! thresholds, persistent connections, timeouts, sync daemons; needs CAP_NET_ADMIN) or from
//! `/proc/net/ip_vs` (no privileges). Director-wide totals, per-CPU figures and the
//! connection table only exist in /proc and are read there either way.
//!
//! Each file or request is its own read for health (`ipvs`, `ipvs_stats`, `ipvs_percpu`,
//! `ipvs_conntable`): one that fails is reported down and the others still count. A file
//! with bad lines yields what it could parse and reports itself down. Nothing here knows
//! about Prometheus: `metrics::ipvs` encodes the snapshots.

use crate::health::Health;
use crate::ipvs::conntable::{self, ConnSummary};
use crate::ipvs::model::{CpuStats, GlobalStats, ServiceTable, SyncDaemon, Timeouts};
use crate::ipvs::netlink::{Client, NetlinkError, Recording};
use crate::ipvs::netns::NetnsWorker;
use crate::ipvs::procfs::{self, Parsed, ReadError};
use crate::ipvs::source::ProcSource;
use std::fmt;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Where the service table is read from (`--ipvs.source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceChoice {
    /// Netlink when the family answers and we may use it, else /proc.
    Auto,
    Netlink,
    Procfs,
}

impl std::str::FromStr for SourceChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(SourceChoice::Auto),
            "netlink" => Ok(SourceChoice::Netlink),
            "procfs" => Ok(SourceChoice::Procfs),
            other => Err(format!(
                "unknown IPVS source {other:?} (auto, netlink or procfs)"
            )),
        }
    }
}

/// What the IPVS collector reads beyond the always-on files.
#[derive(Debug, Clone)]
pub struct IpvsOptions {
    /// Summarise `/proc/net/ip_vs_conn` (can be millions of lines: opt-in).
    pub conntable: bool,
    /// Stop reading `ip_vs_conn` after this many lines.
    pub conntable_max_lines: u64,
    pub source: SourceChoice,
    /// Dumps retried when the kernel flags them interrupted, before giving up for a scrape.
    pub netlink_attempts: u32,
    /// Answer netlink requests from this recorded conversation instead of the kernel
    /// (`--demo`); implies netlink.
    pub netlink_replay: Option<Arc<Recording>>,
    /// Write each scrape's conversation with the kernel to this file (the VM suite records
    /// what `--demo` replays).
    pub netlink_record: Option<std::path::PathBuf>,
}

impl Default for IpvsOptions {
    fn default() -> Self {
        IpvsOptions {
            conntable: false,
            conntable_max_lines: 1_000_000,
            source: SourceChoice::Procfs,
            netlink_attempts: 5,
            netlink_replay: None,
            netlink_record: None,
        }
    }
}

/// Everything read in one read of the tables; `None` where the source could not be read at
/// all. Immutable once made: consumers borrow it.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub table: Option<ServiceTable>,
    pub stats: Option<GlobalStats>,
    pub percpu: Option<Vec<CpuStats>>,
    pub conns: Option<ConnSummary>,
    /// Netlink only.
    pub timeouts: Option<Timeouts>,
    pub daemons: Option<Vec<SyncDaemon>>,
    /// `netlink` or `procfs`: where the service table came from.
    pub table_source: &'static str,
    /// Reply attributes skipped so far (unknown or truncated), netlink only.
    pub skipped_attributes: u64,
    /// Each part of the read (`ipvs`, `ipvs_stats`, …) and whether it worked.
    pub reads: Vec<ReadStatus>,
}

/// One part of a read: its name, how long it took and its error, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadStatus {
    pub name: &'static str,
    pub duration: std::time::Duration,
    pub error: Option<String>,
}

impl Snapshot {
    /// Whether the service table was read (the part every consumer needs).
    pub fn table_ok(&self) -> bool {
        self.reads
            .iter()
            .any(|r| r.name == "ipvs" && r.error.is_none())
    }
}

fn io_error(source: &ProcSource, rel: &str, e: io::Error) -> String {
    let hint = if e.kind() == io::ErrorKind::NotFound {
        " (no IPVS in this kernel or network namespace: is the ip_vs module loaded?)"
    } else {
        ""
    };
    let err = ReadError::Io {
        path: source.display_path(rel),
        source: e,
    };
    format!("{err}{hint}")
}

/// Reads the tables; lives in the collector, or in the netns worker thread.
#[derive(Debug)]
pub struct Reader {
    source: ProcSource,
    opts: IpvsOptions,
    health: Arc<Health>,
    /// Some when the table is read over netlink; the client is (re)made on demand.
    netlink: Option<NetlinkState>,
}

#[derive(Default)]
struct NetlinkState {
    client: Option<Client>,
    skipped: u64,
    replay: Option<Arc<Recording>>,
    record: Option<std::path::PathBuf>,
}

/// Starts the client's recorder when a recording file is configured.
fn record_if(c: &mut Client, record: &Option<std::path::PathBuf>) {
    if record.is_some() {
        c.record();
    }
}

impl NetlinkState {
    fn new(opts: &IpvsOptions, client: Option<Client>) -> NetlinkState {
        let mut st = NetlinkState {
            client,
            skipped: 0,
            replay: opts.netlink_replay.clone(),
            record: opts.netlink_record.clone(),
        };
        if let Some(c) = &mut st.client {
            record_if(c, &st.record);
        }
        st
    }

    /// The client, made on demand: from the recording when replaying, else a new socket.
    fn client(&mut self) -> Result<&mut Client, NetlinkError> {
        let NetlinkState {
            client,
            replay,
            record,
            ..
        } = self;
        match client {
            Some(c) => Ok(c),
            slot => {
                let mut c = match replay {
                    Some(r) => Client::replay(r.clone()),
                    None => Client::connect()?,
                };
                record_if(&mut c, record);
                Ok(slot.insert(c))
            }
        }
    }

    /// Writes the conversation of the read that just worked (write, then rename: a reader
    /// never sees half a file).
    fn save_recording(&mut self) {
        let (Some(path), Some(rec)) = (
            &self.record,
            self.client.as_mut().and_then(Client::take_recording),
        ) else {
            return;
        };
        let tmp = path.with_extension("tmp");
        if let Err(e) = std::fs::write(&tmp, rec.render()).and_then(|_| std::fs::rename(&tmp, path))
        {
            tracing::warn!(path = %path.display(), "cannot write the netlink recording: {e}");
        }
    }
}

impl fmt::Debug for NetlinkState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NetlinkState")
            .field("connected", &self.client.is_some())
            .finish()
    }
}

impl Reader {
    /// Settles the source: for `Auto`, netlink if a first request works, else /proc with
    /// one log line saying why.
    pub fn new(source: ProcSource, opts: IpvsOptions, health: Arc<Health>) -> Reader {
        let netlink = match opts.source {
            _ if opts.netlink_replay.is_some() => Some(NetlinkState::new(&opts, None)),
            SourceChoice::Procfs => None,
            SourceChoice::Netlink => Some(NetlinkState::new(&opts, None)),
            SourceChoice::Auto => match Client::connect().and_then(|mut c| c.info().map(|_| c)) {
                Ok(c) => {
                    tracing::info!("reading IPVS services over netlink");
                    Some(NetlinkState::new(&opts, Some(c)))
                }
                Err(e) => {
                    tracing::info!("IPVS over netlink unavailable ({e}); reading /proc instead");
                    None
                }
            },
        };
        Reader {
            source,
            opts,
            health,
            netlink,
        }
    }

    /// Times `read`, records its health (shared, and in the snapshot), and returns what it
    /// read.
    fn timed<T>(
        &self,
        reads: &mut Vec<ReadStatus>,
        name: &'static str,
        read: impl FnOnce() -> (Option<T>, Result<(), String>),
    ) -> Option<T> {
        let start = Instant::now();
        let (value, result) = read();
        let duration = start.elapsed();
        reads.push(ReadStatus {
            name,
            duration,
            error: result.as_ref().err().cloned(),
        });
        self.health.record(name, duration, result);
        value
    }

    fn read_parsed<T>(
        &self,
        rel: &str,
        parse: fn(&[u8]) -> Parsed<T>,
    ) -> (Option<T>, Result<(), String>) {
        match self.source.read(rel) {
            Err(e) => (None, Err(io_error(&self.source, rel, e))),
            Ok(bytes) => {
                let parsed = parse(&bytes);
                let err = ReadError::from_parsed(self.source.display_path(rel), &parsed);
                (
                    Some(parsed.value),
                    err.map_or(Ok(()), |e| Err(e.to_string())),
                )
            }
        }
    }

    fn read_conns(&self) -> (Option<ConnSummary>, Result<(), String>) {
        const REL: &str = "net/ip_vs_conn";
        let summary = self
            .source
            .open(REL)
            .and_then(|mut r| conntable::summarize(&mut r, self.opts.conntable_max_lines));
        match summary {
            Err(e) => (None, Err(io_error(&self.source, REL, e))),
            Ok(s) => {
                let err = s.first_error.map(|(line, reason)| {
                    format!(
                        "{}:{line}: {reason} ({} bad line(s) skipped)",
                        self.source.display_path(REL).display(),
                        s.bad_lines
                    )
                });
                (Some(s), err.map_or(Ok(()), Err))
            }
        }
    }

    /// Services, timeouts and daemons over netlink; the client is dropped on failure so
    /// the next scrape reconnects.
    fn read_netlink(
        state: &mut NetlinkState,
        attempts: u32,
    ) -> Result<(ServiceTable, Timeouts, Vec<SyncDaemon>), NetlinkError> {
        let client = state.client()?;
        let read = (|| {
            let (_, size) = client.info()?;
            let services = client.services(attempts)?;
            let timeouts = client.timeouts()?;
            let daemons = client.daemons()?;
            let table = ServiceTable {
                conn_table_size: Some(u64::from(size)),
                services: services.into_iter().map(|s| s.service).collect(),
            };
            Ok((table, timeouts, daemons))
        })();
        state.skipped = client.skipped.0;
        if read.is_err() {
            state.client = None;
        } else {
            state.save_recording();
        }
        read
    }

    /// Reads every source this collector is configured for.
    pub fn collect(&mut self) -> Snapshot {
        let mut snap = Snapshot::default();
        if let Some(mut state) = self.netlink.take() {
            let attempts = self.opts.netlink_attempts;
            let read = self.timed(&mut snap.reads, "ipvs", || {
                match Self::read_netlink(&mut state, attempts) {
                    Ok(v) => (Some(v), Ok(())),
                    Err(e) => (None, Err(e.to_string())),
                }
            });
            if let Some((table, timeouts, daemons)) = read {
                snap.table = Some(table);
                snap.timeouts = Some(timeouts);
                snap.daemons = Some(daemons);
            }
            snap.skipped_attributes = state.skipped;
            snap.table_source = "netlink";
            self.netlink = Some(state);
        } else {
            snap.table = self.timed(&mut snap.reads, "ipvs", || {
                self.read_parsed("net/ip_vs", procfs::parse_services)
            });
            snap.table_source = "procfs";
        }
        snap.stats = self
            .timed(&mut snap.reads, "ipvs_stats", || {
                self.read_parsed("net/ip_vs_stats", procfs::parse_global_stats)
            })
            .flatten();
        snap.percpu = self.timed(&mut snap.reads, "ipvs_percpu", || {
            self.read_parsed("net/ip_vs_stats_percpu", procfs::parse_percpu_stats)
        });
        if self.opts.conntable {
            snap.conns = self.timed(&mut snap.reads, "ipvs_conntable", || self.read_conns());
        }
        snap
    }
}

#[derive(Debug)]
enum Runner {
    Here(Mutex<Reader>),
    /// In another network namespace: the reader lives in the worker thread.
    Netns(NetnsWorker, Arc<Mutex<Reader>>),
}

/// The IPVS reader as the application holds it: here, or inside another network
/// namespace. Shared (`Arc`) by every consumer; reads are serialised.
#[derive(Debug)]
pub struct IpvsReader {
    runner: Runner,
    health: Arc<Health>,
    /// The last read made through [`IpvsReader::recent`], and when.
    recent: Mutex<Option<(std::time::Instant, Arc<Snapshot>)>>,
}

impl IpvsReader {
    pub fn new(source: ProcSource, opts: IpvsOptions, health: Arc<Health>) -> Self {
        let reader = Reader::new(source, opts, health.clone());
        IpvsReader {
            runner: Runner::Here(Mutex::new(reader)),
            health,
            recent: Mutex::new(None),
        }
    }

    /// A reader whose reads (netlink and /proc/thread-self/net) happen inside the
    /// network namespace at `path`.
    pub fn in_netns(
        worker: NetnsWorker,
        opts: IpvsOptions,
        health: Arc<Health>,
    ) -> Result<Self, crate::ipvs::netns::NetnsError> {
        let h = health.clone();
        let reader = worker.run(move || {
            Arc::new(Mutex::new(Reader::new(
                ProcSource::Dir("/proc/thread-self".into()),
                opts,
                h,
            )))
        })?;
        Ok(IpvsReader {
            runner: Runner::Netns(worker, reader),
            health,
            recent: Mutex::new(None),
        })
    }

    /// A read at most `max_age` old, shared: the one made by the last caller of `recent`
    /// if it is young enough, else a new one (which the next callers share). The scrape
    /// and the incident engine's looks read for themselves ([`IpvsReader::read`]); the
    /// checks' API shares these.
    pub fn recent(&self, max_age: std::time::Duration) -> Arc<Snapshot> {
        let mut last = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, snap)) = last.as_ref() {
            if at.elapsed() <= max_age {
                return snap.clone();
            }
        }
        let snap = Arc::new(self.read());
        *last = Some((std::time::Instant::now(), snap.clone()));
        snap
    }

    /// Drops the shared read of [`IpvsReader::recent`] once it is older than `max_age`:
    /// on a large director it is tens of MB that nobody will share any more.
    pub fn forget_older_than(&self, max_age: std::time::Duration) {
        let mut last = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        if last.as_ref().is_some_and(|(at, _)| at.elapsed() > max_age) {
            *last = None;
        }
    }

    /// Reads the tables now.
    pub fn read(&self) -> Snapshot {
        match &self.runner {
            Runner::Here(r) => r.lock().unwrap_or_else(|p| p.into_inner()).collect(),
            Runner::Netns(worker, reader) => {
                let reader = reader.clone();
                let run =
                    worker.run(move || reader.lock().unwrap_or_else(|p| p.into_inner()).collect());
                run.unwrap_or_else(|e| {
                    self.health
                        .record("ipvs", Default::default(), Err(e.to_string()));
                    Snapshot::default()
                })
            }
        }
    }
}

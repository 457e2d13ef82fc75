//! The web config in force: loaded at start (a bad file stops `serve`), then re-read when
//! it or a file it names changes (checked at most once a second, on new connections and
//! requests). A bad new file is logged once and counted, and the last good one stays.

use super::auth::Users;
use super::webconfig::WebConfig;
use crate::metrics::http::HttpStats;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tokio_rustls::TlsAcceptor;

/// What a loaded web config does.
pub struct Active {
    /// `None`: plain HTTP.
    pub tls: Option<TlsAcceptor>,
    pub users: Users,
    pub headers: Vec<(hyper::header::HeaderName, hyper::header::HeaderValue)>,
}

impl std::fmt::Debug for Active {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Active")
            .field("tls", &self.tls.is_some())
            .field("users", &self.users)
            .field("headers", &self.headers)
            .finish()
    }
}

impl Active {
    fn build(c: WebConfig) -> Result<Active, super::webconfig::WebConfigError> {
        let tls = match &c.tls {
            Some(t) => Some(TlsAcceptor::from(super::tls::server_config(t)?)),
            None => None,
        };
        let mut headers = Vec::new();
        for (k, v) in &c.headers {
            // Checked by the parser: names from a fixed list, values that are valid.
            if let (Ok(k), Ok(v)) = (
                hyper::header::HeaderName::from_bytes(k.as_bytes()),
                hyper::header::HeaderValue::from_str(v),
            ) {
                headers.push((k, v));
            }
        }
        Ok(Active {
            tls,
            users: Users::new(c.users),
            headers,
        })
    }

    /// No TLS, no users, no headers: what a server without `--web.config.file` does.
    pub fn open() -> Active {
        Active {
            tls: None,
            users: Users::new(Default::default()),
            headers: Vec::new(),
        }
    }
}

/// Size, modification time and inode of each file the config depends on.
type Stamp = Vec<Option<(u64, SystemTime, u64)>>;

fn stamp(files: &[PathBuf]) -> Stamp {
    use std::os::unix::fs::MetadataExt;
    files
        .iter()
        .map(|f| {
            let m = std::fs::metadata(f).ok()?;
            Some((m.len(), m.modified().ok()?, m.ino()))
        })
        .collect()
}

fn files_of(path: &Path, c: &WebConfig) -> Vec<PathBuf> {
    let mut v = vec![path.to_path_buf()];
    if let Some(t) = &c.tls {
        v.push(t.cert_file.clone());
        v.push(t.key_file.clone());
        v.extend(t.client_ca_file.clone());
    }
    v
}

#[derive(Debug)]
struct State {
    active: Arc<Active>,
    files: Vec<PathBuf>,
    stamp: Stamp,
    checked: Instant,
    /// The last failure logged, so a bad file is logged once, not at every connection.
    failed: Option<String>,
}

/// The web config in force and where it comes from.
#[derive(Debug)]
pub struct Web {
    path: Option<PathBuf>,
    state: Mutex<State>,
    stats: Arc<HttpStats>,
}

/// How often the files are looked at, at most.
const RECHECK: Duration = Duration::from_secs(1);

impl Web {
    /// No config file: plain HTTP, open to all.
    pub fn open(stats: Arc<HttpStats>) -> Web {
        Web {
            path: None,
            state: Mutex::new(State {
                active: Arc::new(Active::open()),
                files: vec![],
                stamp: vec![],
                checked: Instant::now(),
                failed: None,
            }),
            stats,
        }
    }

    /// Loads `path`; an error here is the caller's to report (serve does not start).
    pub fn load(
        path: &Path,
        stats: Arc<HttpStats>,
    ) -> Result<Web, super::webconfig::WebConfigError> {
        let c = WebConfig::load(path)?;
        let files = files_of(path, &c);
        let stamp = stamp(&files);
        let active = Arc::new(Active::build(c)?);
        Ok(Web {
            path: Some(path.to_path_buf()),
            state: Mutex::new(State {
                active,
                files,
                stamp,
                checked: Instant::now(),
                failed: None,
            }),
            stats,
        })
    }

    /// Whether TLS is on (for the log line at start).
    pub fn tls(&self) -> bool {
        self.current().tls.is_some()
    }

    /// The config in force, re-read first if a file changed since the last look.
    pub fn current(&self) -> Arc<Active> {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let Some(path) = &self.path else {
            return st.active.clone();
        };
        if st.checked.elapsed() < RECHECK {
            return st.active.clone();
        }
        st.checked = Instant::now();
        let now = stamp(&st.files);
        if now == st.stamp {
            return st.active.clone();
        }
        // Whatever happens, this version of the files is dealt with once.
        st.stamp = now;
        let loaded = WebConfig::load(path).and_then(|c| {
            let files = files_of(path, &c);
            Active::build(c).map(|a| (a, files))
        });
        match loaded {
            Ok((a, files)) => {
                tracing::info!(file = %path.display(), "web config reloaded");
                st.stamp = stamp(&files);
                st.files = files;
                st.active = Arc::new(a);
                st.failed = None;
            }
            Err(e) => {
                self.stats.config_error();
                let msg = e.to_string();
                if st.failed.as_deref() != Some(msg.as_str()) {
                    tracing::warn!(file = %path.display(), "web config not reloaded, the previous one stays: {msg}");
                    st.failed = Some(msg);
                }
            }
        }
        st.active.clone()
    }
}

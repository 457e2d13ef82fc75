//! Running work inside another network namespace without moving the process: one thread
//! joins the namespace (setns) and runs every job sent to it. Sockets it opens and the
//! `/proc/thread-self/net` files it reads belong to that namespace.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;

type Job = Box<dyn FnOnce() + Send>;

#[derive(Debug, thiserror::Error)]
pub enum NetnsError {
    #[error("cannot open network namespace {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot enter network namespace {path} (needs CAP_SYS_ADMIN): {source}")]
    Enter {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the network namespace worker thread has stopped")]
    Gone,
}

/// A thread living in a network namespace.
#[derive(Debug)]
pub struct NetnsWorker {
    jobs: mpsc::Sender<Job>,
    pub path: PathBuf,
}

impl NetnsWorker {
    /// Starts the thread and waits until it is inside the namespace at `path`
    /// (`/run/netns/NAME`, `/proc/PID/ns/net`).
    pub fn start(path: &Path) -> Result<NetnsWorker, NetnsError> {
        let file = File::open(path).map_err(|source| NetnsError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        let (jobs, rx) = mpsc::channel::<Job>();
        let (ready_tx, ready_rx) = mpsc::channel();
        thread::Builder::new()
            .name("lvsmon-netns".into())
            .spawn(move || {
                // SAFETY: setns on a file descriptor we own; it affects this thread only.
                let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
                let entered = if rc == 0 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                };
                let ok = entered.is_ok();
                let _ = ready_tx.send(entered);
                if ok {
                    while let Ok(job) = rx.recv() {
                        job();
                    }
                }
            })
            .map_err(|source| NetnsError::Enter {
                path: path.to_path_buf(),
                source,
            })?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(NetnsWorker {
                jobs,
                path: path.to_path_buf(),
            }),
            Ok(Err(source)) => Err(NetnsError::Enter {
                path: path.to_path_buf(),
                source,
            }),
            Err(_) => Err(NetnsError::Gone),
        }
    }

    /// Runs `f` in the namespace and returns its result.
    pub fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, NetnsError> {
        let (tx, rx) = mpsc::sync_channel(1);
        self.jobs
            .send(Box::new(move || {
                let _ = tx.send(f());
            }))
            .map_err(|_| NetnsError::Gone)?;
        rx.recv().map_err(|_| NetnsError::Gone)
    }
}

/// The inode of the network namespace the calling thread is in (for tests and logs).
pub fn current_netns_inode() -> std::io::Result<u64> {
    use std::os::unix::fs::MetadataExt;
    Ok(std::fs::metadata("/proc/thread-self/ns/net")?.ino())
}

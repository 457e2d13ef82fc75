//! `analyze`'s progress bar: on stderr, only when stderr is a terminal and the input is
//! large enough to wait for (a script's output and a small file never see one). It counts
//! the bytes read from the files as stored (a .gz by its compressed size).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Read};
use std::path::Path;

/// Inputs smaller than this in all finish before a bar would say anything useful.
const WORTH_A_BAR: u64 = 64 << 20;

/// The inputs' bytes as stored (`-` and unreadable paths count nothing).
pub fn stored_bytes<'a>(paths: impl Iterator<Item = &'a Path>) -> u64 {
    paths
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}

/// The bar over every input, or nothing.
pub struct Progress(Option<ProgressBar>);

impl Progress {
    /// A bar for `paths` (`-` and unreadable ones count as nothing).
    pub fn new<'a>(paths: impl Iterator<Item = &'a Path>) -> Progress {
        if !std::io::stderr().is_terminal() {
            return Progress(None);
        }
        let total = stored_bytes(paths);
        if total < WORTH_A_BAR {
            return Progress(None);
        }
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template(
            "{spinner} {bytes}/{total_bytes} {wide_bar} {bytes_per_sec}, {eta} left",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        Progress(Some(bar))
    }

    /// `r`, counted by the bar.
    pub fn wrap<R: Read + 'static>(&self, r: R) -> Box<dyn Read> {
        match &self.0 {
            Some(bar) => Box::new(bar.wrap_read(r)),
            None => Box::new(r),
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

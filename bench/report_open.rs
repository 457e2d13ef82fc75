//! How long the HTML report takes to open in headless chromium: from the navigation to the
//! page's script having drawn the timeline (`data-ready`), each run in a fresh tab of one
//! browser, the file read from disk. Prints one line per run and the median.
//!
//!   cargo run --release --example report_open -- REPORT.html [RUNS]
//!
//! Used by bench/report.sh (docs/benchmarks.md, "HTML report").

#[path = "../tests/browser_support/mod.rs"]
mod browser_support;

use std::time::{Duration, Instant};

fn main() {
    let mut args = std::env::args().skip(1);
    let file = args.next().expect("usage: report_open REPORT.html [RUNS]");
    let runs: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(5);
    let path = std::fs::canonicalize(&file).expect("the report file");
    let url = format!("file://{}", path.display());
    let browser = browser_support::Browser::start(1280, 1000);
    let mut page = browser.page();
    let mut times = Vec::new();
    for run in 0..runs {
        page.open("about:blank");
        let t0 = Instant::now();
        page.open(&url);
        // Polled every few milliseconds: the script sets it as its last step.
        while page.eval("document.documentElement.dataset.ready === '1'") != serde_json::json!(true)
        {
            assert!(
                t0.elapsed() < Duration::from_secs(120),
                "not drawn in 120 s"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        let took = t0.elapsed();
        let rects = page.eval("document.querySelectorAll('#timeline rect').length");
        println!(
            "run {run}: {:.3} s, {rects} rects drawn",
            took.as_secs_f64()
        );
        times.push(took);
        let errors = page.errors();
        assert!(errors.is_empty(), "console errors: {errors:#?}");
    }
    times.sort();
    println!(
        "median open time: {:.3} s over {runs} runs ({} bytes)",
        times[runs / 2].as_secs_f64(),
        std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0)
    );
}

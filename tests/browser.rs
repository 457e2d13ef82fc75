//! The report and the live page in a real browser (Debian's chromium, headless, over the
//! DevTools protocol: tests/browser_support): what a person sees after the page's script
//! ran, not the HTML lvsmon wrote.
//!
//! - `report_of_real_directors_in_a_browser`: `analyze --format html` over the real
//!   keepalived captures of three directors (tests/fixtures/logs/keepalived-2.2.7-fault-lb*,
//!   a split brain between lb-a and lb-b) and a line carrying `<script>` markup: the lanes,
//!   the split brain drawn where both MASTER lanes are, one table row per incident (as
//!   many as `analyze --format json` finds), a row's link zooms to its span and
//!   shows evidence, summary and hint; the hostile line shown as text and never run; zoom
//!   and back; the print styles hide the controls and chromium prints it; no console
//!   error; no request but the file itself.
//! - `live_status_page_of_serve_demo_in_a_browser`: `/status` of `serve --demo`: services
//!   with the checker's verdicts, the VRRP instance, open incidents, events; it refreshes
//!   itself; every request goes to lvsmon; no console error.
//! - `a_flapping_instance_is_folded_and_its_pieces_still_answer_a_click`: 6,000 state
//!   changes fold into one path per state, and a click on one still shows its piece.
//!
//! Screenshots go to TARGET/screenshots (CI keeps them). Ignored by default (chromium,
//! ~10 s): `scripts/test.sh` runs them in its `browser` step.

mod browser_support;
mod common;

use browser_support::{Browser, Page};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn ready() -> bool {
    browser_support::installed() || common::skip("chromium not installed")
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/logs")
        .join(name)
}

/// A console line that keepalived's rules take as a configuration error (so it becomes
/// an incident's evidence) and that carries markup: a script, and an image whose source
/// would be a request if it were ever parsed as HTML.
const HOSTILE: &str = "Wed Dec  2 15:02:50 2026: Unknown keyword \
    '</script><script>window.pwned=1</script><img src=/x onerror=window.pwned=2>'";

/// The analyze arguments: the three real consoles, each named, and the hostile line.
fn inputs(dir: &Path) -> Vec<String> {
    let hostile = dir.join("hostile.log");
    std::fs::write(&hostile, format!("{HOSTILE}\n")).unwrap();
    let mut args: Vec<String> = ["A", "B", "C"]
        .iter()
        .map(|h| {
            let f = fixture(&format!("keepalived-2.2.7-fault-lb{h}.log"));
            format!("{}@lb-{}", f.display(), h.to_lowercase())
        })
        .collect();
    args.push(format!("{}@lb-x", hostile.display()));
    args
}

fn lvsmon(args: &[String]) -> std::process::Output {
    let out = Command::new(env!("CARGO_BIN_EXE_lvsmon"))
        .args(args)
        .env("TZ", "UTC")
        .output()
        .unwrap();
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn no_errors(page: &Page) {
    let errors = page.errors();
    assert!(errors.is_empty(), "console errors: {errors:#?}");
}

#[test]
#[ignore = "needs chromium, ~10 s: scripts/test.sh step browser"]
fn report_of_real_directors_in_a_browser() {
    if !ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.html");
    let mut args: Vec<String> = ["analyze", "--format", "html", "-o"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.push(report.display().to_string());
    args.extend(inputs(dir.path()));
    lvsmon(&args);
    // What the engine finds over the same input, for the table to match.
    let mut json_args: Vec<String> = ["analyze", "--format", "json"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    json_args.extend(inputs(dir.path()));
    let summary: Value = serde_json::from_slice(&lvsmon(&json_args).stdout).unwrap();
    let incidents = summary["incidents"].as_array().unwrap();
    assert!(incidents.iter().any(|i| i["kind"] == "split_brain"));

    let browser = Browser::start(1280, 1000);
    let mut page = browser.page();
    let url = format!("file://{}", report.display());
    page.open(&url);
    page.wait_for("document.documentElement.dataset.ready === '1'", 20);

    // A lane per (director, instance); lb-x (the hostile line's) has none.
    let lanes = page.eval(
        "[...document.querySelectorAll('g.lane.vrrp')].map(g => g.dataset.host + '/' + g.dataset.iname)",
    );
    assert_eq!(
        lanes,
        serde_json::json!(["lb-a/VI_1", "lb-b/VI_1", "lb-c/VI_1"])
    );
    let count = |page: &mut Page, sel: &str| -> u64 {
        page.eval(&format!("document.querySelectorAll('{sel}').length"))
            .as_u64()
            .unwrap()
    };
    assert_eq!(count(&mut page, ".seg.s-FAULT[data-host=\"lb-a\"]"), 2);
    assert!(count(&mut page, ".seg.s-MASTER[data-host=\"lb-b\"]") >= 1);
    assert_eq!(count(&mut page, ".seg.s-MASTER[data-host=\"lb-c\"]"), 0);

    // The split brain: one band on each of the two MASTER lanes, where both are MASTER.
    let split = page.eval(
        r#"(() => {
            const s = [...document.querySelectorAll('g.split')];
            if (s.length !== 1) return {n: s.length};
            const within = band => [...document.querySelectorAll(
                `.seg.s-MASTER[data-host="${band.dataset.host}"]`)].some(r => {
                    const m = r.getBBox(), b = band.getBBox();
                    return m.x <= b.x + 0.5 && m.x + m.width >= b.x + b.width - 0.5
                        && m.y >= b.y - 0.5 && m.y + m.height <= b.y + b.height + 0.5;
                });
            const bands = [...s[0].querySelectorAll('rect.split-lane')];
            return {n: 1, hosts: s[0].dataset.hosts,
                    bands: bands.map(b => [b.dataset.host, within(b)]),
                    width: bands[0].getBBox().width};
        })()"#,
    );
    assert_eq!(split["n"], 1, "{split}");
    assert_eq!(split["hosts"], "lb-a,lb-b");
    assert_eq!(
        split["bands"],
        serde_json::json!([["lb-a", true], ["lb-b", true]]),
        "each band within its lane's MASTER piece: {split}"
    );
    assert!(split["width"].as_f64().unwrap() > 20.0, "visible: {split}");

    // One row per incident the engine found, each with a span on the axis.
    let rows = count(&mut page, "tr.incident");
    assert_eq!(rows, incidents.len() as u64);
    assert_eq!(count(&mut page, "rect.inc"), rows);

    // Hovering a span shows its details (nothing is pinned yet).
    let hover = page.eval(
        r#"(() => {
            const r = document.querySelector('rect.inc.k-split_brain');
            r.dispatchEvent(new MouseEvent('mouseenter'));
            const d = document.getElementById('detail');
            return [d.hidden, d.querySelector('h3').textContent, d.querySelectorAll('pre').length];
        })()"#,
    );
    let split_summary = incidents
        .iter()
        .find(|i| i["kind"] == "split_brain")
        .map(|i| i["summary"].clone())
        .unwrap();
    assert_eq!(hover[0], false, "{hover}");
    assert_eq!(hover[1], split_summary, "{hover}");
    assert!(
        hover[2].as_u64().unwrap() >= 1,
        "evidence on hover: {hover}"
    );

    // The split brain's row: its link zooms to the span and shows the evidence.
    let before = page.eval("lvsmonReport.view()");
    let detail = page.eval(
        r#"(() => {
            const row = [...document.querySelectorAll('tr.incident')]
                .find(r => r.cells[3].textContent === 'split_brain');
            row.querySelector('a.goto').click();
            const d = document.getElementById('detail');
            return {hidden: d.hidden, text: d.innerText, evidence: d.querySelectorAll('pre').length,
                    selected: document.querySelector('rect.inc.selected').dataset.kind,
                    view: lvsmonReport.view()};
        })()"#,
    );
    assert_eq!(detail["hidden"], false);
    assert_eq!(detail["selected"], "split_brain");
    let split_incident = incidents
        .iter()
        .find(|i| i["kind"] == "split_brain")
        .unwrap();
    let text = detail["text"].as_str().unwrap();
    assert!(
        text.contains(split_incident["summary"].as_str().unwrap()),
        "{text}"
    );
    assert!(
        text.contains("Check: two directors hold the same addresses"),
        "{text}"
    );
    assert!(detail["evidence"].as_u64().unwrap() >= 1, "{detail}");
    let span = |v: &Value| v[1].as_f64().unwrap() - v[0].as_f64().unwrap();
    assert!(span(&detail["view"]) < span(&before), "zoomed: {detail}");
    page.screenshot(&browser_support::screenshots_dir().join("report-split-brain.png"));

    // The hostile line: shown as text in the table and in its details, never run.
    let hostile = page.eval(
        r#"(() => {
            const row = [...document.querySelectorAll('tr.incident')]
                .find(r => r.cells[4].textContent === 'lb-x');
            row.querySelector('a.goto').click();
            return {pwned: window.pwned === undefined ? null : window.pwned,
                    kind: row.cells[3].textContent,
                    detail: document.getElementById('detail').textContent,
                    imgs: document.querySelectorAll('img').length,
                    scripts: document.scripts.length};
        })()"#,
    );
    assert_eq!(
        hostile["pwned"],
        Value::Null,
        "the line's script ran: {hostile}"
    );
    assert_eq!(hostile["imgs"], 0, "{hostile}");
    assert_eq!(hostile["scripts"], 2, "{hostile}");
    assert_eq!(hostile["kind"], "keepalived_config_error");
    let shown = hostile["detail"].as_str().unwrap();
    assert!(
        shown.contains(
            "'</script><script>window.pwned=1</script><img src=/x onerror=window.pwned=2>'"
        ),
        "the line as text in its evidence: {shown}"
    );

    // Zoom, and back to the whole input.
    page.eval("document.getElementById('reset').click()");
    let whole = page.eval("lvsmonReport.view()");
    let start = whole[0].as_f64().unwrap();
    page.eval(&format!("lvsmonReport.zoom({start}, {})", start + 4000.0));
    let drawn = page.eval("+document.querySelector('#timeline svg').dataset.end");
    assert_eq!(drawn.as_f64().unwrap(), start + 4000.0);
    page.eval("document.getElementById('reset').click()");
    assert_eq!(page.eval("lvsmonReport.view()"), whole);
    page.screenshot(&browser_support::screenshots_dir().join("report.png"));

    // Printable: the print styles hide the controls, and chromium prints it.
    page.call(
        "Emulation.setEmulatedMedia",
        serde_json::json!({ "media": "print" }),
    );
    let controls = page.eval("getComputedStyle(document.querySelector('.controls')).display");
    assert_eq!(controls, "none");
    page.call(
        "Emulation.setEmulatedMedia",
        serde_json::json!({ "media": "" }),
    );
    let pdf = page.call("Page.printToPDF", serde_json::json!({}));
    assert!(
        pdf["data"].as_str().unwrap().len() > 10_000,
        "a printed page"
    );

    page.pump(300);
    no_errors(&page);
    let requests = page.requests();
    assert!(
        requests.iter().all(|r| r == &url),
        "the report asked for more than itself: {requests:#?}"
    );
}

#[test]
#[ignore = "needs chromium, ~15 s: scripts/test.sh step browser"]
fn live_status_page_of_serve_demo_in_a_browser() {
    if !ready() {
        return;
    }
    let (_server, addr) = common::serve(&["--demo", "--web.listen-address", "127.0.0.1:0"]);
    let base = format!("http://{addr}");
    let browser = Browser::start(1280, 1100);
    let mut page = browser.page();
    page.open(&format!("{base}/"));
    assert_eq!(
        page.eval("!!document.querySelector('a[href=\"/status\"]')"),
        true,
        "the landing page links the status page"
    );
    page.eval("document.querySelector('a[href=\"/status\"]').click()");
    page.wait_for("location.pathname === '/status'", 10);
    page.wait_for(
        "+(document.documentElement.dataset.refreshed || 0) >= 1",
        20,
    );

    // The demo director: TCP 10.0.0.100:80 with 10.1.0.12:80 down by keepalived's checker.
    let backends = page.eval(
        "[...document.querySelectorAll('#services-table tr.backend')].map(r => \
         [r.dataset.vs, r.dataset.rs, r.cells[5].textContent])",
    );
    let rows = backends.as_array().unwrap();
    assert!(
        rows.contains(&serde_json::json!([
            "TCP 10.0.0.100:80",
            "10.1.0.12:80",
            "down"
        ])),
        "{backends}"
    );
    assert!(
        rows.contains(&serde_json::json!([
            "TCP 10.0.0.100:80",
            "10.1.0.11:80",
            "up"
        ])),
        "{backends}"
    );
    let vrrp = page.eval(
        "[...document.querySelectorAll('#vrrp-table tr.instance')].map(r => \
         [r.dataset.iname, r.cells[3].textContent, r.cells[5].textContent])",
    );
    assert_eq!(vrrp, serde_json::json!([["VI_LB", "MASTER", "120"]]));
    let kinds = page.eval(
        "[...document.querySelectorAll('#incidents-table tr.incident')].map(r => r.dataset.kind)",
    );
    assert!(
        kinds
            .as_array()
            .unwrap()
            .contains(&Value::from("virtual_service_down")),
        "{kinds}"
    );
    let events = page.eval("document.querySelectorAll('#events-table tr.event').length");
    assert!(events.as_u64().unwrap() > 5, "{events}");
    let verdict = page.eval(
        "[document.getElementById('verdict').className, document.getElementById('verdict').innerText]",
    );
    assert_eq!(verdict[0], "verdict bad");
    assert!(verdict[1]
        .as_str()
        .unwrap()
        .contains("10.1.0.12:80 of TCP 10.0.0.100:80 is down"));
    page.screenshot(&browser_support::screenshots_dir().join("status.png"));

    // It refreshes itself.
    page.wait_for("+document.documentElement.dataset.refreshed >= 2", 15);
    page.pump(200);
    no_errors(&page);
    let requests = page.requests();
    assert!(requests.iter().any(|r| r.ends_with("/api/v1/services")));
    assert!(
        requests.iter().all(|r| r.starts_with(&format!("{base}/"))),
        "a request went elsewhere than lvsmon: {requests:#?}"
    );
}

/// A lane of thousands of changes is folded and drawn as one path per state; a click on it
/// still finds the piece under the pointer and says how many changes it hides.
#[test]
#[ignore = "needs chromium, ~5 s: scripts/test.sh step browser"]
fn a_flapping_instance_is_folded_and_its_pieces_still_answer_a_click() {
    if !ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("flap.log");
    let mut text = String::new();
    for k in 0..6_000u32 {
        let state = if k % 2 == 0 { "MASTER" } else { "BACKUP" };
        let (h, m, s) = (10 + k / 1800, k / 30 % 60, k * 2 % 60);
        text.push_str(&format!(
            "Dec  2 {h:02}:{m:02}:{s:02} lb1 Keepalived_vrrp[7]: (VI_1) Entering {state} STATE\n"
        ));
    }
    std::fs::write(&log, text).unwrap();
    let report = dir.path().join("flap.html");
    lvsmon(&[
        "analyze".into(),
        "--year".into(),
        "2026".into(),
        "--format".into(),
        "html".into(),
        "-o".into(),
        report.display().to_string(),
        log.display().to_string(),
    ]);
    let browser = Browser::start(1280, 800);
    let mut page = browser.page();
    page.open(&format!("file://{}", report.display()));
    page.wait_for("document.documentElement.dataset.ready === '1'", 20);
    let got = page.eval(
        r#"(() => {
            const lane = document.querySelector('g.lane.vrrp[data-host="lb1"]');
            const paths = [...lane.querySelectorAll('path.seg')];
            const p = paths.find(p => p.classList.contains('s-MASTER'));
            const svg = p.ownerSVGElement, sb = svg.getBoundingClientRect(), b = p.getBBox();
            p.dispatchEvent(new MouseEvent('click', {bubbles: true,
                clientX: sb.left + (b.x + 0.2) * sb.width / svg.width.baseVal.value,
                clientY: sb.top + b.y + 2}));
            return {paths: paths.length, rects: lane.querySelectorAll('rect.seg').length,
                    detail: document.getElementById('detail').innerText};
        })()"#,
    );
    assert!(got["paths"].as_u64().unwrap() >= 2, "{got}");
    assert_eq!(got["rects"], 0, "{got}");
    let detail = got["detail"].as_str().unwrap();
    assert!(detail.contains("lb1 · VI_1: MASTER"), "{got}");
    assert!(detail.contains("Folded: "), "{got}");
    page.screenshot(&browser_support::screenshots_dir().join("report-folded.png"));
    no_errors(&page);
}

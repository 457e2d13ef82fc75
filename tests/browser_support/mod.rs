//! A real browser for the page tests and the report benchmark: Debian's chromium, headless,
//! driven over the DevTools protocol (a websocket on 127.0.0.1) so a test sees what a person
//! would: the DOM after the page's script ran, its console errors and exceptions, every
//! request the page made, and a screenshot. Each browser gets a fresh profile in a temp dir
//! and is killed when dropped; every wait is bounded.
#![allow(dead_code)]

use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tungstenite::{Message, WebSocket};

/// The flags of every run: no network of the browser's own, no first-run work.
pub const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--mute-audio",
];

pub struct Browser {
    child: Child,
    _profile: tempfile::TempDir,
    port: u16,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether chromium runs here.
pub fn installed() -> bool {
    Command::new("chromium")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

impl Browser {
    /// Starts chromium at `width`×`height` with the DevTools endpoint on a port the kernel
    /// picks (read from chromium's own "DevTools listening" line, at most 30 s).
    pub fn start(width: u32, height: u32) -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let mut child = Command::new("chromium")
            .args(FLAGS)
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg(format!("--window-size={width},{height}"))
            .arg("--remote-debugging-address=127.0.0.1")
            .arg("--remote-debugging-port=0")
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start chromium");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        // Drains stderr for the browser's lifetime so it never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("ws://127.0.0.1:").nth(1) {
                    let port: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    let _ = tx.send(port.parse::<u16>().ok());
                }
            }
        });
        let port = rx
            .recv_timeout(Duration::from_secs(30))
            .ok()
            .flatten()
            .expect("chromium's DevTools endpoint within 30 s");
        Browser {
            child,
            _profile: profile,
            port,
        }
    }

    /// The browser's first tab, attached.
    pub fn page(&self) -> Page {
        let addr: std::net::SocketAddr = ([127, 0, 0, 1], self.port).into();
        let t0 = Instant::now();
        let url = loop {
            if let Some(body) = devtools_list(addr) {
                let list: Value = serde_json::from_str(&body).unwrap();
                if let Some(p) = list
                    .as_array()
                    .and_then(|l| l.iter().find(|t| t["type"] == "page"))
                {
                    break p["webSocketDebuggerUrl"].as_str().unwrap().to_string();
                }
            }
            assert!(t0.elapsed() < Duration::from_secs(20), "no page target");
            std::thread::sleep(Duration::from_millis(100));
        };
        let stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let (ws, _) = tungstenite::client(url.as_str(), stream).expect("websocket to the page");
        let mut p = Page {
            ws,
            next: 0,
            events: Vec::new(),
        };
        for domain in ["Page", "Runtime", "Log", "Network"] {
            p.call(&format!("{domain}.enable"), json!({}));
        }
        p
    }
}

/// chromium's list of targets (`/json/list`). It answers only a Host that is an address or
/// localhost, and keeps the connection open: read up to its Content-Length.
fn devtools_list(addr: std::net::SocketAddr) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(s, "GET /json/list HTTP/1.1\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = s.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        raw.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&raw).to_string();
        let Some((head, body)) = text.split_once("\r\n\r\n") else {
            continue;
        };
        let len: usize = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse().ok())?
            })
            .unwrap_or(0);
        if body.len() >= len {
            return head.contains(" 200 ").then(|| body.to_string());
        }
    }
}

/// One tab over the DevTools protocol; `events` holds every notification seen.
pub struct Page {
    ws: WebSocket<TcpStream>,
    next: u64,
    pub events: Vec<Value>,
}

impl Page {
    /// Reads one message if one arrives within the socket's short timeout.
    fn read_one(&mut self) -> Option<Value> {
        match self.ws.read() {
            Ok(Message::Text(t)) => serde_json::from_str(t.as_str()).ok(),
            Ok(_) => None,
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                None
            }
            Err(e) => panic!("DevTools connection: {e}"),
        }
    }

    /// Calls `method` and returns its result (at most 60 s); notifications read meanwhile
    /// are kept.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        match self.try_call(method, params) {
            Ok(v) => v,
            Err(e) => panic!("{method}: {e}"),
        }
    }

    /// Calls `method`; the protocol's error answer is `Err` (at most 60 s).
    fn try_call(&mut self, method: &str, params: Value) -> Result<Value, Value> {
        self.next += 1;
        let id = self.next;
        let msg = json!({"id": id, "method": method, "params": params}).to_string();
        self.ws.send(Message::text(msg)).unwrap();
        let t0 = Instant::now();
        loop {
            if let Some(v) = self.read_one() {
                if v["id"] == id {
                    return match v.get("error") {
                        Some(e) => Err(e.clone()),
                        None => Ok(v["result"].clone()),
                    };
                }
                self.events.push(v);
            }
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "{method}: no answer in 60 s"
            );
        }
    }

    /// Reads notifications for `ms` milliseconds.
    pub fn pump(&mut self, ms: u64) {
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_millis(ms) {
            if let Some(v) = self.read_one() {
                self.events.push(v);
            }
        }
    }

    /// Opens `url` and waits for its load event (at most 60 s).
    pub fn open(&mut self, url: &str) -> Duration {
        let seen = self.events.len();
        let t0 = Instant::now();
        self.call("Page.navigate", json!({ "url": url }));
        loop {
            if self.events[seen..]
                .iter()
                .any(|e| e["method"] == "Page.loadEventFired")
            {
                return t0.elapsed();
            }
            assert!(t0.elapsed() < Duration::from_secs(60), "{url} did not load");
            if let Some(v) = self.read_one() {
                self.events.push(v);
            }
        }
    }

    /// The value of a JavaScript expression (promises awaited); an exception fails.
    pub fn eval(&mut self, expr: &str) -> Value {
        match self.try_eval(expr) {
            Ok(v) => v,
            Err(e) => panic!("{expr}: {e}"),
        }
    }

    /// [`Page::eval`], the protocol's error answer as `Err`.
    fn try_eval(&mut self, expr: &str) -> Result<Value, Value> {
        let r = self.try_call(
            "Runtime.evaluate",
            json!({"expression": expr, "returnByValue": true, "awaitPromise": true}),
        )?;
        assert!(r.get("exceptionDetails").is_none(), "{expr}: {r}");
        Ok(r["result"]["value"].clone())
    }

    /// Waits (at most `secs`) until `expr` is true. While the tab navigates (a click on a
    /// link), Chromium answers "Inspected target navigated or closed" or has no context to
    /// evaluate in: that is "not yet", not a failure.
    pub fn wait_for(&mut self, expr: &str, secs: u64) {
        let t0 = Instant::now();
        loop {
            match self.try_eval(expr) {
                Ok(Value::Bool(true)) => return,
                Ok(_) => {}
                Err(e) => {
                    let m = e["message"].as_str().unwrap_or_default();
                    assert!(
                        m.contains("navigated or closed") || m.contains("context"),
                        "{expr}: {e}"
                    );
                }
            }
            assert!(
                t0.elapsed() < Duration::from_secs(secs),
                "{expr} not true in {secs} s"
            );
            self.pump(100);
        }
    }

    /// A PNG of the whole page (not just the window) at `path`.
    pub fn screenshot(&mut self, path: &Path) {
        let r = self.call(
            "Page.captureScreenshot",
            json!({"format": "png", "captureBeyondViewport": true}),
        );
        use base64::Engine;
        let png = base64::engine::general_purpose::STANDARD
            .decode(r["data"].as_str().unwrap())
            .unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }

    /// Console errors, uncaught exceptions and the browser's own error entries (a blocked
    /// request, a CSP violation).
    pub fn errors(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|e| {
                let p = &e["params"];
                match e["method"].as_str()? {
                    "Runtime.exceptionThrown" => Some(p["exceptionDetails"].to_string()),
                    "Runtime.consoleAPICalled" if p["type"] == "error" => Some(p.to_string()),
                    "Log.entryAdded" if p["entry"]["level"] == "error" => {
                        Some(p["entry"].to_string())
                    }
                    _ => None,
                }
            })
            .collect()
    }

    /// Every URL the page asked for, the document itself included.
    pub fn requests(&self) -> Vec<String> {
        self.events
            .iter()
            .filter(|e| e["method"] == "Network.requestWillBeSent")
            .filter_map(|e| e["params"]["request"]["url"].as_str().map(str::to_string))
            .collect()
    }
}

/// Where screenshots go: `screenshots/` in the build's target directory (kept by CI).
pub fn screenshots_dir() -> std::path::PathBuf {
    // CARGO_TARGET_TMPDIR is TARGET/tmp for integration tests (not set for examples).
    let tmp = option_env!("CARGO_TARGET_TMPDIR").unwrap_or("target/tmp");
    Path::new(tmp).parent().unwrap().join("screenshots")
}

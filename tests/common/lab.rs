//! keepalived in network namespaces: a hub namespace with a bridge and up to three
//! directors (`A`, `B`, `C`, 10.99.0.1–3) on it, each running Debian's keepalived (VRRP
//! only, logging to its console file, its dumps in its own TMPDIR). Namespaces and
//! processes are removed and stopped on drop. Needs root.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Whether `name` is on the PATH (see [`super::skip`]).
pub fn have(name: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    found || super::skip(&format!("{name} not installed"))
}

/// Whether a lab can run here: root, keepalived and ip.
pub fn ready() -> bool {
    if !super::is_root() {
        return super::skip("not root");
    }
    have("keepalived") && have("ip")
}

pub fn sh(args: &[&str]) {
    let st = Command::new(args[0])
        .args(&args[1..])
        .status()
        .expect("spawn");
    assert!(st.success(), "{args:?} failed");
}

/// Lines of `text` containing `needle`.
pub fn count(text: &str, needle: &str) -> usize {
    text.lines().filter(|l| l.contains(needle)).count()
}

/// One director's VRRP instance `VI_1` (VRID 51, advert_int 1, state BACKUP at start).
pub struct Node<'a> {
    pub priority: u32,
    pub pass: &'a str,
    /// Its `virtual_ipaddress` block.
    pub vips: &'a [&'a str],
    /// A track script that passes while this file exists (`vrrp_script` with fall and
    /// rise 1, interval 1).
    pub track_file: Option<&'a Path>,
    /// More lines for the instance's block (a keyword keepalived does not know, say).
    pub extra: &'a str,
    /// More lines for `global_defs` (`notify_fifo PATH`, say).
    pub global: &'a str,
}

impl Node<'_> {
    fn config(&self, host: &str) -> String {
        let mut c = format!("global_defs {{\n  router_id lb{host}\n{}", self.global);
        if self.track_file.is_some() {
            c.push_str("  enable_script_security\n  script_user root\n");
        }
        c.push_str("}\n");
        if let Some(f) = self.track_file {
            c.push_str(&format!(
                "vrrp_script chk_file {{\n  script \"/usr/bin/test -f {}\"\n  interval 1\n  \
                 fall 1\n  rise 1\n}}\n",
                f.display()
            ));
        }
        c.push_str(&format!(
            "vrrp_instance VI_1 {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n  \
             priority {}\n  advert_int 1\n  \
             authentication {{\n    auth_type PASS\n    auth_pass {}\n  }}\n  \
             virtual_ipaddress {{\n",
            self.priority, self.pass
        ));
        for v in self.vips {
            c.push_str(&format!("    {v}\n"));
        }
        c.push_str("  }\n");
        c.push_str(self.extra);
        if self.track_file.is_some() {
            c.push_str("  track_script {\n    chk_file\n  }\n");
        }
        c.push_str("}\n");
        c
    }
}

/// Network namespaces and keepalived processes, removed/stopped on drop.
pub struct Lab {
    prefix: String,
    dir: tempfile::TempDir,
    children: Vec<(String, Child)>,
}

impl Lab {
    pub fn ns(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// `tag` keeps two tests' namespaces apart when they run at once.
    pub fn new(tag: &str) -> Lab {
        let prefix = format!("lv{tag}{}", std::process::id() % 100_000);
        let lab = Lab {
            prefix,
            dir: tempfile::tempdir().unwrap(),
            children: Vec::new(),
        };
        let hub = lab.ns("h");
        sh(&["ip", "netns", "add", &hub]);
        sh(&["ip", "-n", &hub, "link", "add", "br0", "type", "bridge"]);
        sh(&["ip", "-n", &hub, "link", "set", "br0", "up"]);
        for (i, h) in ["A", "B", "C"].iter().enumerate() {
            let ns = lab.ns(h);
            sh(&["ip", "netns", "add", &ns]);
            let port = format!("p{h}");
            sh(&[
                "ip", "-n", &ns, "link", "add", "eth0", "type", "veth", "peer", "name", &port,
                "netns", &hub,
            ]);
            sh(&[
                "ip", "-n", &hub, "link", "set", &port, "master", "br0", "up",
            ]);
            let addr = format!("10.99.0.{}/24", i + 1);
            sh(&["ip", "-n", &ns, "addr", "add", &addr, "dev", "eth0"]);
            sh(&["ip", "-n", &ns, "link", "set", "eth0", "up"]);
            sh(&["ip", "-n", &ns, "link", "set", "lo", "up"]);
        }
        lab
    }

    pub fn path(&self, f: &str) -> PathBuf {
        self.dir.path().join(f)
    }

    /// keepalived on `host` with the one VIP 10.99.0.100 and no track script.
    pub fn start(&mut self, host: &str, priority: u32, pass: &str) {
        let node = Node {
            priority,
            pass,
            vips: &["10.99.0.100/24"],
            track_file: None,
            extra: "",
            global: "",
        };
        self.start_node(host, &node);
    }

    pub fn start_node(&mut self, host: &str, node: &Node<'_>) {
        let cfg = self.path(&format!("lb{host}.conf"));
        std::fs::write(&cfg, node.config(host)).unwrap();
        let tmp = self.tmp_dir(host);
        std::fs::create_dir_all(&tmp).unwrap();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path(&format!("lb{host}.log")))
            .unwrap();
        let child = Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.ns(host),
                "keepalived",
                "-P",
                "-n",
                "-l",
                "-D",
                "-G",
                "-f",
            ])
            .arg(&cfg)
            .arg("-p")
            .arg(self.pid_file(host))
            .arg("-r")
            .arg(self.path(&format!("lb{host}.vrrp.pid")))
            .env("TMPDIR", &tmp)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start keepalived");
        self.children.push((host.to_string(), child));
    }

    /// Where `host`'s keepalived writes its dumps.
    pub fn tmp_dir(&self, host: &str) -> PathBuf {
        self.path(&format!("tmp{host}"))
    }

    pub fn pid_file(&self, host: &str) -> PathBuf {
        self.path(&format!("lb{host}.pid"))
    }

    pub fn log_file(&self, host: &str) -> PathBuf {
        self.path(&format!("lb{host}.log"))
    }

    pub fn log(&self, host: &str) -> String {
        std::fs::read_to_string(self.log_file(host)).unwrap_or_default()
    }

    /// Waits (bounded) until `host`'s log holds `n` lines containing `needle`.
    pub fn wait_for(&self, host: &str, needle: &str, n: usize, secs: u64) {
        let t0 = Instant::now();
        while count(&self.log(host), needle) < n {
            assert!(
                t0.elapsed() < Duration::from_secs(secs),
                "lb{host}: no {n}× {needle:?} after {secs} s; logs:\n{}\n{}\n{}",
                self.log("A"),
                self.log("B"),
                self.log("C")
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn kill_vrrp_child(&self, host: &str) {
        sh(&["kill", "-KILL", &self.vrrp_pid(host)]);
    }

    pub fn kill_instance(&mut self, host: &str) {
        let i = self.children.iter().position(|(h, _)| h == host).unwrap();
        let (_, mut c) = self.children.remove(i);
        let vrrp = self.vrrp_pid(host);
        // Both at once, so that neither the parent respawns the child nor the child sees its
        // parent go and resigns gracefully (priority 0): a crash, as far as the others can
        // tell.
        sh(&["kill", "-KILL", &c.id().to_string(), &vrrp]);
        let _ = c.wait();
        let t0 = Instant::now();
        while Path::new(&format!("/proc/{vrrp}")).exists() {
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "lb{host}'s VRRP process survives"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        for f in ["pid", "vrrp.pid"] {
            let _ = std::fs::remove_file(self.path(&format!("lb{host}.{f}")));
        }
    }

    /// Stops `host`'s keepalived as an operator would (SIGTERM), waiting at most 10 s.
    pub fn stop(&mut self, host: &str) {
        let i = self.children.iter().position(|(h, _)| h == host).unwrap();
        let (_, mut c) = self.children.remove(i);
        let _ = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status();
        let t0 = Instant::now();
        while c.try_wait().ok().flatten().is_none() {
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "lb{host} ignores SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn vrrp_pid(&self, host: &str) -> String {
        let p = self.path(&format!("lb{host}.vrrp.pid"));
        std::fs::read_to_string(p).unwrap().trim().to_string()
    }

    pub fn stop_all(&mut self) {
        for (_, c) in &self.children {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
        }
        let t0 = Instant::now();
        for (_, c) in &mut self.children {
            while c.try_wait().ok().flatten().is_none() && t0.elapsed() < Duration::from_secs(10) {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for (_, c) in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        for h in ["A", "B", "C", "h"] {
            let _ = Command::new("ip")
                .args(["netns", "del", &self.ns(h)])
                .status();
        }
    }
}

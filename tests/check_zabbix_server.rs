//! The Zabbix templates in a real Zabbix 6.0 server (Debian's zabbix-server-pgsql and
//! zabbix-frontend-php over a PostgreSQL cluster, all started here on 127.0.0.1 in a
//! temporary directory and stopped at the end): both templates are imported through the
//! API's `configuration.import`, a host linked to them discovers the demo director's
//! services, backends and VRRP instance through the Zabbix agent (deploy/zabbix/lvsmon.conf)
//! and through the HTTP agent reading `/metrics`, collects the values `lvsmon check zabbix
//! get` gives, and raises the critical-incident trigger.
//!
//! About a minute and a half (the server schedules first checks within an item's interval):
//! `scripts/test.sh` runs it as the step `zabbix-server`.

mod check_support;
mod common;

use check_support::{
    check, free_port, installed, start, tempdir, wait_listening, write, zabbix_agent_config,
};
use common::{root, serve};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// PostgreSQL's server programs (`/usr/lib/postgresql/N/bin`), the newest installed.
fn pg_bin() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| Some(e.ok()?.path().join("bin")))
        .filter(|b| b.join("initdb").exists())
        .collect();
    dirs.sort();
    dirs.pop()
}

/// Runs a command as the postgres user (PostgreSQL refuses root); panics on failure.
fn as_postgres(args: &[&str]) {
    let out = Command::new("runuser")
        .args(["-u", "postgres", "--"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The database cluster, stopped when the test ends.
struct Cluster {
    pg_ctl: PathBuf,
    data: PathBuf,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let (c, d) = (
            self.pg_ctl.display().to_string(),
            self.data.display().to_string(),
        );
        let _ = Command::new("runuser")
            .args([
                "-u", "postgres", "--", &c, "-D", &d, "-m", "fast", "-w", "stop",
            ])
            .output();
    }
}

/// Where PHP's server logs (set once the test made its directory).
static PHP_LOG: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

fn php_said() -> String {
    PHP_LOG
        .get()
        .and_then(|p| std::fs::read_to_string(p).ok())
        .unwrap_or_default()
}

/// One JSON-RPC POST to the frontend's API (HTTP/1.0, so PHP's server closes when done):
/// the answer's JSON, or why there was none.
fn post(port: u16, body: &str) -> Result<Value, String> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .map_err(|e| e.to_string())?;
    write!(
        s,
        "POST /api_jsonrpc.php HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json-rpc\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .map_err(|e| e.to_string())?;
    let mut raw = String::new();
    s.read_to_string(&mut raw).map_err(|e| e.to_string())?;
    let (_, text) = raw
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("not HTTP: {raw:?}"))?;
    serde_json::from_str(text).map_err(|e| format!("{e}: {text}"))
}

/// One API call (retried while the connection itself fails): its result, or its error.
fn api(port: u16, auth: Option<&str>, method: &str, params: Value) -> Result<Value, Value> {
    let mut body = json!({"jsonrpc": "2.0", "method": method, "params": params, "id": 1});
    if let Some(a) = auth {
        body["auth"] = json!(a);
    }
    let body = body.to_string();
    let mut tries = 0;
    let v = loop {
        match post(port, &body) {
            Ok(v) => break v,
            Err(e) if tries < 5 => {
                eprintln!("{method}: {e}: again");
                tries += 1;
                std::thread::sleep(Duration::from_millis(500));
            }
            Err(e) => panic!("{method}: {e}; php said:\n{}", php_said()),
        }
    };
    match v.get("result") {
        Some(r) => Ok(r.clone()),
        None => Err(v["error"].clone()),
    }
}

/// Polls `f` every half second until it gives `Some`, for at most `limit`.
fn wait_for<T>(limit: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let t0 = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(t0.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
#[ignore = "a real Zabbix server: scripts/test.sh step zabbix-server"]
fn zabbix_server_imports_the_templates_and_discovers_the_director() {
    let frontend = Path::new("/usr/share/zabbix");
    if !installed(&[
        "/usr/sbin/zabbix_server",
        "/usr/sbin/zabbix_agentd",
        "/usr/share/zabbix/api_jsonrpc.php",
        "/usr/share/zabbix-server-pgsql/schema.sql.gz",
        "/usr/bin/php",
        "/usr/bin/psql",
    ]) {
        return;
    }
    let Some(pg) = pg_bin() else {
        assert!(
            std::env::var("LVSMON_REQUIRE_TOOLS").is_err(),
            "PostgreSQL server required"
        );
        return;
    };
    let dir = tempdir();
    let d = dir.path().display().to_string();
    // The database, owned by postgres, reachable only on a socket in the directory.
    let data = dir.path().join("pg");
    std::fs::create_dir(&data).unwrap();
    assert!(Command::new("chown")
        .args(["postgres", &data.display().to_string(), &d])
        .status()
        .unwrap()
        .success());
    let (initdb, pg_ctl) = (pg.join("initdb"), pg.join("pg_ctl"));
    as_postgres(&[
        &initdb.display().to_string(),
        "-D",
        &data.display().to_string(),
        "-A",
        "trust",
        "-U",
        "postgres",
    ]);
    let pg_port = free_port();
    as_postgres(&[
        &pg_ctl.display().to_string(),
        "-D",
        &data.display().to_string(),
        "-o",
        &format!("-p {pg_port} -k {d} -c listen_addresses="),
        "-l",
        &format!("{d}/pg.log"),
        "-w",
        "start",
    ]);
    let _cluster = Cluster { pg_ctl, data };
    let psql = format!("psql -h {d} -p {pg_port} -U postgres -v ON_ERROR_STOP=1 -q");
    let sql = |script: &str| {
        let out = Command::new("sh").args(["-c", script]).output().unwrap();
        assert!(
            out.status.success(),
            "{script}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    sql(&format!("{psql} -c 'create database zabbix'"));
    for part in ["schema", "images", "data"] {
        sql(&format!(
            "zcat /usr/share/zabbix-server-pgsql/{part}.sql.gz | {psql} -d zabbix >/dev/null"
        ));
    }

    // The director: the demo behind `lvsmon serve`, and the agent with the shipped file.
    let (_srv, addr) = serve(&["--web.listen-address", "127.0.0.1:0", "--demo"]);
    let (agent_cfg, agent_port) = zabbix_agent_config(dir.path(), addr.port());
    let _agent = start(
        Command::new("zabbix_agentd")
            .arg("-c")
            .arg(&agent_cfg)
            .arg("-f"),
    );
    wait_listening(agent_port, "zabbix_agentd");

    // The server, reading its configuration from the database every second.
    let server_port = free_port();
    let server_cfg = write(
        dir.path(),
        "zabbix_server.conf",
        &format!(
            "LogType=file\nLogFile={d}/server.log\nPidFile={d}/server.pid\nSocketDir={d}\nDBHost={d}\n\
             DBPort={pg_port}\nDBName=zabbix\nDBUser=postgres\nListenIP=127.0.0.1\nListenPort={server_port}\n\
             AllowRoot=1\nCacheUpdateFrequency=1\nStartPollers=2\nStartPreprocessors=1\nStartDiscoverers=0\n\
             StartHTTPPollers=1\nStartPingers=0\nStartTrappers=1\nTimeout=10\n"
        ),
    );
    let _server = start(
        Command::new("zabbix_server")
            .arg("-c")
            .arg(&server_cfg)
            .arg("-f"),
    );

    // The frontend (its API) under PHP's own web server. Debian's frontend reads its
    // configuration from /etc/zabbix: a hard-linked copy with that one path changed keeps
    // the test out of /etc.
    let web = dir.path().join("web");
    // Hard links where /tmp and /usr share a file system, else a copy (38 MB).
    let copied = |how: &str| {
        let _ = std::fs::remove_dir_all(&web);
        Command::new("cp")
            .arg(how)
            .arg(frontend)
            .arg(&web)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    assert!(copied("-al") || copied("-a"), "cannot copy the frontend");
    let conf_php = web.join("conf/zabbix.conf.php");
    let class = web.join("include/classes/core/CConfigFile.php");
    let text = std::fs::read_to_string(&class).unwrap();
    assert!(
        text.contains("'/etc/zabbix/zabbix.conf.php'"),
        "the frontend's config path moved"
    );
    std::fs::remove_file(&class).unwrap(); // a new file, not a write through the hard link
    std::fs::write(
        &class,
        text.replace(
            "/etc/zabbix/zabbix.conf.php",
            &conf_php.display().to_string(),
        ),
    )
    .unwrap();
    std::fs::write(
        &conf_php,
        format!(
            "<?php\n$DB['TYPE'] = 'POSTGRESQL';\n$DB['SERVER'] = '{d}';\n$DB['PORT'] = '{pg_port}';\n\
             $DB['DATABASE'] = 'zabbix';\n$DB['USER'] = 'postgres';\n$DB['PASSWORD'] = '';\n$DB['SCHEMA'] = '';\n\
             $DB['ENCRYPTION'] = false;\n$DB['KEY_FILE'] = '';\n$DB['CERT_FILE'] = '';\n$DB['CA_FILE'] = '';\n\
             $DB['VERIFY_HOST'] = false;\n$DB['CIPHER_LIST'] = '';\n$DB['VAULT_URL'] = '';\n\
             $DB['VAULT_DB_PATH'] = '';\n$DB['VAULT_TOKEN'] = '';\n$DB['DOUBLE_IEEE754'] = true;\n\
             $ZBX_SERVER = '127.0.0.1';\n$ZBX_SERVER_PORT = '{server_port}';\n$ZBX_SERVER_NAME = 'test';\n\
             $IMAGE_FORMAT_DEFAULT = IMAGE_FORMAT_PNG;\n"
        ),
    )
    .unwrap();
    let web_port = free_port();
    let php_log = std::fs::File::create(dir.path().join("php.log")).unwrap();
    let _ = PHP_LOG.set(dir.path().join("php.log"));
    let _php = check_support::Daemon(
        Command::new("php")
            .arg("-S")
            .arg(format!("127.0.0.1:{web_port}"))
            .arg("-t")
            .arg(&web)
            .stdout(std::process::Stdio::null())
            .stderr(php_log)
            .spawn()
            .unwrap(),
    );
    wait_listening(web_port, "php -S");
    let version = wait_for(Duration::from_secs(30), "the API", || {
        api(web_port, None, "apiinfo.version", json!({})).ok()
    });
    assert!(version.as_str().unwrap().starts_with("6.0."), "{version}");
    let auth = api(
        web_port,
        None,
        "user.login",
        json!({"username": "Admin", "password": "zabbix"}),
    )
    .unwrap();
    let auth = auth.as_str().unwrap();
    let call = |method: &str, params: Value| {
        api(web_port, Some(auth), method, params).unwrap_or_else(|e| panic!("{method}: {e}"))
    };

    // Both shipped templates, imported as an operator does.
    let rule = json!({"createMissing": true, "updateExisting": true});
    let rules = json!({"groups": {"createMissing": true}, "templates": rule, "items": rule,
        "triggers": rule, "discoveryRules": rule, "valueMaps": rule, "templateLinkage": {"createMissing": true}});
    for file in [
        "deploy/zabbix/lvsmon_template.yaml",
        "deploy/zabbix/lvsmon_template_http.yaml",
    ] {
        let source = common::read(&root().join(file));
        let r = call(
            "configuration.import",
            json!({"format": "yaml", "rules": rules, "source": source}),
        );
        assert_eq!(r, json!(true), "{file}");
    }
    let templates = call(
        "template.get",
        json!({"output": ["host"], "search": {"host": "lvsmon"},
        "selectItems": "count", "selectDiscoveries": "count", "selectTriggers": "count", "sortfield": "host"}),
    );
    let summary: Vec<String> = templates
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            format!(
                "{}: {} items, {} rules, {} triggers",
                t["host"], t["items"], t["discoveries"], t["triggers"]
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            "\"LVS director by lvsmon HTTP\": \"4\" items, \"3\" rules, \"4\" triggers",
            "\"LVS director by lvsmon agent\": \"3\" items, \"3\" rules, \"3\" triggers"
        ]
    );

    // A director linked to both.
    let group = call(
        "hostgroup.get",
        json!({"output": ["groupid"], "filter": {"name": ["Linux servers"]}}),
    );
    let tids: Vec<Value> = templates
        .as_array()
        .unwrap()
        .iter()
        .map(|t| json!({"templateid": t["templateid"]}))
        .collect();
    let host = call(
        "host.create",
        json!({"host": "director", "groups": [{"groupid": group[0]["groupid"]}],
        "templates": tids,
        "interfaces": [{"type": 1, "main": 1, "useip": 1, "ip": "127.0.0.1", "dns": "", "port": agent_port.to_string()}],
        "macros": [{"macro": "{$LVSMON.URL}", "value": format!("http://{addr}/metrics")}]}),
    );
    let hostid = host["hostids"][0].clone();
    // "Check now" for what the server polls itself (dependent items follow their master),
    // once the server's configuration cache knows the host.
    let polled = |flags: u8| -> Vec<Value> {
        let items = call(
            "item.get",
            json!({"output": ["itemid", "type"], "hostids": hostid, "filter": {"flags": flags}}),
        );
        let rules = call(
            "discoveryrule.get",
            json!({"output": ["itemid", "type"], "hostids": hostid}),
        );
        let mut v: Vec<Value> = items.as_array().unwrap().clone();
        if flags == 0 {
            v.extend(rules.as_array().unwrap().iter().cloned());
        }
        v.into_iter()
            .filter(|i| i["type"] != "18")
            .map(|i| json!({"type": 6, "request": {"itemid": i["itemid"]}}))
            .collect()
    };
    wait_for(Duration::from_secs(30), "check now accepted", || {
        api(web_port, Some(auth), "task.create", json!(polled(0))).ok()
    });

    // Discovery through the agent and through /metrics: 2 services, 3 backends, 1 instance.
    // Agent: 4 per service, 3 per backend, 2 per instance; HTTP: 2, 3 and 1.
    let want = 2 * 4 + 3 * 3 + 2 + (2 * 2 + 3 * 3 + 1);
    let mut last_ask = Instant::now();
    let t0 = Instant::now();
    loop {
        let n = call(
            "item.get",
            json!({"output": ["itemid"], "hostids": hostid, "filter": {"flags": 4}}),
        );
        let count = n.as_array().unwrap().len();
        if count == want {
            break;
        }
        if t0.elapsed() > Duration::from_secs(120) {
            let rules = call(
                "discoveryrule.get",
                json!({"output": ["key_", "state", "error", "lastclock"], "hostids": hostid}),
            );
            let log = std::fs::read_to_string(dir.path().join("server.log")).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(30).collect();
            panic!("{count} of {want} items discovered; rules: {rules}\nserver log (newest first):\n{}", tail.join("\n"));
        }
        // A check asked for before the server's cache knew the item is dropped: ask again.
        if last_ask.elapsed() > Duration::from_secs(5) {
            let _ = api(web_port, Some(auth), "task.create", json!(polled(0)));
            last_ask = Instant::now();
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    wait_for(
        Duration::from_secs(30),
        "check now of the discovered items",
        || api(web_port, Some(auth), "task.create", json!(polled(4))).ok(),
    );
    let items = wait_for(
        Duration::from_secs(90),
        "values of every discovered item",
        || {
            let v = call(
                "item.get",
                json!({"output": ["key_", "lastvalue", "lastclock", "error"], "hostids": hostid,
            "filter": {"flags": 4}}),
            );
            v.as_array()
                .unwrap()
                .iter()
                .all(|i| i["lastclock"] != "0")
                .then_some(v)
        },
    );
    // Each value is what `lvsmon check zabbix get` answers for the same key; the HTTP
    // template's twin of a key (`lvsmon.http.…`) has the same value.
    let url = format!("http://{addr}");
    let mut compared = 0;
    for i in items.as_array().unwrap() {
        let key = i["key_"].as_str().unwrap();
        let plain = key.replace("lvsmon.http.", "lvsmon.");
        let (code, value) = check(&["zabbix", "get", &plain, "--url", &url]);
        assert_eq!(code, 0, "{plain}: {value}");
        assert_eq!(i["lastvalue"], value.trim_end(), "{key}: {i}");
        compared += 1;
    }
    assert_eq!(compared, want);
    let vrrp = items
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["key_"] == "lvsmon.vrrp[state,VI_LB]")
        .unwrap();
    assert_eq!(vrrp["lastvalue"], "2");

    // The demo has a critical incident open: its trigger fires (from both templates).
    let problems = wait_for(
        Duration::from_secs(60),
        "the critical-incident trigger",
        || {
            let t = call(
                "trigger.get",
                json!({"output": ["description", "value"], "hostids": hostid,
            "filter": {"value": 1}, "expandDescription": true}),
            );
            let names: Vec<String> = t
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["description"].as_str().unwrap().to_string())
                .collect();
            (names
                .iter()
                .filter(|n| n.as_str() == "Critical incident open on director")
                .count()
                == 2)
                .then_some(names)
        },
    );
    // Nothing else is wrong with the demo director: no service without backends, no
    // backend at weight 0, keepalived up.
    assert!(
        problems.iter().all(|n| n.contains("incident open")),
        "{problems:?}"
    );
}

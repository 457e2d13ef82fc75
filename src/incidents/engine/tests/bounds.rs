//! What the engine keeps stays bounded by what is open and by its windows, not by the
//! input: transitions under `serve`, the times counted for flapping, the list of what
//! an event opened, and the names its keys share with their director.

use super::*;

#[test]
fn a_long_running_engine_keeps_a_bounded_number_of_transitions() {
    let mut c = classifier();
    let mut feed = Feed(Engine::new(Settings::default()).with_history(2));
    for i in 0..100 {
        let state = if i % 2 == 0 { "MASTER" } else { "BACKUP" };
        let line = format!(
            "Dec  2 10:{:02}:{:02} lb1 Keepalived_vrrp[1]: (VI_1) Entering {state} STATE",
            i / 60,
            i % 60
        );
        c.line(line.as_bytes(), false, &mut feed);
    }
    assert_eq!(feed.0.transitions.len(), 2 * TRANSITIONS_PER_INCIDENT);
    // Without a bound (analyze) every one is kept.
    let mut all = Feed(Engine::new(Settings::default()));
    for i in 0..10 {
        let state = if i % 2 == 0 { "MASTER" } else { "BACKUP" };
        let line =
            format!("Dec  2 10:00:{i:02} lb1 Keepalived_vrrp[1]: (VI_1) Entering {state} STATE");
        c.line(line.as_bytes(), false, &mut all);
    }
    assert_eq!(all.0.transitions.len(), 10);
}

#[test]
fn a_storm_of_lines_with_one_timestamp_keeps_the_flapping_counts_bounded() {
    let mut c = classifier();
    let mut feed = Feed(Engine::new(Settings::default()).with_history(10));
    // A replayed log (or a storm) in one second: every removal and every state change
    // falls inside the flapping window.
    for i in 0..5_000 {
        let lines = [
            "Dec  2 10:00:00 lb1 Keepalived_healthcheckers[1]: Removing service [10.2.0.12]:tcp:80 from VS [10.1.0.100]:tcp:80",
            "Dec  2 10:00:00 lb1 Keepalived_healthcheckers[1]: Adding service [10.2.0.12]:tcp:80 to VS [10.1.0.100]:tcp:80",
            if i % 2 == 0 {
                "Dec  2 10:00:00 lb1 Keepalived_vrrp[1]: (VI_1) Entering MASTER STATE"
            } else {
                "Dec  2 10:00:00 lb1 Keepalived_vrrp[1]: (VI_1) Entering BACKUP STATE"
            },
        ];
        for l in lines {
            c.line(l.as_bytes(), false, &mut feed);
        }
    }
    let s = Settings::default();
    let host = feed.0.hosts.first().expect("lb1 seen");
    let downs: Vec<usize> = host.downs.values().map(|d| d.len()).collect();
    let changes: Vec<usize> = host.changes.values().map(|d| d.len()).collect();
    assert_eq!(downs, [s.real_server_flapping_cycles]);
    assert_eq!(changes, [s.vrrp_flapping_changes]);
    // And both are found flapping.
    let open: Vec<&str> = feed.0.open.keys().map(|k| k.kind).collect();
    assert!(open.contains(&"real_server_flapping"), "{open:?}");
    assert!(open.contains(&"vrrp_flapping"), "{open:?}");
}

/// A real server down at `t` seconds after 10:00:00 on lb1, as a syslog line.
fn removal(t: u32, rs: &str) -> String {
    format!(
        "Dec  2 {:02}:{:02}:{:02} lb1 Keepalived_healthcheckers[1]: Removing service [{rs}]:tcp:80 from VS [10.1.0.100]:tcp:80",
        10 + t / 3600,
        t / 60 % 60,
        t % 60
    )
}

#[test]
fn the_downs_counted_for_flapping_follow_the_window_not_the_input() {
    let mut c = classifier();
    let mut feed = Feed(Engine::new(Settings::default()).with_history(10));
    let window = Settings::default().flapping_window as u32;
    // Five other real servers taken down every second for two hours, each once.
    let mut most = 0;
    for t in 0..7200u32 {
        for k in 0..5 {
            let n = t * 5 + k;
            let rs = format!("10.3.{}.{}", n / 250, n % 250);
            c.line(removal(t, &rs).as_bytes(), false, &mut feed);
        }
        most = most.max(feed.0.hosts[0].downs.len());
    }
    // Two windows' downs are kept; a sweep waits for the map to double.
    let kept = 2 * window as usize * 5;
    assert!(most <= 3 * kept, "{most} entries for {} downs", 7200 * 5);
    assert!(most >= kept, "{most}: the window's downs were dropped");
}

#[test]
fn a_sweep_of_old_downs_keeps_the_ones_inside_the_window() {
    let mut c = classifier();
    let mut feed = Feed(Engine::new(Settings::default()));
    // 10.2.0.12 out at 0 s and 300 s, two thousand others meanwhile (sweeps run), and
    // out again at 500 s: its third removal in the window.
    let mut lines = vec![removal(0, "10.2.0.12")];
    for n in 0..2000u32 {
        lines.push(removal(
            1 + n * 150 / 1000,
            &format!("10.3.{}.{}", n / 250, n % 250),
        ));
    }
    lines.push(removal(300, "10.2.0.12"));
    for n in 2000..4000u32 {
        lines.push(removal(
            301 + (n - 2000) / 10,
            &format!("10.3.{}.{}", n / 250, n % 250),
        ));
    }
    lines.push(removal(500, "10.2.0.12"));
    for l in &lines {
        c.line(l.as_bytes(), false, &mut feed);
    }
    let got = feed.0.finish();
    let flapping: Vec<_> = got
        .iter()
        .filter(|i| i.kind == "real_server_flapping")
        .map(|i| i.real_server.as_deref())
        .collect();
    assert_eq!(flapping, [Some("10.2.0.12:80")]);
}

#[test]
fn an_engine_nobody_asks_keeps_no_list_of_what_it_opened() {
    let mut c = classifier();
    let mut feed = Feed(Engine::new(Settings::default()));
    for n in 0..500u32 {
        c.line(
            removal(n, &format!("10.3.{}.{}", n / 250, n % 250)).as_bytes(),
            false,
            &mut feed,
        );
    }
    assert_eq!(feed.0.open.len(), 500);
    assert!(feed.0.opened.is_empty(), "{}", feed.0.opened.len());
}

#[test]
fn keys_share_their_directors_names_up_to_the_bound() {
    let mut c = classifier();
    let mut feed = Feed(Engine::new(Settings::default()));
    let fault =
        |i: usize| format!("Dec  2 10:00:00 lb1 Keepalived_vrrp[1]: (VI_{i}) Entering FAULT STATE");
    let auth = "Dec  2 10:00:01 lb1 Keepalived_vrrp[1]: (VI_0) received an invalid passwd!";
    for l in [fault(0), auth.to_string()] {
        c.line(l.as_bytes(), false, &mut feed);
    }
    let e = &feed.0;
    let h = &e.hosts[0];
    let keys: Vec<&Key> = e.open.keys().collect();
    assert_eq!(keys.len(), 2, "{keys:?}");
    for k in &keys {
        assert!(Arc::ptr_eq(&k.host, &h.name), "{k:?}");
        let iname = k.iname.as_ref().expect("an instance");
        assert!(Arc::ptr_eq(iname, &h.inames[0]), "{k:?}");
    }
    // Beyond the bound, instances still open their incidents, each key with its own copy.
    for i in 1..MAX_INAMES + 10 {
        c.line(fault(i).as_bytes(), false, &mut feed);
    }
    let e = &feed.0;
    assert_eq!(e.hosts[0].inames.len(), MAX_INAMES);
    assert_eq!(e.hosts[0].iname_index.len(), MAX_INAMES);
    let last = format!("VI_{}", MAX_INAMES + 9);
    let k = e
        .open
        .keys()
        .find(|k| k.iname.as_deref() == Some(last.as_str()))
        .expect("the last instance's FAULT is open");
    assert_eq!(k.kind, "vrrp_fault");
}

//! The detectors: what each event kind opens, repeats or closes. (The engine's bookkeeping
//! is in the parent module.)

use super::*;

impl Engine {
    /// Whether a detector reads events of `kind`: the kinds the detectors match. Most
    /// of a busy director's matched lines are check attempts and adverts no detector reads;
    /// `analyze` hands those to [`Engine::tick`] without building the event (its identities
    /// parsed, its labels copied): a fifth of the engine's time on bench/logs.sh's file.
    pub fn handles(kind: &str) -> bool {
        matches!(
            kind,
            "real_server_down"
                | "real_server_up"
                | "check_failed"
                | "quorum_lost"
                | "quorum_down_at_start"
                | "quorum_gained"
                | "sorry_server_on"
                | "sorry_server_off"
                | "ipvs_no_destination"
                | "vrrp_master"
                | "vrrp_higher_priority_advert"
                | "vrrp_backup"
                | "vrrp_priority_zero_sent"
                | "vrrp_fault"
                | "vrrp_script_failed"
                | "link_down"
                | "vrrp_fault_reason"
                | "vrrp_auth_mismatch"
                | "vrrp_vip_mismatch"
                | "vrrp_vrid_conflict"
                | "vrrp_advert_interval_mismatch"
                | "vrrp_owner_conflict"
                | "keepalived_started"
                | "keepalived_stopped"
                | "keepalived_child_died"
                | "keepalived_child_exited"
                | "keepalived_config_error"
                | "conntrack_table_full"
                | "ipvs_sync_error"
        )
    }

    /// What each kind of event opens, repeats or closes. Every kind matched here must be in
    /// [`Engine::handles`] (a test feeds every rule's kind both ways).
    pub(super) fn detect(&mut self, e: &In<'_>) {
        match e.kind {
            "real_server_down" => self.real_server_down(e),
            "real_server_up" => {
                if let Some(rs) = e.rs {
                    self.close(&key("real_server_down", e, e.vs, Some(rs)), e);
                }
            }
            "check_failed" => {
                if let Some(rs) = e.rs {
                    let msg = e.message.to_string();
                    self.host(e.host).failures.insert(rs, msg);
                }
            }
            "quorum_lost" | "quorum_down_at_start" => {
                let sorry =
                    e.vs.and_then(|v| self.host_ref(e.host)?.sorry.get(&v).copied());
                let summary = || {
                    format!(
                        "{} lost its quorum on {}{}",
                        text(e.vs),
                        e.host,
                        sorry.map_or(String::new(), |s| format!(", sorry server {s} in use"))
                    )
                };
                self.open_or_repeat(key("virtual_service_down", e, e.vs, None), e, None, summary);
            }
            "quorum_gained" => self.close(&key("virtual_service_down", e, e.vs, None), e),
            "sorry_server_on" => {
                if let (Some(v), Some(r)) = (e.vs, e.rs) {
                    self.host(e.host).sorry.insert(v, r);
                    if let Some(o) = self
                        .open
                        .get_mut(&key("virtual_service_down", e, e.vs, None))
                    {
                        if !o.inc.summary.contains("sorry server") {
                            o.inc
                                .summary
                                .push_str(&format!(", sorry server {r} in use"));
                        }
                    }
                }
            }
            "sorry_server_off" => {
                if let Some(v) = e.vs {
                    self.host(e.host).sorry.remove(&v);
                }
            }
            "ipvs_no_destination" => {
                let summary = || {
                    format!(
                        "the kernel found no destination for {} on {}",
                        text(e.vs),
                        e.host
                    )
                };
                let q = Some(self.s.quiet_window);
                self.open_or_repeat(key("virtual_service_down", e, e.vs, None), e, q, summary);
            }
            "vrrp_master" => self.vrrp_state(e, true),
            "vrrp_higher_priority_advert" => {
                if let (Some(i), Some(p)) = (&e.iname_name, e.peer) {
                    let h = self.host(e.host);
                    h.better_peer.insert(i.clone(), p.to_string());
                }
            }
            "vrrp_backup" => self.vrrp_state(e, false),
            // A MASTER that sends priority 0 resigns (it is stopping).
            "vrrp_priority_zero_sent" => self.vrrp_state(e, false),
            "vrrp_fault" => {
                self.vrrp_state(e, false);
                let reason = self.host_ref(e.host).and_then(|h| h.fault_reason.clone());
                let hint = hint_for("vrrp_fault", reason.as_deref());
                let summary = || {
                    format!(
                        "{} is in FAULT on {}{}",
                        e.iname.unwrap_or("an instance"),
                        e.host,
                        reason.map_or(String::new(), |r| format!(" ({r})"))
                    )
                };
                let k = key("vrrp_fault", e, None, None);
                self.open_or_repeat(k.clone(), e, None, summary);
                if let Some(o) = self.open.get_mut(&k) {
                    o.inc.hint = hint;
                }
            }
            "vrrp_script_failed" => {
                let why = e.script.map(|s| format!("track script {s} failed"));
                self.host(e.host).fault_reason = why;
            }
            "link_down" => {
                let why = e.interface.map(|i| format!("interface {i} down"));
                self.host(e.host).fault_reason = why;
            }
            "vrrp_fault_reason" => {
                // `(VI_1): entering FAULT state (interface eth0 down)`, `… due to script x`.
                let why = e
                    .message
                    .split_once("FAULT state")
                    .map(|(_, r)| r.trim().trim_start_matches("due to").trim())
                    .map(|r| r.trim_start_matches('(').trim_end_matches(')').to_string())
                    .filter(|r| !r.is_empty());
                if why.is_some() {
                    self.host(e.host).fault_reason = why;
                }
            }
            "vrrp_auth_mismatch" => {
                let summary = || {
                    format!(
                        "{} on {} receives adverts with another password or authentication type",
                        e.iname.unwrap_or("an instance"),
                        e.host
                    )
                };
                let q = Some(self.s.quiet_window);
                self.open_or_repeat(key("vrrp_auth_mismatch", e, None, None), e, q, summary);
            }
            "vrrp_vip_mismatch"
            | "vrrp_vrid_conflict"
            | "vrrp_advert_interval_mismatch"
            | "vrrp_owner_conflict" => {
                let what = match e.kind {
                    "vrrp_vip_mismatch" => "its peers advertise other virtual addresses",
                    "vrrp_vrid_conflict" => "another instance uses its VRID",
                    "vrrp_advert_interval_mismatch" => "its peers advertise another interval",
                    _ => "another director claims to own its address",
                };
                let summary = || format!("{} on {}: {what}", e.iname.unwrap_or("VRRP"), e.host);
                let q = Some(self.s.quiet_window);
                self.open_or_repeat(key("vrrp_config_mismatch", e, None, None), e, q, summary);
            }
            "keepalived_started" => {
                let h = self.host(e.host);
                h.since_start.clear();
                h.standby.clear();
                let crashed = std::mem::replace(&mut h.running, true);
                if crashed {
                    // A start with no stop before it: the previous keepalived died
                    // without a word (SIGKILL, the OOM killer, a power cut).
                    // It was last seen at its previous event; MASTER may have lasted to
                    // the kill, but nothing says so, and a split brain must be proven.
                    self.leave_all_master(e.host, e.prev, "restart");
                    let summary = || {
                        format!(
                            "keepalived on {} started again without having stopped: it was killed",
                            e.host
                        )
                    };
                    self.instant(key("keepalived_crash", e, None, None), e, summary);
                }
            }
            "keepalived_stopped" => {
                self.host(e.host).running = false;
                self.leave_all_master(e.host, e.time, "stop");
                self.close_host(e.host, e);
            }
            "keepalived_child_died" | "keepalived_child_exited" => {
                let summary = || {
                    format!(
                        "a keepalived process on {} died: {}",
                        e.host,
                        e.message.trim()
                    )
                };
                // The two lines of one death are one incident.
                let k = key("keepalived_crash", e, None, None);
                match self.open.get_mut(&k) {
                    Some(o) if o.last == e.time => {
                        push_evidence(o, e.evidence(), self.s.evidence_lines)
                    }
                    _ => self.instant(k, e, summary),
                }
            }
            "keepalived_config_error" => {
                let summary = || format!("keepalived on {} rejected its configuration", e.host);
                let q = Some(self.s.quiet_window);
                self.open_or_repeat(key("keepalived_config_error", e, None, None), e, q, summary);
            }
            "conntrack_table_full" => {
                let summary = || format!("the conntrack table of {} is full", e.host);
                let q = Some(self.s.quiet_window);
                self.open_or_repeat(key("conntrack_table_full", e, None, None), e, q, summary);
            }
            "ipvs_sync_error" => {
                let summary = || format!("IPVS connection sync fails on {}", e.host);
                let q = Some(self.s.quiet_window);
                self.open_or_repeat(key("ipvs_sync_errors", e, None, None), e, q, summary);
            }
            _ => {}
        }
    }

    fn real_server_down(&mut self, e: &In<'_>) {
        let Some(rs) = e.rs else { return };
        let reason = self
            .host_ref(e.host)
            .and_then(|h| h.failures.get(&rs))
            .map(|l| format!(" ({})", checker_of(l)))
            .unwrap_or_default();
        let summary = || {
            format!(
                "real server {rs} of {} taken out on {}{reason}",
                text(e.vs),
                e.host
            )
        };
        self.open_or_repeat(key("real_server_down", e, e.vs, Some(rs)), e, None, summary);
        // Flapping: down again and again within the window.
        let (window, n) = (
            micros(self.s.flapping_window),
            self.s.real_server_flapping_cycles,
        );
        let downs = self.host(e.host).downs.entry((e.vs, rs)).or_default();
        push_recent(downs, e.time, window, n);
        let cycles = downs.len();
        if cycles >= n {
            let w = self.s.flapping_window;
            let summary = || {
                format!(
                    "real server {rs} of {} went down {cycles} times in {w} s on {}",
                    text(e.vs),
                    e.host
                )
            };
            let q = Some(w);
            self.open_or_repeat(
                key("real_server_flapping", e, e.vs, Some(rs)),
                e,
                q,
                summary,
            );
        }
    }

    /// A VRRP state change: MASTER transitions are kept for the cross-director verdicts,
    /// every change counts towards flapping, and leaving FAULT closes it.
    fn vrrp_state(&mut self, e: &In<'_>, master: bool) {
        let Some(iname) = e.iname else { return };
        // Only entering another state ends a FAULT: the "sent 0 priority" that follows
        // "Entering FAULT STATE" is the resignation of a MASTER going to FAULT.
        if matches!(e.kind, "vrrp_master" | "vrrp_backup") {
            self.close(&key("vrrp_fault", e, None, None), e);
        }
        let h = self.host(e.host);
        let was_master = if master {
            let name = e.iname_name.clone().unwrap_or_else(|| iname.into());
            !h.masters.insert(name)
        } else {
            h.masters.remove(iname)
        };
        if self.one_director {
            self.local_failover(e, iname, master, was_master);
        }
        if master != was_master {
            self.transition(Transition {
                time: e.time,
                host: e.host.to_string(),
                iname: iname.to_string(),
                master,
                line: bounded_line(e.line, EVIDENCE_LINE),
            });
        }
        // Flapping counts changes in and out of MASTER and entries into FAULT; a BACKUP
        // after a restart is no change.
        if master == was_master && e.kind != "vrrp_fault" {
            return;
        }
        let (window, n) = (micros(self.s.flapping_window), self.s.vrrp_flapping_changes);
        let h = self.host(e.host);
        // Looked up before an entry is made: the name is copied only the first time.
        if !h.changes.contains_key(iname) {
            h.changes.insert(iname.to_string(), VecDeque::new());
        }
        let Some(changes) = h.changes.get_mut(iname) else {
            return;
        };
        push_recent(changes, e.time, window, n);
        let count = changes.len();
        if count >= n {
            let w = self.s.flapping_window;
            let summary = || format!("{iname} changed state {count} times in {w} s on {}", e.host);
            let q = Some(w);
            self.open_or_repeat(key("vrrp_flapping", e, None, None), e, q, summary);
        }
    }

    /// One director's side of a failover (`serve`): it took MASTER from a standby state, or
    /// it left MASTER (for the director whose better advert it heard, when one was).
    fn local_failover(&mut self, e: &In<'_>, iname: &str, master: bool, was_master: bool) {
        let Some(name) = e.iname_name.clone() else {
            return;
        };
        let h = self.host(e.host);
        let standby = h.standby.contains(&name);
        let peer = h.better_peer.remove(&name);
        let first = h.since_start.insert(name.clone());
        let initial = first || e.message.contains("(init)");
        if e.kind == "vrrp_fault" || (e.kind == "vrrp_backup" && !initial) {
            h.standby.insert(name);
        } else if master {
            h.standby.remove(&name);
        }
        let summary = match (master, was_master) {
            (true, false) if standby => format!("{iname}: MASTER moved to {}", e.host),
            (false, true) => match (e.kind, peer) {
                ("vrrp_fault", _) => format!("{iname}: {} left MASTER (FAULT)", e.host),
                (_, Some(p)) => format!("{iname}: {} left MASTER for {p}", e.host),
                _ => format!("{iname}: {} left MASTER", e.host),
            },
            _ => return,
        };
        self.instant(key("vrrp_failover", e, None, None), e, || summary);
    }

    /// Every instance MASTER on `host` leaves it (keepalived stopped, or died unseen: then
    /// the last line before the restart is the latest it can have been MASTER).
    fn leave_all_master(&mut self, host: &str, time: i64, why: &str) {
        let masters = match self.host_mut(host) {
            Some(h) => std::mem::take(&mut h.masters),
            None => return,
        };
        for iname in masters {
            self.transition(Transition {
                time,
                host: host.to_string(),
                iname: iname.to_string(),
                master: false,
                line: format!("keepalived {why}"),
            });
        }
    }
}

/// Adds `time` to the recent times of a flapping count, keeping only those within `window`
/// and at most the newest `n`: "n or more within the window" needs no more, and a burst of
/// lines with one timestamp (a replayed log, a storm) must not grow the list without end
/// (it grew by a byte per line under `serve`, heaptrack).
fn push_recent(times: &mut std::collections::VecDeque<i64>, time: i64, window: i64, n: usize) {
    times.push_back(time);
    while times.front().is_some_and(|&t| t < time - window) || times.len() > n.max(1) {
        times.pop_front();
    }
}

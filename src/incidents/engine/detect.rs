//! The detectors: what each event kind opens, repeats or closes. (The engine's bookkeeping
//! is in the parent module.)

use super::*;

impl Engine {
    /// What each kind of event opens, repeats or closes (`reads::READS` says which kinds
    /// are read, and as what).
    pub(super) fn detect(&mut self, e: &In<'_>) {
        let Some(read) = e.read else { return };
        match read {
            Read::RealServerDown => self.real_server_down(e),
            Read::RealServerUp => {
                if let Some(rs) = e.rs {
                    self.close(&self.key("real_server_down", e, e.vs, Some(rs)), e);
                }
            }
            Read::CheckFailed => {
                if let Some(rs) = e.rs {
                    // The last failure's text, in the buffer of the one before.
                    let last = self.at(e).failures.entry(rs).or_default();
                    last.clear();
                    last.push_str(e.message);
                }
            }
            Read::QuorumLost => {
                let sorry = e.vs.and_then(|v| self.at_ref(e).sorry.get(&v).copied());
                let summary = || {
                    format!(
                        "{} lost its quorum on {}{}",
                        text(e.vs),
                        e.host,
                        sorry.map_or(String::new(), |s| format!(", sorry server {s} in use"))
                    )
                };
                self.open_or_repeat(
                    self.key("virtual_service_down", e, e.vs, None),
                    e,
                    None,
                    summary,
                );
            }
            Read::QuorumGained => self.close(&self.key("virtual_service_down", e, e.vs, None), e),
            Read::SorryServerOn => {
                if let (Some(v), Some(r)) = (e.vs, e.rs) {
                    self.at(e).sorry.insert(v, r);
                    if let Some(o) =
                        self.open
                            .get_mut(&self.key("virtual_service_down", e, e.vs, None))
                    {
                        if !o.summary.contains("sorry server") {
                            o.summary.push_str(&format!(", sorry server {r} in use"));
                        }
                    }
                }
            }
            Read::SorryServerOff => {
                if let Some(v) = e.vs {
                    self.at(e).sorry.remove(&v);
                }
            }
            Read::IpvsNoDestination => {
                let summary = || {
                    format!(
                        "the kernel found no destination for {} on {}",
                        text(e.vs),
                        e.host
                    )
                };
                let q = Some(self.s.quiet_window);
                self.open_or_repeat(
                    self.key("virtual_service_down", e, e.vs, None),
                    e,
                    q,
                    summary,
                );
            }
            Read::VrrpMaster => self.vrrp_state(e, true),
            // Only one director's failover is told from its side, naming the peer whose
            // better advert it heard (`analyze` decides failovers across directors).
            Read::VrrpHigherPriorityAdvert if self.one_director => {
                if let (Some(i), Some(p)) = (self.iname_of(e), e.peer) {
                    let h = self.at(e);
                    h.better_peer.insert(i, p.to_string());
                }
            }
            Read::VrrpHigherPriorityAdvert => {}
            Read::VrrpBackup => self.vrrp_state(e, false),
            // A MASTER that sends priority 0 resigns (it is stopping).
            Read::VrrpPriorityZeroSent => self.vrrp_state(e, false),
            Read::VrrpFault => {
                self.vrrp_state(e, false);
                // The reason is lent to the summary (moved out and back): copying it, and
                // lower-casing a copy to find its hint, at every FAULT were a third of what
                // a FAULT cost (time-stamp counter, ten directors' logs).
                let reason = self.at(e).fault_reason.take();
                let hint = hint_for("vrrp_fault", reason.as_deref());
                let summary = || {
                    let mut s = String::with_capacity(64);
                    s.push_str(e.iname.unwrap_or("an instance"));
                    s.push_str(" is in FAULT on ");
                    s.push_str(e.host);
                    if let Some(r) = reason.as_deref() {
                        s.push_str(" (");
                        s.push_str(r);
                        s.push(')');
                    }
                    s
                };
                let k = self.key("vrrp_fault", e, None, None);
                self.open_or_repeat(k.clone(), e, None, summary);
                if let Some(o) = self.open.get_mut(&k) {
                    o.hint = hint;
                }
                self.at(e).fault_reason = reason;
            }
            Read::VrrpScriptFailed => {
                let h = self.at(e);
                set_reason(&mut h.fault_reason, e.script, "track script ", " failed");
            }
            Read::LinkDown => {
                let h = self.at(e);
                set_reason(&mut h.fault_reason, e.interface, "interface ", " down");
            }
            Read::VrrpFaultReason => {
                // `(VI_1): entering FAULT state (interface eth0 down)`, `… due to script x`.
                let why = e
                    .message
                    .split_once("FAULT state")
                    .map(|(_, r)| r.trim().trim_start_matches("due to").trim())
                    .map(|r| r.trim_start_matches('(').trim_end_matches(')').to_string())
                    .filter(|r| !r.is_empty());
                if why.is_some() {
                    self.at(e).fault_reason = why;
                }
            }
            Read::VrrpAuthMismatch => {
                let summary = || {
                    format!(
                        "{} on {} receives adverts with another password or authentication type",
                        e.iname.unwrap_or("an instance"),
                        e.host
                    )
                };
                let q = Some(self.s.quiet_window);
                self.open_or_repeat(self.key("vrrp_auth_mismatch", e, None, None), e, q, summary);
            }
            Read::VrrpVipMismatch
            | Read::VrrpVridConflict
            | Read::VrrpAdvertIntervalMismatch
            | Read::VrrpOwnerConflict => {
                let what = match read {
                    Read::VrrpVipMismatch => "its peers advertise other virtual addresses",
                    Read::VrrpVridConflict => "another instance uses its VRID",
                    Read::VrrpAdvertIntervalMismatch => "its peers advertise another interval",
                    _ => "another director claims to own its address",
                };
                let summary = || format!("{} on {}: {what}", e.iname.unwrap_or("VRRP"), e.host);
                let q = Some(self.s.quiet_window);
                self.open_or_repeat(
                    self.key("vrrp_config_mismatch", e, None, None),
                    e,
                    q,
                    summary,
                );
            }
            Read::KeepalivedStarted => {
                let h = self.at(e);
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
                    self.instant(self.key("keepalived_crash", e, None, None), e, summary);
                }
            }
            Read::KeepalivedStopped => {
                self.at(e).running = false;
                self.leave_all_master(e.host, e.time, "stop");
                self.close_host(e.host, e);
            }
            Read::KeepalivedChildDied => {
                let summary = || {
                    format!(
                        "a keepalived process on {} died: {}",
                        e.host,
                        e.message.trim()
                    )
                };
                // The two lines of one death are one incident.
                let k = self.key("keepalived_crash", e, None, None);
                match self.open.get_mut(&k) {
                    Some(o) if o.last == e.time => {
                        push_evidence(o, e.evidence(), self.s.evidence_lines)
                    }
                    _ => self.instant(k, e, summary),
                }
            }
            Read::KeepalivedConfigError => {
                let summary = || format!("keepalived on {} rejected its configuration", e.host);
                let q = Some(self.s.quiet_window);
                self.open_or_repeat(
                    self.key("keepalived_config_error", e, None, None),
                    e,
                    q,
                    summary,
                );
            }
            Read::ConntrackTableFull => {
                let summary = || format!("the conntrack table of {} is full", e.host);
                let q = Some(self.s.quiet_window);
                self.open_or_repeat(
                    self.key("conntrack_table_full", e, None, None),
                    e,
                    q,
                    summary,
                );
            }
            Read::IpvsSyncError => {
                let summary = || format!("IPVS connection sync fails on {}", e.host);
                let q = Some(self.s.quiet_window);
                self.open_or_repeat(self.key("ipvs_sync_errors", e, None, None), e, q, summary);
            }
        }
    }

    fn real_server_down(&mut self, e: &In<'_>) {
        let Some(rs) = e.rs else { return };
        // The checker's last failure names the reason, but only a summary being written
        // reads it, and most downs repeat an open incident: it is lent to the summary
        // (moved out of its map and back) rather than formatted at every down.
        let failure = self.at(e).failures.get_mut(&rs).map(std::mem::take);
        // "real server 10.2.0.11:80 of TCP 10.1.0.100:80 taken out on lb-a (HTTP_CHECK
        // failed)", written piece by piece: the most frequent summary, and `format!` with
        // the identities' `Display` took a thousand instructions (callgrind).
        let summary = || {
            let mut s = String::with_capacity(112);
            s.push_str("real server ");
            rs.push_text(&mut s);
            s.push_str(" of ");
            push_vs(&mut s, e.vs);
            s.push_str(" taken out on ");
            s.push_str(e.host);
            if let Some(l) = failure.as_deref() {
                s.push_str(" (");
                push_checker_of(&mut s, l);
                s.push(')');
            }
            s
        };
        self.open_or_repeat(
            self.key("real_server_down", e, e.vs, Some(rs)),
            e,
            None,
            summary,
        );
        if let (Some(f), Some(slot)) = (failure, self.at(e).failures.get_mut(&rs)) {
            *slot = f;
        }
        // Flapping: down again and again within the window.
        let (window, n) = (
            micros(self.s.flapping_window),
            self.s.real_server_flapping_cycles,
        );
        let h = self.at(e);
        let downs = h.downs.entry((e.vs, rs)).or_default();
        push_recent(downs, e.time, window, n);
        let cycles = downs.len();
        sweep_downs(h, window);
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
                self.key("real_server_flapping", e, e.vs, Some(rs)),
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
        if matches!(e.read, Some(Read::VrrpMaster | Read::VrrpBackup)) {
            self.close(&self.key("vrrp_fault", e, None, None), e);
        }
        let h = self.at(e);
        let was_master = if master {
            let name = h.iname_at(e.iname_ix, iname);
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
        if master == was_master && e.read != Some(Read::VrrpFault) {
            return;
        }
        let (window, n) = (micros(self.s.flapping_window), self.s.vrrp_flapping_changes);
        let h = self.at(e);
        // Looked up before an entry is made: the name is copied only the first time.
        if !h.changes.contains_key(iname) {
            h.changes.insert(iname.to_string(), Recent::new());
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
            self.open_or_repeat(self.key("vrrp_flapping", e, None, None), e, q, summary);
        }
    }

    /// One director's side of a failover (`serve`): it took MASTER from a standby state, or
    /// it left MASTER (for the director whose better advert it heard, when one was).
    fn local_failover(&mut self, e: &In<'_>, iname: &str, master: bool, was_master: bool) {
        let Some(name) = self.iname_of(e) else {
            return;
        };
        let h = self.at(e);
        let standby = h.standby.contains(&name);
        let peer = h.better_peer.remove(&name);
        let first = h.since_start.insert(name.clone());
        let initial = first || e.message.contains("(init)");
        let fault = e.read == Some(Read::VrrpFault);
        if fault || (e.read == Some(Read::VrrpBackup) && !initial) {
            h.standby.insert(name);
        } else if master {
            h.standby.remove(&name);
        }
        let summary = match (master, was_master) {
            (true, false) if standby => format!("{iname}: MASTER moved to {}", e.host),
            (false, true) => match (fault, peer) {
                (true, _) => format!("{iname}: {} left MASTER (FAULT)", e.host),
                (_, Some(p)) => format!("{iname}: {} left MASTER for {p}", e.host),
                _ => format!("{iname}: {} left MASTER", e.host),
            },
            _ => return,
        };
        self.instant(self.key("vrrp_failover", e, None, None), e, || summary);
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
                iname: String::from(&*iname),
                master: false,
                line: format!("keepalived {why}"),
            });
        }
    }
}

/// Why the next FAULT happens: `before`, `name`, `after` ("track script chk failed"), in
/// the buffer of the last reason (a track script fails every few seconds while it does);
/// none without a name.
fn set_reason(reason: &mut Option<String>, name: Option<&str>, before: &str, after: &str) {
    let Some(name) = name else {
        *reason = None;
        return;
    };
    let r = reason.get_or_insert_with(String::new);
    r.clear();
    r.push_str(before);
    r.push_str(name);
    r.push_str(after);
}

/// Drops the real servers of `h` not taken down within two flapping windows of its
/// newest event, once the map has doubled since the last sweep (amortised: a sweep per
/// as many downs as it keeps). Their times could only count again for a line more than
/// a window older than the director's newest, and such a line's cycles are not sought.
fn sweep_downs(h: &mut Host, window: i64) {
    const LEAST: usize = 1024;
    if h.downs.len() <= h.downs_swept.saturating_mul(2).max(LEAST) {
        return;
    }
    let since = h.last_time.saturating_sub(window.saturating_mul(2));
    h.downs.retain(|_, t| t.last().is_some_and(|&t| t >= since));
    h.downs_swept = h.downs.len();
}

/// Adds `time` to the recent times of a flapping count, keeping only those within `window`
/// and at most the newest `n`: "n or more within the window" needs no more, and a burst of
/// lines with one timestamp (a replayed log, a storm) must not grow the list without end
/// (it grew by a byte per line under `serve`, heaptrack). The oldest go while one is out
/// of the window or there are more than `n` (a line out of order may leave an older time
/// behind a newer one, as before).
fn push_recent(times: &mut Recent, time: i64, window: i64, n: usize) {
    times.push(time);
    let keep = n.max(1);
    let len = times.len();
    let old = times
        .iter()
        .enumerate()
        .take_while(|&(i, &t)| t < time - window || len - i > keep)
        .count();
    times.drain(..old);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The inline list keeps what the list of its own kept, times out of order
        /// included: the oldest popped while one is out of the window or there are too
        /// many.
        #[test]
        fn recent_times_keep_what_a_queue_kept(
            times in proptest::collection::vec(0i64..50, 1..40),
            window in 0i64..20,
            n in 0usize..7,
        ) {
            let mut inline = Recent::new();
            let mut queue = VecDeque::new();
            for &t in &times {
                push_recent(&mut inline, t, window, n);
                queue.push_back(t);
                while queue.front().is_some_and(|&f| f < t - window) || queue.len() > n.max(1) {
                    queue.pop_front();
                }
                let want: Vec<i64> = queue.iter().copied().collect();
                prop_assert_eq!(inline.as_slice(), want.as_slice());
            }
        }
    }
}

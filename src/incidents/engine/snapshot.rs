//! The detectors over looks at the director ([`Observation`]s, under `serve`): what the
//! logs may not say or may say late. A real server out of the kernel's table (or at weight
//! 0) while keepalived configures it, a virtual service with no real server to take
//! traffic, keepalived not answering, a NAT real server whose replies never come back, and
//! a MASTER that keeps receiving another master's adverts.
//!
//! A look may catch keepalived half way through a change and a log line may be late, so a
//! condition must hold for `observe_confirmations` looks in a row before it opens or closes
//! an incident. A look closes only what a look opened, and not within [`CLOSE_MARGIN`] of
//! its last event (log times have whole seconds): an incident an event opened ends with the
//! event that ends it (keepalived's quorum is lost while one real server is still in the
//! table, and regained only when its own line says so).

use super::*;
use crate::incidents::observe::{Dest, Keepalived, KeepalivedService, Observation, Service};

/// How much later than an incident's last event a look must be to close it.
const CLOSE_MARGIN: i64 = 2_000_000;

/// The adverts a MASTER received, counted from when it was first seen MASTER (or from when
/// they last stopped coming).
#[derive(Debug, Clone, Copy)]
struct Adverts {
    /// Its `become_master` count then: another value means it left MASTER in between.
    became: u64,
    from_time: i64,
    from_count: u64,
    /// The count at the last look, and the last look at which it had grown.
    count: u64,
    grew: i64,
}

/// (time, packets in, packets out) of a real server at a look.
type Packets = (i64, u64, u64);

/// What the snapshot detectors remember of one director between looks.
#[derive(Debug, Default, Clone)]
pub(super) struct Watch {
    /// Looks in a row a condition held (`true`) or cleared (`false`), per incident.
    pub(super) streak: HashMap<Key, (bool, u32)>,
    /// Per NAT real server: (time, packets in, packets out) over the window.
    packets: HashMap<(VirtualServiceId, RealServerId), VecDeque<Packets>>,
    /// Per instance: what its adverts were counted from.
    adverts: HashMap<String, Adverts>,
    /// keepalived answered at least once: before that, no answer is a host without it.
    keepalived_seen: bool,
}

impl Engine {
    /// One look at `host`'s kernel table and keepalived.
    pub fn observe(&mut self, host: &str, obs: &Observation) {
        let t = obs.time;
        {
            let h = self.host(host);
            h.last_time = h.last_time.max(t);
        }
        self.close_quiet(host, t);
        let mut seen: HashSet<Key> = HashSet::default();
        if let Some(k) = &obs.keepalived {
            self.keepalived_up(host, t, k, &mut seen);
        }
        if let Some(table) = &obs.table {
            let ka = obs.keepalived.as_ref().filter(|k| k.up);
            self.real_servers(host, t, table, ka, &mut seen);
            self.nat_return(host, t, table, &mut seen);
        }
        if let Some(k) = obs.keepalived.as_ref().filter(|k| k.up) {
            self.local_split_brain(host, t, k, &mut seen);
        }
        // A condition not judged at this look starts again from nothing.
        if let Some(h) = self.host_mut(host) {
            h.watch.streak.retain(|k, _| seen.contains(k));
        }
    }

    /// Whether a condition holds at this look (`Some(true)`), has cleared (`Some(false)`),
    /// or cannot be told (`None`: the streak is kept as it is).
    fn judge(
        &mut self,
        k: Key,
        holds: Option<bool>,
        t: i64,
        line: String,
        summary: impl FnOnce() -> String,
        seen: &mut HashSet<Key>,
    ) {
        seen.insert(k.clone());
        let Some(holds) = holds else { return };
        if !holds && !self.open.contains_key(&k) {
            // Cleared with nothing open: no streak to keep (a holding look starts one from
            // nothing either way). Kept, the 10,000 healthy services of a large director
            // were most of the 1.9 MB the engine held at rest (heaptrack).
            if let Some(h) = self.host_mut(&k.host) {
                h.watch.streak.remove(&k);
            }
            return;
        }
        let need = self.s.observe_confirmations.max(1);
        let h = self.host(&k.host);
        let s = h.watch.streak.entry(k.clone()).or_insert((holds, 0));
        if s.0 != holds {
            *s = (holds, 0);
        }
        s.1 = s.1.saturating_add(1);
        if s.1 < need {
            return;
        }
        let evidence = Evidence {
            time: Some(t),
            host: k.host.to_string(),
            line,
        };
        match self.open.get(&k) {
            None if holds => {
                self.open_at(k.clone(), t, evidence, None, summary);
                if let Some(o) = self.open.get_mut(&k) {
                    o.by_look = true;
                }
            }
            Some(o) if !holds && o.by_look && t > o.last.saturating_add(CLOSE_MARGIN) => {
                self.close_at(&k, t, || evidence)
            }
            _ => {}
        }
    }

    fn keepalived_up(&mut self, host: &str, t: i64, k: &Keepalived, seen: &mut HashSet<Key>) {
        let w = &mut self.host(host).watch;
        w.keepalived_seen |= k.up;
        if !w.keepalived_seen {
            return;
        }
        let why = k.error.clone().unwrap_or_else(|| "no answer".into());
        let line = if k.up {
            "keepalived: answering".to_string()
        } else {
            format!("keepalived: {why}")
        };
        let key = snap_key("keepalived_down", host, None, None, None);
        let summary = || format!("keepalived on {host} stopped answering ({why})");
        self.judge(key, Some(!k.up), t, line, summary, seen);
    }

    /// Real servers keepalived configures but the kernel does not route to, and virtual
    /// services with no real server to take traffic.
    fn real_servers(
        &mut self,
        host: &str,
        t: i64,
        table: &[Service],
        ka: Option<&Keepalived>,
        seen: &mut HashSet<Key>,
    ) {
        let configured = ka.map_or(&[][..], |k| &k.services[..]);
        for kvs in configured {
            let svc = table.iter().find(|s| s.id.matches(&kvs.id));
            for &(rs, alive) in &kvs.real_servers {
                let dest = svc.and_then(|s| s.dests.iter().find(|d| d.id == rs));
                let out = match dest {
                    _ if svc.is_none() => None,
                    None => Some("not in the kernel's table"),
                    Some(d) if d.weight <= 0 => Some("weight 0 in the kernel"),
                    Some(_) => None,
                };
                let checker = if alive {
                    ""
                } else {
                    "; keepalived's checker says it is down"
                };
                let vs = kvs.id;
                let line = match out {
                    Some(why) => format!("ipvs: {rs} of {vs}: {why}{checker}"),
                    None => format!("ipvs: {rs} of {vs}: in the table with a weight"),
                };
                let key = snap_key("real_server_down", host, None, Some(vs), Some(rs));
                let summary = || format!("real server {rs} of {vs} is out on {host}: {line}");
                // Its service gone from the table is the service's incident, not its own.
                let holds = svc.map(|_| out.is_some());
                self.judge(key, holds, t, line.clone(), summary, seen);
            }
            // The service as keepalived names it (a firewall mark without its family),
            // so a look and a log line find the same incident.
            let own: Vec<RealServerId> = kvs.real_servers.iter().map(|r| r.0).collect();
            self.service_available(host, t, kvs.id, svc, Some(&own), seen);
        }
        self.unconfigured(host, t, configured);
        for s in table {
            if configured.iter().any(|k| k.id.matches(&s.id)) || s.dests.is_empty() {
                // keepalived's, judged above; or no real server at all (kube-proxy's
                // services without endpoints): nothing was lost.
                continue;
            }
            self.service_available(host, t, s.id, Some(s), None, seen);
        }
    }

    /// A real server out of a service keepalived still configures, but no longer with that
    /// real server (a reload took it out of the configuration: keepalived logs the same
    /// "Removing service" as for a failed check, and will never add it back): its
    /// incident, however opened, is over.
    fn unconfigured(&mut self, host: &str, t: i64, configured: &[KeepalivedService]) {
        let gone: Vec<Key> = self
            .open
            .keys()
            .filter(|k| k.kind == "real_server_down" && &*k.host == host)
            .filter(|k| {
                let Some(vs) = k.vs else { return false };
                configured.iter().any(|c| {
                    c.id.matches(&vs)
                        && k.rs
                            .is_some_and(|rs| !c.real_servers.iter().any(|r| r.0 == rs))
                })
            })
            .cloned()
            .collect();
        for k in gone {
            let line = format!(
                "keepalived: {} is no longer a real server of {}",
                k.rs.map(|r| r.to_string()).unwrap_or_default(),
                k.vs.map(|v| v.to_string()).unwrap_or_default()
            );
            let evidence = Evidence {
                time: Some(t),
                host: host.to_string(),
                line,
            };
            self.close_at(&k, t, || evidence);
        }
    }

    /// A virtual service with no real server that can take traffic; `own` are the real
    /// servers keepalived configures for it (any other in the table is its sorry server).
    fn service_available(
        &mut self,
        host: &str,
        t: i64,
        vs: VirtualServiceId,
        svc: Option<&Service>,
        own: Option<&[RealServerId]>,
        seen: &mut HashSet<Key>,
    ) {
        let dests: &[Dest] = svc.map_or(&[], |s| &s.dests[..]);
        let is_own = |d: &Dest| own.is_none_or(|o| o.contains(&d.id));
        let available = dests.iter().filter(|d| d.weight > 0 && is_own(d)).count();
        let sorry = dests
            .iter()
            .find(|d| d.weight > 0 && !is_own(d))
            .map(|d| d.id);
        let line = match (svc, sorry) {
            (None, _) => format!("ipvs: {vs} is not in the kernel's table"),
            (Some(_), Some(s)) => format!(
                "ipvs: {vs}: 0 of {} real servers available, sorry server {s} in use",
                own.map_or(dests.len(), <[_]>::len)
            ),
            (Some(_), None) => format!(
                "ipvs: {vs}: {available} of {} real servers available",
                own.map_or(dests.len(), <[_]>::len)
            ),
        };
        let key = snap_key("virtual_service_down", host, None, Some(vs), None);
        let summary = || {
            let tail = sorry.map_or(String::new(), |s| format!(", sorry server {s} in use"));
            format!("{vs} has no real server to take traffic on {host}{tail}")
        };
        self.judge(key, Some(available == 0), t, line, summary, seen);
    }

    /// NAT real servers of TCP services that take packets and send none back over the
    /// window (netlink's per-server counters; /proc has none).
    fn nat_return(&mut self, host: &str, t: i64, table: &[Service], seen: &mut HashSet<Key>) {
        let window = micros(self.s.nat_window);
        let min = self.s.nat_min_packets.max(1);
        let mut live = HashSet::default();
        for s in table.iter().filter(|s| s.is_tcp()) {
            for d in s.dests.iter().filter(|d| d.masq) {
                let Some((pin, pout)) = d.packets else {
                    continue;
                };
                live.insert((s.id, d.id));
                let hist = self
                    .host(host)
                    .watch
                    .packets
                    .entry((s.id, d.id))
                    .or_default();
                // Counters that went back were reset (the server was removed and added).
                if hist.back().is_some_and(|&(_, i, o)| pin < i || pout < o) {
                    hist.clear();
                }
                // Seen for the first time: its counters since it was added are the first
                // window (zero at an unknown time before this look).
                if hist.is_empty() {
                    hist.push_back((i64::MIN, 0, 0));
                }
                hist.push_back((t, pin, pout));
                while hist.len() > 2 && hist.get(1).is_some_and(|&(bt, _, _)| bt <= t - window) {
                    hist.pop_front();
                }
                let (_, bin, bout) = hist[0];
                let (din, dout) = (pin - bin, pout - bout);
                let holds = if dout > 0 {
                    Some(false)
                } else if din >= min {
                    Some(true)
                } else {
                    // No traffic: nothing to tell.
                    None
                };
                let (vs, rs) = (s.id, d.id);
                let line = format!("ipvs: {rs} of {vs}: {din} packets in, {dout} out");
                let summary = || {
                    format!(
                        "real server {rs} of {vs} on {host} receives packets but none of its \
                         replies come back through the director (NAT)"
                    )
                };
                let key = snap_key("nat_return_path_broken", host, None, Some(vs), Some(rs));
                self.judge(key, holds, t, line, summary, seen);
            }
        }
        self.host(host)
            .watch
            .packets
            .retain(|k, _| live.contains(k));
    }

    /// A MASTER that keeps receiving adverts for its VRID: another director is MASTER too
    /// (a backup sends none). What one director can know of a split brain; the fleet-wide
    /// rule lives in Prometheus. `split-brain-min-adverts` received over at least
    /// `split-brain-min-overlap` seconds open it (a peer that yields sends one or two);
    /// no advert for twice that long, or leaving MASTER, closes it.
    fn local_split_brain(&mut self, host: &str, t: i64, k: &Keepalived, seen: &mut HashSet<Key>) {
        let min = self.s.split_brain_min_adverts.max(1);
        let overlap = micros(self.s.split_brain_min_overlap.max(1));
        for i in &k.instances {
            let w = &mut self.host(host).watch.adverts;
            let fresh = Adverts {
                became: i.become_master,
                from_time: t,
                from_count: i.adverts_in,
                count: i.adverts_in,
                grew: t,
            };
            let holds = match w.get_mut(&i.iname) {
                _ if !i.master => {
                    w.remove(&i.iname);
                    Some(false)
                }
                Some(a) if a.became == i.become_master && i.adverts_in >= a.count => {
                    if i.adverts_in > a.count {
                        a.grew = t;
                    }
                    a.count = i.adverts_in;
                    if t - a.grew >= 2 * overlap {
                        // They stopped: a new burst must reach the minimum again.
                        *a = fresh;
                        Some(false)
                    } else if a.count - a.from_count >= min && t - a.from_time >= overlap {
                        Some(true)
                    } else {
                        None
                    }
                }
                _ => {
                    // First seen MASTER, or it left and came back between two looks.
                    w.insert(i.iname.clone(), fresh);
                    None
                }
            };
            let (got, secs) = w.get(&i.iname).map_or((0, 0), |a| {
                (a.count - a.from_count, (t - a.from_time) / 1_000_000)
            });
            let line = format!(
                "keepalived: {} (VRID {}) {}, {got} adverts received in {secs} s",
                i.iname,
                i.vrid,
                if i.master { "MASTER" } else { "not MASTER" }
            );
            let summary = || {
                format!(
                    "{} (VRID {}) is MASTER on {host} and keeps receiving adverts from another \
                     master",
                    i.iname, i.vrid
                )
            };
            let key = snap_key("split_brain", host, Some(&i.iname), None, None);
            self.judge(key, holds, t, line, summary, seen);
        }
    }
}

fn snap_key(
    kind: &'static str,
    host: &str,
    iname: Option<&str>,
    vs: Option<VirtualServiceId>,
    rs: Option<RealServerId>,
) -> Key {
    Key {
        kind,
        host: host.into(),
        iname: iname.map(Into::into),
        vs,
        rs,
    }
}

//! The checker families: `keepalived_real_server_up`, `keepalived_real_server_weight` and
//! `keepalived_virtual_service_quorum_up`, labelled with the shared identity's labels
//! (`proto`, `local_address`, `local_port`, `local_mark`, and `remote_address`,
//! `remote_port`) exactly as the `ipvs_*` families are, so that
//! `ipvs_backend_weight * on(proto, local_address, local_port, local_mark, remote_address,
//! remote_port) group_left keepalived_real_server_up` works as written on one director's
//! series (across directors, add `instance` to the `on` list).
//!
//! A virtual server group has no one identity (keepalived expands it into several kernel
//! services), so its real servers are not exported here; `/api/v1/state` shows them.

use super::keepalived::gauge;
use crate::keepalived::model::VirtualService;
use prometheus_client::encoding::DescriptorEncoder;
use std::fmt;

use crate::model::{REAL_SERVER_LABELS, SERVICE_LABELS as SERVICE};

/// Service labels, real server labels, alive, weight (unknown for a notify-only server).
type Row = ([String; 4], [String; 2], bool, Option<i64>);

pub fn encode(enc: &mut DescriptorEncoder, services: &[VirtualService]) -> fmt::Result {
    // (service labels, real server labels, alive, weight), rendered once.
    let mut rows: Vec<Row> = Vec::new();
    let mut quorum: Vec<([String; 4], bool)> = Vec::new();
    let mut unidentified = 0;
    for vs in services {
        let Some(id) = vs.id() else {
            unidentified += 1;
            continue;
        };
        let v = id.labels().as_array().map(str::to_string);
        for rs in &vs.real_servers {
            if let Some(r) = rs.id() {
                let (a, p) = r.labels();
                let weight = (!rs.from_notify).then_some(rs.weight);
                rows.push((v.clone(), [a, p], rs.alive, weight));
            }
        }
        if vs.has_quorum() {
            quorum.push((v, vs.quorum_up));
        }
    }
    let labels: Vec<[(&str, &str); 6]> = rows
        .iter()
        .map(|(v, r, ..)| {
            [
                (SERVICE[0], v[0].as_str()),
                (SERVICE[1], v[1].as_str()),
                (SERVICE[2], v[2].as_str()),
                (SERVICE[3], v[3].as_str()),
                (REAL_SERVER_LABELS[0], r[0].as_str()),
                (REAL_SERVER_LABELS[1], r[1].as_str()),
            ]
        })
        .collect();
    let up: Vec<(&[(&str, &str)], f64)> = labels
        .iter()
        .zip(&rows)
        .map(|(l, r)| (&l[..], f64::from(u8::from(r.2))))
        .collect();
    gauge(
        enc,
        "keepalived_real_server_up",
        "1 when keepalived's checkers consider the real server alive, else 0.",
        &up,
    )?;
    // A real server only a notify FIFO line has named has no known weight.
    let weight: Vec<(&[(&str, &str)], f64)> = labels
        .iter()
        .zip(&rows)
        .filter_map(|(l, r)| Some((&l[..], r.3? as f64)))
        .collect();
    gauge(
        enc,
        "keepalived_real_server_weight",
        "The real server's effective weight in keepalived.",
        &weight,
    )?;
    let ql: Vec<[(&str, &str); 4]> = quorum
        .iter()
        .map(|(v, _)| std::array::from_fn(|i| (SERVICE[i], v[i].as_str())))
        .collect();
    let qs: Vec<(&[(&str, &str)], f64)> = ql
        .iter()
        .zip(&quorum)
        .map(|(l, q)| (&l[..], f64::from(u8::from(q.1))))
        .collect();
    gauge(
        enc,
        "keepalived_virtual_service_quorum_up",
        "1 while a virtual service with a configured quorum (above 1) has it, else 0.",
        &qs,
    )?;
    gauge(
        enc,
        "lvsmon_keepalived_services_unidentified",
        "Virtual services in keepalived's dump with no one identity (a virtual server group, a protocol keepalived did not name): left out of the checker families.",
        &[(&[], f64::from(unidentified))],
    )
}

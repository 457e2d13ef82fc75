//! The checker families: `keepalived_real_server_up`, `keepalived_real_server_weight` and
//! `keepalived_virtual_service_quorum_up`, labelled with the canonical names keepalived's
//! own log lines use (`[10.0.0.100]:tcp:80`), so logs and metrics join on them.

use super::collector::gauge;
use super::model::VirtualService;
use prometheus_client::encoding::DescriptorEncoder;
use std::fmt;

pub fn encode(enc: &mut DescriptorEncoder, services: &[VirtualService]) -> fmt::Result {
    let mut names = Vec::new();
    for vs in services {
        let v = vs.canonical();
        for rs in &vs.real_servers {
            names.push((v.clone(), rs.canonical(vs.protocol), rs.alive, rs.weight));
        }
    }
    let labels: Vec<[(&str, &str); 2]> = names
        .iter()
        .map(|(v, r, ..)| [("virtual_service", v.as_str()), ("real_server", r.as_str())])
        .collect();
    let up: Vec<(&[(&str, &str)], f64)> = labels
        .iter()
        .zip(&names)
        .map(|(l, n)| (&l[..], f64::from(u8::from(n.2))))
        .collect();
    gauge(
        enc,
        "keepalived_real_server_up",
        "1 when keepalived's checkers consider the real server alive, else 0.",
        &up,
    )?;
    let weight: Vec<(&[(&str, &str)], f64)> = labels
        .iter()
        .zip(&names)
        .map(|(l, n)| (&l[..], n.3 as f64))
        .collect();
    gauge(
        enc,
        "keepalived_real_server_weight",
        "The real server's effective weight in keepalived.",
        &weight,
    )?;
    let quorum: Vec<(String, f64)> = services
        .iter()
        .filter(|v| v.has_quorum())
        .map(|v| (v.canonical(), f64::from(u8::from(v.quorum_up))))
        .collect();
    let ql: Vec<[(&str, &str); 1]> = quorum
        .iter()
        .map(|(v, _)| [("virtual_service", v.as_str())])
        .collect();
    let qs: Vec<(&[(&str, &str)], f64)> =
        ql.iter().zip(&quorum).map(|(l, q)| (&l[..], q.1)).collect();
    gauge(
        enc,
        "keepalived_virtual_service_quorum_up",
        "1 while a virtual service with a configured quorum (above 1) has it, else 0.",
        &qs,
    )
}

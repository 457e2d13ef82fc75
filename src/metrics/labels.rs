//! Label sets for IPVS series. Names match node_exporter's (`proto`, `local_address`,
//! `local_port`, `local_mark`, `remote_address`, `remote_port`) so existing PromQL carries
//! over; `local_mark` is decimal (node_exporter printed it in hex).

use crate::ipvs::{Dest, Service};
use crate::model::IpText;
use prometheus_client::encoding::{EncodeLabel, EncodeLabelSet, LabelSetEncoder};
use std::borrow::Cow;
use std::fmt;

/// The labels that identify a virtual service, rendered to text once: a service's labels
/// are written into every one of its series (and its backends'), and formatting addresses
/// and numbers again for each was most of the cost of a large page.
pub struct ServiceLabels {
    proto: Cow<'static, str>,
    addr: String,
    port: String,
    mark: String,
    /// `proto="TCP",local_address="10.0.0.1",local_port="80",local_mark`: every label but
    /// the last value, written as one label name (see [`Head`]).
    head: String,
}

impl ServiceLabels {
    /// The service's identity labels (`model::VirtualServiceId::labels`), rendered once.
    pub fn of(svc: &Service) -> ServiceLabels {
        let l = svc.id().labels();
        let (proto, addr, port, mark) = (
            l.proto,
            l.local_address.into_owned(),
            l.local_port.into_owned(),
            l.local_mark.into_owned(),
        );
        let mut head = String::new();
        push_pair(&mut head, "proto", &proto);
        push_pair(&mut head, "local_address", &addr);
        push_pair(&mut head, "local_port", &port);
        head.push_str("local_mark");
        ServiceLabels {
            proto,
            addr,
            port,
            mark,
            head,
        }
    }
}

/// Appends `name="value",` with the value escaped as the exposition formats want.
fn push_pair(out: &mut String, name: &str, value: &str) {
    out.push_str(name);
    out.push_str("=\"");
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push_str("\",");
}

/// Several labels written as one: the encoder writes a label as `NAME="VALUE"` with the
/// name as given, so a name of `a="1",b="2",c` and a value of `3` come out as the three
/// labels `a="1",b="2",c="3"`, byte for byte. The heads are rendered once per service
/// (and once per backend, per page). Label by label, prometheus_client's encoder made
/// a third of the instructions of a 100,000-backend page (callgrind: 2.6 M labels at
/// ~250 instructions each); tests/kernel_captures.rs and the node_exporter parity test
/// compare every label of real pages.
struct Head<'a>(&'a str, &'a str);

impl EncodeLabelSet for Head<'_> {
    fn encode(&self, enc: &mut LabelSetEncoder) -> fmt::Result {
        (self.0, self.1).encode(enc.encode_label())
    }
}

impl EncodeLabelSet for ServiceLabels {
    fn encode(&self, enc: &mut LabelSetEncoder) -> fmt::Result {
        Head(&self.head, &self.mark).encode(enc)
    }
}

/// Every backend's `remote_address` and `remote_port` as text, rendered once per page into
/// one buffer (a few bytes a backend, where a `String` each would cost ~100), each as
/// `remote_address="ADDR",remote_port` then `PORT` (a `Head` and its value).
#[derive(Default)]
pub struct BackendTexts {
    buf: String,
    /// Per backend: where its address starts, ends, and where its port ends.
    ends: Vec<(u32, u32, u32)>,
}

/// `remote_address="` before each backend's address.
const REMOTE_ADDRESS: &str = "remote_address=\"";
/// What follows the address, up to the port's value.
const REMOTE_PORT: &str = "\",remote_port";

impl BackendTexts {
    pub fn render<'d>(dests: impl Iterator<Item = &'d Dest>) -> BackendTexts {
        let mut t = BackendTexts::default();
        for d in dests {
            t.buf.push_str(REMOTE_ADDRESS);
            let a0 = t.buf.len() as u32;
            // An address needs no escaping; written on the stack, as identities are.
            t.buf.push_str(IpText::new(d.addr).as_str());
            let a1 = t.buf.len() as u32;
            t.buf.push_str(REMOTE_PORT);
            t.buf.push_str(itoa::Buffer::new().format(d.port));
            t.ends.push((a0, a1, t.buf.len() as u32));
        }
        t
    }

    /// The labels of the `i`-th backend rendered, under `service`.
    pub fn labels<'a>(&'a self, service: &'a ServiceLabels, i: usize) -> BackendLabels<'a> {
        let (a0, a1, p) = self.ends[i];
        let (a0, a1, p) = (a0 as usize, a1 as usize, p as usize);
        let head_start = a0 - REMOTE_ADDRESS.len();
        let head_end = a1 + REMOTE_PORT.len();
        BackendLabels {
            service,
            addr: &self.buf[a0..a1],
            port: &self.buf[head_end..p],
            head: &self.buf[head_start..head_end],
        }
    }
}

/// Service labels plus `remote_address` and `remote_port`.
pub struct BackendLabels<'a> {
    service: &'a ServiceLabels,
    addr: &'a str,
    port: &'a str,
    /// `remote_address="ADDR",remote_port`.
    head: &'a str,
}

impl BackendLabels<'_> {
    /// The values in `ipvs_options::BACKEND_LABELS` order.
    pub fn values(&self) -> [&str; 6] {
        let s = self.service;
        [
            s.proto.as_ref(),
            &s.addr,
            &s.port,
            &s.mark,
            self.addr,
            self.port,
        ]
    }
}

impl EncodeLabelSet for BackendLabels<'_> {
    fn encode(&self, enc: &mut LabelSetEncoder) -> fmt::Result {
        self.service.encode(enc)?;
        Head(self.head, self.port).encode(enc)
    }
}

/// Backend labels kept by `--collector.ipvs.backend-labels` (the others summed over).
pub struct KeptLabels(pub Vec<(&'static str, String)>);

impl EncodeLabelSet for KeptLabels {
    fn encode(&self, enc: &mut LabelSetEncoder) -> fmt::Result {
        for (k, v) in &self.0 {
            (*k, v.as_str()).encode(enc.encode_label())?;
        }
        Ok(())
    }
}

/// A label set followed by extra constant-name labels (for `_info` series).
pub struct With<'a, L, const N: usize> {
    pub base: &'a L,
    pub extra: [(&'static str, &'a str); N],
}

impl<L: EncodeLabelSet, const N: usize> EncodeLabelSet for With<'_, L, N> {
    fn encode(&self, enc: &mut LabelSetEncoder) -> fmt::Result {
        self.base.encode(enc)?;
        for (k, v) in self.extra {
            (k, v).encode(enc.encode_label())?;
        }
        Ok(())
    }
}

/// The `flags` label of `ipvs_service_info`: a comma list of `persistent`, `ops` and, when
/// netlink told us, the scheduler's own flags named as ipvsadm names them (`sh-fallback`,
/// `sh-port`, `mh-fallback`, `mh-port`; `flag-1`… for other schedulers).
pub fn service_flags(svc: &Service) -> String {
    use crate::ipvs::model::svc_flags::{SCHED1, SCHED2, SCHED3};
    let mut out: Vec<String> = Vec::new();
    if svc.persistence.is_some() {
        out.push("persistent".into());
    }
    if svc.one_packet {
        out.push("ops".into());
    }
    if let Some(d) = &svc.detail {
        for (i, bit) in [SCHED1, SCHED2, SCHED3].into_iter().enumerate() {
            if d.flags & bit == 0 {
                continue;
            }
            out.push(match (svc.scheduler.as_str(), i) {
                (s @ ("sh" | "mh"), 0) => format!("{s}-fallback"),
                (s @ ("sh" | "mh"), 1) => format!("{s}-port"),
                (_, i) => format!("flag-{}", i + 1),
            });
        }
    }
    out.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipvs::{Dest, Forward, Service, ServiceAddr};
    use prometheus_client::collector::Collector;
    use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
    use prometheus_client::metrics::gauge::ConstGauge;
    use prometheus_client::metrics::MetricType;
    use prometheus_client::registry::Registry;

    /// The labels as prometheus_client writes them one by one.
    #[derive(Debug)]
    struct Plain(Vec<(&'static str, String)>);

    impl EncodeLabelSet for Plain {
        fn encode(&self, enc: &mut LabelSetEncoder) -> fmt::Result {
            for (k, v) in &self.0 {
                (*k, v.as_str()).encode(enc.encode_label())?;
            }
            Ok(())
        }
    }

    /// One gauge per service and per backend: with heads (`heads`) or label by label.
    #[derive(Debug)]
    struct Page {
        services: Vec<Service>,
        heads: bool,
    }

    impl Collector for Page {
        fn encode(&self, mut enc: DescriptorEncoder) -> fmt::Result {
            let mut m = enc.encode_descriptor("x", "x", None, MetricType::Gauge)?;
            for svc in &self.services {
                let labels = ServiceLabels::of(svc);
                let texts = BackendTexts::render(svc.dests.iter());
                let plain = |l: &ServiceLabels| {
                    vec![
                        ("proto", l.proto.to_string()),
                        ("local_address", l.addr.clone()),
                        ("local_port", l.port.clone()),
                        ("local_mark", l.mark.clone()),
                    ]
                };
                if self.heads {
                    ConstGauge::new(1).encode(m.encode_family(&labels)?)?;
                } else {
                    ConstGauge::new(1).encode(m.encode_family(&Plain(plain(&labels)))?)?;
                }
                for (i, d) in svc.dests.iter().enumerate() {
                    let b = texts.labels(&labels, i);
                    if self.heads {
                        let info = With {
                            base: &b,
                            extra: [("forward", "masq")],
                        };
                        ConstGauge::new(2).encode(m.encode_family(&info)?)?;
                    } else {
                        let mut v = plain(&labels);
                        v.push(("remote_address", d.addr.to_string()));
                        v.push(("remote_port", d.port.to_string()));
                        v.push(("forward", "masq".into()));
                        ConstGauge::new(2).encode(m.encode_family(&Plain(v))?)?;
                    }
                }
            }
            Ok(())
        }
    }

    fn service(addr: ServiceAddr, dests: &[(&str, u16)]) -> Service {
        Service {
            addr,
            scheduler: "rr".into(),
            one_packet: false,
            persistence: None,
            dests: dests
                .iter()
                .map(|(a, p)| Dest {
                    addr: a.parse().unwrap(),
                    port: *p,
                    forward: Forward::Masq,
                    weight: 1,
                    active_conns: 0,
                    inactive_conns: 0,
                    detail: None,
                })
                .collect(),
            detail: None,
        }
    }

    #[test]
    fn heads_write_the_same_bytes_as_labels_one_by_one() {
        let services = vec![
            service(
                ServiceAddr::Inet {
                    protocol: crate::model::Protocol::TCP,
                    addr: "10.0.0.100".parse().unwrap(),
                    port: 80,
                },
                &[("10.1.0.11", 80), ("10.1.0.12", 8080)],
            ),
            service(
                ServiceAddr::Inet {
                    protocol: crate::model::Protocol::UDP,
                    addr: "2001:db8::100".parse().unwrap(),
                    port: 53,
                },
                &[("2001:db8::11", 53)],
            ),
            service(ServiceAddr::Fwmark(42), &[("10.1.0.13", 0)]),
        ];
        for openmetrics in [false, true] {
            let page = |heads| {
                let mut r = Registry::default();
                r.register_collector(Box::new(Page {
                    services: services.clone(),
                    heads,
                }));
                let mut out = String::new();
                if openmetrics {
                    prometheus_client::encoding::text::encode(&mut out, &r).unwrap();
                } else {
                    prometheus_client::encoding::text::encode_registry(&mut out, &r).unwrap();
                }
                out
            };
            let (heads, plain) = (page(true), page(false));
            assert_eq!(heads, plain);
            assert!(heads.contains(
                r#"x{proto="TCP",local_address="10.0.0.100",local_port="80",local_mark="",remote_address="10.1.0.12",remote_port="8080",forward="masq"} 2"#
            ), "{heads}");
        }
    }

    #[test]
    fn a_head_escapes_what_the_formats_escape() {
        let mut out = String::new();
        push_pair(&mut out, "a", "q\"b\\c\nd");
        assert_eq!(out, r#"a="q\"b\\c\nd","#);
    }
}

//! Label sets for IPVS series. Names match node_exporter's (`proto`, `local_address`,
//! `local_port`, `local_mark`, `remote_address`, `remote_port`) so existing PromQL carries
//! over; `local_mark` is decimal (node_exporter printed it in hex).

use crate::ipvs::{Dest, Service, ServiceAddr};
use prometheus_client::encoding::{EncodeLabel, EncodeLabelSet, EncodeLabelValue, LabelSetEncoder};
use std::borrow::Cow;
use std::fmt::{self, Write};
use std::net::IpAddr;

/// An address as a label value: canonical text (IPv6 compressed, no brackets), or empty.
struct Ip(Option<IpAddr>);

impl EncodeLabelValue for Ip {
    fn encode(&self, enc: &mut prometheus_client::encoding::LabelValueEncoder) -> fmt::Result {
        match self.0 {
            Some(a) => write!(enc, "{a}"),
            None => Ok(()),
        }
    }
}

/// The labels that identify a virtual service.
pub struct ServiceLabels {
    proto: Cow<'static, str>,
    addr: Option<IpAddr>,
    port: u16,
    mark: Option<u32>,
}

impl ServiceLabels {
    pub fn of(svc: &Service) -> ServiceLabels {
        match svc.addr {
            ServiceAddr::Inet {
                protocol,
                addr,
                port,
            } => ServiceLabels {
                proto: protocol.name(),
                addr: Some(addr),
                port,
                mark: None,
            },
            ServiceAddr::Fwmark(mark) => ServiceLabels {
                proto: "FWM".into(),
                addr: None,
                port: 0,
                mark: Some(mark),
            },
        }
    }
}

impl EncodeLabelSet for ServiceLabels {
    fn encode(&self, enc: &mut LabelSetEncoder) -> fmt::Result {
        ("proto", self.proto.as_ref()).encode(enc.encode_label())?;
        ("local_address", Ip(self.addr)).encode(enc.encode_label())?;
        ("local_port", self.port).encode(enc.encode_label())?;
        ("local_mark", self.mark).encode(enc.encode_label())
    }
}

/// Service labels plus `remote_address` and `remote_port`.
pub struct BackendLabels<'a> {
    pub service: &'a ServiceLabels,
    pub dest: &'a Dest,
}

impl EncodeLabelSet for BackendLabels<'_> {
    fn encode(&self, enc: &mut LabelSetEncoder) -> fmt::Result {
        self.service.encode(enc)?;
        ("remote_address", Ip(Some(self.dest.addr))).encode(enc.encode_label())?;
        ("remote_port", self.dest.port).encode(enc.encode_label())
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

//! Label sets for IPVS series. Names match node_exporter's (`proto`, `local_address`,
//! `local_port`, `local_mark`, `remote_address`, `remote_port`) so existing PromQL carries
//! over; `local_mark` is decimal (node_exporter printed it in hex).

use crate::ipvs::{Dest, Service};
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
}

impl ServiceLabels {
    /// The service's identity labels (`model::VirtualServiceId::labels`), rendered once.
    pub fn of(svc: &Service) -> ServiceLabels {
        let l = svc.id().labels();
        ServiceLabels {
            proto: l.proto,
            addr: l.local_address.into_owned(),
            port: l.local_port.into_owned(),
            mark: l.local_mark.into_owned(),
        }
    }
}

impl EncodeLabelSet for ServiceLabels {
    fn encode(&self, enc: &mut LabelSetEncoder) -> fmt::Result {
        ("proto", self.proto.as_ref()).encode(enc.encode_label())?;
        ("local_address", self.addr.as_str()).encode(enc.encode_label())?;
        ("local_port", self.port.as_str()).encode(enc.encode_label())?;
        ("local_mark", self.mark.as_str()).encode(enc.encode_label())
    }
}

/// Every backend's `remote_address` and `remote_port` as text, rendered once per page into
/// one buffer (a few bytes a backend, where a `String` each would cost ~100).
#[derive(Default)]
pub struct BackendTexts {
    buf: String,
    ends: Vec<(u32, u32)>,
}

impl BackendTexts {
    pub fn render<'d>(dests: impl Iterator<Item = &'d Dest>) -> BackendTexts {
        use std::fmt::Write;
        let mut t = BackendTexts::default();
        for d in dests {
            // Writing to a String cannot fail.
            let _ = write!(t.buf, "{}", d.addr);
            let a = t.buf.len() as u32;
            let _ = write!(t.buf, "{}", d.port);
            t.ends.push((a, t.buf.len() as u32));
        }
        t
    }

    /// The labels of the `i`-th backend rendered, under `service`.
    pub fn labels<'a>(&'a self, service: &'a ServiceLabels, i: usize) -> BackendLabels<'a> {
        let start = if i == 0 {
            0
        } else {
            self.ends[i - 1].1 as usize
        };
        let (a, p) = self.ends[i];
        BackendLabels {
            service,
            addr: &self.buf[start..a as usize],
            port: &self.buf[a as usize..p as usize],
        }
    }
}

/// Service labels plus `remote_address` and `remote_port`.
pub struct BackendLabels<'a> {
    service: &'a ServiceLabels,
    addr: &'a str,
    port: &'a str,
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
        ("remote_address", self.addr).encode(enc.encode_label())?;
        ("remote_port", self.port).encode(enc.encode_label())
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

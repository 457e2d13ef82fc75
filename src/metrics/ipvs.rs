//! The IPVS collector: asks the shared [`IpvsReader`] for a snapshot at scrape time and
//! encodes it (`ipvs_*` families, see `ipvs_families`) as the operator's
//! [`IpvsExport`] says.

use super::ipvs_families::encode_snapshot;
use super::ipvs_options::IpvsExport;
use crate::ipvs::IpvsReader;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;
use std::fmt;
use std::sync::Arc;

#[derive(Debug)]
pub struct IpvsCollector(pub Arc<IpvsReader>, pub Arc<IpvsExport>);

impl Collector for IpvsCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> fmt::Result {
        let snap = self.0.read();
        encode_snapshot(&snap, &self.1, &mut enc)
    }
}

//! The IPVS collector: asks the shared [`IpvsReader`] for a snapshot at scrape time and
//! encodes it (`ipvs_*` families, see `ipvs_families`).

use super::ipvs_families::encode_snapshot;
use crate::ipvs::IpvsReader;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;
use std::fmt;
use std::sync::Arc;

#[derive(Debug)]
pub struct IpvsCollector(pub Arc<IpvsReader>);

impl Collector for IpvsCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> fmt::Result {
        let snap = self.0.read();
        encode_snapshot(&snap, &mut enc)
    }
}

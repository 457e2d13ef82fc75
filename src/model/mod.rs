//! The shared model of a director that every reader produces and every consumer borrows.
//!
//! Readers (`ipvs`'s /proc and netlink parsers, `keepalived`'s dump parser, the log
//! classifier) each see a virtual service or a real server spelled their own way; consumers
//! (metrics, checks, the state API) need to know when two of them are the same thing. This
//! module owns that answer so it is made once: [`identity`] holds the small `Copy` keys
//! ([`VirtualServiceId`], [`RealServerId`]), their one canonical text form, their metric
//! label values, and a conversion from each source's spelling.

pub mod identity;
pub mod iptext;

pub use identity::{
    FwmFamily, ParseIdError, Protocol, RealServerId, ServiceLabelValues, VirtualServiceId,
    REAL_SERVER_LABELS, SERVICE_LABELS,
};
pub use iptext::IpText;

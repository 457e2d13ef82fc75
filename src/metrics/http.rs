//! `lvsmon_http_*`: what the HTTP server answered, refused and cut off. The server counts
//! into [`HttpStats`]; this module owns the counters and their encoding. Every label value
//! comes from a small closed set (status codes the server itself writes, fixed reasons),
//! never from what a client sent.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The content codings a page is encoded with, as `encoding` label values.
pub const ENCODINGS: [&str; 3] = ["identity", "gzip", "zstd"];

/// Why a connection was refused or cut before a response was complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Refusal {
    /// `--web.max-connections` connections were already open.
    ConnectionLimit,
    /// The TLS handshake failed (no or a bad client certificate, an old protocol, garbage).
    TlsHandshake,
    /// Plain HTTP sent to a TLS listener.
    PlainHttpOnTls,
    /// No complete request head within `--web.read-timeout` (idle keep-alive, half requests,
    /// handshakes that never finish).
    ReadTimeout,
    /// The response was not taken by the client within `--web.write-timeout`.
    WriteTimeout,
}

impl Refusal {
    const ALL: [Refusal; 5] = [
        Refusal::ConnectionLimit,
        Refusal::TlsHandshake,
        Refusal::PlainHttpOnTls,
        Refusal::ReadTimeout,
        Refusal::WriteTimeout,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Refusal::ConnectionLimit => "connection_limit",
            Refusal::TlsHandshake => "tls_handshake",
            Refusal::PlainHttpOnTls => "plain_http_on_tls",
            Refusal::ReadTimeout => "read_timeout",
            Refusal::WriteTimeout => "write_timeout",
        }
    }
}

/// The server's counters, shared by every connection.
#[derive(Debug, Default)]
pub struct HttpStats {
    /// Responses by status code, including the ones hyper writes itself (400, 414, 431).
    codes: Mutex<BTreeMap<u16, u64>>,
    refused: [AtomicU64; 5],
    open: AtomicI64,
    /// Metrics pages encoded, by content coding ([`ENCODINGS`]); fewer than the 200s on
    /// the telemetry path when concurrent scrapes shared one.
    pages: [AtomicU64; 3],
    /// Web config files that failed to load (the previous one stays in force).
    config_errors: AtomicU64,
}

impl HttpStats {
    pub fn new() -> Arc<HttpStats> {
        Arc::new(HttpStats::default())
    }

    pub fn response(&self, code: u16) {
        let mut m = self.codes.lock().unwrap_or_else(|p| p.into_inner());
        *m.entry(code).or_default() += 1;
    }

    pub fn refused(&self, why: Refusal) {
        self.refused[why as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn opened(&self) {
        self.open.fetch_add(1, Ordering::Relaxed);
    }

    pub fn closed(&self) {
        self.open.fetch_sub(1, Ordering::Relaxed);
    }

    /// A page was encoded with the content coding `ENCODINGS[coding]`.
    pub fn page_encoded(&self, coding: usize) {
        if let Some(n) = self.pages.get(coding) {
            n.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn config_error(&self) {
        self.config_errors.fetch_add(1, Ordering::Relaxed);
    }

    /// Responses answered with `code` so far (tests, reports).
    pub fn responses(&self, code: u16) -> u64 {
        let m = self.codes.lock().unwrap_or_else(|p| p.into_inner());
        m.get(&code).copied().unwrap_or(0)
    }
}

/// Encodes [`HttpStats`].
#[derive(Debug)]
pub struct HttpCollector(pub Arc<HttpStats>);

impl Collector for HttpCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> std::fmt::Result {
        let s = &self.0;
        let codes: Vec<(u16, u64)> = {
            let m = s.codes.lock().unwrap_or_else(|p| p.into_inner());
            m.iter().map(|(c, n)| (*c, *n)).collect()
        };
        let mut m = enc.encode_descriptor(
            "lvsmon_http_requests",
            "HTTP responses by status code, refusals (401, 431, 503) included.",
            None,
            MetricType::Counter,
        )?;
        for (code, n) in codes {
            let code = code.to_string();
            ConstCounter::new(n).encode(m.encode_family(&[("code", code.as_str())])?)?;
        }
        let mut m = enc.encode_descriptor(
            "lvsmon_http_connections_refused",
            "Connections refused or cut before their response was complete, by reason.",
            None,
            MetricType::Counter,
        )?;
        for r in Refusal::ALL {
            let n = s.refused[r as usize].load(Ordering::Relaxed);
            ConstCounter::new(n).encode(m.encode_family(&[("reason", r.label())])?)?;
        }
        let m = enc.encode_descriptor(
            "lvsmon_http_connections_open",
            "HTTP connections open now.",
            None,
            MetricType::Gauge,
        )?;
        ConstGauge::new(s.open.load(Ordering::Relaxed)).encode(m)?;
        let mut m = enc.encode_descriptor(
            "lvsmon_http_pages_encoded",
            "Metrics pages encoded, by content coding; concurrent scrapes share pages.",
            None,
            MetricType::Counter,
        )?;
        for (n, coding) in s.pages.iter().zip(ENCODINGS) {
            ConstCounter::new(n.load(Ordering::Relaxed))
                .encode(m.encode_family(&[("encoding", coding)])?)?;
        }
        let m = enc.encode_descriptor(
            "lvsmon_http_web_config_errors",
            "Web config files (--web.config.file) that failed to load; the last good one stays.",
            None,
            MetricType::Counter,
        )?;
        ConstCounter::new(s.config_errors.load(Ordering::Relaxed)).encode(m)
    }
}

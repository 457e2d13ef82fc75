//! Framing of `journalctl -o json` records (one JSON object per line).
//!
//! journald writes every value as a string, except MESSAGE when it is not valid UTF-8: then it
//! is an array of byte values. A record without MESSAGE is not a log line for us.

use super::frame::{Frame, Time, Transport};
use serde_json::Value;
use std::borrow::Cow;

/// Frames one JSON record, or `None` when the line is not a journal record.
pub fn frame_json(line: &str) -> Option<Frame<'static>> {
    let Value::Object(map) = serde_json::from_str::<Value>(line).ok()? else {
        return None;
    };
    let text = |k: &str| match map.get(k) {
        Some(Value::String(s)) => Some(s.clone()),
        _ => None,
    };
    let message = match map.get("MESSAGE")? {
        Value::String(s) => s.clone(),
        Value::Array(bytes) => {
            let raw: Vec<u8> = bytes
                .iter()
                .map(|b| b.as_u64().and_then(|v| u8::try_from(v).ok()))
                .collect::<Option<_>>()?;
            String::from_utf8_lossy(&raw).into_owned()
        }
        _ => return None,
    };
    let time = text("__REALTIME_TIMESTAMP")
        .and_then(|t| t.parse::<i64>().ok())
        .map(Time::Wall);
    let pid = text("_PID")
        .or_else(|| text("SYSLOG_PID"))
        .and_then(|p| p.parse().ok());
    let ident = text("SYSLOG_IDENTIFIER").or_else(|| {
        // Kernel records always say so in _TRANSPORT, even without an identifier.
        (text("_TRANSPORT").as_deref() == Some("kernel")).then(|| "kernel".to_string())
    });
    Some(Frame {
        time,
        host: text("_HOSTNAME").map(Cow::Owned),
        ident: ident.map(Cow::Owned),
        pid,
        message: Cow::Owned(message),
        transport: Transport::Json,
    })
}

/// The journal cursor of a record (`__CURSOR`), for resuming `journalctl` after a restart.
pub fn cursor(line: &str) -> Option<String> {
    match serde_json::from_str::<Value>(line).ok()? {
        Value::Object(m) => match m.get("__CURSOR") {
            Some(Value::String(s)) => Some(s.clone()),
            _ => None,
        },
        _ => None,
    }
}

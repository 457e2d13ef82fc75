//! `--web.config.file`: the Prometheus exporter-toolkit's web configuration (YAML), parsed
//! and checked as a pure function of its text. Operators already write this format for
//! node_exporter; the same file works here. What rustls cannot do is refused by name
//! (never silently ignored): TLS 1.0/1.1, client certificates that are requested but not
//! verified, `client_allowed_sans`, `curve_preferences`.
//!
//! The password hashes are secrets: [`WebConfig`]'s `Debug` never prints them, and no
//! error message quotes the file's values.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// Why a web config is refused. Messages name keys and files, never values.
#[derive(Debug, thiserror::Error)]
pub enum WebConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Yaml(String),
    #[error("{0}")]
    Invalid(String),
}

/// `client_auth_type`, as Go's crypto/tls names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
pub enum ClientAuth {
    #[default]
    NoClientCert,
    /// A client certificate is verified against `client_ca_file` when one is sent.
    VerifyClientCertIfGiven,
    /// Every client must present a certificate that `client_ca_file` verifies.
    RequireAndVerifyClientCert,
    /// Go asks for a certificate without verifying it; refused here (see the module doc).
    RequestClientCert,
    RequireAnyClientCert,
}

/// A TLS protocol version as the toolkit names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
pub enum TlsVersion {
    TLS10,
    TLS11,
    TLS12,
    TLS13,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    cert_file: Option<PathBuf>,
    key_file: Option<PathBuf>,
    #[serde(default)]
    client_auth_type: ClientAuth,
    client_ca_file: Option<PathBuf>,
    client_allowed_sans: Option<Vec<String>>,
    min_version: Option<TlsVersion>,
    max_version: Option<TlsVersion>,
    cipher_suites: Option<Vec<String>>,
    /// rustls always picks by the server's order; accepted for compatibility.
    prefer_server_cipher_suites: Option<bool>,
    curve_preferences: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    /// lvsmon speaks HTTP/1.1 only; accepted for compatibility.
    http2: Option<bool>,
    headers: Option<BTreeMap<String, String>>,
}

#[derive(Clone, PartialEq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Raw {
    tls_server_config: Option<RawTls>,
    http_server_config: Option<RawHttp>,
    basic_auth_users: Option<BTreeMap<String, String>>,
}

/// TLS settings, with paths made absolute against the config file's directory.
#[derive(Debug, Clone, PartialEq)]
pub struct TlsSettings {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    pub client_auth: ClientAuth,
    pub client_ca_file: Option<PathBuf>,
    pub min_version: TlsVersion,
    pub max_version: TlsVersion,
    /// TLS 1.2 suites allowed, by name (`None`: rustls's defaults). TLS 1.3's are fixed,
    /// as in Go.
    pub cipher_suites: Option<Vec<String>>,
}

/// The response headers the toolkit allows to set.
pub const ALLOWED_HEADERS: [&str; 5] = [
    "Strict-Transport-Security",
    "X-Frame-Options",
    "X-Content-Type-Options",
    "X-XSS-Protection",
    "Content-Security-Policy",
];

/// A checked web config.
#[derive(Clone, PartialEq, Default)]
pub struct WebConfig {
    pub tls: Option<TlsSettings>,
    /// Extra response headers (names from [`ALLOWED_HEADERS`]).
    pub headers: Vec<(String, String)>,
    /// User name → bcrypt hash. Secret.
    pub users: BTreeMap<String, String>,
}

impl fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebConfig")
            .field("tls", &self.tls)
            .field("headers", &self.headers)
            .field("users", &self.users.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Whatever looks like a bcrypt hash (`$2…` up to a space or a quote), replaced by `…`: a
/// last guard on every message about the file, whatever quoted it and however (serde's
/// backticks are not escaped, a typo can put a hash into a name).
fn without_hashes(msg: &str) -> String {
    let mut out = String::with_capacity(msg.len());
    let mut rest = msg;
    while let Some(i) = rest.find("$2") {
        out.push_str(&rest[..i]);
        out.push('…');
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| c.is_whitespace() || c == '"' || c == '`' || c == '\'')
            .unwrap_or(tail.len());
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// Drops quoted pieces from a YAML error: they can be the file's values (hashes).
fn without_values(msg: &str) -> String {
    let mut out = String::with_capacity(msg.len());
    let mut quote: Option<char> = None;
    // A value's own quotes come escaped (`"a\"b"`): the escaped one does not end it.
    let mut escaped = false;
    for c in msg.chars() {
        if std::mem::take(&mut escaped) {
            continue;
        }
        match quote {
            Some(_) if c == '\\' => escaped = true,
            Some(q) if c == q => {
                quote = None;
                out.push('…');
                out.push(c);
            }
            Some(_) => {}
            None if c == '"' || c == '`' => {
                quote = Some(c);
                out.push(c);
            }
            None => out.push(c),
        }
    }
    out
}

impl WebConfig {
    /// Reads and checks the file at `path`; relative paths in it are taken from its
    /// directory.
    pub fn load(path: &Path) -> Result<WebConfig, WebConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| WebConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        WebConfig::parse(&text, base)
            .map_err(|e| WebConfigError::Invalid(format!("{}: {e}", path.display())))
    }

    /// Parses and checks a web config's text; `base` resolves its relative paths.
    pub fn parse(text: &str, base: &Path) -> Result<WebConfig, WebConfigError> {
        WebConfig::parse_unredacted(text, base).map_err(|e| match e {
            WebConfigError::Yaml(m) => WebConfigError::Yaml(without_hashes(&m)),
            WebConfigError::Invalid(m) => WebConfigError::Invalid(without_hashes(&m)),
            read => read,
        })
    }

    fn parse_unredacted(text: &str, base: &Path) -> Result<WebConfig, WebConfigError> {
        // An empty file is a valid config that changes nothing (as in the toolkit).
        let raw: Raw = if text.trim().is_empty() {
            Raw::default()
        } else {
            serde_yaml_ng::from_str(text)
                .map_err(|e| WebConfigError::Yaml(without_values(&e.to_string())))?
        };
        let invalid = |m: &str| Err(WebConfigError::Invalid(m.to_string()));
        let tls = match raw.tls_server_config {
            None => None,
            Some(t) => Some(tls_settings(t, base)?),
        };
        let mut headers = Vec::new();
        for (k, v) in raw
            .http_server_config
            .and_then(|h| h.headers)
            .unwrap_or_default()
        {
            let Some(name) = ALLOWED_HEADERS.iter().find(|a| a.eq_ignore_ascii_case(&k)) else {
                return invalid(&format!(
                    "http_server_config.headers: {k:?} cannot be set (allowed: {})",
                    ALLOWED_HEADERS.join(", ")
                ));
            };
            if hyper::header::HeaderValue::from_str(&v).is_err() {
                return invalid(&format!(
                    "http_server_config.headers: {k:?} has a bad value"
                ));
            }
            headers.push((name.to_string(), v));
        }
        let users = raw.basic_auth_users.unwrap_or_default();
        for (user, hash) in &users {
            if user.contains(':') || user.is_empty() {
                return invalid("basic_auth_users: a user name is empty or contains ':'");
            }
            if !hash.starts_with("$2") || hash.parse::<bcrypt::HashParts>().is_err() {
                // A typo (`alice; $2y$…`) can put the hash into the name: a name is shown
                // only when it is plainly one.
                let plain = user.len() <= 64
                    && user
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_.-@".contains(c));
                let who = if plain {
                    format!("{user:?}")
                } else {
                    "a user whose name is not shown (it may hold a hash)".to_string()
                };
                return invalid(&format!(
                    "basic_auth_users: the hash of {who} is not a bcrypt hash"
                ));
            }
        }
        Ok(WebConfig {
            tls,
            headers,
            users,
        })
    }
}

fn tls_settings(t: RawTls, base: &Path) -> Result<TlsSettings, WebConfigError> {
    let invalid = |m: String| Err(WebConfigError::Invalid(format!("tls_server_config: {m}")));
    let abs = |p: PathBuf| if p.is_absolute() { p } else { base.join(p) };
    let (Some(cert), Some(key)) = (t.cert_file, t.key_file) else {
        return invalid("cert_file and key_file are both required".into());
    };
    match t.client_auth_type {
        ClientAuth::RequestClientCert | ClientAuth::RequireAnyClientCert => {
            return invalid(format!(
                "client_auth_type {:?} accepts certificates without verifying them: use \
                 VerifyClientCertIfGiven or RequireAndVerifyClientCert with client_ca_file",
                t.client_auth_type
            ))
        }
        ClientAuth::VerifyClientCertIfGiven | ClientAuth::RequireAndVerifyClientCert
            if t.client_ca_file.is_none() =>
        {
            return invalid(format!(
                "client_auth_type {:?} needs client_ca_file",
                t.client_auth_type
            ))
        }
        ClientAuth::NoClientCert if t.client_ca_file.is_some() => {
            return invalid(
                "client_ca_file is set but client_auth_type is NoClientCert: set \
                 RequireAndVerifyClientCert (or VerifyClientCertIfGiven)"
                    .into(),
            )
        }
        _ => {}
    }
    if t.client_allowed_sans.is_some() {
        return invalid("client_allowed_sans is not supported by lvsmon".into());
    }
    if t.curve_preferences.is_some() {
        return invalid("curve_preferences is not supported by lvsmon".into());
    }
    let _ = t.prefer_server_cipher_suites;
    let min = t.min_version.unwrap_or(TlsVersion::TLS12);
    let max = t.max_version.unwrap_or(TlsVersion::TLS13);
    if min < TlsVersion::TLS12 || max < TlsVersion::TLS12 {
        return invalid("TLS 1.0 and 1.1 are not supported: min_version TLS12 or TLS13".into());
    }
    if min > max {
        return invalid("min_version is above max_version".into());
    }
    Ok(TlsSettings {
        cert_file: abs(cert),
        key_file: abs(key),
        client_auth: t.client_auth_type,
        client_ca_file: t.client_ca_file.map(abs),
        min_version: min,
        max_version: max,
        cipher_suites: t.cipher_suites,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quote_inside_a_value_does_not_end_what_is_hidden() {
        // The fuzzer's find (web_input): a value holding `"` and then a bcrypt hash.
        let text = "gzip,\"zstd=0 q5; $2y$10 X010 X0hd;tttttb d;ttd;td.z-0.=0";
        let e = WebConfig::parse(text, Path::new("/etc/lvsmon")).unwrap_err();
        assert!(!e.to_string().contains("$2y"), "{e}");
        // A key holding a backtick and a hash (the fuzzer's third find).
        let e =
            WebConfig::parse("K`$2y0h1gDsWszPURQaxFh.zou\u{fffd}:(:", Path::new("/")).unwrap_err();
        assert!(!e.to_string().contains("$2y"), "{e}");
        // A typo that puts the hash into the user's name (the fuzzer's second find).
        let typo =
            "basic_auth_users:\n  prometheus; $2y0h1gDsPszWURQaxFh.zoubFi6Frame-Options: deny\n";
        let e = WebConfig::parse(typo, Path::new("/etc/lvsmon")).unwrap_err();
        assert!(!e.to_string().contains("$2y"), "{e}");
        assert_eq!(
            without_values(r#"invalid type: string "a\"b $2y$10 c", expected x"#),
            "invalid type: string \"…\", expected x"
        );
    }

    const HASH: &str = "$2y$10$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7zG";

    fn parse(t: &str) -> Result<WebConfig, WebConfigError> {
        WebConfig::parse(t, Path::new("/etc/lvsmon"))
    }

    #[test]
    fn the_toolkit_example_parses() {
        let c = parse(&format!(
            "tls_server_config:\n  cert_file: server.crt\n  key_file: /k/server.key\n  \
             client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n  \
             min_version: TLS13\n  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]\n\
             http_server_config:\n  http2: false\n  headers:\n    X-Frame-Options: deny\n\
             basic_auth_users:\n  prometheus: {HASH}\n"
        ))
        .unwrap();
        let t = c.tls.as_ref().unwrap();
        assert_eq!(t.cert_file, Path::new("/etc/lvsmon/server.crt"));
        assert_eq!(t.key_file, Path::new("/k/server.key"));
        assert_eq!(
            t.client_ca_file.as_deref(),
            Some(Path::new("/etc/lvsmon/ca.crt"))
        );
        assert_eq!(t.min_version, TlsVersion::TLS13);
        assert_eq!(c.headers, vec![("X-Frame-Options".into(), "deny".into())]);
        assert_eq!(c.users["prometheus"], HASH);
        // The hash never shows in Debug output.
        assert!(!format!("{c:?}").contains("$2y$"));
        assert_eq!(parse("").unwrap(), WebConfig::default());
    }

    #[test]
    fn what_cannot_be_honoured_is_refused_by_name() {
        for (bad, says) in [
            ("tls_server_config:\n  cert_file: a\n", "cert_file and key_file"),
            (
                "tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: RequireAnyClientCert\n",
                "without verifying",
            ),
            (
                "tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: RequireAndVerifyClientCert\n",
                "needs client_ca_file",
            ),
            ("tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS10\n", "TLS 1.0"),
            ("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_allowed_sans: [x]\n", "client_allowed_sans"),
            ("http_server_config:\n  headers:\n    Set-Cookie: x\n", "cannot be set"),
            ("basic_auth_users:\n  u: plaintext\n", "not a bcrypt hash"),
            ("basic_auth_user:\n  u: x\n", "unknown field"),
        ] {
            let e = parse(bad).unwrap_err().to_string();
            assert!(e.contains(says), "{bad:?}: {e}");
        }
    }

    #[test]
    fn errors_never_quote_the_values() {
        let e = parse(&format!("basic_auth_users: [{HASH}]\n"))
            .unwrap_err()
            .to_string();
        assert!(!e.contains("$2y$10$"), "{e}");
        let e = parse(&format!("basic_auth_users:\n  u: {{a: {HASH}}}\n"))
            .unwrap_err()
            .to_string();
        assert!(!e.contains("X0h1gDs"), "{e}");
    }
}

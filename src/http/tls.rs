//! The TLS side of `--web.config.file`: a rustls server configuration built from
//! [`TlsSettings`] (certificate and key, client verification against `client_ca_file`,
//! protocol versions, TLS 1.2 cipher suites by their Go/IANA names).

use super::webconfig::{ClientAuth, TlsSettings, TlsVersion, WebConfigError};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig, SupportedProtocolVersion};
use std::path::Path;
use std::sync::Arc;

fn invalid(m: String) -> WebConfigError {
    WebConfigError::Invalid(format!("tls_server_config: {m}"))
}

fn certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, WebConfigError> {
    let bad = |e: rustls::pki_types::pem::Error| invalid(format!("{}: {e}", path.display()));
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(bad)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(bad)?;
    if certs.is_empty() {
        return Err(invalid(format!("{}: no certificate in it", path.display())));
    }
    Ok(certs)
}

/// Go's names for the ChaCha suites omit the hash; rustls's (IANA's) carry it.
fn same_suite(go: &str, iana: &str) -> bool {
    go == iana || format!("{go}_SHA256") == iana
}

/// The crypto provider: ring, with the TLS 1.2 suites limited to `names` when given.
fn provider(names: Option<&[String]>) -> Result<CryptoProvider, WebConfigError> {
    let mut p = rustls::crypto::ring::default_provider();
    if let Some(names) = names {
        for n in names {
            let known = p
                .cipher_suites
                .iter()
                .any(|s| s.suite().as_str().is_some_and(|i| same_suite(n, i)));
            if !known {
                return Err(invalid(format!("cipher suite {n:?} is not supported")));
            }
        }
        p.cipher_suites.retain(|s| {
            s.tls13().is_some()
                || s.suite()
                    .as_str()
                    .is_some_and(|i| names.iter().any(|n| same_suite(n, i)))
        });
    }
    Ok(p)
}

/// The rustls configuration for `t`, reading its certificate, key and CA files now.
pub fn server_config(t: &TlsSettings) -> Result<Arc<ServerConfig>, WebConfigError> {
    let provider = Arc::new(provider(t.cipher_suites.as_deref())?);
    let versions: Vec<&'static SupportedProtocolVersion> = [
        (TlsVersion::TLS12, &rustls::version::TLS12),
        (TlsVersion::TLS13, &rustls::version::TLS13),
    ]
    .into_iter()
    .filter(|(v, _)| (t.min_version..=t.max_version).contains(v))
    .map(|(_, p)| p)
    .collect();
    let verifier = match (t.client_auth, &t.client_ca_file) {
        (ClientAuth::NoClientCert, _) | (_, None) => WebPkiClientVerifier::no_client_auth(),
        (auth, Some(ca)) => {
            let mut roots = RootCertStore::empty();
            for c in certs(ca)? {
                roots
                    .add(c)
                    .map_err(|e| invalid(format!("{}: {e}", ca.display())))?;
            }
            let b = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
            let b = if auth == ClientAuth::VerifyClientCertIfGiven {
                b.allow_unauthenticated()
            } else {
                b
            };
            b.build()
                .map_err(|e| invalid(format!("client_ca_file: {e}")))?
        }
    };
    let key = PrivateKeyDer::from_pem_file(&t.key_file)
        .map_err(|e| invalid(format!("{}: {e}", t.key_file.display())))?;
    let mut cfg = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions)
        .map_err(|e| invalid(e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs(&t.cert_file)?, key)
        .map_err(|e| invalid(format!("{}: {e}", t.cert_file.display())))?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cipher_suites_limit_tls12_only_and_unknown_names_are_refused() {
        let all = provider(None).unwrap().cipher_suites.len();
        let names = vec![
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256".to_string(),
            // Go's name for the ChaCha suite, without the hash.
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305".to_string(),
        ];
        let p = provider(Some(&names)).unwrap();
        let tls13 = p
            .cipher_suites
            .iter()
            .filter(|s| s.tls13().is_some())
            .count();
        assert!(tls13 >= 2, "TLS 1.3 suites are kept");
        assert_eq!(p.cipher_suites.len(), tls13 + 2);
        assert!(p.cipher_suites.len() < all);
        let e = provider(Some(&["TLS_RSA_WITH_RC4_128_SHA".to_string()]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("TLS_RSA_WITH_RC4_128_SHA"), "{e}");
    }

    #[test]
    fn missing_or_empty_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "").unwrap();
        let t = TlsSettings {
            cert_file: empty.clone(),
            key_file: dir.path().join("missing.key"),
            client_auth: ClientAuth::NoClientCert,
            client_ca_file: None,
            min_version: TlsVersion::TLS12,
            max_version: TlsVersion::TLS13,
            cipher_suites: None,
        };
        let e = server_config(&t).unwrap_err().to_string();
        assert!(e.contains("missing.key"), "{e}");
        let t = TlsSettings {
            client_auth: ClientAuth::RequireAndVerifyClientCert,
            client_ca_file: Some(empty),
            ..t
        };
        let e = server_config(&t).unwrap_err().to_string();
        assert!(
            e.contains("empty.pem") && e.contains("no certificate"),
            "{e}"
        );
    }
}

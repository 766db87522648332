//! The database URL and TLS to the database (rustls).
//!
//! `postgres://USER:PASS@HOST:PORT/DB?sslmode=MODE&sslrootcert=FILE` with libpq's modes:
//! `disable` (plain), `prefer` (the default: TLS if the server offers it, certificate not
//! checked), `require` (TLS, certificate not checked unless `sslrootcert` names roots, then as
//! `verify-ca`), `verify-ca` (chain checked against the roots), `verify-full` (chain and host
//! name). Roots: `sslrootcert=FILE` (PEM), `sslrootcert=system` (the system's store), else
//! `~/.postgresql/root.crt` like libpq. Every other parameter is tokio-postgres'.

use std::str::FromStr;
use std::sync::Arc;

use tokio_postgres::config::SslMode;
use tokio_rustls::rustls::client::WebPkiServerVerifier;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::crypto::{
    CryptoProvider, verify_tls12_signature, verify_tls13_signature,
};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, Error as TlsError, RootCertStore,
    SignatureScheme,
};

use crate::MetaError;

/// What to connect to and how.
pub(crate) struct Target {
    pub config: tokio_postgres::Config,
    /// `None`: no TLS (`sslmode=disable`).
    pub tls: Option<ClientConfig>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

fn bad(what: impl std::fmt::Display) -> MetaError {
    MetaError::Storage(format!("invalid metadata database URL: {what}"))
}

fn percent_decode(s: &str) -> Result<String, MetaError> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| bad("bad percent escape"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| bad("parameter is not UTF-8"))
}

/// Parses the URL; the TLS parameters are ours, the rest tokio-postgres'.
pub(crate) fn parse(url: &str) -> Result<Target, MetaError> {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut mode = Mode::Prefer;
    let mut rootcert: Option<String> = None;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "sslmode" => {
                mode = match v {
                    "disable" => Mode::Disable,
                    "allow" | "prefer" => Mode::Prefer,
                    "require" => Mode::Require,
                    "verify-ca" => Mode::VerifyCa,
                    "verify-full" => Mode::VerifyFull,
                    _ => return Err(bad(format_args!("unknown sslmode {v:?}"))),
                }
            }
            "sslrootcert" => rootcert = Some(percent_decode(v)?),
            _ => kept.push(pair),
        }
    }
    let rest = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    let mut config = tokio_postgres::Config::from_str(&rest).map_err(bad)?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(std::time::Duration::from_secs(10));
    }
    if config.get_application_name().is_none() {
        config.application_name("rustfs");
    }
    let roots = match rootcert.as_deref() {
        Some("system") => Some(system_roots()?),
        Some(path) => Some(pem_roots(std::path::Path::new(path))?),
        None => match std::env::var_os("HOME") {
            Some(home) => {
                let default = std::path::Path::new(&home).join(".postgresql/root.crt");
                if matches!(mode, Mode::VerifyCa | Mode::VerifyFull) && default.exists() {
                    Some(pem_roots(&default)?)
                } else {
                    None
                }
            }
            None => None,
        },
    };
    let mode = match (mode, &roots) {
        (Mode::Require, Some(_)) => Mode::VerifyCa,
        (m, _) => m,
    };
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let builder = || {
        ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| MetaError::Storage(format!("TLS setup: {e}")))
    };
    let tls = match mode {
        Mode::Disable => {
            config.ssl_mode(SslMode::Disable);
            None
        }
        Mode::Prefer | Mode::Require => {
            config.ssl_mode(if mode == Mode::Prefer {
                SslMode::Prefer
            } else {
                SslMode::Require
            });
            Some(
                builder()?
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(Unchecked(provider.clone())))
                    .with_no_client_auth(),
            )
        }
        Mode::VerifyCa | Mode::VerifyFull => {
            config.ssl_mode(SslMode::Require);
            let roots = roots.ok_or_else(|| {
                bad("sslmode=verify-ca/verify-full needs sslrootcert=FILE or sslrootcert=system")
            })?;
            let webpki =
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                    .build()
                    .map_err(|e| MetaError::Storage(format!("TLS setup: {e}")))?;
            let verifier: Arc<dyn ServerCertVerifier> = if mode == Mode::VerifyCa {
                Arc::new(ChainOnly(webpki))
            } else {
                webpki
            };
            Some(
                builder()?
                    .dangerous()
                    .with_custom_certificate_verifier(verifier)
                    .with_no_client_auth(),
            )
        }
    };
    Ok(Target { config, tls })
}

fn pem_roots(path: &std::path::Path) -> Result<RootCertStore, MetaError> {
    let mut roots = RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| bad(format_args!("sslrootcert {}: {e}", path.display())))?;
    for c in certs {
        let c = c.map_err(|e| bad(format_args!("sslrootcert {}: {e}", path.display())))?;
        roots
            .add(c)
            .map_err(|e| bad(format_args!("sslrootcert {}: {e}", path.display())))?;
    }
    if roots.is_empty() {
        return Err(bad(format_args!(
            "sslrootcert {} holds no certificate",
            path.display()
        )));
    }
    Ok(roots)
}

fn system_roots() -> Result<RootCertStore, MetaError> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        return Err(bad("sslrootcert=system: no system root certificate found"));
    }
    Ok(roots)
}

/// `prefer`/`require` without roots: the link is encrypted, the certificate not checked
/// (libpq's behaviour); the handshake signatures still are.
#[derive(Debug)]
struct Unchecked(Arc<CryptoProvider>);

impl ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, TlsError> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the chain must lead to a trusted root; the host name is not compared.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, TlsError> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(TlsError::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_parameters_are_ours_and_the_rest_is_passed_on() {
        let t =
            parse("postgres://u:p@127.0.0.1:5432/db?sslmode=disable&application_name=x").unwrap();
        assert!(t.tls.is_none());
        assert_eq!(t.config.get_dbname(), Some("db"));
        assert_eq!(t.config.get_application_name(), Some("x"));
        assert_eq!(t.config.get_ssl_mode(), SslMode::Disable);

        let t = parse("postgres://u:p@h/db?sslmode=require").unwrap();
        assert!(t.tls.is_some());
        assert_eq!(t.config.get_ssl_mode(), SslMode::Require);
        let t = parse("postgres://u:p@h/db").unwrap();
        assert_eq!(t.config.get_ssl_mode(), SslMode::Prefer);

        assert!(parse("postgres://u:p@h/db?sslmode=bogus").is_err());
        assert!(parse("postgres://u:p@h/db?sslmode=verify-full&sslrootcert=/nonexistent").is_err());
    }
}

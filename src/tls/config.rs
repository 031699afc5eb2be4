//! Building rustls configs with an explicit crypto provider.

use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use std::path::{Path, PathBuf};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore, ServerConfig};

use super::TlsError;
use super::pem::{load_certificates, load_private_key};

/// The ALPN protocol both configs offer: a WebSocket opening handshake is
/// HTTP/1.1 (RFC 6455 section 4.1), and a browser that offers `h2` too must
/// not be answered with HTTP/2 by a server that cannot speak it.
const HTTP_1_1: &[u8] = b"http/1.1";

/// The crypto provider every config of this module is built with: rustls's
/// `ring` provider, passed explicitly (`builder_with_provider`), so that no
/// process-level default provider is needed or touched.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Where a client's trusted root certificates come from.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub enum Roots {
    /// Mozilla's root program, compiled in (the `webpki-roots` crate): the
    /// same everywhere, no file system access.
    #[default]
    WebPki,
    /// The operating system's store (`rustls-native-certs`: the system's CA
    /// bundle on Linux, honouring `SSL_CERT_FILE` / `SSL_CERT_DIR`). Loading
    /// fails with [`TlsError::NoTrustedRoots`] if it yields no certificate.
    Platform,
    /// Only the certificates of this PEM file: a private CA.
    PemFile(PathBuf),
    /// Only these certificates (DER).
    Certificates(Vec<CertificateDer<'static>>),
}

impl Roots {
    fn store(&self) -> Result<RootCertStore, TlsError> {
        let mut store = RootCertStore::empty();
        match self {
            Self::WebPki => store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
            Self::Platform => {
                // Unreadable entries are skipped (as browsers do); an empty
                // result is an error below.
                let found = rustls_native_certs::load_native_certs();
                store.add_parsable_certificates(found.certs);
            }
            Self::PemFile(path) => add_all(&mut store, load_certificates(path)?)?,
            Self::Certificates(certs) => add_all(&mut store, certs.clone())?,
        }
        if store.is_empty() {
            return Err(TlsError::NoTrustedRoots);
        }
        Ok(store)
    }
}

fn add_all(store: &mut RootCertStore, certs: Vec<CertificateDer<'static>>) -> Result<(), TlsError> {
    for cert in certs {
        store.add(cert).map_err(TlsError::Config)?;
    }
    Ok(())
}

/// A client config trusting `roots`, with server name verification on,
/// TLS 1.2 and 1.3, ALPN `http/1.1`, and the [`provider`].
///
/// # Errors
///
/// [`TlsError::NoTrustedRoots`], a PEM error for [`Roots::PemFile`], or
/// [`TlsError::Config`] for a certificate rustls refuses as a root.
pub fn client_config(roots: &Roots) -> Result<Arc<ClientConfig>, TlsError> {
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Config)?
        .with_root_certificates(roots.store()?)
        .with_no_client_auth();
    config.alpn_protocols = vec![HTTP_1_1.to_vec()];
    Ok(Arc::new(config))
}

/// `client_config(&Roots::WebPki)`, built once: the config of both
/// adapters' `wss://` connects when none is given (parsing Mozilla's roots
/// for every connection would be wasted work).
pub(crate) fn default_client_config() -> Result<Arc<ClientConfig>, TlsError> {
    static DEFAULT: std::sync::OnceLock<Arc<ClientConfig>> = std::sync::OnceLock::new();
    if let Some(config) = DEFAULT.get() {
        return Ok(config.clone());
    }
    let config = client_config(&Roots::WebPki)?;
    Ok(DEFAULT.get_or_init(|| config).clone())
}

/// A server config presenting `chain` (leaf first) with `key`, no client
/// authentication, TLS 1.2 and 1.3, ALPN `http/1.1`, and the [`provider`].
///
/// # Errors
///
/// [`TlsError::Config`] when rustls refuses the key or it does not match
/// the certificate.
pub fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Config)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(TlsError::Config)?;
    config.alpn_protocols = vec![HTTP_1_1.to_vec()];
    Ok(Arc::new(config))
}

/// [`server_config`] from a PEM certificate chain file (leaf first, as
/// certificate authorities and `certbot` write `fullchain.pem`) and a PEM
/// private key file (PKCS#8, PKCS#1 or SEC1).
///
/// # Errors
///
/// A PEM error naming the file, or as [`server_config`].
pub fn server_config_from_pem_files(
    cert: &Path,
    key: &Path,
) -> Result<Arc<ServerConfig>, TlsError> {
    server_config(load_certificates(cert)?, load_private_key(key)?)
}

//! What went wrong with TLS, sorted so that a user (and a test) can tell the
//! cases apart without reading rustls's error tree.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use std::path::PathBuf;

use rustls::pki_types::pem;
use rustls::{AlertDescription, CertificateError};

/// A TLS failure: during the TLS handshake, in the records after it, or
/// while building a config.
///
/// The certificate variants mean the same on both sides: the peer's
/// certificate (a server's, or a client's when the server asks for one)
/// failed verification here. When the *peer* refused *ours*, this side sees
/// [`AlertReceived`](Self::AlertReceived) instead.
#[derive(Debug)]
#[non_exhaustive]
pub enum TlsError {
    /// The peer's certificate chain leads to no trusted root: a self-signed
    /// certificate or a private CA this side was not told to trust
    /// (see [`Roots`](super::Roots)).
    UntrustedCertificate(CertificateError),
    /// The peer's certificate is not valid for the name (or IP address)
    /// this side connected to.
    NameMismatch(CertificateError),
    /// The peer's certificate (or one in its chain) has expired.
    CertificateExpired(CertificateError),
    /// The peer's certificate (or one in its chain) is not valid yet.
    CertificateNotYetValid(CertificateError),
    /// Another certificate problem: revoked, bad signature, wrong purpose...
    BadCertificate(CertificateError),
    /// The peer ended the handshake with this alert: it refused our
    /// certificate (`bad_certificate`, `unknown_ca`...), or our protocol
    /// versions or cipher suites (`protocol_version`, `handshake_failure`).
    AlertReceived(AlertDescription),
    /// Server side: the client sent a plain HTTP request (a `ws://` or
    /// `http://` URL) to this TLS port. It was answered with a plain
    /// `400 Bad Request` saying that the port speaks TLS.
    PlainHttpClient,
    /// The peer's first bytes are not TLS: on a client, the server is most
    /// likely a plain `ws://` / `http://` one (it answered, for instance,
    /// `HTTP/1.1 400 Bad Request`). `received` is a printable preview.
    NotTls {
        /// The start of what the peer sent, escaped.
        received: String,
    },
    /// The peer closed the connection during the TLS handshake, without an
    /// alert (a plain server that gave up on our ClientHello, or one that
    /// refused us silently).
    ClosedDuringHandshake,
    /// The URL's host is not a valid DNS name or IP address for SNI and
    /// certificate verification.
    InvalidServerName(String),
    /// The trust store is empty (the platform store had no certificates, or
    /// the given list was empty).
    NoTrustedRoots,
    /// A PEM file could not be read or parsed.
    Pem {
        /// The file.
        path: PathBuf,
        /// What rustls-pki-types reported.
        error: pem::Error,
    },
    /// A PEM file holds no certificate.
    NoCertificates(PathBuf),
    /// A PEM file holds no private key.
    NoPrivateKey(PathBuf),
    /// rustls refused to build a config (a key it cannot use, a key that
    /// does not match the certificate, a bad root certificate...).
    Config(rustls::Error),
    /// Any other TLS failure: a peer that broke the TLS protocol, a
    /// decryption failure, no common cipher suite found here...
    Other(rustls::Error),
}

impl From<rustls::Error> for TlsError {
    /// Sorts a rustls error met on a connection.
    fn from(error: rustls::Error) -> Self {
        match error {
            rustls::Error::InvalidCertificate(cert) => match cert {
                CertificateError::UnknownIssuer => Self::UntrustedCertificate(cert),
                CertificateError::NotValidForName
                | CertificateError::NotValidForNameContext { .. } => Self::NameMismatch(cert),
                CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                    Self::CertificateExpired(cert)
                }
                CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                    Self::CertificateNotYetValid(cert)
                }
                cert => Self::BadCertificate(cert),
            },
            rustls::Error::AlertReceived(alert) => Self::AlertReceived(alert),
            error => Self::Other(error),
        }
    }
}

impl TlsError {
    /// Whether the peer's certificate failed verification here (any of the
    /// certificate variants).
    pub fn is_certificate_error(&self) -> bool {
        matches!(
            self,
            Self::UntrustedCertificate(_)
                | Self::NameMismatch(_)
                | Self::CertificateExpired(_)
                | Self::CertificateNotYetValid(_)
                | Self::BadCertificate(_)
        )
    }
}

/// The names a certificate presented, when rustls says.
fn presented(cert: &CertificateError) -> Option<&Vec<String>> {
    match cert {
        CertificateError::NotValidForNameContext { presented, .. } => Some(presented),
        _ => None,
    }
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UntrustedCertificate(e) => write!(
                f,
                "the peer's certificate is not trusted (its issuer is not a trusted root: \
                 self-signed or a private CA; pass that CA to trust it): {e}"
            ),
            Self::NameMismatch(e) => match presented(e) {
                Some(names) => write!(
                    f,
                    "the peer's certificate is for another name (it names {}): {e}",
                    names.join(", ")
                ),
                None => write!(f, "the peer's certificate is for another name: {e}"),
            },
            Self::CertificateExpired(e) => write!(f, "the peer's certificate has expired: {e}"),
            Self::CertificateNotYetValid(e) => {
                write!(f, "the peer's certificate is not valid yet: {e}")
            }
            Self::BadCertificate(e) => write!(f, "the peer's certificate is invalid: {e}"),
            Self::AlertReceived(alert) => {
                write!(
                    f,
                    "the peer ended the TLS handshake with the alert {alert:?}"
                )
            }
            Self::PlainHttpClient => f.write_str(
                "the client spoke plain HTTP (ws:// or http://) to this TLS port; \
                 it was answered 400",
            ),
            Self::NotTls { received } => write!(
                f,
                "the peer does not speak TLS (a plain ws:// or http:// port?): it sent \"{received}\""
            ),
            Self::ClosedDuringHandshake => f.write_str(
                "the peer closed the connection during the TLS handshake \
                 (a plain ws:// port, or a server that refused us)",
            ),
            Self::InvalidServerName(name) => {
                write!(f, "{name:?} is not a valid server name for TLS")
            }
            Self::NoTrustedRoots => f.write_str("no trusted root certificates were found"),
            Self::Pem { path, error } => write!(f, "{}: {error}", path.display()),
            Self::NoCertificates(path) => {
                write!(f, "{}: no CERTIFICATE in this PEM file", path.display())
            }
            Self::NoPrivateKey(path) => {
                write!(f, "{}: no PRIVATE KEY in this PEM file", path.display())
            }
            Self::Config(e) => write!(f, "cannot build the TLS configuration: {e}"),
            Self::Other(e) => write!(f, "TLS failed: {e}"),
        }
    }
}

impl core::error::Error for TlsError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::UntrustedCertificate(_)
            | Self::NameMismatch(_)
            | Self::CertificateExpired(_)
            | Self::CertificateNotYetValid(_)
            | Self::BadCertificate(_)
            | Self::AlertReceived(_)
            | Self::PlainHttpClient
            | Self::NotTls { .. }
            | Self::ClosedDuringHandshake
            | Self::InvalidServerName(_)
            | Self::NoTrustedRoots
            | Self::NoCertificates(_)
            | Self::NoPrivateKey(_) => None,
            Self::Pem { error, .. } => Some(error),
            Self::Config(e) | Self::Other(e) => Some(e),
        }
    }
}

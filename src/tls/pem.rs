//! Certificates and keys from PEM files.

use alloc::vec::Vec;
use std::path::Path;

use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::TlsError;

/// Every `CERTIFICATE` block of a PEM file, in order (other blocks, such as
/// a key in the same file, are skipped).
///
/// # Errors
///
/// [`TlsError::Pem`] when the file cannot be read or parsed,
/// [`TlsError::NoCertificates`] when it holds none.
pub fn load_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem_error = |error| TlsError::Pem {
        path: path.to_path_buf(),
        error,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(pem_error)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(pem_error)?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificates(path.to_path_buf()));
    }
    Ok(certs)
}

/// The first private key of a PEM file (`PRIVATE KEY`, `RSA PRIVATE KEY` or
/// `EC PRIVATE KEY`).
///
/// # Errors
///
/// [`TlsError::Pem`] when the file cannot be read or parsed,
/// [`TlsError::NoPrivateKey`] when it holds none.
pub fn load_private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(|error| match error {
        pem::Error::NoItemsFound => TlsError::NoPrivateKey(path.to_path_buf()),
        error => TlsError::Pem {
            path: path.to_path_buf(),
            error,
        },
    })
}

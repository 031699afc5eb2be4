//! TLS with rustls (feature `rustls`): the pieces every adapter shares.
//!
//! The engine never sees TLS: a `wss://` connection is the same
//! [`Connection`](crate::Connection) over a stream that rustls encrypts. This
//! module holds what does not depend on how that stream is driven, so the
//! blocking adapter uses it today and an async adapter can tomorrow:
//!
//! - configs: [`client_config`] (trust roots chosen by [`Roots`]: Mozilla's
//!   by default, the platform's store, or your own CA) and
//!   [`server_config_from_pem_files`] / [`server_config`];
//! - PEM loading: [`load_certificates`], [`load_private_key`];
//! - errors: [`TlsError`], which sorts rustls's failures into what a user
//!   can act on (untrusted issuer, wrong name, expired, the peer's alert, a
//!   peer that does not speak TLS at all);
//! - [`sniff`]: telling a TLS record from plain HTTP by its first byte.
//!
//! Every config is built with [`provider`] (rustls's `ring` provider) passed
//! explicitly, never with rustls's process-wide default: nothing here can
//! panic for want of an installed `CryptoProvider`, and an application that
//! installs another one is not affected. A `rustls::ClientConfig` or
//! `ServerConfig` you build yourself (client certificates, ALPN, another
//! provider) is accepted wherever these are; [`rustls`] is re-exported so
//! that yours comes from the same version.
//!
//! ```no_run
//! use wsmachine::tls::{self, Roots};
//!
//! // Trust a private CA only (for instance one made for tests).
//! let client = tls::client_config(&Roots::PemFile("ca.pem".into()))?;
//! // A server from PEM files.
//! let server = tls::server_config_from_pem_files("cert.pem".as_ref(), "key.pem".as_ref())?;
//! # let _ = (client, server);
//! # Ok::<(), wsmachine::tls::TlsError>(())
//! ```

mod config;
mod error;
mod pem;
/// Telling TLS from plain HTTP by the first bytes a peer sends (used by the
/// TLS handshakes of both adapters, and by their plain servers to refuse a
/// ClientHello at once).
pub mod sniff {
    pub use crate::sniff::*;
}

pub(crate) use config::default_client_config;
pub use config::{Roots, client_config, provider, server_config, server_config_from_pem_files};
pub use error::TlsError;
pub use pem::{load_certificates, load_private_key};
/// The rustls this crate is built with, so that a config you build yourself
/// has the same types.
pub use rustls;

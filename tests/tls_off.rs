//! Without the `rustls` feature: `wss://` is refused up front with a clear
//! error that names the feature, before any connection is attempted; `ws://`
//! is unaffected (the rest of the suite). Runs under plain `cargo test`.
#![cfg(all(feature = "std", not(feature = "rustls")))]

use wsmachine::blocking::{self, Error};

#[test]
fn wss_without_the_rustls_feature_is_tls_required() {
    // Port 1 on loopback: nothing is contacted, the scheme decides.
    let error = blocking::connect("wss://127.0.0.1:1/")
        .map(drop)
        .unwrap_err();
    assert!(matches!(error, Error::TlsRequired), "{error:?}");
    assert!(error.to_string().contains("`rustls` feature"), "{error}");
}

#[cfg(feature = "tokio")]
#[tokio::test]
async fn tokio_wss_without_the_rustls_feature_is_tls_required() {
    let error = wsmachine::tokio::connect("wss://127.0.0.1:1/")
        .await
        .map(drop)
        .unwrap_err();
    assert!(matches!(error, Error::TlsRequired), "{error:?}");
}

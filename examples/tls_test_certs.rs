//! Writes a throwaway test PKI as PEM files, for trying `wss://` locally and
//! for `tests/interop/run.sh`: never use these keys for anything real.
//!
//! ```text
//! cargo run --features rustls --example tls_test_certs -- DIR
//! ```
//!
//! Writes `DIR/ca.pem` (a fresh test CA) and `DIR/cert.pem` + `DIR/key.pem`
//! (a server certificate for 127.0.0.1 and localhost signed by it). Then:
//!
//! ```text
//! cargo run --features rustls --example echo_server -- --tls-cert DIR/cert.pem --tls-key DIR/key.pem
//! cargo run --features rustls --example echo_client -- --ca DIR/ca.pem wss://127.0.0.1:8080/echo
//! ```
use std::path::PathBuf;
use std::process::ExitCode;

#[path = "../tests/tls_common/mod.rs"]
mod tls_common;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(dir), None) = (args.next(), args.next()) else {
        eprintln!("usage: tls_test_certs DIR");
        return ExitCode::from(2);
    };
    let dir = PathBuf::from(dir);
    let pki = tls_common::Pki::new();
    let files = [
        ("ca.pem", pki.ca.cert_pem.as_str()),
        ("cert.pem", pki.good.cert_pem.as_str()),
        ("key.pem", pki.good.key_pem.as_str()),
    ];
    let written = std::fs::create_dir_all(&dir).and_then(|()| {
        files
            .iter()
            .try_for_each(|(name, pem)| std::fs::write(dir.join(name), pem))
    });
    match written {
        Ok(()) => {
            println!("wrote ca.pem, cert.pem, key.pem to {}", dir.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("tls_test_certs: {}: {e}", dir.display());
            ExitCode::FAILURE
        }
    }
}

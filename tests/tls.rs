//! wss:// over real sockets on 127.0.0.1 (feature `rustls`): our client and
//! server, every TLS failure asserted by its `TlsError` kind, timeouts, PEM
//! loading, client certificates, and no process-wide crypto provider.
//!
//! Certificates are made in the test (`tls_common`, rcgen): a CA, a server
//! certificate for 127.0.0.1/localhost, an expired one, one for another
//! name, one from an untrusted CA.
#![cfg(feature = "rustls")]

mod tls_common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use rustls::crypto::CryptoProvider;
use rustls::{AlertDescription, ClientConfig, ServerConfig};
use tls_common::{Leaf, Pki};
use wsmachine::blocking::{self, Connector, Error, OwnedMessage, Transport, WebSocket};
use wsmachine::tls::{self, Roots, TlsError};
use wsmachine::{CloseCode, Config, Event, Timeout};

/// Every socket gets this read timeout, so a bug fails a test instead of hanging it.
const TIMEOUT: Duration = Duration::from_secs(10);

fn server_config(leaf: &Leaf) -> Arc<ServerConfig> {
    tls::server_config(leaf.chain(), leaf.private_key()).unwrap()
}

fn trusting(pki: &Pki) -> Arc<ClientConfig> {
    tls::client_config(&Roots::Certificates(vec![pki.ca.cert.clone()])).unwrap()
}

fn connector(pki: &Pki) -> Connector {
    Connector::new().tls_config(trusting(pki))
}

/// A one-connection wss echo server on a fresh port: TLS handshake, then the
/// WebSocket handshake, then echo until closed. Returns the port and the
/// server's outcome: the peer's close code, or the error that ended it.
fn wss_server(config: Arc<ServerConfig>) -> (u16, JoinHandle<Result<Option<CloseCode>, Error>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = thread::spawn(move || {
        let (tcp, _) = listener.accept()?;
        tcp.set_read_timeout(Some(TIMEOUT))?;
        let stream = blocking::tls_accept(tcp, config)?;
        echo(WebSocket::accept(stream)?)
    });
    (port, handle)
}

fn echo<S: Read + Write + Transport>(mut ws: WebSocket<S>) -> Result<Option<CloseCode>, Error> {
    let mut close = None;
    loop {
        match ws.read_with(|event, sender| match event {
            Event::Message(message) => sender.send(message),
            Event::Close(frame) => {
                close = Some(frame.code);
                Ok(())
            }
            _ => Ok(()),
        }) {
            Ok(sent) => sent?,
            Err(Error::Closed) => return Ok(close),
            Err(e) => return Err(e),
        }
    }
}

/// The client's half of a clean close.
fn close<S: Read + Write + Transport>(ws: &mut WebSocket<S>) {
    ws.close(CloseCode::NORMAL, "done").unwrap();
    loop {
        match ws.read() {
            Ok(OwnedMessage::Close(Some((code, _)))) => assert_eq!(code, CloseCode::NORMAL),
            Ok(other) => panic!("unexpected {other:?} while closing"),
            Err(Error::Closed) => return,
            Err(e) => panic!("closing failed: {e}"),
        }
    }
}

fn tls_error(result: Result<impl std::fmt::Debug, Error>) -> TlsError {
    match result {
        Err(Error::Tls(e)) => e,
        other => panic!("expected a TLS error, got {other:?}"),
    }
}

#[test]
fn wss_echo_between_our_client_and_our_server() {
    let pki = Pki::new();
    let (port, server) = wss_server(server_config(&pki.good));
    let mut ws = connector(&pki)
        .connect(&format!("wss://127.0.0.1:{port}/echo"))
        .unwrap();
    assert!(ws.get_ref().is_tls());
    ws.send_text("hello over TLS").unwrap();
    assert_eq!(
        ws.read().unwrap(),
        OwnedMessage::Text("hello over TLS".into())
    );
    // Larger than a TLS record (16 KiB) and than rustls's send buffer.
    let big: Vec<u8> = (0..3 << 20).map(|i| (i * 7 % 251) as u8).collect();
    ws.send_binary(&big).unwrap();
    assert_eq!(ws.read().unwrap(), OwnedMessage::Binary(big));
    ws.send_ping(b"ping").unwrap();
    assert_eq!(ws.read().unwrap(), OwnedMessage::Pong(b"ping".to_vec()));
    close(&mut ws);
    assert_eq!(server.join().unwrap().unwrap(), Some(CloseCode::NORMAL));
}

#[test]
fn wss_by_dns_name_sends_sni_and_checks_the_name() {
    let pki = Pki::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let config = server_config(&pki.good);
    let server = thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(TIMEOUT)).unwrap();
        let stream = blocking::tls_accept(tcp, config).unwrap();
        let sni = match stream.tls() {
            rustls::Connection::Server(server) => server.server_name().map(str::to_owned),
            rustls::Connection::Client(_) => None,
        };
        let alpn = stream.tls().alpn_protocol().map(<[u8]>::to_vec);
        echo(WebSocket::accept(stream).unwrap()).unwrap();
        (sni, alpn)
    });
    let mut ws = connector(&pki)
        .connect(&format!("wss://localhost:{port}/"))
        .unwrap();
    ws.send_text("by name").unwrap();
    assert_eq!(ws.read().unwrap(), OwnedMessage::Text("by name".into()));
    close(&mut ws);
    let (sni, alpn) = server.join().unwrap();
    assert_eq!(sni.as_deref(), Some("localhost"));
    assert_eq!(alpn.as_deref(), Some(&b"http/1.1"[..]));
}

#[test]
fn configs_need_no_process_default_provider() {
    // Nothing in this test binary installs a process-level CryptoProvider:
    // building configs and a whole wss exchange must work without one (the
    // "no process-level CryptoProvider" panic of rustls 0.23 users).
    assert!(CryptoProvider::get_default().is_none());
    let pki = Pki::new();
    let (port, server) = wss_server(server_config(&pki.good));
    let mut ws = connector(&pki)
        .connect(&format!("wss://127.0.0.1:{port}/"))
        .unwrap();
    ws.send_text("x").unwrap();
    assert_eq!(ws.read().unwrap(), OwnedMessage::Text("x".into()));
    close(&mut ws);
    server.join().unwrap().unwrap();
    tls::client_config(&Roots::WebPki).unwrap();
    assert!(CryptoProvider::get_default().is_none());
}

// ---- certificate not trusted (unknown issuer) ----

#[test]
fn untrusted_certificate_from_another_ca() {
    let pki = Pki::new();
    let (port, server) = wss_server(server_config(&pki.untrusted));
    let error = tls_error(connector(&pki).connect(&format!("wss://127.0.0.1:{port}/")));
    assert!(
        matches!(error, TlsError::UntrustedCertificate(_)),
        "{error:?}"
    );
    assert!(error.to_string().contains("not trusted"), "{error}");
    // The server hears why: our client's alert.
    let seen = tls_error(server.join().unwrap());
    assert!(
        matches!(seen, TlsError::AlertReceived(AlertDescription::UnknownCA)),
        "{seen:?}"
    );
}

#[test]
fn untrusted_certificate_with_default_roots() {
    // blocking::connect trusts Mozilla's roots only: a private CA is unknown.
    let pki = Pki::new();
    let (port, server) = wss_server(server_config(&pki.good));
    let error = tls_error(blocking::connect(&format!("wss://127.0.0.1:{port}/")));
    assert!(
        matches!(error, TlsError::UntrustedCertificate(_)),
        "{error:?}"
    );
    assert!(server.join().unwrap().is_err());
}

// ---- name mismatch ----

#[test]
fn name_mismatch() {
    let pki = Pki::new();
    let (port, server) = wss_server(server_config(&pki.other_name));
    let error = tls_error(connector(&pki).connect(&format!("wss://127.0.0.1:{port}/")));
    assert!(matches!(error, TlsError::NameMismatch(_)), "{error:?}");
    assert!(error.to_string().contains("other.example"), "{error}");
    let seen = tls_error(server.join().unwrap());
    assert!(matches!(seen, TlsError::AlertReceived(_)), "{seen:?}");
}

// ---- expired ----

#[test]
fn expired_certificate() {
    let pki = Pki::new();
    let (port, server) = wss_server(server_config(&pki.expired));
    let error = tls_error(connector(&pki).connect(&format!("wss://127.0.0.1:{port}/")));
    assert!(
        matches!(error, TlsError::CertificateExpired(_)),
        "{error:?}"
    );
    let seen = tls_error(server.join().unwrap());
    assert!(
        matches!(
            seen,
            TlsError::AlertReceived(AlertDescription::CertificateExpired)
        ),
        "{seen:?}"
    );
}

// ---- a plain ws:// client on a TLS port ----

#[test]
fn plain_client_on_tls_port_gets_400_and_server_says_plain_http() {
    let pki = Pki::new();
    let (port, server) = wss_server(server_config(&pki.good));
    match blocking::connect(&format!("ws://127.0.0.1:{port}/")) {
        Err(Error::Rejected { status, body }) => {
            assert_eq!(status, 400);
            let body = String::from_utf8(body).unwrap();
            assert!(body.contains("wss://"), "{body}");
        }
        other => panic!("expected a 400, got {other:?}"),
    }
    let seen = tls_error(server.join().unwrap());
    assert!(matches!(seen, TlsError::PlainHttpClient), "{seen:?}");
}

#[test]
fn plain_bytes_that_are_not_http_on_tls_port() {
    let pki = Pki::new();
    let (port, server) = wss_server(server_config(&pki.good));
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.write_all(&[0, 1, 2, 3]).unwrap();
    let seen = tls_error(server.join().unwrap());
    assert!(
        matches!(&seen, TlsError::NotTls { received } if received == "\\x00\\x01\\x02\\x03"),
        "{seen:?}"
    );
}

// ---- a wss:// client on a plain port ----

/// Reads one TLS record (a ClientHello) from `tcp`; returns its first byte.
fn read_record(tcp: &mut TcpStream) -> u8 {
    let mut header = [0u8; 5];
    tcp.read_exact(&mut header).unwrap();
    let mut body = vec![0; usize::from(u16::from_be_bytes([header[3], header[4]]))];
    tcp.read_exact(&mut body).unwrap();
    header[0]
}

#[test]
fn tls_client_on_plain_port_that_answers_http() {
    // A plain HTTP server that answers the bytes it cannot parse with a 400.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = thread::spawn(move || {
        let (mut tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(TIMEOUT)).unwrap();
        read_record(&mut tcp);
        tcp.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            .unwrap();
        // Until the client hangs up, so that it reads the answer whole.
        tcp.read(&mut [0; 64])
    });
    let pki = Pki::new();
    let error = tls_error(connector(&pki).connect(&format!("wss://127.0.0.1:{port}/")));
    match &error {
        TlsError::NotTls { received } => {
            assert!(received.starts_with("HTTP/1.1 400"), "{received}")
        }
        other => panic!("expected NotTls, got {other:?}"),
    }
    assert!(error.to_string().contains("plain ws://"), "{error}");
    server.join().unwrap().unwrap();
}

#[test]
fn tls_client_on_plain_port_that_hangs_up() {
    // A plain server that drops what it cannot parse, without a word.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = thread::spawn(move || {
        let (mut tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(TIMEOUT)).unwrap();
        read_record(&mut tcp)
    });
    let pki = Pki::new();
    let error = tls_error(connector(&pki).connect(&format!("wss://127.0.0.1:{port}/")));
    assert!(
        matches!(error, TlsError::ClosedDuringHandshake),
        "{error:?}"
    );
    assert_eq!(
        server.join().unwrap(),
        22,
        "the client sent a TLS handshake record"
    );
}

// ---- a TLS alert from the peer ----

#[test]
fn alert_from_server_that_refuses_our_protocol_version() {
    let pki = Pki::new();
    // The server speaks TLS 1.2 only, the client TLS 1.3 only.
    let server_config = ServerConfig::builder_with_provider(tls::provider())
        .with_protocol_versions(&[&rustls::version::TLS12])
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(pki.good.chain(), pki.good.private_key())
        .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.ca.cert.clone()).unwrap();
    let client_config = ClientConfig::builder_with_provider(tls::provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let (port, server) = wss_server(Arc::new(server_config));
    let error = tls_error(
        Connector::new()
            .tls_config(Arc::new(client_config))
            .connect(&format!("wss://127.0.0.1:{port}/")),
    );
    assert!(
        matches!(
            error,
            TlsError::AlertReceived(AlertDescription::ProtocolVersion)
        ),
        "{error:?}"
    );
    let seen = tls_error(server.join().unwrap());
    assert!(matches!(seen, TlsError::Other(_)), "{seen:?}");
}

#[test]
fn client_certificates_through_a_custom_config() {
    let pki = Pki::new();
    let client_leaf = pki.ca.client("client.example");
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.ca.cert.clone()).unwrap();
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots.clone()),
        tls::provider(),
    )
    .build()
    .unwrap();
    let server_config = Arc::new(
        ServerConfig::builder_with_provider(tls::provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(pki.good.chain(), pki.good.private_key())
            .unwrap(),
    );
    let with_cert = ClientConfig::builder_with_provider(tls::provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(client_leaf.chain(), client_leaf.private_key())
        .unwrap();
    let (port, server) = wss_server(server_config.clone());
    let mut ws = Connector::new()
        .tls_config(Arc::new(with_cert))
        .connect(&format!("wss://127.0.0.1:{port}/"))
        .unwrap();
    ws.send_text("with a client certificate").unwrap();
    assert_eq!(
        ws.read().unwrap(),
        OwnedMessage::Text("with a client certificate".into())
    );
    close(&mut ws);
    server.join().unwrap().unwrap();

    // Without one, the server refuses: it says so, and the client hears its
    // alert (in TLS 1.3 the client finishes first, so at the WebSocket
    // handshake rather than the TLS one).
    let (port, server) = wss_server(server_config);
    let result = connector(&pki).connect(&format!("wss://127.0.0.1:{port}/"));
    let error = tls_error(result);
    assert!(
        matches!(
            error,
            TlsError::AlertReceived(AlertDescription::CertificateRequired)
        ),
        "{error:?}"
    );
    let seen = tls_error(server.join().unwrap());
    assert!(
        matches!(
            seen,
            TlsError::Other(rustls::Error::NoCertificatesPresented)
        ),
        "{seen:?}"
    );
}

// ---- a stalled handshake ends by the timeout ----

#[test]
fn stalled_tls_handshake_ends_by_the_open_timeout() {
    // A server that accepts TCP and never says a word.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let config = Config::default()
        .with_open_timeout(Duration::from_millis(300))
        .unwrap();
    let started = Instant::now();
    let result = Connector::new()
        .config(config)
        .connect(&format!("wss://127.0.0.1:{port}/"));
    match result {
        Err(Error::Timeout(Timeout::Opening)) => {}
        Err(e) => panic!("expected the open timeout, got {e:?}"),
        Ok(_) => panic!("connected to a silent server"),
    }
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(250) && took < TIMEOUT,
        "took {took:?}"
    );
    drop(listener);
}

#[test]
fn trickled_tls_handshake_ends_by_the_open_timeout() {
    // A server that answers the ClientHello one byte every 100 ms: no single
    // read waits long, so only a deadline over the whole handshake ends it.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = thread::spawn(move || {
        let (mut tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(TIMEOUT)).unwrap();
        read_record(&mut tcp);
        // A handshake record header announcing 16 KiB, then its body, slowly
        // (the trickle is what is tested: 100 bytes at most, 10 s at most).
        let bytes = [0x16, 0x03, 0x03, 0x40, 0x00].into_iter().chain([0; 95]);
        let mut sent = 0;
        for byte in bytes {
            if tcp.write_all(&[byte]).is_err() {
                break;
            }
            sent += 1;
            thread::sleep(Duration::from_millis(100));
        }
        sent
    });
    let config = Config::default()
        .with_open_timeout(Duration::from_millis(400))
        .unwrap();
    let started = Instant::now();
    let result = Connector::new()
        .config(config)
        .connect(&format!("wss://127.0.0.1:{port}/"));
    let took = started.elapsed();
    assert!(
        matches!(result, Err(Error::Timeout(Timeout::Opening))),
        "{result:?}"
    );
    assert!(
        took >= Duration::from_millis(350) && took < Duration::from_secs(2),
        "took {took:?}"
    );
    let sent = server.join().unwrap();
    assert!(sent < 100, "the client waited for all {sent} bytes");
}

#[test]
fn stalled_websocket_handshake_over_tls_ends_by_the_open_timeout() {
    // TLS completes, then the server never answers the HTTP request.
    let pki = Pki::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server_config = server_config(&pki.good);
    let server = thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(TIMEOUT)).unwrap();
        let mut stream = blocking::tls_accept(tcp, server_config).unwrap();
        // Until the client gives up and hangs up.
        let mut sink = Vec::new();
        let _ = stream.read_to_end(&mut sink);
        sink
    });
    let config = Config::default()
        .with_open_timeout(Duration::from_millis(300))
        .unwrap();
    let result = Connector::new()
        .config(config)
        .tls_config(trusting(&pki))
        .connect(&format!("wss://127.0.0.1:{port}/"));
    assert!(
        matches!(result, Err(Error::Timeout(Timeout::Opening))),
        "{result:?}"
    );
    let request = server.join().unwrap();
    assert!(
        request.starts_with(b"GET / HTTP/1.1\r\n"),
        "the server got the request over TLS"
    );
}

#[test]
fn stalled_tls_handshake_times_out_on_the_server() {
    // With tls_accept, the caller's socket timeout ends a silent client.
    let pki = Pki::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let _silent = TcpStream::connect(addr).unwrap();
    let (tcp, _) = listener.accept().unwrap();
    tcp.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    match blocking::tls_accept(tcp, server_config(&pki.good)) {
        Err(e) => assert!(e.is_timeout(), "{e:?}"),
        Ok(_) => panic!("a silent client completed a handshake"),
    }
}

#[test]
fn trickled_tls_handshake_ends_by_the_deadline_on_the_server() {
    // A client sending its ClientHello one byte every 100 ms: tls_accept_within
    // holds one deadline for the whole handshake.
    let pki = Pki::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let client = thread::spawn(move || {
        let mut tcp = TcpStream::connect(addr).unwrap();
        // A handshake record header announcing 512 bytes, then zeros (the
        // trickle is what is tested: 100 bytes at most, 10 s at most).
        let bytes = [0x16, 0x03, 0x01, 0x02, 0x00].into_iter().chain([0; 95]);
        let mut sent = 0;
        for byte in bytes {
            if tcp.write_all(&[byte]).is_err() {
                break;
            }
            sent += 1;
            thread::sleep(Duration::from_millis(100));
        }
        sent
    });
    let (tcp, _) = listener.accept().unwrap();
    let started = Instant::now();
    let result = blocking::tls_accept_within(
        tcp,
        server_config(&pki.good),
        Some(Duration::from_millis(400)),
    );
    let took = started.elapsed();
    assert!(
        matches!(result, Err(Error::Timeout(Timeout::Opening))),
        "{result:?}"
    );
    assert!(
        took >= Duration::from_millis(350) && took < Duration::from_secs(2),
        "took {took:?}"
    );
    assert!(client.join().unwrap() < 100);
}

// ---- configs from PEM files ----

#[test]
fn server_config_from_pem_files_and_their_errors() {
    let pki = Pki::new();
    let dir = std::env::temp_dir().join(format!("wsmachine-tls-pem-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    let ca = dir.join("ca.pem");
    std::fs::write(&cert, &pki.good.cert_pem).unwrap();
    std::fs::write(&key, &pki.good.key_pem).unwrap();
    std::fs::write(&ca, &pki.ca.cert_pem).unwrap();

    let (port, server) = wss_server(tls::server_config_from_pem_files(&cert, &key).unwrap());
    let client = tls::client_config(&Roots::PemFile(ca.clone())).unwrap();
    let mut ws = Connector::new()
        .tls_config(client)
        .connect(&format!("wss://127.0.0.1:{port}/"))
        .unwrap();
    ws.send_text("from PEM files").unwrap();
    assert_eq!(
        ws.read().unwrap(),
        OwnedMessage::Text("from PEM files".into())
    );
    close(&mut ws);
    server.join().unwrap().unwrap();

    let missing = dir.join("missing.pem");
    let error = tls::server_config_from_pem_files(&missing, &key).unwrap_err();
    assert!(
        matches!(&error, TlsError::Pem { path, .. } if *path == missing),
        "{error:?}"
    );
    // A key file where the certificate should be, and the reverse.
    let error = tls::server_config_from_pem_files(&key, &key).unwrap_err();
    assert!(
        matches!(&error, TlsError::NoCertificates(path) if *path == key),
        "{error:?}"
    );
    let error = tls::server_config_from_pem_files(&cert, &cert).unwrap_err();
    assert!(
        matches!(&error, TlsError::NoPrivateKey(path) if *path == cert),
        "{error:?}"
    );
    // A key that does not match the certificate.
    let other_key = dir.join("other-key.pem");
    std::fs::write(&other_key, &pki.expired.key_pem).unwrap();
    let error = tls::server_config_from_pem_files(&cert, &other_key).unwrap_err();
    assert!(matches!(error, TlsError::Config(_)), "{error:?}");
    let error = tls::client_config(&Roots::PemFile(key.clone())).unwrap_err();
    assert!(matches!(error, TlsError::NoCertificates(_)), "{error:?}");
    let error = tls::client_config(&Roots::Certificates(Vec::new())).unwrap_err();
    assert!(matches!(error, TlsError::NoTrustedRoots), "{error:?}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn invalid_server_name_is_an_error_not_a_panic() {
    let pki = Pki::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let tcp = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let error = tls_error(blocking::tls_connect(tcp, "not a host!", trusting(&pki)));
    assert!(
        matches!(&error, TlsError::InvalidServerName(name) if name == "not a host!"),
        "{error:?}"
    );
}

// ---- permessage-deflate over TLS ----

#[cfg(feature = "deflate")]
#[test]
fn permessage_deflate_over_tls() {
    use wsmachine::handshake::format_extensions;
    let pki = Pki::new();
    let (port, server) = wss_server(server_config(&pki.good));
    let mut ws = connector(&pki)
        .connect(&format!("wss://127.0.0.1:{port}/"))
        .unwrap();
    let accepted = ws
        .connection()
        .handshake_response()
        .map(|response| format_extensions(response.extensions()))
        .unwrap_or_default();
    assert!(accepted.starts_with("permessage-deflate"), "{accepted:?}");
    let text = "{\"id\": 1, \"text\": \"compressible and over TLS\"}, ".repeat(2000);
    ws.send_text(&text).unwrap();
    assert_eq!(ws.read().unwrap(), OwnedMessage::Text(text));
    close(&mut ws);
    server.join().unwrap().unwrap();
}

// ---- the adapter's timers over TLS ----

fn fast_timers() -> Config {
    Config::default()
        .with_ping_interval(Duration::from_millis(150))
        .unwrap()
        .with_ping_timeout(Duration::from_millis(250))
        .unwrap()
}

#[test]
fn keepalive_over_tls_pings_a_live_peer_and_drops_a_silent_one() {
    let pki = Pki::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let config = server_config(&pki.good);
    let server = thread::spawn(move || {
        let mut outcomes = Vec::new();
        for _ in 0..2 {
            let (tcp, _) = listener.accept().unwrap();
            let stream = blocking::tls_accept(tcp, config.clone()).unwrap();
            let mut ws =
                WebSocket::accept_with(stream, fast_timers(), |_| blocking::Decision::accept())
                    .unwrap();
            let started = Instant::now();
            // The first message (pongs are answers to its own pings).
            let outcome = loop {
                match ws.read() {
                    Ok(OwnedMessage::Pong(_)) => {}
                    other => break other,
                }
            };
            outcomes.push((outcome, started.elapsed()));
        }
        outcomes
    });
    let url = format!("wss://127.0.0.1:{port}/");
    // A live client: it reads (answering the server's pings) for a while,
    // then says something; the server's first read returns it.
    let mut live = connector(&pki).connect(&url).unwrap();
    live.set_read_timeout(Some(Duration::from_millis(100)));
    let mut pings = 0;
    let reading = Instant::now();
    while reading.elapsed() < Duration::from_millis(700) {
        match live.read() {
            Ok(OwnedMessage::Ping(_)) => pings += 1,
            Err(e) if e.is_timeout() => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(pings >= 2, "the server pinged {pings} times in 700 ms");
    live.send_text("still here").unwrap();
    // A silent client: the TLS and WebSocket handshakes, then nothing.
    let silent = connector(&pki).connect(&url).unwrap();
    let outcomes = server.join().unwrap();
    drop((live, silent));
    assert!(
        matches!(&outcomes[0].0, Ok(OwnedMessage::Text(t)) if t == "still here"),
        "{:?}",
        outcomes[0]
    );
    let (dead, took) = &outcomes[1];
    assert!(
        matches!(dead, Err(Error::Timeout(Timeout::DeadPeer))),
        "{dead:?}"
    );
    assert!(
        *took >= Duration::from_millis(350) && *took < TIMEOUT,
        "{took:?}"
    );
}

#[test]
fn platform_roots_load_from_the_system_store() {
    // Debian's ca-certificates (or SSL_CERT_FILE / SSL_CERT_DIR when set).
    let config = tls::client_config(&Roots::Platform).unwrap();
    assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
}

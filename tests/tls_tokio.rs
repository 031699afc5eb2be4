//! wss:// in the tokio adapter over real sockets on 127.0.0.1 (features
//! `tokio` + `rustls`): our tokio client and server, each against the other,
//! against the blocking adapter, and against tokio-tungstenite with rustls;
//! every TLS failure asserted by its `TlsError` kind, as in tests/tls.rs;
//! stalled handshakes ended by the open timeout; a `wss://` client on a plain
//! port refused at once by both adapters.
//!
//! Certificates are made in the test (`tls_common`, rcgen).
#![cfg(all(feature = "tokio", feature = "rustls"))]

mod common;
mod tls_common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use rustls::crypto::CryptoProvider;
use rustls::{AlertDescription, ClientConfig, ServerConfig};
use tls_common::{Leaf, Pki};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message as TMessage;
use wsmachine::tls::{self, Roots, TlsError};
use wsmachine::tokio::{self as ws, Connector, Decision, Error, OwnedMessage, WebSocket};
use wsmachine::{CloseCode, Config, Event, Timeout};

/// Bounds every wait of a test, so that a bug fails it instead of hanging it.
const GUARD: Duration = Duration::from_secs(10);

fn server_config(leaf: &Leaf) -> Arc<ServerConfig> {
    tls::server_config(leaf.chain(), leaf.private_key()).unwrap()
}

fn trusting(pki: &Pki) -> Arc<ClientConfig> {
    tls::client_config(&Roots::Certificates(vec![pki.ca.cert.clone()])).unwrap()
}

fn connector(pki: &Pki) -> Connector {
    Connector::new().tls_config(trusting(pki))
}

/// A config whose open timeout is the guard: the handshakes under test end
/// far sooner, or the test fails.
fn config() -> Config {
    Config::default()
        .without_timeouts()
        .with_open_timeout(GUARD)
        .unwrap()
}

async fn listen() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    (listener, port)
}

type Outcome = Result<Option<CloseCode>, Error>;

/// A one-connection tokio wss echo server: the TLS handshake within the
/// open timeout, the WebSocket handshake, then echo until closed. Returns
/// the port and the server's outcome (the peer's close code or the error).
async fn wss_server(config: Arc<ServerConfig>) -> (u16, JoinHandle<Outcome>) {
    let (listener, port) = listen().await;
    let handle = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await?;
        let stream = ws::tls_accept_within(tcp, config, Some(GUARD)).await?;
        let ws = WebSocket::accept_with(stream, self::config(), |_| Decision::accept()).await?;
        echo(ws).await
    });
    (port, handle)
}

async fn echo<S>(mut ws: WebSocket<S>) -> Outcome
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut close = None;
    loop {
        match ws
            // A large message goes out direct (vectored, over rustls),
            // compressed ones through the engine.
            .read_with_reply(|event, reply| match event {
                Event::Message(message) => reply.send(message),
                Event::Close(frame) => {
                    close = Some(frame.code);
                    Ok(())
                }
                _ => Ok(()),
            })
            .await
        {
            Ok(sent) => {
                sent?;
                ws.flush().await?;
            }
            Err(Error::Closed) => return Ok(close),
            Err(e) => return Err(e),
        }
    }
}

/// The exchange every success test runs from the client: text, a message
/// larger than a TLS record and rustls's buffers, a ping, a clean close.
async fn exchange<S>(ws: &mut WebSocket<S>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    ws.send_text("hello over TLS").await.unwrap();
    assert_eq!(
        ws.read().await.unwrap(),
        OwnedMessage::Text("hello over TLS".into())
    );
    let big: Vec<u8> = (0..3 << 20).map(|i| (i * 7 % 251) as u8).collect();
    ws.send_binary(&big).await.unwrap();
    assert_eq!(ws.read().await.unwrap(), OwnedMessage::Binary(big));
    ws.send_ping(b"ping").await.unwrap();
    assert_eq!(
        ws.read().await.unwrap(),
        OwnedMessage::Pong(b"ping".to_vec())
    );
    ws.close(CloseCode::NORMAL, "done").await.unwrap();
}

fn tls_error<T: std::fmt::Debug>(result: Result<T, Error>) -> TlsError {
    match result {
        Err(Error::Tls(e)) => e,
        other => panic!("expected a TLS error, got {other:?}"),
    }
}

async fn joined(handle: JoinHandle<Outcome>) -> Outcome {
    tokio::time::timeout(GUARD, handle).await.unwrap().unwrap()
}

// ---- our tokio client and server, both ways with the blocking adapter ----

#[tokio::test]
async fn tokio_wss_client_and_tokio_wss_server_from_pem_files() {
    let pki = Pki::new();
    let dir = std::env::temp_dir().join(format!("wsmachine-tls-tokio-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, &pki.good.cert_pem).unwrap();
    std::fs::write(&key, &pki.good.key_pem).unwrap();
    let (port, server) = wss_server(tls::server_config_from_pem_files(&cert, &key).unwrap()).await;
    let _ = std::fs::remove_dir_all(&dir);

    let mut ws = connector(&pki)
        .config(config())
        .connect(&format!("wss://127.0.0.1:{port}/echo"))
        .await
        .unwrap();
    assert!(ws.get_ref().is_tls());
    exchange(&mut ws).await;
    assert_eq!(joined(server).await.unwrap(), Some(CloseCode::NORMAL));
    // Every config was built with the ring provider passed explicitly.
    assert!(CryptoProvider::get_default().is_none());
}

#[tokio::test]
async fn tokio_wss_by_dns_name_sends_sni_and_alpn() {
    let pki = Pki::new();
    let (listener, port) = listen().await;
    let config = server_config(&pki.good);
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let stream = ws::tls_accept(tcp, config).await.unwrap();
        let sni = match stream.tls() {
            rustls::Connection::Server(server) => server.server_name().map(str::to_owned),
            rustls::Connection::Client(_) => None,
        };
        let alpn = stream.tls().alpn_protocol().map(<[u8]>::to_vec);
        let ws = WebSocket::accept(stream).await.unwrap();
        echo(ws).await.unwrap();
        (sni, alpn)
    });
    let mut ws = connector(&pki)
        .connect(&format!("wss://localhost:{port}/"))
        .await
        .unwrap();
    exchange(&mut ws).await;
    let (sni, alpn) = tokio::time::timeout(GUARD, server).await.unwrap().unwrap();
    assert_eq!(sni.as_deref(), Some("localhost"));
    assert_eq!(alpn.as_deref(), Some(&b"http/1.1"[..]));
}

#[tokio::test]
async fn tokio_wss_client_against_blocking_wss_server() {
    let pki = Pki::new();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let tls_config = server_config(&pki.good);
    let server = std::thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        let stream = wsmachine::blocking::tls_accept_within(tcp, tls_config, Some(GUARD)).unwrap();
        let mut ws = wsmachine::blocking::WebSocket::accept(stream).unwrap();
        let mut close = None;
        loop {
            match ws.read() {
                Ok(OwnedMessage::Text(text)) => ws.send_text(&text).unwrap(),
                Ok(OwnedMessage::Binary(data)) => ws.send_binary(&data).unwrap(),
                Ok(OwnedMessage::Close(frame)) => close = frame.map(|(code, _)| code),
                Ok(_) => {}
                Err(wsmachine::blocking::Error::Closed) => return close,
                Err(e) => panic!("blocking server: {e}"),
            }
        }
    });
    let mut ws = connector(&pki)
        .config(config())
        .connect(&format!("wss://127.0.0.1:{port}/"))
        .await
        .unwrap();
    exchange(&mut ws).await;
    let close = tokio::task::spawn_blocking(move || server.join().unwrap())
        .await
        .unwrap();
    assert_eq!(close, Some(CloseCode::NORMAL));
}

#[tokio::test]
async fn blocking_wss_client_against_tokio_wss_server() {
    let pki = Pki::new();
    let (port, server) = wss_server(server_config(&pki.good)).await;
    let client = trusting(&pki);
    let sent = tokio::task::spawn_blocking(move || {
        let mut ws = wsmachine::blocking::Connector::new()
            .tls_config(client)
            .connect(&format!("wss://127.0.0.1:{port}/"))
            .unwrap();
        let big: Vec<u8> = (0..1 << 20).map(|i| (i % 253) as u8).collect();
        ws.send_text("from a blocking client").unwrap();
        assert_eq!(
            ws.read().unwrap(),
            OwnedMessage::Text("from a blocking client".into())
        );
        ws.send_binary(&big).unwrap();
        assert_eq!(ws.read().unwrap(), OwnedMessage::Binary(big));
        ws.close(CloseCode::NORMAL, "done").unwrap();
        loop {
            match ws.read() {
                Ok(_) => {}
                Err(wsmachine::blocking::Error::Closed) => return true,
                Err(e) => panic!("closing: {e}"),
            }
        }
    });
    assert!(sent.await.unwrap());
    assert_eq!(joined(server).await.unwrap(), Some(CloseCode::NORMAL));
}

#[tokio::test]
async fn tokio_split_halves_over_tls_in_two_tasks() {
    // tokio's split of the TLS stream (one lock around it): a writer task
    // and a reader task on one wss connection, many messages each way.
    let pki = Pki::new();
    let (port, server) = wss_server(server_config(&pki.good)).await;
    let socket = connector(&pki)
        .config(config())
        .connect(&format!("wss://127.0.0.1:{port}/"))
        .await
        .unwrap();
    let (mut reader, mut writer) = socket.split().unwrap();
    let writing = tokio::spawn(async move {
        for i in 0..200 {
            writer.send_text(&format!("message {i}")).await.unwrap();
        }
        writer
    });
    for i in 0..200 {
        assert_eq!(
            reader.read().await.unwrap(),
            OwnedMessage::Text(format!("message {i}"))
        );
    }
    let mut writer = writing.await.unwrap();
    writer.close(CloseCode::NORMAL, "").await.unwrap();
    loop {
        match tokio::time::timeout(GUARD, reader.read()).await.unwrap() {
            Ok(OwnedMessage::Close(_)) => {}
            Ok(other) => panic!("unexpected {other:?}"),
            Err(Error::Closed) => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(joined(server).await.unwrap(), Some(CloseCode::NORMAL));
}

#[cfg(feature = "deflate")]
#[tokio::test]
async fn tokio_permessage_deflate_over_tls() {
    use wsmachine::handshake::format_extensions;
    let pki = Pki::new();
    let (port, server) = wss_server(server_config(&pki.good)).await;
    let mut ws = connector(&pki)
        .connect(&format!("wss://127.0.0.1:{port}/"))
        .await
        .unwrap();
    let accepted = ws
        .connection()
        .handshake_response()
        .map(|response| format_extensions(response.extensions()))
        .unwrap_or_default();
    assert!(accepted.starts_with("permessage-deflate"), "{accepted:?}");
    let text = "{\"id\": 1, \"text\": \"compressible and over TLS\"}, ".repeat(2000);
    ws.send_text(&text).await.unwrap();
    assert_eq!(ws.read().await.unwrap(), OwnedMessage::Text(text));
    ws.close(CloseCode::NORMAL, "").await.unwrap();
    assert_eq!(joined(server).await.unwrap(), Some(CloseCode::NORMAL));
}

// ---- each TLS failure, by kind ----

#[tokio::test]
async fn tokio_untrusted_certificate_from_another_ca() {
    let pki = Pki::new();
    let (port, server) = wss_server(server_config(&pki.untrusted)).await;
    let url = format!("wss://127.0.0.1:{port}/");
    let error = tls_error(connector(&pki).connect(&url).await);
    assert!(
        matches!(error, TlsError::UntrustedCertificate(_)),
        "{error:?}"
    );
    let seen = tls_error(joined(server).await);
    assert!(
        matches!(seen, TlsError::AlertReceived(AlertDescription::UnknownCA)),
        "{seen:?}"
    );
}

#[tokio::test]
async fn tokio_untrusted_certificate_with_default_roots() {
    // ws::connect trusts Mozilla's roots only: a private CA is unknown.
    let pki = Pki::new();
    let (port, server) = wss_server(server_config(&pki.good)).await;
    let error = tls_error(ws::connect(&format!("wss://127.0.0.1:{port}/")).await);
    assert!(
        matches!(error, TlsError::UntrustedCertificate(_)),
        "{error:?}"
    );
    assert!(joined(server).await.is_err());
}

#[tokio::test]
async fn tokio_name_mismatch() {
    let pki = Pki::new();
    let (port, server) = wss_server(server_config(&pki.other_name)).await;
    let url = format!("wss://127.0.0.1:{port}/");
    let error = tls_error(connector(&pki).connect(&url).await);
    assert!(matches!(error, TlsError::NameMismatch(_)), "{error:?}");
    assert!(error.to_string().contains("other.example"), "{error}");
    let seen = tls_error(joined(server).await);
    assert!(matches!(seen, TlsError::AlertReceived(_)), "{seen:?}");
}

#[tokio::test]
async fn tokio_expired_certificate() {
    let pki = Pki::new();
    let (port, server) = wss_server(server_config(&pki.expired)).await;
    let url = format!("wss://127.0.0.1:{port}/");
    let error = tls_error(connector(&pki).connect(&url).await);
    assert!(
        matches!(error, TlsError::CertificateExpired(_)),
        "{error:?}"
    );
    let seen = tls_error(joined(server).await);
    assert!(
        matches!(
            seen,
            TlsError::AlertReceived(AlertDescription::CertificateExpired)
        ),
        "{seen:?}"
    );
}

#[tokio::test]
async fn tokio_plain_client_on_tls_port_gets_400_and_server_says_plain_http() {
    let pki = Pki::new();
    let (port, server) = wss_server(server_config(&pki.good)).await;
    match ws::connect(&format!("ws://127.0.0.1:{port}/")).await {
        Err(Error::Rejected { status, body }) => {
            assert_eq!(status, 400);
            let body = String::from_utf8(body).unwrap();
            assert!(body.contains("wss://"), "{body}");
        }
        other => panic!("expected a 400, got {other:?}"),
    }
    let seen = tls_error(joined(server).await);
    assert!(matches!(seen, TlsError::PlainHttpClient), "{seen:?}");
}

#[tokio::test]
async fn tokio_plain_bytes_that_are_not_http_on_tls_port() {
    let pki = Pki::new();
    let (port, server) = wss_server(server_config(&pki.good)).await;
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    tcp.write_all(&[0, 1, 2, 3]).await.unwrap();
    let seen = tls_error(joined(server).await);
    assert!(
        matches!(&seen, TlsError::NotTls { received } if received == "\\x00\\x01\\x02\\x03"),
        "{seen:?}"
    );
}

/// An open timeout far above what the plain-port tests allow themselves:
/// they pass only if the ClientHello is refused at once.
const LONG_OPEN: Duration = Duration::from_secs(8);
const AT_ONCE: Duration = Duration::from_secs(2);

#[tokio::test]
async fn tokio_wss_client_on_tokio_plain_port_both_sides_told_at_once() {
    let pki = Pki::new();
    let (listener, port) = listen().await;
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let config = Config::default().with_open_timeout(LONG_OPEN).unwrap();
        let started = Instant::now();
        let result = WebSocket::accept_with(tcp, config, |_| Decision::accept()).await;
        (result.map(|_| ()), started.elapsed())
    });
    let started = Instant::now();
    let error = tls_error(
        connector(&pki)
            .config(Config::default().with_open_timeout(LONG_OPEN).unwrap())
            .connect(&format!("wss://127.0.0.1:{port}/"))
            .await,
    );
    let took = started.elapsed();
    match &error {
        TlsError::NotTls { received } => {
            assert!(received.starts_with("HTTP/1.1 400"), "{received}")
        }
        other => panic!("expected NotTls, got {other:?}"),
    }
    assert!(took < AT_ONCE, "the client took {took:?}");
    let (result, took) = tokio::time::timeout(GUARD, server).await.unwrap().unwrap();
    assert!(matches!(result, Err(Error::TlsOnPlainPort)), "{result:?}");
    assert!(took < AT_ONCE, "the server took {took:?}");
}

#[tokio::test]
async fn blocking_wss_client_on_blocking_plain_port_both_sides_told_at_once() {
    let pki = Pki::new();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        let config = Config::default().with_open_timeout(LONG_OPEN).unwrap();
        let started = Instant::now();
        let result = wsmachine::blocking::WebSocket::accept_with(tcp, config, |_| {
            wsmachine::blocking::Decision::accept()
        });
        (result.map(|_| ()), started.elapsed())
    });
    let client = trusting(&pki);
    let (result, took) = tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let result = wsmachine::blocking::Connector::new()
            .tls_config(client)
            .config(Config::default().with_open_timeout(LONG_OPEN).unwrap())
            .connect(&format!("wss://127.0.0.1:{port}/"))
            .map(|_| ());
        (result, started.elapsed())
    })
    .await
    .unwrap();
    match result {
        Err(wsmachine::blocking::Error::Tls(TlsError::NotTls { received })) => {
            assert!(received.starts_with("HTTP/1.1 400"), "{received}")
        }
        other => panic!("expected NotTls, got {other:?}"),
    }
    assert!(took < AT_ONCE, "the client took {took:?}");
    let (result, took) = tokio::task::spawn_blocking(move || server.join().unwrap())
        .await
        .unwrap();
    assert!(
        matches!(result, Err(wsmachine::blocking::Error::TlsOnPlainPort)),
        "{result:?}"
    );
    assert!(took < AT_ONCE, "the server took {took:?}");
}

/// Reads one TLS record (a ClientHello) from `tcp`; returns its first byte.
async fn read_record(tcp: &mut TcpStream) -> u8 {
    let mut header = [0u8; 5];
    tcp.read_exact(&mut header).await.unwrap();
    let mut body = vec![0; usize::from(u16::from_be_bytes([header[3], header[4]]))];
    tcp.read_exact(&mut body).await.unwrap();
    header[0]
}

#[tokio::test]
async fn tokio_wss_client_on_plain_port_that_hangs_up() {
    let (listener, port) = listen().await;
    let server = tokio::spawn(async move {
        let (mut tcp, _) = listener.accept().await.unwrap();
        read_record(&mut tcp).await
    });
    let pki = Pki::new();
    let error = tls_error(
        connector(&pki)
            .connect(&format!("wss://127.0.0.1:{port}/"))
            .await,
    );
    assert!(
        matches!(error, TlsError::ClosedDuringHandshake),
        "{error:?}"
    );
    assert_eq!(server.await.unwrap(), 22, "a TLS handshake record was sent");
}

#[tokio::test]
async fn tokio_alert_from_server_that_refuses_our_protocol_version() {
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
    let (port, server) = wss_server(Arc::new(server_config)).await;
    let error = tls_error(
        Connector::new()
            .tls_config(Arc::new(client_config))
            .connect(&format!("wss://127.0.0.1:{port}/"))
            .await,
    );
    assert!(
        matches!(
            error,
            TlsError::AlertReceived(AlertDescription::ProtocolVersion)
        ),
        "{error:?}"
    );
    let seen = tls_error(joined(server).await);
    assert!(matches!(seen, TlsError::Other(_)), "{seen:?}");
}

#[tokio::test]
async fn tokio_invalid_server_name_is_an_error_not_a_panic() {
    let (_listener, port) = listen().await;
    let stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let pki = Pki::new();
    let error = tls_error(ws::tls_connect(stream, "not a name!", trusting(&pki)).await);
    assert!(
        matches!(&error, TlsError::InvalidServerName(name) if name == "not a name!"),
        "{error:?}"
    );
}

// ---- a stalled handshake ends by the open timeout ----

fn open_timeout(ms: u64) -> Config {
    Config::default()
        .with_open_timeout(Duration::from_millis(ms))
        .unwrap()
}

#[tokio::test]
async fn tokio_stalled_tls_handshake_ends_by_the_open_timeout() {
    // A server that accepts TCP and never says a word.
    let (listener, port) = listen().await;
    let started = Instant::now();
    let result = Connector::new()
        .config(open_timeout(300))
        .connect(&format!("wss://127.0.0.1:{port}/"))
        .await;
    let took = started.elapsed();
    assert!(
        matches!(result, Err(Error::Timeout(Timeout::Opening))),
        "{result:?}"
    );
    assert!(
        took >= Duration::from_millis(250) && took < AT_ONCE,
        "took {took:?}"
    );
    drop(listener);
}

#[tokio::test]
async fn tokio_trickled_tls_handshake_ends_by_the_deadline_on_the_server() {
    // A client sending its ClientHello one byte every 100 ms: one deadline
    // holds for the whole handshake, not one per read.
    let pki = Pki::new();
    let (listener, port) = listen().await;
    let client = tokio::spawn(async move {
        let mut tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let bytes = [0x16, 0x03, 0x01, 0x02, 0x00].into_iter().chain([0; 95]);
        let mut sent = 0;
        for byte in bytes {
            if tcp.write_all(&[byte]).await.is_err() {
                break;
            }
            sent += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        sent
    });
    let (tcp, _) = listener.accept().await.unwrap();
    let started = Instant::now();
    let result = ws::tls_accept_within(
        tcp,
        server_config(&pki.good),
        Some(Duration::from_millis(400)),
    )
    .await;
    let took = started.elapsed();
    assert!(
        matches!(result, Err(Error::Timeout(Timeout::Opening))),
        "{:?}",
        result.map(|_| ())
    );
    assert!(
        took >= Duration::from_millis(350) && took < AT_ONCE,
        "took {took:?}"
    );
    assert!(tokio::time::timeout(GUARD, client).await.unwrap().unwrap() < 100);
}

#[tokio::test]
async fn tokio_stalled_websocket_handshake_over_tls_ends_by_the_open_timeout() {
    // TLS completes, then the server never answers the HTTP request.
    let pki = Pki::new();
    let (listener, port) = listen().await;
    let config = server_config(&pki.good);
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut stream = ws::tls_accept(tcp, config).await.unwrap();
        let mut request = Vec::new();
        // Until the client gives up and hangs up.
        let _ = stream.read_to_end(&mut request).await;
        request
    });
    let result = connector(&pki)
        .config(open_timeout(300))
        .connect(&format!("wss://127.0.0.1:{port}/"))
        .await;
    assert!(
        matches!(result, Err(Error::Timeout(Timeout::Opening))),
        "{result:?}"
    );
    drop(result);
    let request = tokio::time::timeout(GUARD, server).await.unwrap().unwrap();
    assert!(
        request.starts_with(b"GET / HTTP/1.1\r\n"),
        "the server got the request over TLS"
    );
}

// ---- tokio-tungstenite with rustls as the peer ----

#[tokio::test]
async fn tokio_tungstenite_wss_client_against_our_tokio_wss_server() {
    let pki = Pki::new();
    let (port, server) = wss_server(server_config(&pki.good)).await;
    let (mut client, _) = tokio_tungstenite::connect_async_tls_with_config(
        format!("wss://localhost:{port}/"),
        None,
        true,
        Some(tokio_tungstenite::Connector::Rustls(trusting(&pki))),
    )
    .await
    .unwrap();
    client.send(TMessage::text("héllo")).await.unwrap();
    assert_eq!(
        client.next().await.unwrap().unwrap(),
        TMessage::text("héllo")
    );
    let big: Vec<u8> = (0..1 << 20).map(|i| (i % 249) as u8).collect();
    client.send(TMessage::binary(big.clone())).await.unwrap();
    assert_eq!(client.next().await.unwrap().unwrap(), TMessage::binary(big));
    client.close(None).await.unwrap();
    // Their client reads until our server's close reply and the end of the
    // TLS stream (our close_notify): an error here would be theirs.
    while let Some(message) = client.next().await {
        match message {
            Ok(TMessage::Close(_)) => {}
            Ok(other) => panic!("unexpected {other:?}"),
            Err(e) => panic!("tokio-tungstenite: {e}"),
        }
    }
    assert_eq!(joined(server).await.unwrap(), Some(CloseCode::NO_STATUS));
}

#[tokio::test]
async fn our_tokio_wss_client_against_tokio_tungstenite_wss_server() {
    let pki = Pki::new();
    let (listener, port) = listen().await;
    let acceptor = tokio_rustls::TlsAcceptor::from(server_config(&pki.good));
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let tls = acceptor.accept(tcp).await.unwrap();
        let mut ws = tokio_tungstenite::accept_async(tls).await.unwrap();
        let mut echoed = 0;
        while let Some(message) = ws.next().await {
            let message = message.unwrap();
            if message.is_text() || message.is_binary() {
                ws.send(message).await.unwrap();
                echoed += 1;
            }
        }
        echoed
    });
    let mut ws = connector(&pki)
        .config(config())
        .connect(&format!("wss://localhost:{port}/"))
        .await
        .unwrap();
    exchange(&mut ws).await;
    drop(ws);
    assert_eq!(
        tokio::time::timeout(GUARD, server).await.unwrap().unwrap(),
        2
    );
}

// ---- examples/tokio_echo_server with --tls-cert/--tls-key ----

#[tokio::test]
async fn tokio_echo_server_serves_https_page_and_wss_echo() {
    use std::io::{BufRead, Read, Write};
    let pki = Pki::new();
    let dir = std::env::temp_dir().join(format!("wsmachine-tokio-echo-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, &pki.good.cert_pem).unwrap();
    std::fs::write(&key, &pki.good.key_pem).unwrap();
    let mut child = common::Child(
        std::process::Command::new(common::example_binary("tokio_echo_server"))
            .arg("127.0.0.1:0")
            .arg("--tls-cert")
            .arg(&cert)
            .arg("--tls-key")
            .arg(&key)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut first = String::new();
    std::io::BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let addr = first
        .trim()
        .strip_prefix("listening on https://")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_owned();

    // The page, over https:// (read with the blocking TLS stream).
    let client_config = trusting(&pki);
    let page_addr = addr.clone();
    let page = tokio::task::spawn_blocking(move || {
        let tcp = std::net::TcpStream::connect(&page_addr).unwrap();
        tcp.set_read_timeout(Some(GUARD)).unwrap();
        let mut tls = wsmachine::blocking::tls_connect(tcp, "127.0.0.1", client_config).unwrap();
        tls.write_all(format!("GET / HTTP/1.1\r\nHost: {page_addr}\r\n\r\n").as_bytes())
            .unwrap();
        tls.flush().unwrap();
        let mut page = Vec::new();
        let _ = tls.read_to_end(&mut page);
        String::from_utf8_lossy(&page).into_owned()
    })
    .await
    .unwrap();
    assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
    assert!(page.contains("<html"), "{page}");

    // The echo, over wss://.
    let mut ws = connector(&pki)
        .config(config())
        .connect(&format!("wss://{addr}/echo"))
        .await
        .unwrap();
    ws.send_text("through the example").await.unwrap();
    assert_eq!(
        ws.read().await.unwrap(),
        OwnedMessage::Text("through the example".into())
    );
    ws.close(CloseCode::NORMAL, "").await.unwrap();

    // A plain ws:// client is told the port speaks TLS.
    match ws::connect(&format!("ws://{addr}/echo")).await {
        Err(Error::Rejected { status: 400, .. }) => {}
        other => panic!("expected a 400, got {other:?}"),
    }
}

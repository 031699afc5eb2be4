//! wss:// interoperability with tungstenite (its rustls support, feature
//! `rustls-tls-webpki-roots`) over 127.0.0.1:0, both ways round: a
//! tungstenite client (its `Connector::Rustls` trusting the test CA) against
//! our blocking wss server, and our client against a tungstenite server over
//! a rustls `StreamOwned`. Text, 1 MiB binary, ping, close 1000.
#![cfg(feature = "rustls")]

mod tls_common;

use std::net::TcpListener;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use tls_common::Pki;
use tungstenite::Message as TMessage;
use tungstenite::protocol::CloseFrame as TCloseFrame;
use tungstenite::protocol::frame::coding::CloseCode as TCloseCode;
use wsmachine::blocking::{self, Connector, Error, OwnedMessage, WebSocket};
use wsmachine::tls::{self, Roots};
use wsmachine::{CloseCode, Event};

const TIMEOUT: Duration = Duration::from_secs(10);

fn big() -> Vec<u8> {
    (0..1u32 << 20).map(|i| (i % 251) as u8).collect()
}

#[test]
fn tungstenite_client_against_our_wss_server() {
    let pki = Pki::new();
    let server_config = tls::server_config(pki.good.chain(), pki.good.private_key()).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = thread::spawn(move || -> Result<Option<CloseCode>, Error> {
        let (tcp, _) = listener.accept()?;
        tcp.set_read_timeout(Some(TIMEOUT))?;
        let mut ws = WebSocket::accept(blocking::tls_accept(tcp, server_config)?)?;
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
    });

    let trusted = tls::client_config(&Roots::Certificates(vec![pki.ca.cert.clone()])).unwrap();
    let tcp = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(TIMEOUT)).unwrap();
    let (mut ws, response) = tungstenite::client_tls_with_config(
        format!("wss://localhost:{port}/echo"),
        tcp,
        None,
        Some(tungstenite::Connector::Rustls(trusted)),
    )
    .unwrap();
    assert_eq!(response.status(), 101);
    assert!(matches!(
        ws.get_ref(),
        tungstenite::stream::MaybeTlsStream::Rustls(_)
    ));
    ws.send(TMessage::text("hello from tungstenite")).unwrap();
    assert_eq!(ws.read().unwrap(), TMessage::text("hello from tungstenite"));
    ws.send(TMessage::binary(big())).unwrap();
    assert_eq!(ws.read().unwrap(), TMessage::binary(big()));
    ws.send(TMessage::Ping(b"p".to_vec().into())).unwrap();
    assert_eq!(ws.read().unwrap(), TMessage::Pong(b"p".to_vec().into()));
    ws.close(Some(TCloseFrame {
        code: TCloseCode::Normal,
        reason: "done".into(),
    }))
    .unwrap();
    loop {
        match ws.read() {
            Ok(TMessage::Close(Some(frame))) => assert_eq!(frame.code, TCloseCode::Normal),
            Ok(other) => panic!("unexpected {other:?}"),
            Err(tungstenite::Error::ConnectionClosed) => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(server.join().unwrap().unwrap(), Some(CloseCode::NORMAL));
}

#[test]
fn our_client_against_a_tungstenite_wss_server() {
    let pki = Pki::new();
    let server_config = tls::server_config(pki.good.chain(), pki.good.private_key()).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = thread::spawn(move || -> tungstenite::Result<Option<u16>> {
        let (tcp, _) = listener.accept()?;
        tcp.set_read_timeout(Some(TIMEOUT))?;
        let tls = rustls::ServerConnection::new(server_config).unwrap();
        let mut ws = tungstenite::accept(rustls::StreamOwned::new(tls, tcp)).unwrap();
        loop {
            match ws.read() {
                Ok(TMessage::Close(frame)) => {
                    // tungstenite queues the close reply; flush writes it.
                    let _ = ws.flush();
                    return Ok(frame.map(|f| f.code.into()));
                }
                Ok(message @ (TMessage::Text(_) | TMessage::Binary(_))) => ws.send(message)?,
                Ok(_) => {}
                Err(e) => return Err(e),
            }
        }
    });

    let trusted = tls::client_config(&Roots::Certificates(vec![pki.ca.cert.clone()])).unwrap();
    let mut ws = Connector::new()
        .tls_config(trusted)
        .connect(&format!("wss://127.0.0.1:{port}/"))
        .unwrap();
    ws.set_read_timeout(Some(TIMEOUT));
    ws.send_text("hello from wsmachine").unwrap();
    assert_eq!(
        ws.read().unwrap(),
        OwnedMessage::Text("hello from wsmachine".into())
    );
    ws.send_binary(&big()).unwrap();
    assert_eq!(ws.read().unwrap(), OwnedMessage::Binary(big()));
    ws.send_ping(b"q").unwrap();
    assert_eq!(ws.read().unwrap(), OwnedMessage::Pong(b"q".to_vec()));
    ws.close(CloseCode::NORMAL, "done").unwrap();
    loop {
        match ws.read() {
            Ok(OwnedMessage::Close(Some((code, _)))) => assert_eq!(code, CloseCode::NORMAL),
            Ok(other) => panic!("unexpected {other:?}"),
            Err(Error::Closed) => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(server.join().unwrap().unwrap(), Some(1000));
}

#[test]
fn tungstenite_without_our_ca_refuses_our_server_and_we_hear_its_alert() {
    // tungstenite's own default (webpki roots) does not know the test CA.
    let pki = Pki::new();
    let server_config = tls::server_config(pki.good.chain(), pki.good.private_key()).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = thread::spawn(move || -> Result<(), Error> {
        let (tcp, _) = listener.accept()?;
        tcp.set_read_timeout(Some(TIMEOUT))?;
        blocking::tls_accept(tcp, server_config).map(drop)
    });
    let roots = rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let config = rustls::ClientConfig::builder_with_provider(tls::provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(TIMEOUT)).unwrap();
    let result = tungstenite::client_tls_with_config(
        format!("wss://127.0.0.1:{port}/"),
        tcp,
        None,
        Some(tungstenite::Connector::Rustls(Arc::new(config))),
    );
    assert!(result.is_err());
    match server.join().unwrap() {
        Err(Error::Tls(tls::TlsError::AlertReceived(alert))) => {
            assert_eq!(alert, rustls::AlertDescription::UnknownCA)
        }
        other => panic!("expected the client's alert, got {other:?}"),
    }
}

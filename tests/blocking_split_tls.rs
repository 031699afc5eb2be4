//! The blocking split over TLS (feature `rustls`), over loopback: both
//! halves busy at once in both directions, a ping arriving on the read half
//! answered while the write half is idle or busy, a TLS 1.3 key update from
//! the peer mid-stream, close from either side (with `close_notify`), a
//! corrupt record, reunite. Every test runs under a deadline.
#![cfg(feature = "rustls")]

mod tls_common;

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use rustls::{ClientConfig, ClientConnection, ServerConfig};
use tls_common::Pki;
use wsmachine::blocking::{
    self, Error, OwnedMessage, ReadHalf, SplitTlsStream, TlsStream, Transport, WebSocket, WriteHalf,
};
use wsmachine::tls::{self, Roots, TlsError};
use wsmachine::{CloseCode, Config};

/// The most any test may take; also every socket's read timeout where the
/// adapter does not set one.
const DEADLINE: Duration = Duration::from_secs(30);

type Half = SplitTlsStream<TcpStream>;

/// Runs `test` on a thread and fails if it does not finish in time.
fn within_deadline(test: impl FnOnce() + Send + 'static) {
    let (done_tx, done) = mpsc::channel();
    let runner = thread::spawn(move || {
        test();
        done_tx.send(()).ok();
    });
    match done.recv_timeout(DEADLINE) {
        Ok(()) => runner.join().unwrap(),
        // The test thread panicked: its panic is the failure.
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            std::panic::resume_unwind(runner.join().unwrap_err())
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("the test took longer than {DEADLINE:?}"),
    }
}

struct Certs {
    server: Arc<ServerConfig>,
    client: Arc<ClientConfig>,
}

fn certs() -> Certs {
    let pki = Pki::new();
    Certs {
        server: tls::server_config(pki.good.chain(), pki.good.private_key()).unwrap(),
        client: tls::client_config(&Roots::Certificates(vec![pki.ca.cert.clone()])).unwrap(),
    }
}

/// A wss server on a fresh port: accepts one connection, runs the TLS and
/// WebSocket handshakes and gives the WebSocket to `serve` on its thread.
fn server<R: Send + 'static>(
    config: Arc<ServerConfig>,
    ws_config: Config,
    serve: impl FnOnce(WebSocket<TlsStream<TcpStream>>) -> R + Send + 'static,
) -> (u16, thread::JoinHandle<R>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(DEADLINE)).unwrap();
        let stream = blocking::tls_accept(tcp, config).unwrap();
        let ws = WebSocket::accept_with(stream, ws_config, |_| blocking::Decision::accept());
        serve(ws.unwrap())
    });
    (port, handle)
}

/// Our client over a `TlsStream` (so it can be split too).
fn client(port: u16, config: Arc<ClientConfig>) -> WebSocket<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(DEADLINE)).unwrap();
    let stream = blocking::tls_connect(tcp, "127.0.0.1", config).unwrap();
    let url = format!("ws://127.0.0.1:{port}/");
    WebSocket::connect_with(
        stream,
        &wsmachine::ClientRequest::from_url(&url).unwrap(),
        quiet(),
    )
    .unwrap()
}

fn quiet() -> Config {
    Config::default().without_timeouts()
}

/// Message `i` of a test stream: lengths cross TLS record boundaries
/// (16 KiB) and frame length encodings, contents say which message it is.
fn message(i: usize) -> Vec<u8> {
    let len = (i * 7919) % 40_000 + 1;
    (0..len).map(|k| (i * 31 + k) as u8).collect()
}

/// Reads until `Error::Closed`, asserting the peer's close code on the way.
fn read_to_close(reader: &mut ReadHalf<Half>, code: CloseCode) {
    loop {
        match reader.read() {
            Ok(OwnedMessage::Close(frame)) => assert_eq!(frame.unwrap().0, code),
            Ok(other) => panic!("unexpected {other:?} while closing"),
            Err(Error::Closed) => return,
            Err(e) => panic!("closing failed: {e}"),
        }
    }
}

#[test]
fn both_halves_busy_in_both_directions_over_tls() {
    within_deadline(|| {
        const N: usize = 120;
        let certs = certs();
        let (port, server) = server(certs.server, quiet(), |ws| {
            let (mut reader, writer) = ws.split().unwrap();
            let sending = thread::spawn(move || {
                for i in 0..N {
                    writer.send_binary(&message(i)).unwrap();
                }
                writer
            });
            for i in 0..N {
                assert_eq!(reader.read().unwrap(), OwnedMessage::Binary(message(N + i)));
            }
            let writer = sending.join().unwrap();
            // The client closes once it has everything; the read half
            // answers through the (now idle) write half.
            read_to_close(&mut reader, CloseCode::NORMAL);
            writer.shutdown().unwrap();
        });
        let (mut reader, writer) = client(port, certs.client).split().unwrap();
        let sending = thread::spawn(move || {
            for i in 0..N {
                writer.send_binary(&message(N + i)).unwrap();
            }
            writer
        });
        for i in 0..N {
            assert_eq!(reader.read().unwrap(), OwnedMessage::Binary(message(i)));
        }
        let writer = sending.join().unwrap();
        writer.close(CloseCode::NORMAL, "").unwrap();
        read_to_close(&mut reader, CloseCode::NORMAL);
        server.join().unwrap();
    });
}

#[test]
fn a_ping_on_the_read_half_is_answered_with_the_write_half_idle_and_busy() {
    within_deadline(|| {
        let certs = certs();
        let (idle_tx, idle_rx) = mpsc::channel::<()>();
        let (port, server) = server(certs.server, quiet(), move |ws| {
            let (mut reader, writer) = ws.split().unwrap();
            // Idle: nobody calls the write half until the client says so.
            assert_eq!(reader.read().unwrap(), OwnedMessage::Ping(b"idle".to_vec()));
            idle_rx.recv().unwrap();
            // Busy: a stream of messages while the next ping arrives.
            let sending = thread::spawn(move || {
                for i in 0..200 {
                    writer.send_binary(&message(i)).unwrap();
                }
                writer
            });
            assert_eq!(reader.read().unwrap(), OwnedMessage::Ping(b"busy".to_vec()));
            let writer = sending.join().unwrap();
            read_to_close(&mut reader, CloseCode::NORMAL);
            writer.shutdown().unwrap();
        });
        let mut ws = client(port, certs.client);
        ws.send_ping(b"idle").unwrap();
        assert_eq!(ws.read().unwrap(), OwnedMessage::Pong(b"idle".to_vec()));
        idle_tx.send(()).unwrap();
        ws.send_ping(b"busy").unwrap();
        let mut received = 0;
        let mut pong = false;
        while received < 200 || !pong {
            match ws.read().unwrap() {
                OwnedMessage::Binary(data) => {
                    assert_eq!(data, message(received));
                    received += 1;
                }
                OwnedMessage::Pong(data) => {
                    assert_eq!(data, b"busy");
                    pong = true;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        ws.close(CloseCode::NORMAL, "").unwrap();
        loop {
            match ws.read() {
                Ok(OwnedMessage::Close(_)) => {}
                Err(Error::Closed) => break,
                other => panic!("unexpected {other:?}"),
            }
        }
        server.join().unwrap();
    });
}

#[test]
fn close_from_the_server_write_half_ends_with_close_notify() {
    within_deadline(|| {
        let certs = certs();
        let (port, server) = server(certs.server, quiet(), |ws| {
            let (mut reader, writer) = ws.split().unwrap();
            writer.close(CloseCode::GOING_AWAY, "bye").unwrap();
            // The read half sees the client's answer and ends.
            read_to_close(&mut reader, CloseCode::GOING_AWAY);
            writer.shutdown().unwrap();
        });
        let mut ws = client(port, certs.client);
        assert_eq!(
            ws.read().unwrap(),
            OwnedMessage::Close(Some((CloseCode::GOING_AWAY, "bye".into())))
        );
        assert!(matches!(ws.read(), Err(Error::Closed)));
        server.join().unwrap();
        // After the server's shutdown: TLS close_notify, then the end.
        let mut rest = Vec::new();
        assert_eq!(ws.get_mut().read_to_end(&mut rest).unwrap(), 0);
        assert!(rest.is_empty(), "nothing after the close frame but the end");
    });
}

#[test]
fn close_from_the_client_is_answered_by_the_server_read_half() {
    within_deadline(|| {
        let certs = certs();
        let (port, server) = server(certs.server, quiet(), |ws| {
            let (mut reader, writer) = ws.split().unwrap();
            assert_eq!(reader.read().unwrap(), OwnedMessage::Text("last".into()));
            read_to_close(&mut reader, CloseCode(4001));
            assert!(matches!(
                writer.send_text("too late"),
                Err(Error::Usage(wsmachine::UsageError::Closed))
            ));
            writer.shutdown().unwrap();
        });
        let (mut reader, writer) = client(port, certs.client).split().unwrap();
        writer.send_text("last").unwrap();
        writer.close(CloseCode(4001), "").unwrap();
        read_to_close(&mut reader, CloseCode(4001));
        server.join().unwrap();
    });
}

#[test]
fn a_write_half_stuck_on_a_peer_that_does_not_read_holds_up_no_read() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::time::Instant;
    within_deadline(|| {
        const WRITE_TIMEOUT: Duration = Duration::from_secs(3);
        let certs = certs();
        let sent = Arc::new(AtomicUsize::new(0));
        let writer_done = Arc::new(AtomicBool::new(false));
        let (sent_w, done_w, done_r) = (sent.clone(), writer_done.clone(), writer_done.clone());
        let (port, server) = server(certs.server, quiet(), move |ws| {
            let (mut reader, writer) = ws.split().unwrap();
            writer.set_write_timeout(Some(WRITE_TIMEOUT));
            // The client reads nothing: the socket fills, and a write blocks
            // in the kernel until the write timeout.
            let writing = thread::spawn(move || {
                // Incompressible (with the deflate feature the default
                // config compresses): the bytes must fill the socket.
                let mut x = 0x9E37_79B9_u32;
                let chunk: Vec<u8> = (0..64 * 1024)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 17;
                        x ^= x << 5;
                        x as u8
                    })
                    .collect();
                let error = loop {
                    if let Err(e) = writer.send_binary(&chunk) {
                        break e;
                    }
                    sent_w.fetch_add(1, Ordering::SeqCst);
                };
                done_w.store(true, Ordering::SeqCst);
                error
            });
            // Meanwhile the read half reads and decrypts: the session's lock
            // is not held across the writer's blocked write.
            let message = reader.read().unwrap();
            let read_at = Instant::now();
            let read_while_writer_stuck = !done_r.load(Ordering::SeqCst);
            let error = writing.join().unwrap();
            (message, read_at, read_while_writer_stuck, error)
        });
        let mut ws = client(port, certs.client);
        // Wait until the server's sends stop making progress: it is blocked.
        let start = Instant::now();
        let mut last = (sent.load(Ordering::SeqCst), Instant::now());
        loop {
            assert!(start.elapsed() < DEADLINE / 2, "the writer never blocked");
            thread::sleep(Duration::from_millis(50));
            let now = sent.load(Ordering::SeqCst);
            if now != last.0 {
                last = (now, Instant::now());
            } else if now > 0 && last.1.elapsed() > Duration::from_millis(300) {
                break;
            }
        }
        assert!(
            !writer_done.load(Ordering::SeqCst),
            "the write failed too early"
        );
        let sent_at = Instant::now();
        ws.send_text("still here").unwrap();
        let (message, read_at, read_while_writer_stuck, error) = server.join().unwrap();
        assert_eq!(message, OwnedMessage::Text("still here".into()));
        // Had the read waited for the session while the writer held it
        // across its blocked write, it would have taken most of the
        // write timeout.
        let latency = read_at.duration_since(sent_at);
        assert!(latency < WRITE_TIMEOUT / 2, "the read took {latency:?}");
        assert!(
            read_while_writer_stuck,
            "the read waited for the blocked write"
        );
        assert!(error.is_timeout(), "{error:?}");
    });
}

/// A rustls client whose session the test can reach (for a key update).
struct RawTls {
    tls: ClientConnection,
    tcp: TcpStream,
}

impl Read for RawTls {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        rustls::Stream::new(&mut self.tls, &mut self.tcp).read(buf)
    }
}

impl Write for RawTls {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        rustls::Stream::new(&mut self.tls, &mut self.tcp).write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        rustls::Stream::new(&mut self.tls, &mut self.tcp).flush()
    }
}

impl Transport for RawTls {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.tcp.set_read_timeout(timeout)
    }

    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.tcp.set_write_timeout(timeout)
    }
}

#[test]
fn a_key_update_from_the_peer_mid_stream_keeps_both_directions_going() {
    within_deadline(|| {
        let certs = certs();
        let (port, server) = server(certs.server, quiet(), |ws| {
            let (mut reader, writer) = ws.split().unwrap();
            // An echo across the halves: every message read is sent back by
            // the write half on another thread.
            let (tx, rx) = mpsc::channel::<Vec<u8>>();
            let echoing = thread::spawn(move || {
                for data in rx {
                    writer.send_binary(&data).unwrap();
                }
                writer
            });
            loop {
                match reader.read() {
                    Ok(OwnedMessage::Binary(data)) => tx.send(data).unwrap(),
                    Ok(OwnedMessage::Close(_)) => {}
                    Err(Error::Closed) => break,
                    other => panic!("unexpected {other:?}"),
                }
            }
            drop(tx);
            echoing.join().unwrap().shutdown().unwrap();
        });
        let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
        tcp.set_read_timeout(Some(DEADLINE)).unwrap();
        let name = "127.0.0.1".try_into().unwrap();
        let tls = ClientConnection::new(certs.client, name).unwrap();
        let url = format!("ws://127.0.0.1:{port}/");
        let request = wsmachine::ClientRequest::from_url(&url).unwrap();
        let mut ws = WebSocket::connect_with(RawTls { tls, tcp }, &request, quiet()).unwrap();
        for i in 0..40 {
            if i % 10 == 5 {
                // A TLS 1.3 key update asking the server to update too: the
                // server's read half takes the new keys, its write half's
                // next record goes out under its own new keys.
                ws.get_mut().tls.refresh_traffic_keys().unwrap();
            }
            ws.send_binary(&message(i)).unwrap();
            assert_eq!(ws.read().unwrap(), OwnedMessage::Binary(message(i)));
        }
        ws.close(CloseCode::NORMAL, "").unwrap();
        loop {
            match ws.read() {
                Ok(OwnedMessage::Close(_)) => {}
                Err(Error::Closed) => break,
                other => panic!("unexpected {other:?}"),
            }
        }
        server.join().unwrap();
    });
}

#[test]
fn a_corrupt_record_is_a_tls_error_on_the_read_half() {
    within_deadline(|| {
        let certs = certs();
        let (port, server) = server(certs.server, quiet(), |ws| {
            let (mut reader, _writer) = ws.split().unwrap();
            assert_eq!(reader.read().unwrap(), OwnedMessage::Text("fine".into()));
            reader.read()
        });
        let mut ws = client(port, certs.client);
        ws.send_text("fine").unwrap();
        // An application-data record that does not decrypt, straight on the socket.
        let mut record = vec![0x17, 0x03, 0x03, 0x00, 0x20];
        record.extend_from_slice(&[0xAB; 32]);
        ws.get_mut().get_mut().write_all(&record).unwrap();
        match server.join().unwrap() {
            Err(Error::Tls(TlsError::Other(rustls::Error::DecryptError))) => {}
            other => panic!("expected a decrypt error, got {other:?}"),
        }
        // The server's alert, written by its read half: our client reads it
        // as the TLS error it is.
        match ws.read() {
            Err(Error::Tls(TlsError::AlertReceived(rustls::AlertDescription::BadRecordMac))) => {}
            other => panic!("expected the server's alert, got {other:?}"),
        }
    });
}

#[test]
fn split_tls_halves_reunite_and_go_on() {
    within_deadline(|| {
        let certs = certs();
        let (port, server) = server(certs.server, quiet(), |ws| {
            let (mut reader, writer) = ws.split().unwrap();
            assert_eq!(reader.read().unwrap(), OwnedMessage::Text("one".into()));
            writer.send_text("two").unwrap();
            let mut ws = blocking::reunite(reader, writer)
                .map_err(|_| "halves")
                .unwrap();
            assert_eq!(ws.read().unwrap(), OwnedMessage::Text("three".into()));
            ws.send_text("four").unwrap();
            assert!(ws.get_ref().with_tls(|tls| !tls.is_handshaking()));
            assert_eq!(
                ws.read().unwrap(),
                OwnedMessage::Close(Some((CloseCode::NORMAL, String::new())))
            );
            assert!(matches!(ws.read(), Err(Error::Closed)));
        });
        let mut ws = client(port, certs.client);
        ws.send_text("one").unwrap();
        assert_eq!(ws.read().unwrap(), OwnedMessage::Text("two".into()));
        ws.send_text("three").unwrap();
        assert_eq!(ws.read().unwrap(), OwnedMessage::Text("four".into()));
        ws.close(CloseCode::NORMAL, "").unwrap();
        loop {
            match ws.read() {
                Ok(OwnedMessage::Close(_)) => {}
                Err(Error::Closed) => break,
                other => panic!("unexpected {other:?}"),
            }
        }
        server.join().unwrap();
    });
}

/// The halves are `Send`: each goes to its own thread.
#[allow(dead_code)]
fn halves_are_send(read: ReadHalf<Half>, write: WriteHalf<Half>) {
    fn send<T: Send>(_: T) {}
    send(read);
    send(write);
}

//! The blocking adapter over real sockets on 127.0.0.1:0: messages, sizes,
//! fragments, control frames, both close directions, end of stream, partial
//! writes, timeouts and a rejected handshake.
#![cfg(feature = "std")]

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

mod common;
use common::{Child, example_binary};
use wsmachine::blocking::{Decision, Error, OwnedMessage, Transport, WebSocket};
use wsmachine::{ClientRequest, CloseCode, Config, Connection, Event, MessageKind, ProtocolError};

/// Every socket gets this read timeout, so a bug fails a test instead of hanging it.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Runs `handler` on the server side of one connection accepted on a fresh
/// port, with `decide` answering the handshake.
fn server<T: Send + 'static>(
    decide: impl FnOnce(&wsmachine::HandshakeRequest) -> Decision + Send + 'static,
    handler: impl FnOnce(WebSocket<TcpStream>) -> T + Send + 'static,
) -> (String, JoinHandle<Result<T, Error>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/test", listener.local_addr().unwrap());
    let handle = thread::spawn(move || {
        let (stream, _) = listener.accept()?;
        stream.set_read_timeout(Some(TIMEOUT))?;
        let mut ws = WebSocket::accept_with(stream, Config::default(), decide)?;
        ws.set_read_timeout(Some(TIMEOUT));
        Ok(handler(ws))
    });
    (url, handle)
}

fn client(url: &str) -> WebSocket<TcpStream> {
    client_request(url, &ClientRequest::from_url(url).unwrap()).unwrap()
}

fn client_request(url: &str, request: &ClientRequest) -> Result<WebSocket<TcpStream>, Error> {
    let stream = TcpStream::connect(url.trim_start_matches("ws://").trim_end_matches("/test"))?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    let mut ws = WebSocket::connect(stream, request)?;
    ws.set_read_timeout(Some(TIMEOUT));
    Ok(ws)
}

/// Echoes every message until the connection ends; returns the close the
/// peer sent (or the error that ended it).
fn echo<S: Read + Write + Transport>(
    mut ws: WebSocket<S>,
) -> Result<Option<(CloseCode, String)>, Error> {
    let mut close = None;
    loop {
        match ws.read_with(|event, sender| match event {
            Event::Message(message) => sender.send(message).map(|()| None),
            Event::Close(frame) => Ok(Some((frame.code, frame.reason.to_owned()))),
            _ => Ok(None),
        }) {
            Ok(result) => {
                if let Some(frame) = result? {
                    close = Some(frame);
                }
            }
            Err(Error::Closed) => return Ok(close),
            Err(e) => return Err(e),
        }
    }
}

fn accept_all(_: &wsmachine::HandshakeRequest) -> Decision {
    Decision::accept()
}

#[test]
fn text_binary_large_and_a_subprotocol() {
    let (url, server) = server(
        |req| {
            assert_eq!(req.path(), "/test");
            assert!(req.protocols().iter().any(|p| p == "chat"));
            Decision::accept_protocol("chat")
        },
        echo,
    );
    let request = ClientRequest::from_url(&url).unwrap().protocol("chat");
    let mut ws = client_request(&url, &request).unwrap();
    assert_eq!(ws.protocol(), Some("chat"));

    ws.send_text("héllo").unwrap();
    assert_eq!(ws.read().unwrap(), OwnedMessage::Text("héllo".into()));
    ws.send_binary(&[0, 1, 2, 255]).unwrap();
    assert_eq!(ws.read().unwrap(), OwnedMessage::Binary(vec![0, 1, 2, 255]));
    let big: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
    ws.send_binary(&big).unwrap();
    assert_eq!(ws.read().unwrap(), OwnedMessage::Binary(big));

    ws.close(CloseCode::NORMAL, "done").unwrap();
    assert_eq!(
        ws.read().unwrap(),
        OwnedMessage::Close(Some((CloseCode::NORMAL, String::new())))
    );
    assert!(matches!(ws.read(), Err(Error::Closed)));
    let seen = server.join().unwrap().unwrap().unwrap();
    assert_eq!(seen, Some((CloseCode::NORMAL, "done".into())));
}

#[test]
fn fragments_with_a_ping_between_them() {
    let (url, server) = server(accept_all, |mut ws| {
        let ping = ws.read()?;
        let message = ws.read()?;
        // Answer in fragments too.
        ws.send_fragment(MessageKind::Binary, b"ab", false)?;
        ws.send_ping(b"between")?;
        ws.send_fragment(MessageKind::Binary, b"cd", true)?;
        let pong = ws.read()?;
        Ok::<_, Error>((ping, message, pong))
    });
    let mut ws = client(&url);
    let text = "€ and 𝄞".as_bytes();
    ws.send_fragment(MessageKind::Text, &text[..1], false)
        .unwrap();
    ws.send_ping(b"mid").unwrap();
    ws.send_fragment(MessageKind::Text, &text[1..], true)
        .unwrap();
    assert_eq!(ws.read().unwrap(), OwnedMessage::Pong(b"mid".to_vec()));
    assert_eq!(ws.read().unwrap(), OwnedMessage::Ping(b"between".to_vec()));
    assert_eq!(ws.read().unwrap(), OwnedMessage::Binary(b"abcd".to_vec()));
    let (ping, message, pong) = server.join().unwrap().unwrap().unwrap();
    assert_eq!(ping, OwnedMessage::Ping(b"mid".to_vec()));
    assert_eq!(message, OwnedMessage::Text("€ and 𝄞".into()));
    // The client's automatic pong went out before its read blocked.
    assert_eq!(pong, OwnedMessage::Pong(b"between".to_vec()));
}

#[test]
fn server_closes_with_a_code_and_the_client_sees_it() {
    let (url, server) = server(accept_all, |mut ws| {
        ws.close(CloseCode(4001), "going")?;
        let reply = ws.read()?;
        let after = ws.read();
        Ok::<_, Error>((reply, matches!(after, Err(Error::Closed)), ws.is_closed()))
    });
    let mut ws = client(&url);
    assert_eq!(
        ws.read().unwrap(),
        OwnedMessage::Close(Some((CloseCode(4001), "going".into())))
    );
    assert!(matches!(ws.read(), Err(Error::Closed)));
    assert!(matches!(ws.send_text("late"), Err(Error::Usage(_))));
    let (reply, closed, is_closed) = server.join().unwrap().unwrap().unwrap();
    assert_eq!(
        reply,
        OwnedMessage::Close(Some((CloseCode(4001), String::new())))
    );
    assert!(closed && is_closed);
    // The server dropped its stream: the client's socket sees end of stream.
    let mut stream = ws.into_inner();
    assert_eq!(stream.read(&mut [0; 8]).unwrap(), 0);
}

#[test]
fn client_close_code_reaches_the_server() {
    let (url, server) = server(accept_all, echo);
    let mut ws = client(&url);
    ws.close(CloseCode(3000), "custom").unwrap();
    assert_eq!(
        ws.read().unwrap(),
        OwnedMessage::Close(Some((CloseCode(3000), String::new())))
    );
    let seen = server.join().unwrap().unwrap().unwrap();
    assert_eq!(seen, Some((CloseCode(3000), "custom".into())));
}

#[test]
fn end_of_stream_without_close_is_1006() {
    let (url, server) = server(accept_all, |mut ws| {
        ws.send_text("last words")?;
        drop(ws);
        Ok::<_, Error>(())
    });
    let mut ws = client(&url);
    server.join().unwrap().unwrap().unwrap();
    // The message sent before the end is still delivered.
    assert_eq!(ws.read().unwrap(), OwnedMessage::Text("last words".into()));
    let error = ws.read().unwrap_err();
    assert!(
        matches!(error, Error::Protocol(ProtocolError::AbnormalClosure)),
        "{error:?}"
    );
    assert_eq!(error.close_code(), Some(CloseCode::ABNORMAL));
    assert!(matches!(ws.read(), Err(Error::Closed)));
}

/// A stream that moves at most 3 bytes per write and 7 per read, and
/// returns `Interrupted` on every fourth call.
struct Choppy {
    inner: TcpStream,
    calls: u32,
}

impl Choppy {
    fn interrupt(&mut self) -> bool {
        self.calls += 1;
        self.calls.is_multiple_of(4)
    }
}

impl Read for Choppy {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.interrupt() {
            return Err(io::ErrorKind::Interrupted.into());
        }
        let n = buf.len().min(7);
        self.inner.read(&mut buf[..n])
    }
}

impl Transport for Choppy {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.inner.set_read_timeout(timeout)
    }
    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.inner.set_write_timeout(timeout)
    }
}

impl Write for Choppy {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.interrupt() {
            return Err(io::ErrorKind::Interrupted.into());
        }
        let n = buf.len().min(3);
        self.inner.write(&buf[..n])
    }
    fn flush(&mut self) -> io::Result<()> {
        if self.interrupt() {
            return Err(io::ErrorKind::Interrupted.into());
        }
        self.inner.flush()
    }
}

#[test]
fn partial_writes_and_interrupted_calls() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = thread::spawn(move || {
        let (stream, _) = listener.accept()?;
        stream.set_read_timeout(Some(TIMEOUT))?;
        echo(WebSocket::accept(Choppy {
            inner: stream,
            calls: 0,
        })?)
    });
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    let choppy = Choppy {
        inner: stream,
        calls: 1,
    };
    let mut ws = WebSocket::connect_url(choppy, &format!("ws://{addr}/")).unwrap();
    let data: Vec<u8> = (0..20_000u32).map(|i| (i * 13) as u8).collect();
    ws.send_text("chopped into tiny pieces").unwrap();
    ws.send_binary(&data).unwrap();
    ws.send_ping(b"p").unwrap();
    assert_eq!(
        ws.read().unwrap(),
        OwnedMessage::Text("chopped into tiny pieces".into())
    );
    assert_eq!(ws.read().unwrap(), OwnedMessage::Binary(data));
    assert_eq!(ws.read().unwrap(), OwnedMessage::Pong(b"p".to_vec()));
    ws.close(CloseCode::NORMAL, "").unwrap();
    assert!(matches!(ws.read().unwrap(), OwnedMessage::Close(_)));
    assert!(server.join().unwrap().unwrap().is_some());
}

#[test]
fn a_read_timeout_leaves_the_connection_usable() {
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let (url, server) = server(accept_all, move |mut ws| {
        go_rx.recv().unwrap();
        ws.send_text("after the timeout")?;
        echo(ws)
    });
    let mut ws = client(&url);
    ws.set_read_timeout(Some(Duration::from_millis(50)));
    let error = ws.read().unwrap_err();
    assert!(error.is_timeout(), "{error:?}");
    go_tx.send(()).unwrap();
    ws.set_read_timeout(Some(TIMEOUT));
    assert_eq!(
        ws.read().unwrap(),
        OwnedMessage::Text("after the timeout".into())
    );
    ws.close(CloseCode::NORMAL, "").unwrap();
    assert!(matches!(ws.read().unwrap(), OwnedMessage::Close(_)));
    server.join().unwrap().unwrap().unwrap();
}

#[test]
fn a_rejected_handshake_is_an_error_with_its_status() {
    let (url, server) = server(
        |req| {
            assert_eq!(req.path(), "/test");
            Decision::reject(403, "not you")
        },
        |_| (),
    );
    let error = client_request(&url, &ClientRequest::from_url(&url).unwrap()).unwrap_err();
    match error {
        Error::Rejected { status, body } => assert_eq!((status, &body[..]), (403, &b"not you"[..])),
        other => panic!("{other:?}"),
    }
    let server_error = server.join().unwrap().unwrap_err();
    assert!(matches!(server_error, Error::Rejected { status: 403, .. }));
}

/// Kills the child process when the test ends, pass or fail.
#[test]
fn the_echo_server_example_serves_its_page_and_echoes() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};

    let child = Command::new(example_binary("echo_server"))
        .arg("127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut child = Child(child);
    let mut first = String::new();
    io::BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let addr = first
        .trim()
        .strip_prefix("listening on http://")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_owned();

    let mut http = TcpStream::connect(&addr).unwrap();
    http.set_read_timeout(Some(TIMEOUT)).unwrap();
    write!(http, "GET / HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut page = String::new();
    http.read_to_string(&mut page).unwrap();
    assert!(page.starts_with("HTTP/1.1 200 "), "{page}");
    assert!(page.contains("text/html") && page.contains("new WebSocket("));

    let stream = TcpStream::connect(&addr).unwrap();
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    let mut ws = WebSocket::connect_url(stream, &format!("ws://{addr}/echo")).unwrap();
    ws.send_text("through the example").unwrap();
    assert_eq!(
        ws.read().unwrap(),
        OwnedMessage::Text("through the example".into())
    );
    ws.send_binary(&[1, 2, 3]).unwrap();
    assert_eq!(ws.read().unwrap(), OwnedMessage::Binary(vec![1, 2, 3]));
    ws.close(CloseCode::NORMAL, "").unwrap();
    assert!(matches!(ws.read().unwrap(), OwnedMessage::Close(_)));
    assert!(matches!(ws.read(), Err(Error::Closed)));
}

/// Bytes in from a buffer; bytes out to a buffer, which refuses writes with
/// a timeout once `fail_after` bytes are in, once.
struct Faulty {
    input: io::Cursor<Vec<u8>>,
    written: Vec<u8>,
    fail_after: Option<usize>,
}

impl Read for Faulty {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.input.read(buf)
    }
}

impl Write for Faulty {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = match self.fail_after {
            Some(limit) if self.written.len() >= limit => {
                self.fail_after = None;
                return Err(io::ErrorKind::TimedOut.into());
            }
            Some(limit) => limit - self.written.len(),
            None => usize::MAX,
        };
        let n = buf.len().min(room);
        self.written.extend_from_slice(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Transport for Faulty {
    fn set_read_timeout(&mut self, _: Option<Duration>) -> io::Result<()> {
        Ok(())
    }
    fn set_write_timeout(&mut self, _: Option<Duration>) -> io::Result<()> {
        Ok(())
    }
}

/// `read_with_reply`: a large echo goes out directly (one vectored write,
/// here cut short by a write timeout); its unwritten tail is kept and goes
/// out before the next message, so the peer sees whole frames in order.
#[test]
fn a_direct_reply_cut_short_is_finished_before_anything_else() {
    let big: Vec<u8> = (0..20_000u32).map(|i| (i * 7) as u8).collect();
    let mut input = common::client_frame(0x82, &big);
    input.extend_from_slice(&common::client_frame(0x82, b"small"));
    let stream = Faulty {
        input: io::Cursor::new(input),
        written: Vec::new(),
        fail_after: Some(5_000),
    };
    let mut ws = WebSocket::from_connection(stream, Connection::open_server(Config::default()));
    let first = ws
        .read_with_reply(|event, reply| match event {
            Event::Message(message) => reply.send(message),
            _ => Ok(()),
        })
        .unwrap();
    assert!(matches!(first, Err(Error::Io(_))), "{first:?}");
    // Nothing was copied into the engine's output: the tail waits beside it.
    assert_eq!(ws.get_ref().written.len(), 5_000);
    let second = ws
        .read_with_reply(|event, reply| match event {
            Event::Message(message) => reply.send(message),
            _ => Ok(()),
        })
        .unwrap();
    second.unwrap();
    ws.flush().unwrap();
    let frames = common::parse_frames(&ws.get_ref().written);
    assert_eq!(frames, [(0x82, big), (0x82, b"small".to_vec())]);
}

//! A chat room: every message any client sends is broadcast to all.
//!
//! ```text
//! cargo run --example chat_server -- [ADDR] [--any-origin]
//!     [--ping-interval S] [--ping-timeout S] [--open-timeout S]
//! cargo run --features rustls --example chat_server -- [ADDR] --tls-cert CERT.pem --tls-key KEY.pem
//! ```
//!
//! `GET /` serves the chat page; the WebSocket is at `/ws`. A client sends
//! plain text messages (binary ones are ignored); the server assigns each
//! client a uid and broadcasts `{"uid": N, "msg": "..."}` (JSON) to everyone,
//! sender included.
//!
//! Threads: one hub thread owns the client list and is fed by a channel.
//! Each client's WebSocket is split ([`WebSocket::split`]): the read half
//! stays on the thread that accepted it, the write half goes to a writer
//! thread fed by a bounded queue of 64 messages. Neither waits for the
//! other: the read half hands the pongs and close replies it owes to the
//! write half, and no lock is held across a read or a write. A slow client
//! cannot stall the room: when its queue is full the hub drops it, and its
//! writer closes it with 1008; a write that makes no progress for 10 s ends
//! it too.
//!
//! A dead member (a suspended laptop, a pulled cable) is found by keepalive:
//! after `--ping-interval` seconds (20) with nothing from it, it is pinged,
//! and if nothing arrives `--ping-timeout` seconds (20) later it is dropped
//! from the room with 1011. `--open-timeout` (10) bounds the handshake.
//!
//! With `--tls-cert` and `--tls-key` (PEM; feature `rustls`) the page is
//! served over https:// and the room over wss://, with the same split: the
//! halves share the rustls session through
//! [`SplitTlsStream`](wsmachine::blocking::SplitTlsStream), which locks it
//! only to decrypt and encrypt in memory; each half reads or writes its own
//! clone of the socket outside that lock.
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::mpsc::{self, Sender, SyncSender, TrySendError};
use std::thread;
use std::time::Duration;

use wsmachine::blocking::{
    self, Decision, OwnedMessage, ReadHalf, Transport, WebSocket, WriteHalf,
};
use wsmachine::{CloseCode, Config, OriginPolicy, State};

mod common;

const PAGE: &str = include_str!("chat_page.html");
const USAGE: &str = "usage: chat_server [ADDR] [--any-origin] [--ping-interval S] [--ping-timeout S] \
[--open-timeout S] [--tls-cert CERT.pem --tls-key KEY.pem]   (ADDR defaults to 127.0.0.1:8080)";
/// A write to a member that makes no progress for this long drops it.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
const QUEUE: usize = 64;

enum Hub {
    Join(u64, SyncSender<Arc<str>>),
    Leave(u64),
    Say(u64, String),
}

/// Said on the startup line: built with `--features deflate`, the default
/// `Config` negotiates permessage-deflate.
const COMPRESSION: &str = if cfg!(feature = "deflate") {
    " (permessage-deflate on)"
} else {
    ""
};

fn main() {
    let (addr, config, tls) = parse_args().unwrap_or_else(|message| {
        eprintln!("chat_server: {message}\n{USAGE}");
        std::process::exit(2);
    });
    let tls = tls.config().unwrap_or_else(|message| {
        eprintln!("chat_server: {message}");
        std::process::exit(2);
    });
    let listener = TcpListener::bind(addr).unwrap_or_else(|e| {
        eprintln!("chat_server: cannot listen on {addr}: {e}");
        std::process::exit(1);
    });
    let local = listener
        .local_addr()
        .expect("a bound listener has an address");
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!("listening on {scheme}://{local}{COMPRESSION}");
    io::stdout().flush().ok();
    let (hub_tx, hub_rx) = mpsc::channel();
    thread::spawn(move || hub(hub_rx));
    for (uid, stream) in (1..).zip(listener.incoming()) {
        let (Ok(stream), hub_tx, config) = (stream, hub_tx.clone(), config.clone()) else {
            continue;
        };
        let tls = tls.clone();
        thread::spawn(move || {
            if let Err(e) = client(uid, stream, config, &hub_tx, tls) {
                eprintln!("client {uid}: {e}");
            }
            hub_tx.send(Hub::Leave(uid)).ok();
        });
    }
}

fn parse_args() -> Result<(SocketAddr, Config, common::TlsFiles), String> {
    let mut addr = None;
    let mut tls = common::TlsFiles::default();
    let mut config = Config::default()
        .with_max_message_size(64 << 10)
        .expect("valid");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--any-origin" => config = config.with_origin_policy(OriginPolicy::Any),
            "--ping-interval" | "--ping-timeout" | "--open-timeout" => {
                config = common::timer_flag(&config, &arg, || args.next())?.expect("a timer flag");
            }
            "--tls-cert" => tls.cert = Some(args.next().ok_or("--tls-cert needs a file")?),
            "--tls-key" => tls.key = Some(args.next().ok_or("--tls-key needs a file")?),
            "-h" | "--help" => {
                println!(
                    "{USAGE}\n{}\n{}",
                    common::SERVER_TIMER_HELP,
                    common::TLS_HELP
                );
                std::process::exit(0);
            }
            _ if arg.starts_with('-') || addr.is_some() => {
                return Err(format!("unexpected argument {arg}"));
            }
            _ => addr = Some(common::socket_addr(&arg)?),
        }
    }
    Ok((addr.unwrap_or_else(common::default_addr), config, tls))
}

/// Owns the client list: broadcasts, and drops clients whose queue is full.
fn hub(events: mpsc::Receiver<Hub>) {
    let mut clients: HashMap<u64, SyncSender<Arc<str>>> = HashMap::new();
    for event in events {
        match event {
            Hub::Join(uid, queue) => drop(clients.insert(uid, queue)),
            Hub::Leave(uid) => drop(clients.remove(&uid)),
            Hub::Say(uid, text) => {
                let json: Arc<str> =
                    format!("{{\"uid\": {uid}, \"msg\": {}}}", json_string(&text)).into();
                clients.retain(|id, queue| match queue.try_send(json.clone()) {
                    Ok(()) => true,
                    Err(TrySendError::Full(_)) => {
                        eprintln!("client {id}: too slow, dropped");
                        false
                    }
                    Err(TrySendError::Disconnected(_)) => false,
                });
            }
        }
    }
}

/// A JSON string literal for `text`, quoted and escaped (RFC 8259 section 7).
fn json_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' | '\\' => out.extend(['\\', c]),
            c if c < ' ' => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out + "\""
}

/// Runs the TLS handshake when configured, then [`room`] over the stream.
fn client(
    uid: u64,
    stream: TcpStream,
    config: Config,
    hub: &Sender<Hub>,
    tls: Option<common::TlsConfig>,
) -> io::Result<()> {
    match tls {
        None => room(uid, stream, config, hub),
        Some(tls) => {
            let stream =
                common::tls_accept(stream, tls, config.open_timeout()).map_err(io::Error::other)?;
            room(uid, stream, config, hub)
        }
    }
}

/// Routes the request; for `/ws`, splits the WebSocket and runs the
/// client's reader loop, with its writer on a thread of its own.
fn room<S: ChatStream>(
    uid: u64,
    mut stream: S,
    config: Config,
    hub: &Sender<Hub>,
) -> io::Result<()> {
    let limit = config.max_handshake_bytes();
    let head = match blocking::read_request_head_within(&mut stream, limit, config.open_timeout()) {
        Ok(head) => head,
        Err(blocking::Error::Protocol(e)) => {
            let status = e.http_status().unwrap_or(400);
            blocking::respond(&mut stream, status, "text/plain", e.to_string().as_bytes())?;
            blocking::lingering_close(stream);
            return Err(io::Error::other(e));
        }
        Err(e) => return Err(io::Error::other(e)),
    };
    let (status, kind, body) = if !head.is_websocket() && head.path_only() == "/" {
        (200, "text/html; charset=utf-8", PAGE.as_bytes())
    } else if head.path_only() != "/ws" {
        (404, "text/plain", &b"not found"[..])
    } else {
        (101, "", &b""[..])
    };
    if status != 101 {
        blocking::respond(&mut stream, status, kind, body)?;
        blocking::lingering_close(stream);
        return Ok(());
    }
    let ws = WebSocket::accept_head(stream, &head, config, |_| Decision::accept())
        .map_err(io::Error::other)?;
    // To cut the member off from either thread (shutdown of both directions).
    let socket = ws.get_ref().socket().try_clone()?;
    let (mut reader, writer) = S::split(ws).map_err(io::Error::other)?;
    writer.set_write_timeout(Some(WRITE_TIMEOUT));
    let (queue_tx, queue_rx) = mpsc::sync_channel::<Arc<str>>(QUEUE);
    hub.send(Hub::Join(uid, queue_tx)).ok();
    eprintln!("client {uid}: joined");
    let (sender, cut) = (writer.clone(), socket.try_clone()?);
    thread::spawn(move || send_loop(queue_rx, &sender, &cut));
    // The read half answers pings and the close, and runs keepalive: a
    // dead member's read ends with a timeout (its 1011 handed to the
    // write half on the way out).
    loop {
        match reader.read() {
            Ok(OwnedMessage::Text(text)) => drop(hub.send(Hub::Say(uid, text))),
            Ok(OwnedMessage::Close(frame)) => {
                let code = frame.map_or(CloseCode::NO_STATUS, |(code, _)| code);
                eprintln!("client {uid}: closed with {code}");
            }
            Ok(_) => {}
            Err(blocking::Error::Closed) => break,
            Err(blocking::Error::Timeout(timeout)) => {
                // A dead member: it leaves the room, which goes on.
                eprintln!("client {uid}: dropped: {timeout}");
                break;
            }
            Err(e) => {
                eprintln!("client {uid}: {e}");
                break;
            }
        }
    }
    // The server closes TCP first (RFC 6455 section 7.1.1); over TLS,
    // close_notify goes before the FIN. A peer already gone makes these
    // fail (ENOTCONN), which says nothing worth logging.
    writer.shutdown().ok();
    socket.shutdown(Shutdown::Both).ok();
    Ok(())
}

/// Sends queued broadcasts; when the hub drops the queue of a member too
/// slow to keep up, closes it with 1008 and cuts it off (which ends its
/// reader too).
fn send_loop<S: Read + Write + Transport>(
    queue: mpsc::Receiver<Arc<str>>,
    writer: &WriteHalf<S>,
    socket: &TcpStream,
) {
    for json in queue {
        if writer.send_text(&json).is_err() {
            return;
        }
    }
    if writer.state() == State::Open
        && writer
            .close(CloseCode::POLICY_VIOLATION, "too slow")
            .is_ok()
    {
        writer.shutdown().ok();
        socket.shutdown(Shutdown::Both).ok();
    }
}

/// What a member's stream is, plain or TLS: how it splits into a read half
/// and a write half, and the socket underneath.
trait ChatStream: Read + Write + Transport + Send + Sized + 'static {
    /// The stream each half works on: the socket's clones for plain TCP,
    /// handles to the shared TLS session (rustls) for TLS, which neither
    /// half locks while it waits on the socket.
    type Half: Read + Write + Transport + Send + 'static;
    /// The TCP socket underneath.
    fn socket(&self) -> &TcpStream;
    /// Splits the open WebSocket.
    #[allow(clippy::type_complexity)]
    fn split(
        ws: WebSocket<Self>,
    ) -> Result<(ReadHalf<Self::Half>, WriteHalf<Self::Half>), blocking::Error>;
}

impl ChatStream for TcpStream {
    type Half = TcpStream;

    fn socket(&self) -> &TcpStream {
        self
    }

    fn split(
        ws: WebSocket<Self>,
    ) -> Result<(ReadHalf<TcpStream>, WriteHalf<TcpStream>), blocking::Error> {
        ws.split()
    }
}

#[cfg(feature = "rustls")]
impl ChatStream for common::TlsStream {
    type Half = blocking::SplitTlsStream<TcpStream>;

    fn socket(&self) -> &TcpStream {
        self.get_ref()
    }

    fn split(
        ws: WebSocket<Self>,
    ) -> Result<(ReadHalf<Self::Half>, WriteHalf<Self::Half>), blocking::Error> {
        ws.split()
    }
}

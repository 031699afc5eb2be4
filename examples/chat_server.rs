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
//! Each client has a reader thread (the one that accepted it) and a writer
//! thread fed by a bounded queue of 64 messages; the two share the
//! `Connection` behind a mutex. A slow client cannot stall the room: when its
//! queue is full the hub drops it, and its writer closes it with 1008; a write
//! that makes no progress for 10 s ends it too.
//!
//! A dead member (a suspended laptop, a pulled cable) is found by keepalive:
//! after `--ping-interval` seconds (20) with nothing from it, it is pinged,
//! and if nothing arrives `--ping-timeout` seconds (20) later it is dropped
//! from the room with 1011. `--open-timeout` (10) bounds the handshake.
//!
//! With `--tls-cert` and `--tls-key` (PEM; feature `rustls`) the page is
//! served over https:// and the room over wss://. The TLS session is shared
//! by the two threads behind the same mutex: the reader waits for bytes on
//! the socket (`peek`) without the lock, and takes it only to decrypt.
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::mpsc::{self, Sender, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use wsmachine::blocking::{self, Decision, Transport, WebSocket};
use wsmachine::{CloseCode, Config, Connection, Event, Message, OriginPolicy, Timestamp};

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
            _ => {
                let resolved = arg.to_socket_addrs().ok().and_then(|mut a| a.next());
                addr = Some(resolved.ok_or(format!("bad address {arg}"))?)
            }
        }
    }
    Ok((
        addr.unwrap_or_else(|| ([127, 0, 0, 1], 8080).into()),
        config,
        tls,
    ))
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

type Shared<S> = Arc<Mutex<(Connection, S)>>;

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

/// Routes the request; for `/ws`, runs the client's reader loop.
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
    let (mut stream, mut conn) = ws.into_parts();
    // The connection's clock: keepalive deadlines are read against it.
    let epoch = Instant::now();
    let now = || Timestamp::since(epoch, Instant::now());
    conn.handle_timeout(now()).ok();
    stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
    let mut reader = stream.socket().try_clone()?;
    let shared: Shared<S> = Arc::new(Mutex::new((conn, stream)));
    let (queue_tx, queue_rx) = mpsc::sync_channel::<Arc<str>>(QUEUE);
    hub.send(Hub::Join(uid, queue_tx)).ok();
    eprintln!("client {uid}: joined");
    let writer_shared = shared.clone();
    thread::spawn(move || writer(queue_rx, &writer_shared));
    let mut buf = vec![0; 16 << 10];
    let mut deadline = shared
        .lock()
        .expect("no panics while locked")
        .0
        .poll_timeout();
    loop {
        // Sleep in read() until input or the connection's next deadline.
        let wait = deadline.map(|d| (d - now()).max(Duration::from_millis(1)));
        reader.set_read_timeout(wait.or(S::READ_CAP))?;
        let read = match S::read_unlocked(&mut reader, &mut buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Input::Nothing
            }
            result => result.unwrap_or(Input::Bytes(0)),
        };
        let mut guard = shared.lock().expect("no panics while locked");
        let (conn, stream) = &mut *guard;
        match read {
            Input::Bytes(0) => conn.receive_eof(),
            Input::Bytes(n) => conn.receive(&buf[..n]),
            Input::Pending => stream.read_locked(conn, &mut buf),
            Input::Nothing => {}
        }
        if let Err(timeout) = conn.handle_timeout(now()) {
            // A dead member: it leaves the room, which goes on.
            eprintln!("client {uid}: dropped: {timeout}");
            // Its 1011 is a courtesy: the peer is most likely gone.
            stream
                .set_write_timeout(Some(Duration::from_millis(100)))
                .ok();
            write_out(conn, stream).ok();
            stream.finish();
            return stream.socket().shutdown(Shutdown::Both);
        }
        deadline = conn.poll_timeout();
        loop {
            match conn.next_event() {
                Ok(Some(Event::Message(Message::Text(text)))) => {
                    drop(hub.send(Hub::Say(uid, text.to_owned())))
                }
                Ok(Some(Event::Close(frame))) => {
                    eprintln!("client {uid}: closed with {}", frame.code)
                }
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => break eprintln!("client {uid}: {e}"),
            }
        }
        write_out(conn, stream)?;
        if conn.is_closed() {
            stream.finish();
            return stream.socket().shutdown(Shutdown::Both); // the server closes TCP first
        }
    }
}

/// Sends queued broadcasts; when the hub drops the queue, closes the client.
fn writer<S: ChatStream>(queue: mpsc::Receiver<Arc<str>>, shared: &Shared<S>) {
    for json in queue {
        let mut guard = shared.lock().expect("no panics while locked");
        let (conn, stream) = &mut *guard;
        if conn.send_text(&json).is_err() || write_out(conn, stream).is_err() {
            return;
        }
    }
    let mut guard = shared.lock().expect("no panics while locked");
    let (conn, stream) = &mut *guard;
    if !conn.is_closed() && conn.close(CloseCode::POLICY_VIOLATION, "too slow").is_ok() {
        write_out(conn, stream).ok();
        stream.finish();
        stream.socket().shutdown(Shutdown::Both).ok(); // ends the reader too
    }
}

fn write_out<S: Write>(conn: &mut Connection, stream: &mut S) -> io::Result<()> {
    let n = conn.pending_output().len();
    stream.write_all(conn.pending_output())?;
    stream.flush()?;
    conn.advance_output(n);
    Ok(())
}

/// What the reader found on the socket, without the lock.
enum Input {
    /// Bytes for the connection (0: the client is gone).
    Bytes(usize),
    /// TLS records arrived: decrypt them with the lock held.
    #[cfg_attr(not(feature = "rustls"), allow(dead_code))]
    Pending,
    /// Nothing before the read timeout.
    Nothing,
}

/// What the reader and writer threads need of a member's stream, plain or
/// TLS: the plain socket is read without the lock; a TLS session is shared
/// state, so the reader waits for bytes without the lock and decrypts with it.
trait ChatStream: Read + Write + Transport + Send + 'static {
    /// The socket's read timeout when the connection has no deadline.
    const READ_CAP: Option<Duration>;
    /// Reads (or, for TLS, waits for bytes) without the lock.
    fn read_unlocked(socket: &mut TcpStream, buf: &mut [u8]) -> io::Result<Input>;
    /// Decrypts what arrived, with the lock held, into `conn`.
    fn read_locked(&mut self, conn: &mut Connection, buf: &mut [u8]);
    /// The TCP socket underneath.
    fn socket(&self) -> &TcpStream;
    /// Ends the session politely before TCP is shut down (TLS close_notify).
    fn finish(&mut self) {}
}

impl ChatStream for TcpStream {
    const READ_CAP: Option<Duration> = None;

    fn read_unlocked(socket: &mut TcpStream, buf: &mut [u8]) -> io::Result<Input> {
        socket.read(buf).map(Input::Bytes)
    }

    fn read_locked(&mut self, conn: &mut Connection, buf: &mut [u8]) {
        match self.read(buf) {
            Ok(0) | Err(_) => conn.receive_eof(),
            Ok(n) => conn.receive(&buf[..n]),
        }
    }

    fn socket(&self) -> &TcpStream {
        self
    }
}

#[cfg(feature = "rustls")]
impl ChatStream for common::TlsStream {
    // A record cut short holds the lock only this long (the read under the
    // lock shares the socket's timeout); an idle member just waits again.
    const READ_CAP: Option<Duration> = Some(Duration::from_secs(10));

    fn read_unlocked(socket: &mut TcpStream, _: &mut [u8]) -> io::Result<Input> {
        // Waits for ciphertext without consuming it.
        Ok(match socket.peek(&mut [0])? {
            0 => Input::Bytes(0),
            _ => Input::Pending,
        })
    }

    fn read_locked(&mut self, conn: &mut Connection, buf: &mut [u8]) {
        // Until rustls holds no more plaintext, so that none is left
        // waiting for the next bytes on the socket.
        loop {
            match self.read(buf) {
                Ok(0) => return conn.receive_eof(),
                Ok(n) => conn.receive(&buf[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return;
                }
                Err(_) => return conn.receive_eof(),
            }
            if self.tls().wants_read() {
                return;
            }
        }
    }

    fn socket(&self) -> &TcpStream {
        self.get_ref()
    }

    fn finish(&mut self) {
        self.close_notify().ok();
    }
}

//! A chat room: every message any client sends is broadcast to all.
//!
//! ```text
//! cargo run --example chat_server -- [ADDR] [--any-origin]
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
//! queue is full the hub drops it, and its writer closes it with 1008.
//!
//! With `--tls-cert` and `--tls-key` (PEM; feature `rustls`) the page is
//! served over https:// and the room over wss://. The TLS session is shared
//! by the two threads behind the same mutex; the reader waits for bytes on
//! the socket (`peek`) without the lock, and takes it only to decrypt.
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::mpsc::{self, Sender, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use wsmachine::blocking::{self, Decision, SetTimeouts, WebSocket};
use wsmachine::{CloseCode, Config, Connection, Event, Message, OriginPolicy};

const PAGE: &str = include_str!("chat_page.html");
const USAGE: &str = "usage: chat_server [ADDR] [--any-origin] [--tls-cert CERT.pem --tls-key KEY.pem]   (ADDR defaults to 127.0.0.1:8080)";
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
    let (addr, policy, tls) = parse_args().unwrap_or_else(|message| {
        eprintln!("chat_server: {message}\n{USAGE}");
        std::process::exit(2);
    });
    let tls = tls::server_config(tls).unwrap_or_else(|message| {
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
        let (Ok(stream), hub_tx, policy) = (stream, hub_tx.clone(), policy.clone()) else {
            continue;
        };
        let tls = tls.clone();
        thread::spawn(move || {
            if let Err(e) = client(uid, stream, policy, &hub_tx, tls) {
                eprintln!("client {uid}: {e}");
            }
            hub_tx.send(Hub::Leave(uid)).ok();
        });
    }
}

fn parse_args() -> Result<(SocketAddr, OriginPolicy, tls::Files), String> {
    let (mut addr, mut policy, mut tls) = (None, OriginPolicy::SameHost, tls::Files::default());
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--any-origin" => policy = OriginPolicy::Any,
            "--tls-cert" => tls.cert = Some(args.next().ok_or("--tls-cert needs a file")?),
            "--tls-key" => tls.key = Some(args.next().ok_or("--tls-key needs a file")?),
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
        policy,
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

/// Runs the TLS handshake if configured, then [`room`] over the stream.
fn client(
    uid: u64,
    stream: TcpStream,
    policy: OriginPolicy,
    hub: &Sender<Hub>,
    tls: Option<tls::ServerConfig>,
) -> io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let socket = stream.try_clone()?;
    match tls {
        None => room(uid, stream, socket, policy, hub),
        Some(tls) => room(uid, tls::accept(stream, tls)?, socket, policy, hub),
    }
}

/// Routes the request; for `/ws`, runs the client's reader loop. `socket`
/// is the TCP socket under `stream` (the same one when there is no TLS).
fn room<S: ChatStream>(
    uid: u64,
    mut stream: S,
    socket: TcpStream,
    policy: OriginPolicy,
    hub: &Sender<Hub>,
) -> io::Result<()> {
    let head = blocking::read_request_head(&mut stream, 16 * 1024).map_err(io::Error::other)?;
    if !head.is_websocket() && head.path_only() == "/" {
        let page = PAGE.as_bytes();
        return blocking::respond(&mut stream, 200, "text/html; charset=utf-8", page);
    } else if head.path_only() != "/ws" {
        return blocking::respond(&mut stream, 404, "text/plain", b"not found");
    }
    let config = Config::default()
        .with_origin_policy(policy)
        .with_max_message_size(64 << 10)
        .expect("valid");
    let ws = WebSocket::accept_head(stream, &head, config, |_| Decision::accept())
        .map_err(io::Error::other)?;
    let (stream, conn) = ws.into_parts();
    // Idle chat clients stay; over TLS the reader takes the lock only for
    // bytes that have arrived, and a record still incomplete after this
    // long ends the client rather than hold its writer.
    socket.set_read_timeout(S::READ_TIMEOUT)?;
    socket.set_write_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = socket.try_clone()?;
    let shared: Shared<S> = Arc::new(Mutex::new((conn, stream)));
    let (queue_tx, queue_rx) = mpsc::sync_channel::<Arc<str>>(QUEUE);
    hub.send(Hub::Join(uid, queue_tx)).ok();
    eprintln!("client {uid}: joined");
    let writer_shared = shared.clone();
    thread::spawn(move || writer(queue_rx, &writer_shared));
    let mut buf = vec![0; 16 << 10];
    loop {
        let unlocked = match S::read_unlocked(&mut reader, &mut buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            result => result,
        };
        let mut guard = shared.lock().expect("no panics while locked");
        let (conn, stream) = &mut *guard;
        match unlocked {
            Ok(Some(0)) | Err(_) => conn.receive_eof(),
            Ok(Some(n)) => conn.receive(&buf[..n]),
            Ok(None) => stream.read_locked(conn, &mut buf),
        }
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
            return socket.shutdown(Shutdown::Both); // the server closes TCP first
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

/// What the reader and writer threads need of a client's stream, plain or
/// TLS: the plain socket is read without the lock; a TLS session is shared
/// state, so the reader waits for bytes without the lock and decrypts with it.
trait ChatStream: Read + Write + SetTimeouts + Send + 'static {
    /// The socket's read timeout while the room is open.
    const READ_TIMEOUT: Option<Duration>;
    /// Reads without the lock from `socket`: `Some(n)` bytes for the
    /// connection (0: the client is gone), or `None` when bytes wait for
    /// [`read_locked`](Self::read_locked).
    fn read_unlocked(socket: &mut TcpStream, buf: &mut [u8]) -> io::Result<Option<usize>>;
    /// Reads with the lock held, into `conn`.
    fn read_locked(&mut self, conn: &mut Connection, buf: &mut [u8]);
    /// The TCP socket underneath.
    fn socket(&self) -> &TcpStream;
    /// Ends the session politely before TCP is shut down (TLS close_notify).
    fn finish(&mut self) {}
}

impl ChatStream for TcpStream {
    const READ_TIMEOUT: Option<Duration> = None;

    fn read_unlocked(socket: &mut TcpStream, buf: &mut [u8]) -> io::Result<Option<usize>> {
        socket.read(buf).map(Some)
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

/// TLS for the server (`--tls-cert`, `--tls-key`): with the `rustls`
/// feature, a rustls config from the PEM files; without it, the flags are
/// refused with a hint.
mod tls {
    use std::io;
    use std::net::TcpStream;

    /// The PEM files named on the command line.
    #[derive(Default)]
    pub struct Files {
        pub cert: Option<String>,
        pub key: Option<String>,
    }

    #[cfg(feature = "rustls")]
    pub type ServerConfig = std::sync::Arc<wsmachine::tls::rustls::ServerConfig>;
    /// Without the feature there is no config (and `server_config` refuses
    /// the flags).
    #[cfg(not(feature = "rustls"))]
    #[derive(Clone)]
    pub enum ServerConfig {}

    /// `None` for plain HTTP, or the config built from both files.
    pub fn server_config(files: Files) -> Result<Option<ServerConfig>, String> {
        match (files.cert, files.key) {
            (None, None) => Ok(None),
            (Some(_), None) | (None, Some(_)) => Err("--tls-cert and --tls-key go together".into()),
            #[cfg(feature = "rustls")]
            (Some(cert), Some(key)) => {
                wsmachine::tls::server_config_from_pem_files(cert.as_ref(), key.as_ref())
                    .map(Some)
                    .map_err(|e| format!("TLS: {e}"))
            }
            #[cfg(not(feature = "rustls"))]
            (Some(_), Some(_)) => {
                Err("--tls-cert needs the rustls feature: cargo run --features rustls ...".into())
            }
        }
    }

    #[cfg(feature = "rustls")]
    pub type Stream = wsmachine::blocking::TlsStream<TcpStream>;
    #[cfg(not(feature = "rustls"))]
    pub type Stream = TcpStream;

    #[cfg(feature = "rustls")]
    pub fn accept(stream: TcpStream, config: ServerConfig) -> io::Result<Stream> {
        wsmachine::blocking::tls_accept(stream, config).map_err(io::Error::other)
    }

    #[cfg(not(feature = "rustls"))]
    pub fn accept(_: TcpStream, config: ServerConfig) -> io::Result<Stream> {
        match config {}
    }

    #[cfg(feature = "rustls")]
    impl super::ChatStream for Stream {
        const READ_TIMEOUT: Option<std::time::Duration> = Some(std::time::Duration::from_secs(10));

        fn read_unlocked(socket: &mut TcpStream, _: &mut [u8]) -> io::Result<Option<usize>> {
            // Wait for ciphertext without consuming it; an idle client's
            // timeout just waits again.
            loop {
                match socket.peek(&mut [0]) {
                    Ok(0) => return Ok(Some(0)),
                    Ok(_) => return Ok(None),
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                        ) => {}
                    Err(e) => return Err(e),
                }
            }
        }

        fn read_locked(&mut self, conn: &mut wsmachine::Connection, buf: &mut [u8]) {
            // Until rustls holds no more plaintext, so that none is left
            // waiting for the next bytes on the socket.
            loop {
                match io::Read::read(self, buf) {
                    Ok(0) | Err(_) => return conn.receive_eof(),
                    Ok(n) => conn.receive(&buf[..n]),
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
}

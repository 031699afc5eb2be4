//! A chat room: every message any client sends is broadcast to all.
//!
//! ```text
//! cargo run --example chat_server -- [ADDR] [--any-origin]
//!     [--ping-interval S] [--ping-timeout S] [--open-timeout S]
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
[--open-timeout S]   (ADDR defaults to 127.0.0.1:8080)";
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
    let (addr, config) = parse_args().unwrap_or_else(|message| {
        eprintln!("chat_server: {message}\n{USAGE}");
        std::process::exit(2);
    });
    let listener = TcpListener::bind(addr).unwrap_or_else(|e| {
        eprintln!("chat_server: cannot listen on {addr}: {e}");
        std::process::exit(1);
    });
    let local = listener
        .local_addr()
        .expect("a bound listener has an address");
    println!("listening on http://{local}{COMPRESSION}");
    io::stdout().flush().ok();
    let (hub_tx, hub_rx) = mpsc::channel();
    thread::spawn(move || hub(hub_rx));
    for (uid, stream) in (1..).zip(listener.incoming()) {
        let (Ok(stream), hub_tx, config) = (stream, hub_tx.clone(), config.clone()) else {
            continue;
        };
        thread::spawn(move || {
            if let Err(e) = client(uid, stream, config, &hub_tx) {
                eprintln!("client {uid}: {e}");
            }
            hub_tx.send(Hub::Leave(uid)).ok();
        });
    }
}

fn parse_args() -> Result<(SocketAddr, Config), String> {
    let mut addr = None;
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
            "-h" | "--help" => {
                println!("{USAGE}\n{}", common::SERVER_TIMER_HELP);
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

type Shared = Arc<Mutex<(Connection, TcpStream)>>;

/// Routes the request; for `/ws`, runs the client's reader loop.
fn client(uid: u64, mut stream: TcpStream, config: Config, hub: &Sender<Hub>) -> io::Result<()> {
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
    let (stream, mut conn) = ws.into_parts();
    // The connection's clock: keepalive deadlines are read against it.
    let epoch = Instant::now();
    let now = || Timestamp::since(epoch, Instant::now());
    conn.handle_timeout(now()).ok();
    stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
    let mut reader = stream.try_clone()?;
    let shared: Shared = Arc::new(Mutex::new((conn, stream)));
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
        reader.set_read_timeout(wait)?;
        let read = match reader.read(&mut buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                None
            }
            result => Some(result.unwrap_or(0)),
        };
        let mut guard = shared.lock().expect("no panics while locked");
        let (conn, stream) = &mut *guard;
        match read {
            Some(0) => conn.receive_eof(),
            Some(n) => conn.receive(&buf[..n]),
            None => {}
        }
        if let Err(timeout) = conn.handle_timeout(now()) {
            // A dead member: it leaves the room, which goes on.
            eprintln!("client {uid}: dropped: {timeout}");
            // Its 1011 is a courtesy: the peer is most likely gone.
            stream
                .set_write_timeout(Some(Duration::from_millis(100)))
                .ok();
            write_out(conn, stream).ok();
            return stream.shutdown(Shutdown::Both);
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
            return stream.shutdown(Shutdown::Both); // the server closes TCP first
        }
    }
}

/// Sends queued broadcasts; when the hub drops the queue, closes the client.
fn writer(queue: mpsc::Receiver<Arc<str>>, shared: &Shared) {
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
        stream.shutdown(Shutdown::Both).ok(); // ends the reader too
    }
}

fn write_out(conn: &mut Connection, stream: &mut TcpStream) -> io::Result<()> {
    let n = conn.pending_output().len();
    stream.write_all(conn.pending_output())?;
    conn.advance_output(n);
    Ok(())
}

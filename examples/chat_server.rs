//! A chat room: every message any client sends is broadcast to all.
//!
//! ```text
//! cargo run --example chat_server -- [ADDR] [--any-origin]
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
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::mpsc::{self, Sender, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use wsmachine::blocking::{self, Decision, WebSocket};
use wsmachine::{CloseCode, Config, Connection, Event, Message, OriginPolicy};

const PAGE: &str = include_str!("chat_page.html");
const USAGE: &str = "usage: chat_server [ADDR] [--any-origin]   (ADDR defaults to 127.0.0.1:8080)";
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
    let (addr, policy) = parse_args().unwrap_or_else(|message| {
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
        let (Ok(stream), hub_tx, policy) = (stream, hub_tx.clone(), policy.clone()) else {
            continue;
        };
        thread::spawn(move || {
            if let Err(e) = client(uid, stream, policy, &hub_tx) {
                eprintln!("client {uid}: {e}");
            }
            hub_tx.send(Hub::Leave(uid)).ok();
        });
    }
}

fn parse_args() -> Result<(SocketAddr, OriginPolicy), String> {
    let (mut addr, mut policy) = (None, OriginPolicy::SameHost);
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--any-origin" => policy = OriginPolicy::Any,
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
fn client(
    uid: u64,
    mut stream: TcpStream,
    policy: OriginPolicy,
    hub: &Sender<Hub>,
) -> io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
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
    stream.set_read_timeout(None)?;
    stream.set_write_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = stream.try_clone()?;
    let shared: Shared = Arc::new(Mutex::new((conn, stream)));
    let (queue_tx, queue_rx) = mpsc::sync_channel::<Arc<str>>(QUEUE);
    hub.send(Hub::Join(uid, queue_tx)).ok();
    eprintln!("client {uid}: joined");
    let writer_shared = shared.clone();
    thread::spawn(move || writer(queue_rx, &writer_shared));
    let mut buf = vec![0; 16 << 10];
    loop {
        let n = match reader.read(&mut buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            result => result.unwrap_or(0),
        };
        let mut guard = shared.lock().expect("no panics while locked");
        let (conn, stream) = &mut *guard;
        if n == 0 {
            conn.receive_eof()
        } else {
            conn.receive(&buf[..n])
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

//! The echo service of `echo_server` on ONE thread serving many non-blocking
//! sockets with mio, driving each `Connection` directly (no adapter).
//!
//! `cargo run --release --example event_loop -- [ADDR] [--any-origin]`
//!
//! Built with `--features deflate`: `--deflate-memory=tiny|small|medium|default|large|max`
//! picks the compressor's memory preset, `--no-context-takeover` demands it of
//! both directions, and `--shared-state` then shares one compressor and one
//! decompressor per thread instead of one per connection.
//!
//! Any request with `Upgrade: websocket` (the page uses `/echo`) becomes a
//! WebSocket whose text and binary messages are echoed; a plain `GET /` gets
//! a small HTML page; any other request gets the engine's HTTP error.
//!
//! mio is edge-triggered: a readiness event is reported once, so each client
//! remembers `readable`/`writable` until a read or write says `WouldBlock`.
//! Fairness: at most `READS_PER_TURN` reads per client per turn; a client
//! with input left is queued again behind the others. Backpressure: no reads
//! from a peer while `OUTPUT_HIGH_WATER` bytes of output wait for it. Memory:
//! one shared read buffer; an idle client holds its socket and a `Connection`
//! whose buffers the engine allocates only as messages need them.
use std::collections::{HashMap, VecDeque};
use std::io::{self, ErrorKind, Read, Write};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use wsmachine::{Accept, Config, Connection, Event, OriginPolicy};

const LISTENER: Token = Token(usize::MAX);
const READ_CHUNK: usize = 64 * 1024;
const READS_PER_TURN: usize = 4;
const OUTPUT_HIGH_WATER: usize = 4 << 20;
/// A head this long that is not yet a plain `GET /` goes to the engine,
/// which enforces its own limits.
const MAX_PEEK: usize = 8 * 1024;
const PAGE: &str = r#"<!doctype html>
<meta charset="utf-8"><title>wsmachine event_loop echo</title>
<h1>wsmachine echo (event_loop)</h1>
<form id="f"><input id="msg" value="héllo 🦀" autofocus> <button>Send</button></form>
<pre id="log"></pre>
<script>
const log = (s) => document.getElementById("log").textContent += s + "\n";
const ws = new WebSocket(`ws://${location.host}/echo`);
ws.onopen = () => log("connected");
ws.onmessage = (e) => log("echo: " + e.data);
ws.onclose = (e) => log("closed: " + e.code);
document.getElementById("f").onsubmit = (e) => {
  e.preventDefault();
  const text = document.getElementById("msg").value;
  ws.send(text);
  log("sent: " + text);
};
</script>
"#;

enum Phase {
    /// Reading the request head, to tell a plain `GET /` from anything else.
    Peek(Vec<u8>),
    /// The engine owns the bytes: the opening handshake, then frames.
    Ws(Box<Connection>),
    /// The page is being written; the socket closes after it.
    Page(Vec<u8>),
}

struct Client {
    stream: TcpStream,
    phase: Phase,
    readable: bool,
    writable: bool,
    eof: bool,
    queued: bool,
}

enum Step {
    Idle,
    Again,
    Done,
}

/// Said on the startup line: built with `--features deflate`, the default
/// `Config` negotiates permessage-deflate.
const COMPRESSION: &str = if cfg!(feature = "deflate") {
    " (permessage-deflate on)"
} else {
    ""
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let addr = args.iter().find(|a| !a.starts_with("--"));
    let addr = addr.map_or("127.0.0.1:8080", String::as_str).parse()?;
    let mut config = Config::default();
    if args.iter().any(|a| a == "--any-origin") {
        config = config.with_origin_policy(OriginPolicy::Any);
    }
    #[cfg(feature = "deflate")]
    {
        config = compression_flags(&args, config)?;
    }
    let mut listener = TcpListener::bind(addr)?;
    println!(
        "listening on http://{}{COMPRESSION}",
        listener.local_addr()?
    );
    io::stdout().flush()?;

    let mut poll = Poll::new()?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    let mut events = Events::with_capacity(1024);
    let mut clients: HashMap<Token, Client> = HashMap::new();
    let mut queue: VecDeque<Token> = VecDeque::new();
    let mut next_token = 0;
    let mut scratch = vec![0u8; READ_CHUNK];
    loop {
        let timeout = (!queue.is_empty()).then_some(std::time::Duration::ZERO);
        if let Err(e) = poll.poll(&mut events, timeout) {
            if e.kind() == ErrorKind::Interrupted {
                continue;
            }
            return Err(e.into());
        }
        for event in &events {
            if event.token() == LISTENER {
                loop {
                    let mut stream = match listener.accept() {
                        Ok((stream, _)) => stream,
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(e) => {
                            // e.g. out of file descriptors: the backlog waits for the next
                            // connection to raise a new edge.
                            eprintln!("accept: {e}");
                            break;
                        }
                    };
                    let token = Token(next_token);
                    next_token += 1;
                    let _ = stream.set_nodelay(true);
                    let interest = Interest::READABLE | Interest::WRITABLE;
                    if let Err(e) = poll.registry().register(&mut stream, token, interest) {
                        eprintln!("register: {e}");
                        continue;
                    }
                    let client = Client {
                        stream,
                        phase: Phase::Peek(Vec::new()),
                        readable: false,
                        writable: false,
                        eof: false,
                        queued: false,
                    };
                    clients.insert(token, client);
                }
            } else if let Some(client) = clients.get_mut(&event.token()) {
                client.readable |=
                    event.is_readable() || event.is_read_closed() || event.is_error();
                client.writable |= event.is_writable() || event.is_error();
                if !client.queued {
                    client.queued = true;
                    queue.push_back(event.token());
                }
            }
        }
        // One bounded turn for every client with work, in arrival order.
        for _ in 0..queue.len() {
            let Some(token) = queue.pop_front() else {
                break;
            };
            let Some(client) = clients.get_mut(&token) else {
                continue;
            };
            match drive(client, &mut scratch, &config) {
                Ok(Step::Again) => queue.push_back(token),
                Ok(Step::Idle) => client.queued = false,
                Ok(Step::Done) | Err(_) => {
                    if let Some(mut client) = clients.remove(&token) {
                        let _ = poll.registry().deregister(&mut client.stream);
                    } // dropping the stream closes the socket
                }
            }
        }
    }
}

fn drive(c: &mut Client, scratch: &mut [u8], config: &Config) -> io::Result<Step> {
    let mut reads = 0;
    flush(c)?;
    while c.readable && !c.eof && reads < READS_PER_TURN && pending(&c.phase) < OUTPUT_HIGH_WATER {
        match c.stream.read(scratch) {
            Ok(n) => {
                reads += 1;
                c.eof = n == 0;
                input(&mut c.phase, &scratch[..n], config);
                flush(c)?;
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => c.readable = false,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let finished = match &c.phase {
        Phase::Peek(_) => c.eof,
        Phase::Ws(conn) => conn.is_closed() || c.eof,
        Phase::Page(_) => true,
    };
    Ok(if finished && pending(&c.phase) == 0 {
        Step::Done
    } else if c.readable && !c.eof && pending(&c.phase) < OUTPUT_HIGH_WATER {
        Step::Again
    } else {
        Step::Idle
    })
}

/// Feeds what was read (empty: end of stream) to the client's current phase.
fn input(phase: &mut Phase, data: &[u8], config: &Config) {
    if let Phase::Peek(head) = phase {
        head.extend_from_slice(data);
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(head) {
            Ok(httparse::Status::Partial) if !data.is_empty() && head.len() < MAX_PEEK => return,
            Ok(httparse::Status::Complete(_)) if is_plain_get_root(&req) => {
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{PAGE}",
                    PAGE.len()
                );
                *phase = Phase::Page(response.into_bytes());
                return;
            }
            // An upgrade, or anything else: the engine answers it.
            _ => {
                let mut conn = Connection::server(config.clone());
                conn.receive(head);
                *phase = Phase::Ws(Box::new(conn));
                if !data.is_empty() {
                    return events(phase);
                }
            }
        }
    }
    if let Phase::Ws(conn) = phase {
        if data.is_empty() {
            conn.receive_eof();
        } else {
            conn.receive(data);
        }
    }
    events(phase);
}

fn events(phase: &mut Phase) {
    let Phase::Ws(conn) = phase else { return };
    loop {
        let accept = match conn.next_event_with_sender() {
            Ok(None) => return,
            Ok(Some((Event::Handshake(_), _))) => true,
            Ok(Some((Event::Message(message), sender))) => {
                if let Err(e) = sender.send(message) {
                    eprintln!("echo not sent: {e}");
                }
                false
            }
            Ok(Some((Event::Close(frame), _))) => {
                eprintln!("peer closed: code {} reason {:?}", frame.code, frame.reason);
                false
            }
            Ok(Some(_)) => false, // pings are answered by the engine
            Err(e) => return eprintln!("connection failed: {e}"),
        };
        if accept && let Err(e) = conn.accept(Accept::new()) {
            return eprintln!("accept failed: {e}");
        }
    }
}

fn is_plain_get_root(req: &httparse::Request) -> bool {
    let upgrade = req
        .headers
        .iter()
        .any(|h| h.name.eq_ignore_ascii_case("upgrade"));
    req.method == Some("GET") && req.path == Some("/") && !upgrade
}

fn pending(phase: &Phase) -> usize {
    match phase {
        Phase::Peek(_) => 0,
        Phase::Ws(conn) => conn.pending_output().len(),
        Phase::Page(out) => out.len(),
    }
}

/// Writes until the output is empty or the socket would block.
fn flush(c: &mut Client) -> io::Result<()> {
    while c.writable {
        let out = match &c.phase {
            Phase::Peek(_) => return Ok(()),
            Phase::Ws(conn) => conn.pending_output(),
            Phase::Page(out) => out.as_slice(),
        };
        if out.is_empty() {
            return Ok(());
        }
        match c.stream.write(out) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(n) => match &mut c.phase {
                Phase::Ws(conn) => conn.advance_output(n),
                Phase::Page(out) => drop(out.drain(..n)),
                Phase::Peek(_) => {}
            },
            Err(e) if e.kind() == ErrorKind::WouldBlock => c.writable = false,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// `--deflate-memory=PRESET`, `--no-context-takeover`, `--shared-state`.
#[cfg(feature = "deflate")]
fn compression_flags(args: &[String], config: Config) -> Result<Config, String> {
    use wsmachine::deflate::CompressorMemory;
    let mut deflate = config.deflate().clone();
    for arg in args {
        if let Some(name) = arg.strip_prefix("--deflate-memory=") {
            let preset = CompressorMemory::ALL
                .into_iter()
                .find(|m| format!("{m:?}").eq_ignore_ascii_case(name))
                .ok_or_else(|| format!("unknown --deflate-memory preset {name:?}"))?;
            deflate = deflate.with_memory(preset);
        } else if arg == "--no-context-takeover" {
            deflate = deflate
                .with_server_no_context_takeover(true)
                .with_client_no_context_takeover(true);
        } else if arg == "--shared-state" {
            deflate = deflate.with_shared_state(true);
        }
    }
    Ok(config.with_deflate(deflate))
}

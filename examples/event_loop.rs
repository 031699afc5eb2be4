//! The echo service of `echo_server` on ONE thread serving many non-blocking
//! sockets with mio, driving each `Connection` directly (no adapter).
//!
//! `cargo run --release --example event_loop -- [ADDR] [--threads N] [--any-origin]
//!  [--ping-interval S] [--ping-timeout S] [--open-timeout S]`
//!
//! Built with `--features deflate`: `--deflate-memory=tiny|small|medium|default|large|max`
//! picks the compressor's memory preset, `--no-context-takeover` demands it of
//! both directions, and `--shared-state` then shares one compressor and one
//! decompressor per thread instead of one per connection.
//!
//! `--threads N` (default: the number of cores) runs N independent loops, one
//! per thread, each with its own listening socket on the same port
//! (SO_REUSEPORT): the kernel spreads the connections, and each loop owns its
//! clients, its timer heap and its read buffer, sharing nothing. The main
//! thread runs one of them, so `--threads 1` is a single-threaded process.
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
//! a client that goes idle gives its drained buffers back
//! (`Connection::release_idle_buffers`): at once when they are huge or it
//! has only done its handshake, `KEEP_WARM` after its last read once it
//! exchanges messages (with one message in flight a connection goes idle
//! after every echo: it would otherwise free and allocate its input and
//! output buffers every message, and lose the in-place read of large ones);
//! one shared read buffer; an idle client holds its socket and a `Connection`
//! whose buffers the engine allocates only as messages need them. Clients
//! sit in a slab indexed by their token (no hashing per event).
//!
//! Copies: the loop has one input buffer, which it lends to the connection
//! it reads (`Connection::swap_input_buffer`) and takes back once the
//! events are taken and the echoes written, as uWebSockets does with its one
//! receive buffer: the socket is read straight into it (`read_buf`), and it
//! stays in the CPU cache where 500 connections' own buffers would be cold
//! by their next message. A frame still arriving when the buffer goes back
//! is copied into the connection's own buffer, where the next reads append
//! to it. A message of `VECTORED_MIN` bytes or more is echoed with
//! `Sender::send_vectored`: its header and its payload, still in the input
//! buffer where it was unmasked, go out in one `writev` when no output is
//! queued; only what the socket does not take is copied (into `spill`). A
//! read shorter than the buffer emptied the socket, so the loop does not
//! read again only to hear `WouldBlock` (edge-triggered epoll reports data
//! arriving after it).
//!
//! Time: every connection's next deadline (keepalive ping, dead peer, open
//! timeout; `Connection::poll_timeout`) sits in one min-heap, and the poll
//! timeout is the earliest of them: O(log n) per armed deadline, no scan of
//! the connections per turn. A deadline that moves later (input arrived) is
//! not re-pushed: its old entry fires early, `handle_timeout` does nothing
//! but report the new deadline, which is pushed then; so the heap holds about
//! one entry per connection. A request refused with an HTTP error (a 431 for
//! a header flood), and the page, are followed by a lingering close: write
//! side shut down, input drained and discarded for up to 2 s or 4 MiB, so
//! the client reads the response instead of a reset.
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::io::{self, ErrorKind, IoSlice, Read, Write};
use std::net::Shutdown;
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use wsmachine::{Accept, Config, Connection, Event, Message, OriginPolicy, Sender, Timestamp};

mod common;

const USAGE: &str = "usage: event_loop [ADDR] [--threads N] [--any-origin] [--ping-interval S] \
[--ping-timeout S] [--open-timeout S] [--deflate-memory=PRESET] [--no-context-takeover] \
[--shared-state]   (ADDR defaults to 127.0.0.1:8080; the last three need --features deflate)";
/// Lingering close bounds (nginx: lingering_time 30 s, lingering_timeout 5 s;
/// an error response needs far less to reach the client).
const LINGER_TIME: Duration = Duration::from_secs(2);
const LINGER_BYTES: usize = 4 << 20;

const LISTENER: Token = Token(usize::MAX);
const READ_CHUNK: usize = 64 * 1024;
/// The room a connection reads into when a frame it holds is still
/// arriving; buffers of this size also count as working size (`KEEP_WARM`).
const IN_PLACE_MIN: usize = 16 * 1024;
/// Echoes at least this large skip the output buffer (uWebSockets' bound).
const VECTORED_MIN: usize = 16 * 1024;
/// An idle connection in use (it echoed a message, or holds input buffers of
/// `IN_PLACE_MIN` bytes or more) keeps drained buffers of up to `KEEP_MAX`
/// bytes this long after its last read.
const KEEP_WARM: Duration = Duration::from_secs(1);
/// Larger buffers (a huge message's) go back at once.
const KEEP_MAX: usize = 256 * 1024;
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
    /// Reading the request head, to tell a plain `GET /` from anything else
    /// (boxed: every client's entry in the table is as large as the largest
    /// phase, and an open connection is `Ws`).
    Peek(Box<Peek>),
    /// The engine owns the bytes: the opening handshake, then frames.
    Ws(Box<Connection>),
    /// The page is being written; the socket closes after it (boxed like
    /// `Peek`).
    #[expect(
        clippy::box_collection,
        reason = "a thin pointer keeps every client's entry small"
    )]
    Page(Box<Vec<u8>>),
    /// Write side shut down after an HTTP response: input is read and
    /// discarded until the client closes, the deadline, or the byte bound.
    /// (The count of discarded bytes is a `u32`: it stops at `LINGER_BYTES`,
    /// and a smaller phase keeps every client's entry smaller.)
    Linger(Timestamp, u32),
}

/// The request head read so far; when it started, and when to give up (the
/// open timeout).
struct Peek {
    head: Vec<u8>,
    started: Timestamp,
    give_up: Option<Timestamp>,
}

struct Client {
    stream: TcpStream,
    phase: Phase,
    readable: bool,
    writable: bool,
    eof: bool,
    queued: bool,
    /// After the output, a lingering close rather than a plain one.
    linger: bool,
    /// The deadline this client has in the heap (the earliest, if several).
    armed: Option<Timestamp>,
    /// The unwritten tail of a frame sent with one vectored write; goes out
    /// before the connection's own output.
    spill: Spill,
    /// A message was echoed since the connection last went idle: its
    /// buffers are the working size of its traffic (see `KEEP_WARM`).
    echoed: bool,
    /// When an idle connection's warm buffers go back (see `KEEP_WARM`);
    /// `Timestamp::ZERO` when they are not being kept (nothing is kept
    /// until the epoch, and a plain `Timestamp` is half an `Option`'s size
    /// in every client's entry).
    release_at: Timestamp,
}

// Every client's entry is this large whatever its phase, with the table's
// slack on top: the idle-memory figure in the README depends on it.
// (mio's socket carries a selector id for its own checks in debug builds.)
const _: () =
    assert!(std::mem::size_of::<Client>() <= 64 + if cfg!(debug_assertions) { 8 } else { 0 });

/// The unwritten tail of a directly written frame: rare (a socket that
/// took part of a large echo), so boxed, and gone once written.
#[derive(Default)]
#[expect(
    clippy::box_collection,
    reason = "a thin pointer keeps every client's entry small"
)]
struct Spill(Option<Box<Vec<u8>>>);

impl Spill {
    fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |bytes| bytes.len())
    }

    fn as_slice(&self) -> &[u8] {
        self.0.as_deref().map_or(&[], Vec::as_slice)
    }

    /// Keeps `head` then `tail`, after anything already kept.
    fn push(&mut self, head: &[u8], tail: &[u8]) {
        if head.is_empty() && tail.is_empty() {
            return;
        }
        let bytes = self.0.get_or_insert_with(Box::default);
        bytes.extend_from_slice(head);
        bytes.extend_from_slice(tail);
    }

    /// `n` bytes were written.
    fn consume(&mut self, n: usize) {
        if let Some(bytes) = &mut self.0 {
            bytes.drain(..n.min(bytes.len()));
            if bytes.is_empty() {
                self.0 = None;
            }
        }
    }
}

/// Every client's next deadline, earliest first; entries whose client has
/// since armed another deadline are skipped when they come up.
#[derive(Default)]
struct Timers {
    heap: BinaryHeap<Reverse<(Timestamp, Token)>>,
}

impl Timers {
    /// Arms `deadline` for `client` unless an entry at or before it is
    /// already in the heap.
    fn arm(&mut self, token: Token, client: &mut Client, deadline: Option<Timestamp>) {
        if let Some(deadline) = deadline
            && client.armed.is_none_or(|armed| deadline < armed)
        {
            client.armed = Some(deadline);
            self.heap.push(Reverse((deadline, token)));
        }
    }

    /// How long the poll may sleep.
    fn wait(&self, now: Timestamp) -> Option<Duration> {
        self.heap
            .peek()
            .map(|Reverse((deadline, _))| *deadline - now)
    }

    /// The next client whose deadline has passed.
    fn expired(&mut self, now: Timestamp) -> Option<(Timestamp, Token)> {
        match self.heap.peek() {
            Some(Reverse((deadline, _))) if *deadline <= now => self.heap.pop().map(|r| r.0),
            _ => None,
        }
    }
}

/// Every client, by token: the token is the index of its slot, and freed
/// slots are reused (a stale timer entry for a reused token finds the new
/// client's `armed` differs and is skipped). Indexing costs nothing per
/// event, where a `HashMap` hashed the token twice per message.
#[derive(Default)]
struct Clients {
    slots: Vec<Option<Client>>,
    free: Vec<usize>,
}

impl Clients {
    /// The token the next `insert` will use.
    fn vacant(&self) -> Token {
        Token(self.free.last().copied().unwrap_or(self.slots.len()))
    }

    /// Puts `client` in the slot `vacant` gave.
    fn insert(&mut self, token: Token, client: Client) {
        if self.free.last() == Some(&token.0) {
            self.free.pop();
            self.slots[token.0] = Some(client);
        } else {
            debug_assert_eq!(token.0, self.slots.len());
            self.slots.push(Some(client));
        }
    }

    fn get_mut(&mut self, token: Token) -> Option<&mut Client> {
        self.slots.get_mut(token.0)?.as_mut()
    }

    fn remove(&mut self, token: Token) -> Option<Client> {
        let client = self.slots.get_mut(token.0)?.take()?;
        self.free.push(token.0);
        Some(client)
    }
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

fn parse_args() -> Result<(std::net::SocketAddr, Config, usize), String> {
    let mut addr = None;
    let mut config = Config::default();
    let mut threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--any-origin" => config = config.with_origin_policy(OriginPolicy::Any),
            "--ping-interval" | "--ping-timeout" | "--open-timeout" => {
                config = common::timer_flag(&config, &arg, || args.next())?.expect("a timer flag");
            }
            "--threads" => {
                threads = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|&n| (1..=1024).contains(&n))
                    .ok_or("--threads needs a number from 1 to 1024")?;
            }
            "--no-context-takeover" | "--shared-state" => config = compression_flag(config, &arg)?,
            flag if flag.starts_with("--deflate-memory=") => {
                config = compression_flag(config, flag)?
            }
            "-h" | "--help" => {
                println!("{USAGE}\n{}", common::SERVER_TIMER_HELP);
                std::process::exit(0);
            }
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag}")),
            _ if addr.is_some() => return Err(format!("unexpected argument {arg}")),
            _ => addr = Some(arg.parse().map_err(|_| format!("bad address {arg}"))?),
        }
    }
    Ok((addr.unwrap_or_else(common::default_addr), config, threads))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (addr, config, threads) = parse_args().unwrap_or_else(|message| {
        eprintln!("event_loop: {message}\n{USAGE}");
        std::process::exit(2);
    });
    // One listening socket per loop on the same port (SO_REUSEPORT): the
    // kernel spreads incoming connections over them, so the loops share
    // nothing and each owns its connections.
    let first = bind_shared(addr)?;
    let addr = first.local_addr()?;
    let mut listeners = vec![first];
    for _ in 1..threads {
        listeners.push(bind_shared(addr)?);
    }
    // The last loop runs on this thread: with one loop the process has one
    // thread, so libc skips the cancellation-point bookkeeping around every
    // system call and the kernel skips the reference count of every file
    // looked up (both are per system call, two or three per message).
    let last = listeners.pop().expect("at least one loop");
    let loops: Vec<_> = listeners
        .into_iter()
        .map(|listener| {
            let config = config.clone();
            std::thread::spawn(move || serve(listener, &config))
        })
        .collect();
    // Said once every loop runs (the sockets listen since bind_shared).
    let s = if threads == 1 { "" } else { "s" };
    // The compression note stays last: scripts look for it at the end.
    println!("listening on http://{addr} ({threads} loop{s}){COMPRESSION}");
    io::stdout().flush()?;
    serve(last, &config)?;
    for handle in loops {
        handle.join().map_err(|_| "an event loop panicked")??;
    }
    Ok(())
}

/// A non-blocking listener on `addr` that other loops may share
/// (SO_REUSEPORT), with a backlog of 1,024 pending connections (std and mio
/// listen with 128, which a connection storm overflows).
fn bind_shared(addr: std::net::SocketAddr) -> io::Result<TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    socket.set_nonblocking(true)?;
    Ok(TcpListener::from_std(socket.into()))
}

/// One event loop: accepts from its own listener and drives its clients.
fn serve(mut listener: TcpListener, config: &Config) -> io::Result<()> {
    let config = config.clone();
    let epoch = Instant::now();
    let clock = || Timestamp::since(epoch, Instant::now());
    let mut timers = Timers::default();

    let mut poll = Poll::new()?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    let mut events = Events::with_capacity(1024);
    let mut clients = Clients::default();
    let mut queue: VecDeque<Token> = VecDeque::new();
    let mut shared = vec![0u8; READ_CHUNK];
    loop {
        let timeout = if queue.is_empty() {
            timers.wait(clock())
        } else {
            Some(Duration::ZERO)
        };
        if let Err(e) = poll.poll(&mut events, timeout) {
            if e.kind() == ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
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
                    let token = clients.vacant();
                    let _ = stream.set_nodelay(true);
                    let interest = Interest::READABLE | Interest::WRITABLE;
                    if let Err(e) = poll.registry().register(&mut stream, token, interest) {
                        eprintln!("register: {e}");
                        continue;
                    }
                    let give_up = config.open_timeout().map(|t| clock() + t);
                    let mut client = Client {
                        stream,
                        phase: Phase::Peek(Box::new(Peek {
                            head: Vec::new(),
                            started: clock(),
                            give_up,
                        })),
                        readable: false,
                        writable: false,
                        eof: false,
                        queued: false,
                        linger: false,
                        armed: None,
                        spill: Spill::default(),
                        echoed: false,
                        release_at: Timestamp::ZERO,
                    };
                    timers.arm(token, &mut client, give_up);
                    clients.insert(token, client);
                }
            } else if let Some(client) = clients.get_mut(event.token()) {
                client.readable |=
                    event.is_readable() || event.is_read_closed() || event.is_error();
                client.writable |= event.is_writable() || event.is_error();
                if !client.queued {
                    client.queued = true;
                    queue.push_back(event.token());
                }
            }
        }
        // One clock reading per turn: the time of every read in it.
        let now = clock();
        // Deadlines that passed: keepalive pings, dead peers, open timeouts.
        while let Some((deadline, token)) = timers.expired(now) {
            let Some(client) = clients.get_mut(token) else {
                continue;
            };
            if client.armed != Some(deadline) {
                continue; // superseded by an earlier entry, already handled
            }
            client.armed = None;
            if expire(client, now) && !client.queued {
                client.queued = true;
                queue.push_back(token);
            }
            // A deadline still due after its tick waits for the next turn
            // rather than spinning this loop.
            let next = deadline_of(client).map(|d| d.max(now + Duration::from_micros(1)));
            timers.arm(token, client, next);
        }
        // One bounded turn for every client with work, in arrival order.
        for _ in 0..queue.len() {
            let Some(token) = queue.pop_front() else {
                break;
            };
            let Some(client) = clients.get_mut(token) else {
                continue;
            };
            match drive(client, &mut shared, &config, now) {
                Ok(Step::Again) => queue.push_back(token),
                Ok(Step::Idle) => {
                    client.queued = false;
                    // Nothing to read or write now. A connection in use
                    // (a message echoed, buffers already kept, or input
                    // buffers of working size) keeps drained buffers of up
                    // to KEEP_MAX until KEEP_WARM after its last read: with
                    // one message in flight it goes idle after every echo,
                    // and giving them back then cost a free and an
                    // allocation of each buffer per message. Others (just
                    // past the handshake) and huge buffers go back at once.
                    if let Phase::Ws(conn) = &mut client.phase {
                        let held = conn.memory_usage();
                        let warm = client.echoed
                            || client.release_at != Timestamp::ZERO
                            || held >= IN_PLACE_MIN;
                        if warm && held <= KEEP_MAX {
                            client.release_at = now + KEEP_WARM;
                        } else {
                            conn.release_idle_buffers();
                            client.release_at = Timestamp::ZERO;
                        }
                        client.echoed = false;
                    }
                }
                Ok(Step::Done) | Err(_) => {
                    if let Some(mut client) = clients.remove(token) {
                        let _ = poll.registry().deregister(&mut client.stream);
                    } // dropping the stream closes the socket
                    continue;
                }
            }
            let next = deadline_of(client);
            timers.arm(token, client, next);
        }
    }
}

/// The client's next deadline, by phase; none once it is ending.
fn deadline_of(c: &Client) -> Option<Timestamp> {
    if c.eof {
        return None;
    }
    match &c.phase {
        Phase::Peek(peek) => peek.give_up,
        Phase::Ws(conn) => {
            let release = (c.release_at != Timestamp::ZERO).then_some(c.release_at);
            match (conn.poll_timeout(), release) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }
        }
        Phase::Page(_) => None,
        Phase::Linger(until, _) => Some(*until),
    }
}

/// A deadline passed: tells the connection the time. True when the client
/// has something to do now (a ping to write, or an end to act on).
fn expire(c: &mut Client, now: Timestamp) -> bool {
    match &mut c.phase {
        Phase::Peek(peek) if peek.give_up.is_some_and(|give_up| give_up <= now) => {
            c.eof = true; // a handshake that never came
            true
        }
        Phase::Linger(give_up, _) if *give_up <= now => {
            c.eof = true; // enough lingering
            true
        }
        Phase::Ws(conn) => match conn.handle_timeout(now) {
            Ok(()) => {
                if c.release_at != Timestamp::ZERO && c.release_at <= now {
                    c.release_at = Timestamp::ZERO;
                    // Drained buffers only; anything still in use stays.
                    conn.release_idle_buffers();
                }
                conn.wants_write()
            }
            Err(timeout) => {
                eprintln!("connection ended: {timeout}");
                // Drop the transport at once: one try at the close frame
                // (a dead peer's window is likely full), then discard it.
                if c.spill.is_empty() {
                    // Not in the middle of a frame already on the wire.
                    let _ = c.stream.write(conn.pending_output());
                }
                conn.advance_output(usize::MAX);
                c.eof = true;
                true
            }
        },
        _ => false,
    }
}

fn drive(
    c: &mut Client,
    shared: &mut Vec<u8>,
    config: &Config,
    now: Timestamp,
) -> io::Result<Step> {
    let mut reads = 0;
    // Output left from an earlier turn (the socket was full, or a timer
    // queued a ping); usually there is none, and the call is skipped.
    if c.writable && pending(c) != 0 {
        flush(c)?;
    }
    while c.readable && !c.eof && reads < READS_PER_TURN && pending(c) < OUTPUT_HIGH_WATER {
        // Between frames a connection reads into the shared buffer, lent to
        // it for this read; a frame still arriving grows in its own.
        let mut lent = false;
        let (read, room) = match &mut c.phase {
            Phase::Ws(conn) => {
                if conn.buffered_input_len() == 0 {
                    conn.swap_input_buffer(shared);
                    lent = true;
                }
                let buf = conn.read_buf(IN_PLACE_MIN);
                let room = buf.len();
                (c.stream.read(buf).map(|n| (n, true)), room)
            }
            _ => (c.stream.read(shared).map(|n| (n, false)), shared.len()),
        };
        let result = match read {
            Ok((n, in_place)) => {
                reads += 1;
                c.eof = n == 0;
                // A short read emptied the socket.
                c.readable = n == room;
                if let Phase::Linger(_, discarded) = &mut c.phase {
                    *discarded = discarded.saturating_add(u32::try_from(n).unwrap_or(u32::MAX));
                    c.eof |= *discarded as usize >= LINGER_BYTES;
                    continue;
                }
                if in_place && n > 0 {
                    filled(c, n, now);
                } else {
                    input(c, &shared[..n], config, now);
                }
                flush(c)
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                c.readable = false;
                Ok(())
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => Ok(()),
            Err(e) => Err(e),
        };
        // The events are taken and the echoes written (or spilled): take
        // the buffer back, with any partial frame copied out of it.
        if lent {
            match &mut c.phase {
                Phase::Ws(conn) => conn.swap_input_buffer(shared),
                // Not expected (events keep the phase): a new buffer.
                _ => *shared = vec![0u8; READ_CHUNK],
            }
        }
        result?;
    }
    let finished = match &c.phase {
        Phase::Peek(..) | Phase::Linger(..) => c.eof,
        Phase::Ws(conn) => conn.is_closed() || c.eof,
        Phase::Page(_) => true,
    };
    if finished && pending(c) == 0 && c.linger && !c.eof {
        // The response is out: half close, then drain what the client sends.
        c.linger = false;
        c.stream.shutdown(Shutdown::Write)?;
        c.phase = Phase::Linger(now + LINGER_TIME, 0);
        return Ok(if c.readable { Step::Again } else { Step::Idle });
    }
    Ok(if finished && pending(c) == 0 {
        Step::Done
    } else if c.readable && !c.eof && pending(c) < OUTPUT_HIGH_WATER {
        Step::Again
    } else {
        Step::Idle
    })
}

/// Feeds what was read (empty: end of stream) to the client's current phase.
fn input(c: &mut Client, data: &[u8], config: &Config, now: Timestamp) {
    let phase = &mut c.phase;
    if let Phase::Peek(peek) = phase {
        let started = peek.started;
        let head = &mut peek.head;
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
                *phase = Phase::Page(Box::new(response.into_bytes()));
                c.linger = true;
                return;
            }
            // An upgrade, or anything else: the engine answers it.
            _ => {
                let mut conn = Connection::server(config.clone());
                // The open timeout counts from the accept, not from now.
                let _ = conn.handle_timeout(started);
                conn.receive(head);
                let _ = conn.handle_timeout(now);
                *phase = Phase::Ws(Box::new(conn));
                if !data.is_empty() {
                    return events(c);
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
        // The time of the read: keepalive counts from here.
        if let Err(timeout) = conn.handle_timeout(now) {
            eprintln!("connection ended: {timeout}");
        }
    }
    events(c);
}

/// `n` bytes were read into the connection's own buffer.
fn filled(c: &mut Client, n: usize, now: Timestamp) {
    if let Phase::Ws(conn) = &mut c.phase {
        conn.filled(n);
        if let Err(timeout) = conn.handle_timeout(now) {
            eprintln!("connection ended: {timeout}");
        }
    }
    events(c);
}

fn events(c: &mut Client) {
    let Phase::Ws(conn) = &mut c.phase else {
        return;
    };
    loop {
        let accept = match conn.next_event_with_sender() {
            Ok(None) => return,
            Ok(Some((Event::Handshake(_), _))) => true,
            Ok(Some((Event::Message(message), sender))) => {
                c.echoed = true;
                if let Err(e) = echo(
                    &mut c.stream,
                    &mut c.spill,
                    &mut c.writable,
                    sender,
                    message,
                ) {
                    eprintln!("echo not sent: {e}");
                }
                false
            }
            Ok(Some((Event::Close(frame), _))) => {
                eprintln!("peer closed: code {} reason {:?}", frame.code, frame.reason);
                false
            }
            Ok(Some(_)) => false, // pings are answered by the engine
            Err(e) => {
                // An HTTP error response (400, 403, 431, ...) must reach the client.
                c.linger = e.http_status().is_some();
                return eprintln!("connection failed: {e}");
            }
        };
        if accept && let Err(e) = conn.accept(Accept::new()) {
            return eprintln!("accept failed: {e}");
        }
    }
}

/// Echoes `message`: a large one straight from the input buffer with one
/// vectored write when nothing is queued before it, anything else through
/// the connection's output buffer.
fn echo(
    stream: &mut TcpStream,
    spill: &mut Spill,
    writable: &mut bool,
    sender: &mut Sender,
    message: Message<'_>,
) -> io::Result<()> {
    let payload = message.as_bytes();
    if payload.len() < VECTORED_MIN || !*writable || sender.wants_write() || !spill.is_empty() {
        return sender.send(message).map_err(io::Error::other);
    }
    let Ok(head) = sender.send_vectored(message) else {
        // Compression negotiated: the frame must be built by the engine.
        return sender.send(message).map_err(io::Error::other);
    };
    let head = head.as_bytes();
    let mut written = 0;
    let total = head.len() + payload.len();
    while written < total {
        let parts = if written < head.len() {
            [IoSlice::new(&head[written..]), IoSlice::new(payload)]
        } else {
            [
                IoSlice::new(&payload[written - head.len()..]),
                IoSlice::new(&[]),
            ]
        };
        match stream.write_vectored(&parts) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(n) => written += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => {
                if e.kind() == ErrorKind::WouldBlock {
                    *writable = false;
                }
                // The frame is committed: what the socket did not take is
                // written later, before anything queued after it.
                let rest = written.saturating_sub(head.len());
                spill.push(&head[written.min(head.len())..], &payload[rest..]);
                return if e.kind() == ErrorKind::WouldBlock {
                    Ok(())
                } else {
                    Err(e)
                };
            }
        }
    }
    Ok(())
}

fn is_plain_get_root(req: &httparse::Request) -> bool {
    let upgrade = req
        .headers
        .iter()
        .any(|h| h.name.eq_ignore_ascii_case("upgrade"));
    req.method == Some("GET") && req.path == Some("/") && !upgrade
}

fn pending(c: &Client) -> usize {
    c.spill.len()
        + match &c.phase {
            Phase::Peek(..) | Phase::Linger(..) => 0,
            Phase::Ws(conn) => conn.pending_output().len(),
            Phase::Page(out) => out.len(),
        }
}

/// Writes until the output is empty or the socket would block.
fn flush(c: &mut Client) -> io::Result<()> {
    while c.writable && !c.spill.is_empty() {
        match c.stream.write(c.spill.as_slice()) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(n) => c.spill.consume(n),
            Err(e) if e.kind() == ErrorKind::WouldBlock => c.writable = false,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    while c.writable {
        let out = match &c.phase {
            Phase::Peek(..) | Phase::Linger(..) => return Ok(()),
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
                Phase::Peek(..) | Phase::Linger(..) => {}
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
fn compression_flag(config: Config, arg: &str) -> Result<Config, String> {
    use wsmachine::deflate::CompressorMemory;
    let deflate = config.deflate().clone();
    let deflate = if let Some(name) = arg.strip_prefix("--deflate-memory=") {
        let preset = CompressorMemory::ALL
            .into_iter()
            .find(|m| format!("{m:?}").eq_ignore_ascii_case(name))
            .ok_or_else(|| format!("unknown --deflate-memory preset {name:?}"))?;
        deflate.with_memory(preset)
    } else if arg == "--no-context-takeover" {
        deflate
            .with_server_no_context_takeover(true)
            .with_client_no_context_takeover(true)
    } else {
        deflate.with_shared_state(true)
    };
    Ok(config.with_deflate(deflate))
}

#[cfg(not(feature = "deflate"))]
fn compression_flag(_: Config, arg: &str) -> Result<Config, String> {
    Err(format!(
        "{arg} needs the example built with --features deflate"
    ))
}

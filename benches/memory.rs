//! Memory: heap bytes an open, idle connection holds right after it is
//! created, and again after it has received (and the application has
//! dropped) one 1 MiB message, for wsmachine, tungstenite and fastwebsockets.
//!
//! A counting global allocator (`stats_alloc`, no unsafe code here) measures
//! the heap; the connection structs themselves are reported separately
//! (`size_of`), since a server stores them wherever it likes.
//!
//! `cargo bench --bench memory`.

mod common;

use std::alloc::System;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use common::{Payload, masked_stream, quick, runtime};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use wsmachine::{Config, Connection, Event};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Connections measured together; the figure is the mean per connection.
const CONNECTIONS: usize = 100;
/// Read size of the transport while the big message arrives.
const READ: usize = 16 * 1024;

/// Heap bytes allocated and not yet freed since `region` started.
fn held(region: &Region<'_, System>) -> isize {
    let change = region.change();
    // `stats_alloc` already folds reallocations into these two totals.
    change.bytes_allocated as isize - change.bytes_deallocated as isize
}

/// A transport that allocates nothing: reads serve a borrowed stream in
/// fixed-size pieces; writes are discarded.
struct Wire<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Wire<'a> {
    fn new(input: &'a [u8]) -> Self {
        Self { input, pos: 0 }
    }
    fn read_into(&mut self, buf: &mut [u8]) -> usize {
        let n = buf.len().min(READ).min(self.input.len() - self.pos);
        buf[..n].copy_from_slice(&self.input[self.pos..self.pos + n]);
        self.pos += n;
        n
    }
}

impl io::Read for Wire<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Ok(self.read_into(buf))
    }
}

impl io::Write for Wire<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl tokio::io::AsyncRead for Wire<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let n = self.read_into(buf.initialize_unfilled());
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl tokio::io::AsyncWrite for Wire<'_> {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

struct Figures {
    name: &'static str,
    struct_size: usize,
    idle: isize,
    after: isize,
    note: String,
}

fn wsmachine(stream: &[u8]) -> Figures {
    let mut conns: Vec<Connection> = Vec::with_capacity(CONNECTIONS);
    let region = Region::new(GLOBAL);
    for _ in 0..CONNECTIONS {
        conns.push(Connection::open_server(Config::default()));
    }
    let idle = held(&region);
    let usage_idle: usize = conns.iter().map(Connection::memory_usage).sum();
    for conn in &mut conns {
        let mut delivered = 0;
        for piece in stream.chunks(READ) {
            let buf = conn.read_buf(piece.len());
            buf[..piece.len()].copy_from_slice(piece);
            conn.filled(piece.len());
            while let Some(event) = conn.next_event().expect("valid") {
                if let Event::Message(m) = event {
                    delivered += m.as_bytes().len();
                }
            }
        }
        assert_eq!(delivered, 1 << 20);
    }
    let after = held(&region);
    let usage_after: usize = conns.iter().map(Connection::memory_usage).sum();
    drop(conns);
    Figures {
        name: "wsmachine",
        struct_size: size_of::<Connection>(),
        idle: idle / CONNECTIONS as isize,
        after: after / CONNECTIONS as isize,
        note: format!(
            "`memory_usage()`: {} B idle, {} B after",
            usage_idle / CONNECTIONS,
            usage_after / CONNECTIONS
        ),
    }
}

fn tungstenite(stream: &[u8]) -> Figures {
    use tungstenite::protocol::{Message, Role, WebSocket};
    let mut conns: Vec<WebSocket<Wire<'_>>> = Vec::with_capacity(CONNECTIONS);
    let region = Region::new(GLOBAL);
    for _ in 0..CONNECTIONS {
        conns.push(WebSocket::from_raw_socket(
            Wire::new(stream),
            Role::Server,
            None,
        ));
    }
    let idle = held(&region);
    for ws in &mut conns {
        match ws.read().expect("valid") {
            Message::Binary(data) => assert_eq!(data.len(), 1 << 20),
            other => panic!("unexpected {other:?}"),
        }
    }
    let after = held(&region);
    drop(conns);
    Figures {
        name: "tungstenite",
        struct_size: size_of::<WebSocket<Wire<'_>>>(),
        idle: idle / CONNECTIONS as isize,
        after: after / CONNECTIONS as isize,
        note: "default `WebSocketConfig`".into(),
    }
}

fn fastwebsockets(stream: &[u8]) -> Figures {
    use fastwebsockets::{FragmentCollector, OpCode, Role, WebSocket};
    let rt = runtime();
    let mut conns: Vec<FragmentCollector<Wire<'_>>> = Vec::with_capacity(CONNECTIONS);
    let region = Region::new(GLOBAL);
    for _ in 0..CONNECTIONS {
        let ws = WebSocket::after_handshake(Wire::new(stream), Role::Server);
        conns.push(FragmentCollector::new(ws));
    }
    let idle = held(&region);
    rt.block_on(async {
        for ws in &mut conns {
            let frame = ws.read_frame().await.expect("valid");
            assert_eq!(frame.opcode, OpCode::Binary);
            assert_eq!(frame.payload.len(), 1 << 20);
        }
    });
    let after = held(&region);
    drop(conns);
    Figures {
        name: "fastwebsockets",
        struct_size: size_of::<FragmentCollector<Wire<'_>>>(),
        idle: idle / CONNECTIONS as isize,
        after: after / CONNECTIONS as isize,
        note: "`FragmentCollector`".into(),
    }
}

fn main() {
    let message = masked_stream(Payload::Binary, 1 << 20, 1);
    // The same, with the first 3 bytes of a next (16 B) frame already read:
    // the connection is idle but its input buffer is not empty.
    let mut with_tail = message.clone();
    with_tail.extend_from_slice(&masked_stream(Payload::Binary, 16, 1)[..3]);
    println!(
        "# memory per open idle server connection (mean of {CONNECTIONS}){}\n",
        if quick() {
            " — QUICK mode (same figures)"
        } else {
            ""
        }
    );
    println!(
        "| crate | heap after creation | heap after one 1 MiB message | same, 3 bytes of the next frame read | struct size | note |"
    );
    println!("|---|---|---|---|---|---|");
    for (f, g) in [
        (wsmachine(&message), wsmachine(&with_tail)),
        (tungstenite(&message), tungstenite(&with_tail)),
        (fastwebsockets(&message), fastwebsockets(&with_tail)),
    ] {
        println!(
            "| {} | {} B | {} B | {} B | {} B | {}; with the tail: {} |",
            f.name, f.idle, f.after, g.after, f.struct_size, f.note, g.note
        );
    }
}

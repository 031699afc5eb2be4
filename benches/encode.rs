//! Encode: whole binary messages framed and written to a transport, by
//! wsmachine, tungstenite and fastwebsockets on the same payloads in the same
//! run, as a server (unmasked) and as a client (masked, keys from each
//! crate's default random source), beside the least work any writer must do.
//!
//! The transport copies every write into a 256 KiB ring (as a kernel copies
//! into a socket buffer), so a crate that writes the payload straight from
//! the caller's slice (vectored) is credited with saving its own copy.
//! From 16 KiB a client lends its payload mutably where the crate can take
//! it so (wsmachine's `Sender::send_in_place`, fastwebsockets'
//! `Payload::BorrowedMut`: masked in place, no copy); tungstenite has no
//! such call and copies. The limit stays the copying one.
//!
//! `cargo bench --bench encode [-- FILTER]`; `WSM_BENCH_QUICK=1` for a short run.

mod common;

use std::time::Duration;

use common::*;
use wsmachine::{Config, Connection, Message};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Side {
    Server,
    Client,
}

/// A checksum over what reached the transport.
fn sum(sink: &Sink, messages: usize) -> u64 {
    (sink.written as u64) << 20 ^ messages as u64
}

/// As a writer drives it: queue the message, write what is pending, report it written.
fn wsm(side: Side, payload: &[u8], count: usize) -> u64 {
    let mut conn = match side {
        Side::Server => Connection::open_server(Config::default()),
        Side::Client => Connection::open(wsmachine::Role::Client, Config::default()),
    };
    let mut sink = Sink::new();
    // A server writes large payloads with one vectored write, uncopied
    // (`send_vectored`), as fastwebsockets does; small ones are cheaper copied.
    // A client masks a large payload in the buffer it owns (`send_in_place`,
    // fastwebsockets' `Payload::BorrowedMut`) and writes it the same way.
    let large = payload.len() >= VECTORED_FROM;
    let vectored = matches!(side, Side::Server) && large;
    let mut owned = (matches!(side, Side::Client) && large).then(|| payload.to_vec());
    for _ in 0..count {
        if let Some(buf) = owned.as_mut() {
            let head = conn
                .sender()
                .send_in_place(wsmachine::MessageKind::Binary, buf)
                .expect("open");
            let n = sink.take(conn.pending_output());
            conn.advance_output(n);
            sink.take(head.as_bytes());
            sink.take(buf);
        } else if vectored {
            let head = conn
                .sender()
                .send_vectored(Message::Binary(payload))
                .expect("open");
            let n = sink.take(conn.pending_output());
            conn.advance_output(n);
            sink.take(head.as_bytes());
            sink.take(payload);
        } else {
            conn.send_binary(payload).expect("open");
            let n = sink.take(conn.pending_output());
            conn.advance_output(n);
        }
    }
    sum(&sink, count)
}

/// Payload size from which the wsmachine server uses `send_vectored`.
const VECTORED_FROM: usize = 16 * 1024;

/// `send` (write + flush) per message, as an echo server would.
fn tungstenite(side: Side, payload: &tungstenite::Bytes, count: usize) -> u64 {
    use tungstenite::protocol::{Message, Role, WebSocket};
    let role = match side {
        Side::Server => Role::Server,
        Side::Client => Role::Client,
    };
    let mut ws = WebSocket::from_raw_socket(MemStream::new(&[], 0), role, None);
    for _ in 0..count {
        ws.send(Message::Binary(payload.clone())).expect("open");
    }
    sum(&ws.get_ref().sink, count)
}

/// `write_frame` per message (it writes through at once).
fn fastwebsockets(rt: &tokio::runtime::Runtime, side: Side, payload: &[u8], count: usize) -> u64 {
    use fastwebsockets::{Frame, Payload, Role, WebSocket};
    let role = match side {
        Side::Server => Role::Server,
        Side::Client => Role::Client,
    };
    // A client's large payload is lent mutably, as wsmachine's is: masked in
    // place, not copied first.
    let mut owned =
        (side == Side::Client && payload.len() >= VECTORED_FROM).then(|| payload.to_vec());
    rt.block_on(async {
        let mut ws = WebSocket::after_handshake(MemStream::new(&[], 0), role);
        for _ in 0..count {
            let payload = match owned.as_mut() {
                Some(buf) => Payload::BorrowedMut(buf),
                None => Payload::Borrowed(payload),
            };
            ws.write_frame(Frame::binary(payload)).await.expect("open");
        }
        sum(&ws.into_inner().sink, count)
    })
}

/// The least any writer must do: a server copies the payload into the
/// transport once; a client masks it into a buffer of its own on the way
/// (it may not scribble on the caller's slice), then that buffer is copied
/// into the transport. Headers are left out.
fn limit(side: Side, payload: &[u8], count: usize, scratch: &mut [u8]) -> u64 {
    let mut sink = Sink::new();
    let mut key = 0x9E37_79B9u32;
    for _ in 0..count {
        match side {
            Side::Server => {
                sink.take(payload);
            }
            Side::Client => {
                key = key.rotate_left(5) ^ 0x1234_5678;
                copy_xor(scratch, payload, key.to_ne_bytes());
                sink.take(scratch);
            }
        }
    }
    (sink.written as u64) << 20 ^ count as u64
}

fn main() {
    let filter = filter();
    let runs = runs();
    let rt = runtime();
    println!(
        "# encode (whole binary messages){}\n",
        if quick() { " — QUICK mode" } else { "" }
    );
    for side in [Side::Server, Side::Client] {
        let side_name = match side {
            Side::Server => "server to client (unmasked)",
            Side::Client => "client to server (masked)",
        };
        println!("## {side_name}\n");
        println!(
            "| size | messages | limit | wsmachine | tungstenite | fastwebsockets | wsm/tungstenite | wsm/fastwebsockets | wsm/limit |"
        );
        println!("|---|---|---|---|---|---|---|---|---|");
        for size in SIZES {
            let name = format!("{side_name} {}", size_name(size));
            if filter.as_ref().is_some_and(|f| !name.contains(f.as_str())) {
                continue;
            }
            let count = message_count(size);
            let data = payload(Payload::Binary, size, &mut Rng::new(size as u64));
            let bytes = tungstenite::Bytes::from(data.clone());
            let mut scratch = vec![0u8; size];
            let times = compare(
                runs,
                &mut [
                    &mut || limit(side, &data, count, &mut scratch),
                    &mut || wsm(side, &data, count),
                    &mut || tungstenite(side, &bytes, count),
                    &mut || fastwebsockets(&rt, side, &data, count),
                ],
            );
            let [lim, w, t, f] = times[..] else {
                unreachable!()
            };
            let ratio = |a: Duration, b: Duration| b.as_secs_f64() / a.as_secs_f64();
            let total = size * count;
            println!(
                "| {} | {count} | {} | {} | {} | {} | {:.2}x | {:.2}x | {:.0}% |",
                size_name(size),
                cell(total, count, lim),
                cell(total, count, w),
                cell(total, count, t),
                cell(total, count, f),
                ratio(w, t),
                ratio(w, f),
                100.0 * ratio(w, lim),
            );
        }
        println!();
    }
}

//! Decode: a client-to-server stream of masked single-frame messages, fed to
//! a server until every message is delivered, by wsmachine, tungstenite,
//! fastwebsockets and nexus-web (a sans-IO reader, like wsmachine) on the
//! same bytes in the same run, beside the copy+XOR limit. Binary and text
//! (ASCII, mixed UTF-8) payloads.
//!
//! `cargo bench --bench decode [-- FILTER]`; `WSM_BENCH_QUICK=1` for a short run.

mod common;

use std::hint::black_box;
use std::time::Duration;

use common::*;
use wsmachine::{Config, Connection, Event};

/// What one decode pass saw: message count and a checksum over them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Seen {
    messages: usize,
    bytes: usize,
    check: u64,
}

impl Seen {
    fn new() -> Self {
        Self {
            messages: 0,
            bytes: 0,
            check: 0,
        }
    }

    /// Touches a delivered message: its length and its first and last bytes.
    #[inline(always)]
    fn touch(&mut self, payload: &[u8]) {
        let payload = black_box(payload);
        self.messages += 1;
        self.bytes += payload.len();
        if let (Some(first), Some(last)) = (payload.first(), payload.last()) {
            self.check = self
                .check
                .wrapping_add(u64::from(*first) << 8 | u64::from(*last));
        }
    }

    /// The same as [`touch`](Self::touch), for a message seen in chunks.
    #[inline(always)]
    fn touch_parts(&mut self, len: usize, first: Option<u8>, last: Option<u8>) {
        self.messages += 1;
        self.bytes += len;
        if let (Some(first), Some(last)) = (first, last) {
            self.check = self
                .check
                .wrapping_add(u64::from(first) << 8 | u64::from(last));
        }
    }

    fn sum(&self) -> u64 {
        self.check ^ (self.messages as u64) << 40 ^ self.bytes as u64
    }
}

/// The read space a wsmachine caller asks for (`read_buf`) or keeps (its own
/// buffer for `receive`): 64 KiB, a socket-sized read. With "all at once"
/// the transport fills as much of it as it can, as it fills the peers'
/// buffers (tungstenite's is 128 KiB).
const READ_SPACE: usize = 64 * 1024;

/// wsmachine, the simple way: the transport reads into the caller's buffer,
/// which is handed to `receive` (a second copy, into the engine's buffer).
fn wsm_receive(stream: &[u8], chunk: usize, user_buf: &mut [u8]) -> Seen {
    let mut conn = Connection::open_server(Config::default());
    let mut seen = Seen::new();
    // The caller's buffer bounds each read, as the peers' buffers bound theirs.
    for piece in stream.chunks(chunk.min(user_buf.len())) {
        let buf = &mut user_buf[..piece.len()];
        buf.copy_from_slice(piece); // the socket read
        conn.receive(buf);
        while let Some(event) = conn.next_event().expect("valid stream") {
            if let Event::Message(message) = event {
                seen.touch(message.as_bytes());
            }
        }
    }
    seen
}

/// wsmachine, zero extra copies: the transport reads straight into the
/// engine's buffer (`read_buf` + `filled`), as the peers read into theirs.
fn wsm_read_buf(stream: &[u8], chunk: usize) -> Seen {
    let mut conn = Connection::open_server(Config::default());
    let mut seen = Seen::new();
    let mut pos = 0;
    while pos < stream.len() {
        // Ask for a socket-sized space; the read fills what fits, as the
        // peers' reads fill their own buffers.
        let buf = conn.read_buf(READ_SPACE);
        let n = buf.len().min(chunk).min(stream.len() - pos);
        buf[..n].copy_from_slice(&stream[pos..pos + n]); // the socket read
        conn.filled(n);
        pos += n;
        while let Some(event) = conn.next_event().expect("valid stream") {
            if let Event::Message(message) = event {
                seen.touch(message.as_bytes());
            }
        }
    }
    seen
}

/// wsmachine in streaming mode: every message handed out in chunks as its
/// bytes arrive (no reassembly, nothing waits for the frame's end), read
/// with `read_buf` + `filled` like [`wsm_read_buf`].
fn wsm_stream(stream: &[u8], chunk: usize) -> Seen {
    let mut conn = Connection::open_server(Config::default().with_streaming(true));
    let mut seen = Seen::new();
    let (mut len, mut first, mut last) = (0, None, None);
    let mut pos = 0;
    while pos < stream.len() {
        let buf = conn.read_buf(READ_SPACE);
        let n = buf.len().min(chunk).min(stream.len() - pos);
        buf[..n].copy_from_slice(&stream[pos..pos + n]); // the socket read
        conn.filled(n);
        pos += n;
        while let Some(event) = conn.next_event().expect("valid stream") {
            if let Event::Chunk(piece) = event {
                let bytes = black_box(piece.as_bytes());
                if piece.is_first() {
                    (len, first, last) = (0, bytes.first().copied(), None);
                }
                len += bytes.len();
                last = bytes.last().copied().or(last);
                if piece.is_last() {
                    seen.touch_parts(len, first, last);
                }
            }
        }
    }
    seen
}

fn tungstenite(stream: &[u8], chunk: usize, count: usize) -> Seen {
    use tungstenite::protocol::{Message, Role, WebSocket};
    let mut ws = WebSocket::from_raw_socket(MemStream::new(stream, chunk), Role::Server, None);
    let mut seen = Seen::new();
    while seen.messages < count {
        match ws.read().expect("valid stream") {
            Message::Binary(data) => seen.touch(&data),
            Message::Text(text) => seen.touch(text.as_bytes()),
            _ => {}
        }
    }
    seen
}

fn fastwebsockets(rt: &tokio::runtime::Runtime, stream: &[u8], chunk: usize, count: usize) -> Seen {
    use fastwebsockets::{FragmentCollector, OpCode, Role, WebSocket};
    rt.block_on(async {
        let ws = WebSocket::after_handshake(MemStream::new(stream, chunk), Role::Server);
        let mut ws = FragmentCollector::new(ws);
        let mut seen = Seen::new();
        while seen.messages < count {
            let frame = ws.read_frame().await.expect("valid stream");
            if matches!(frame.opcode, OpCode::Binary | OpCode::Text) {
                seen.touch(&frame.payload);
            }
        }
        seen
    })
}

/// nexus-web's sans-IO `FrameReader`, read into in place (`spare` +
/// `filled`) as wsmachine's `read_buf` is, with the same 64 KiB of room;
/// compacted when the room runs out, as its own `read_from` does.
fn nexus(stream: &[u8], chunk: usize) -> Seen {
    use nexus_web::ws::{FrameReader, Message, Role};
    let mut reader = FrameReader::builder()
        .role(Role::Server)
        .buffer_capacity(READ_SPACE)
        .build();
    let mut seen = Seen::new();
    let mut pos = 0;
    while pos < stream.len() {
        if reader.spare().is_empty() {
            reader.compact();
        }
        let spare = reader.spare();
        let n = spare.len().min(chunk).min(stream.len() - pos);
        spare[..n].copy_from_slice(&stream[pos..pos + n]); // the socket read
        reader.filled(n);
        pos += n;
        while let Some(message) = reader.next().expect("valid stream") {
            match message {
                Message::Binary(data) => seen.touch(data),
                Message::Text(text) => seen.touch(text.as_bytes()),
                _ => {}
            }
        }
    }
    seen
}

fn main() {
    let filter = filter();
    let runs = runs();
    let rt = runtime();
    println!(
        "# decode (server side, masked frames){}\n",
        if quick() { " — QUICK mode" } else { "" }
    );
    println!(
        "Ratios: `wsm` is wsmachine with `read_buf`+`filled` (one copy out of the transport, as the peers make); \
         `recv` is wsmachine with `receive` from a caller buffer (one copy more); `stream` is wsmachine in streaming mode \
         (`read_buf`+`filled`, messages handed out in chunks as they arrive). `/limit` = throughput / copy+XOR limit.\n"
    );
    let mut overheads = Vec::new();
    for kind in [Payload::Binary, Payload::Ascii, Payload::Mixed] {
        for size in SIZES {
            let name = format!("{} {}", kind.name(), size_name(size));
            if filter.as_ref().is_some_and(|f| !name.contains(f.as_str())) {
                continue;
            }
            let count = message_count_for(kind, size);
            let stream = masked_stream(kind, size, count);
            // Text is compared with binary of the same size and count, in the
            // same rounds (wsmachine only).
            let reference =
                (kind != Payload::Binary).then(|| masked_stream(Payload::Binary, size, count));
            let payload_bytes = size * count;
            println!(
                "## {name} x {count} ({:.1} MiB payload, {:.1} MiB on the wire)\n",
                payload_bytes as f64 / (1 << 20) as f64,
                stream.len() as f64 / (1 << 20) as f64
            );
            let text_column = if reference.is_some() {
                " wsm text over binary |"
            } else {
                ""
            };
            println!(
                "| reads | limit (copy+XOR) | wsmachine read_buf | wsmachine receive | tungstenite | fastwebsockets | nexus-web | wsm/tungstenite | wsm/fastwebsockets | wsm/nexus-web | wsm/limit | recv/tungstenite | recv/fastwebsockets | wsm streaming | stream/limit | stream/tungstenite | stream/fastwebsockets |{text_column}"
            );
            println!(
                "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|{}",
                if reference.is_some() { "---|" } else { "" }
            );
            for (read, read_name) in READS {
                let chunk = read.min(stream.len());
                let mut scratch = vec![0u8; chunk];
                let expected: std::cell::Cell<Option<Seen>> = std::cell::Cell::new(None);
                let check = |seen: Seen| {
                    assert_eq!(seen.messages, count, "{name}: message count");
                    assert_eq!(seen.bytes, payload_bytes, "{name}: payload bytes");
                    match expected.get() {
                        None => expected.set(Some(seen)),
                        Some(e) => assert_eq!(seen, e, "{name}: implementations disagree"),
                    }
                    seen.sum()
                };
                let mut scratch2 = vec![0u8; chunk];
                let mut user_buf = vec![0u8; chunk.min(READ_SPACE)];
                let mut limit_a = || limit_pass(&stream, chunk, &mut scratch, false);
                let mut limit_b = || limit_pass(&stream, chunk, &mut scratch2, true);
                let mut wsm_a = || check(wsm_read_buf(&stream, chunk));
                let mut wsm_b = || check(wsm_receive(&stream, chunk, &mut user_buf));
                let mut wsm_s = || check(wsm_stream(&stream, chunk));
                let mut tung = || check(tungstenite(&stream, chunk, count));
                let mut fws = || check(fastwebsockets(&rt, &stream, chunk, count));
                let mut nex = || check(nexus(&stream, chunk));
                let mut binary_ref = || {
                    let seen = wsm_read_buf(reference.as_deref().unwrap_or(&stream), chunk);
                    assert_eq!(seen.messages, count, "{name}: reference message count");
                    seen.sum()
                };
                let mut fns: Vec<&mut dyn FnMut() -> u64> = vec![
                    &mut limit_a,
                    &mut limit_b,
                    &mut wsm_a,
                    &mut wsm_b,
                    &mut tung,
                    &mut fws,
                    &mut wsm_s,
                    &mut nex,
                ];
                if reference.is_some() {
                    fns.push(&mut binary_ref);
                }
                let times = compare(runs, &mut fns);
                let (copy_then_xor, fused, rbuf, recv, tung, fws, streamed, nex) = (
                    times[0], times[1], times[2], times[3], times[4], times[5], times[6], times[7],
                );
                let limit = copy_then_xor.min(fused);
                let ratio = |a: Duration, b: Duration| b.as_secs_f64() / a.as_secs_f64();
                let over = times.get(8).map(|&bin| 100.0 * (ratio(bin, rbuf) - 1.0));
                println!(
                    "| {read_name} | {} | {} | {} | {} | {} | {} | {:.2}x | {:.2}x | {:.2}x | {:.0}% | {:.2}x | {:.2}x | {} | {:.0}% | {:.2}x | {:.2}x |{}",
                    cell(payload_bytes, count, limit),
                    cell(payload_bytes, count, rbuf),
                    cell(payload_bytes, count, recv),
                    cell(payload_bytes, count, tung),
                    cell(payload_bytes, count, fws),
                    cell(payload_bytes, count, nex),
                    ratio(rbuf, tung),
                    ratio(rbuf, fws),
                    ratio(rbuf, nex),
                    100.0 * ratio(rbuf, limit),
                    ratio(recv, tung),
                    ratio(recv, fws),
                    cell(payload_bytes, count, streamed),
                    100.0 * ratio(streamed, limit),
                    ratio(streamed, tung),
                    ratio(streamed, fws),
                    over.map(|o| format!(" {o:+.1}% |")).unwrap_or_default(),
                );
                if let Some(over) = over {
                    overheads.push((kind, size, read_name, over));
                }
            }
            println!();
        }
    }
    if !overheads.is_empty() {
        println!(
            "## wsmachine (read_buf): text decode time over binary (same sizes and counts, same rounds)\n"
        );
        println!("| size | reads | text ASCII | text mixed UTF-8 |");
        println!("|---|---|---|---|");
        for size in SIZES {
            for (_, read) in READS {
                let find = |kind: Payload| {
                    overheads
                        .iter()
                        .find(|o| o.0 == kind && o.1 == size && o.2 == read)
                        .map_or_else(|| "-".to_owned(), |o| format!("{:+.1}%", o.3))
                };
                let (ascii, mixed) = (find(Payload::Ascii), find(Payload::Mixed));
                if ascii != "-" || mixed != "-" {
                    println!("| {} | {read} | {ascii} | {mixed} |", size_name(size));
                }
            }
        }
    }
}

//! A small driver for profilers (`perf record`, `valgrind --tool=callgrind`):
//! wsmachine alone decoding (or encoding) one case in a loop, nothing else in
//! the profile.
//!
//! `cargo bench --bench profile -- [decode|decode-nexus|stream|encode] SIZE READ KIND SECONDS`
//! (`decode-nexus`: nexus-web's reader on the same stream; `stream`: decode
//! in streaming mode, chunks as they arrive; `limit` and `fused`: the
//! copy-then-XOR and copy-XOR loops the decode bench compares with), e.g.
//! `-- decode 16 16384 binary 3`; READ 0 is "all at once"; KIND is `binary`,
//! `ascii` or `mixed`. Under `cargo bench` with no arguments it runs briefly.

mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use cpu_time::ThreadTime;

use common::*;
use wsmachine::{Config, Connection, Event};

/// What the decode bench's `Seen::touch` does with a message: its length and
/// its first and last bytes (read back right after the unmasking wrote them).
#[inline(always)]
fn touch(payload: &[u8]) -> usize {
    let payload = black_box(payload);
    payload.len()
        + usize::from(payload.first().copied().unwrap_or(0))
        + usize::from(payload.last().copied().unwrap_or(0))
}

fn decode(stream: &[u8], chunk: usize, streaming: bool) -> usize {
    let mut conn = Connection::open_server(Config::default().with_streaming(streaming));
    let mut seen = 0;
    let mut pos = 0;
    while pos < stream.len() {
        // A socket-sized space, filled as far as the read goes (as benches/decode does).
        let buf = conn.read_buf(64 * 1024);
        let n = buf.len().min(chunk).min(stream.len() - pos);
        buf[..n].copy_from_slice(&stream[pos..pos + n]);
        conn.filled(n);
        pos += n;
        while let Some(event) = conn.next_event().expect("valid stream") {
            match event {
                Event::Message(message) => seen += touch(message.as_bytes()),
                Event::Chunk(chunk) => seen += black_box(chunk.as_bytes()).len(),
                _ => {}
            }
        }
    }
    seen
}

/// nexus-web's reader on the same stream, for a side-by-side profile.
fn decode_nexus(stream: &[u8], chunk: usize) -> usize {
    use nexus_web::ws::{FrameReader, Message, Role};
    let mut reader = FrameReader::builder()
        .role(Role::Server)
        .buffer_capacity(64 * 1024)
        .build();
    let mut seen = 0;
    let mut pos = 0;
    while pos < stream.len() {
        if reader.spare().is_empty() {
            reader.compact();
        }
        let spare = reader.spare();
        let n = spare.len().min(chunk).min(stream.len() - pos);
        spare[..n].copy_from_slice(&stream[pos..pos + n]);
        reader.filled(n);
        pos += n;
        while let Some(message) = reader.next().expect("valid stream") {
            if let Message::Binary(data) = message {
                seen += touch(data);
            }
        }
    }
    seen
}

fn encode(payload: &[u8], count: usize) -> usize {
    let mut conn = Connection::open_server(Config::default());
    let mut sink = Sink::new();
    for _ in 0..count {
        conn.send_binary(payload).expect("open");
        let n = sink.take(conn.pending_output());
        conn.advance_output(n);
    }
    sink.written
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let arg = |i: usize, default: &str| args.get(i).cloned().unwrap_or_else(|| default.into());
    let mode = arg(0, "decode");
    let size: usize = arg(1, "16").parse().expect("SIZE");
    let read: usize = arg(2, "16384").parse().expect("READ");
    let kind = match arg(3, "binary").as_str() {
        "ascii" => Payload::Ascii,
        "mixed" => Payload::Mixed,
        _ => Payload::Binary,
    };
    let seconds: f64 = arg(4, "0.2").parse().expect("SECONDS");
    let count = message_count(size);
    let chunk = if read == 0 { usize::MAX } else { read };
    let stream = masked_stream(kind, size, count);
    let payload = payload(kind, size, &mut Rng::new(1));
    let mut scratch = vec![0u8; chunk.min(stream.len())];
    let start = Instant::now();
    let cpu = ThreadTime::now();
    let mut passes = 0u64;
    while start.elapsed() < Duration::from_secs_f64(seconds) {
        let n = match mode.as_str() {
            "encode" => encode(&payload, count),
            "decode-nexus" => decode_nexus(&stream, chunk),
            "limit" | "fused" => limit_pass(&stream, chunk, &mut scratch, mode == "fused") as usize,
            _ => decode(&stream, chunk, mode == "stream"),
        };
        black_box(n);
        passes += 1;
    }
    let elapsed = cpu.elapsed().as_secs_f64();
    println!(
        "profile {mode} {size} B x {count}, reads {read}, {kind:?}: {passes} passes, {:.2} M msg/s, {:.0} MiB/s (thread CPU time)",
        passes as f64 * count as f64 / elapsed / 1e6,
        passes as f64 * (count * size) as f64 / elapsed / (1 << 20) as f64
    );
}

//! Shared test driver: an in-memory client/server pair with a chunking policy,
//! owned copies of events, and raw frame builders.
#![allow(dead_code)]

use wsmachine::{Config, Connection, Event, Message, ProtocolError};

/// A deterministic mask source for tests.
pub fn counter_masks() -> impl FnMut() -> [u8; 4] + Send {
    let mut n: u32 = 0x1234_5678;
    move || {
        n = n.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        n.to_be_bytes()
    }
}

/// How bytes are cut on their way from one end to the other.
#[derive(Clone, Copy, Debug)]
pub enum Chunking {
    Whole,
    ByteByByte,
    /// Pseudo-random cut sizes from 1 to 64, from this seed.
    Random(u64),
}

impl Chunking {
    pub const ALL: [Chunking; 4] = [
        Chunking::Whole,
        Chunking::ByteByByte,
        Chunking::Random(1),
        Chunking::Random(0xDEAD_BEEF),
    ];
}

/// An event with its data copied out, so tests can compare and keep them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Owned {
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close(u16, String),
    Error(ProtocolError),
}

impl Owned {
    pub fn from_event(event: &Event<'_>) -> Self {
        match *event {
            Event::Message(Message::Text(t)) => Owned::Text(t.to_owned()),
            Event::Message(Message::Binary(b)) => Owned::Binary(b.to_vec()),
            Event::Ping(p) => Owned::Ping(p.to_vec()),
            Event::Pong(p) => Owned::Pong(p.to_vec()),
            Event::Close(f) => Owned::Close(f.code.0, f.reason.to_owned()),
            _ => panic!("unexpected event {event:?}"),
        }
    }
}

/// Feeds `bytes` to `conn` cut by `chunking`, draining events after each
/// piece, and returns every event (an error ends the list).
pub fn feed(conn: &mut Connection, bytes: &[u8], chunking: Chunking) -> Vec<Owned> {
    let mut events = Vec::new();
    let mut rng = match chunking {
        Chunking::Random(seed) => seed | 1,
        _ => 1,
    };
    let mut at = 0;
    while at < bytes.len() {
        let n = match chunking {
            Chunking::Whole => bytes.len() - at,
            Chunking::ByteByByte => 1,
            Chunking::Random(_) => {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                (1 + (rng % 64) as usize).min(bytes.len() - at)
            }
        };
        conn.receive(&bytes[at..at + n]);
        at += n;
        if drain(conn, &mut events) {
            return events;
        }
    }
    events
}

/// Collects events until `None`; true if an error ended them.
pub fn drain(conn: &mut Connection, events: &mut Vec<Owned>) -> bool {
    // Bounded: no input yields more events than it has bytes, plus one.
    for _ in 0..1_000_000 {
        match conn.next_event() {
            Ok(Some(event)) => events.push(Owned::from_event(&event)),
            Ok(None) => return false,
            Err(error) => {
                events.push(Owned::Error(error));
                return true;
            }
        }
    }
    panic!("next_event never returned None");
}

/// Takes all pending output of `conn`, writing it in pieces of at most
/// `max_write` bytes to exercise partial writes.
pub fn take_output(conn: &mut Connection, max_write: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..10_000_000 {
        let pending = conn.pending_output();
        if pending.is_empty() {
            return out;
        }
        let n = pending.len().min(max_write);
        out.extend_from_slice(&pending[..n]);
        conn.advance_output(n);
    }
    panic!("output never drained");
}

/// A client and a server connection, already open, joined by memory.
pub struct Pair {
    pub client: Connection,
    pub server: Connection,
    pub chunking: Chunking,
}

impl Pair {
    pub fn new(chunking: Chunking) -> Self {
        Self::with_config(Config::default(), chunking)
    }

    pub fn with_config(config: Config, chunking: Chunking) -> Self {
        Self {
            client: Connection::open_client(config.clone(), counter_masks()),
            server: Connection::open_server(config),
            chunking,
        }
    }

    /// Moves the client's output to the server; returns the server's events.
    pub fn deliver_to_server(&mut self) -> Vec<Owned> {
        let bytes = take_output(&mut self.client, 7);
        feed(&mut self.server, &bytes, self.chunking)
    }

    /// Moves the server's output to the client; returns the client's events.
    pub fn deliver_to_client(&mut self) -> Vec<Owned> {
        let bytes = take_output(&mut self.server, 7);
        feed(&mut self.client, &bytes, self.chunking)
    }
}

/// A raw frame: first byte `b0` (FIN/RSV/opcode), payload, optional mask.
pub fn frame(b0: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = vec![b0];
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => out.push(mask_bit | n as u8),
        n if n <= 0xFFFF => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    match mask {
        Some(key) => {
            out.extend_from_slice(&key);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        }
        None => out.extend_from_slice(payload),
    }
    out
}

pub const KEY: [u8; 4] = [0xA1, 0xB2, 0xC3, 0xD4];

/// A masked frame, as a client sends it.
pub fn client_frame(b0: u8, payload: &[u8]) -> Vec<u8> {
    frame(b0, payload, Some(KEY))
}

/// Decodes a stream of unmasked (server-sent) frames into (first byte, payload).
pub fn parse_frames(mut bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
    use wsmachine::frame::{Decoded, FrameHeader};
    let mut frames = Vec::new();
    while !bytes.is_empty() {
        let Ok(Decoded::Complete { header, header_len }) = FrameHeader::decode(bytes) else {
            panic!("output is not whole frames: {bytes:x?}");
        };
        let len = header.payload_len as usize;
        let mut payload = bytes[header_len..header_len + len].to_vec();
        if let Some(key) = header.mask {
            wsmachine::frame::apply_mask(&mut payload, key, 0);
        }
        let b0 = (u8::from(header.fin) << 7) | (header.rsv << 4) | header.opcode.as_u8();
        frames.push((b0, payload));
        bytes = &bytes[header_len + len..];
    }
    frames
}

/// The close code in a close frame payload.
pub fn close_code_of(frame: &(u8, Vec<u8>)) -> Option<u16> {
    assert_eq!(frame.0, 0x88, "not a close frame: {frame:x?}");
    (frame.1.len() >= 2).then(|| u16::from_be_bytes([frame.1[0], frame.1[1]]))
}

/// A proptest configuration that keeps failure seeds in the top-level
/// `proptest-regressions/` folder (the design's layout) instead of beside
/// the test sources. `file` is relative to the package root, where
/// `cargo test` runs.
pub fn proptest_config(cases: u32, file: &'static str) -> proptest::test_runner::Config {
    proptest::test_runner::Config {
        cases,
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::Direct(file),
        )),
        ..proptest::test_runner::Config::default()
    }
}

/// A child process killed and reaped when dropped, so a failing test leaves
/// no server behind.
pub struct Child(pub std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The path of an example binary of this build (`cargo test` builds the
/// examples; built here if it is missing).
pub fn example_binary(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let path = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    if !path.exists() {
        let mut build = std::process::Command::new(env!("CARGO"));
        build.args(["build", "--example", name]);
        if profile_dir.ends_with("release") {
            build.arg("--release");
        }
        let status = build
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .unwrap();
        assert!(status.success(), "building the {name} example failed");
    }
    path
}

/// Starts an example server on a free port with `args`; returns it and its
/// address (from its `listening on http://ADDR` first line). Its stderr goes
/// to the returned reader.
pub fn spawn_server(
    name: &str,
    args: &[&str],
) -> (Child, String, std::io::BufReader<std::process::ChildStderr>) {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    let child = Command::new(example_binary(name))
        .arg("127.0.0.1:0")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = Child(child);
    let mut first = String::new();
    std::io::BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let addr = first
        .trim()
        .strip_prefix("listening on http://")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_owned();
    let stderr = std::io::BufReader::new(child.0.stderr.take().unwrap());
    (child, addr, stderr)
}

/// Everything the peer sends until it closes, or until `guard` passes.
pub fn read_until_closed(guard: std::time::Duration, stream: &mut std::net::TcpStream) -> Vec<u8> {
    use std::io::Read;
    stream.set_read_timeout(Some(guard)).unwrap();
    let mut seen = Vec::new();
    let start = std::time::Instant::now();
    let mut buf = [0u8; 65536];
    while start.elapsed() < guard {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
    seen
}

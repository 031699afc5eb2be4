//! Fuzzing entry points (feature `fuzzing`; not part of the stable API).
//!
//! Each function takes the raw bytes a fuzzer produced, drives one part of
//! the engine with them and panics if an invariant breaks. The targets in
//! `fuzz/fuzz_targets/` are one-line wrappers over these functions, and
//! `tests/regressions.rs` replays the committed corpus and every minimised
//! crash through them under plain `cargo test --features fuzzing`, on
//! stable Rust.
//!
//! | function | drives |
//! | --- | --- |
//! | [`frame_header`] | [`FrameHeader::decode`] / [`FrameHeader::encode`] |
//! | [`server_stream`] | a server [`Connection`] fed a handshake and frames in chunks |
//! | [`client_stream`] | a client [`Connection`] fed a (valid or fuzzed) 101 and frames |
//! | [`handshake_request`] | [`RequestParser::parse`] and [`ParsedRequest::validate`](crate::handshake::ParsedRequest::validate) |
//! | [`pair_ops`] | a client and a server driven by a sequence of [`Op`]s |
//! | [`inflate`] | [`Decompressor`](crate::deflate::Decompressor) (feature `deflate`) |
//!
//! The stream functions read their first [`PARAM_BYTES`] bytes as
//! parameters (limits, chunking, switches; see [`StreamParams`]) and the
//! rest as the byte stream.

use alloc::collections::VecDeque;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use arbitrary::{Arbitrary, Unstructured};

use crate::frame::{Decoded, FrameHeader, MAX_HEADER_LEN, OpCode};
use crate::handshake::{
    ClientRequest, HandshakeLimits, OriginPolicy, RequestParser, ResponseParser, accept_key,
    write_accept_response, write_error_response,
};
use crate::{
    Accept, CloseCode, Config, Connection, Event, Message, MessageKind, ProtocolError, State,
};

/// How many leading input bytes the stream functions read as parameters.
pub const PARAM_BYTES: usize = 4;

/// The output a connection may queue on its own (automatic pongs up to the
/// 16 KiB high-water mark, one pong past it, a close frame, an HTTP response
/// head), before `Vec` doubling, plus the compression scratch buffer it keeps
/// (up to 64 KiB).
const OWN_OUTPUT: usize = 16 * 1024 + 4 * 1024 + 32 * 1024;

/// A deterministic masking-key source: the fuzzers must be reproducible.
fn masks() -> impl FnMut() -> [u8; 4] + Send {
    let mut n: u32 = 0x2545_F491;
    move || {
        n ^= n << 13;
        n ^= n >> 17;
        n ^= n << 5;
        n.to_be_bytes()
    }
}

/// The position of a lifecycle state, to check states only move forward.
fn rank(state: State) -> u8 {
    match state {
        State::Connecting => 0,
        State::Open => 1,
        State::Closing => 2,
        State::Closed => 3,
    }
}

// ---------------------------------------------------------------- target 1

/// Target `frame_header`: decodes a header from arbitrary bytes.
///
/// Checks that a complete header never claims more bytes than were given,
/// that an incomplete one asks for more than it has (and at most
/// [`MAX_HEADER_LEN`]), that every proper prefix of a complete header is
/// incomplete rather than an error, that an error stays an error when more
/// bytes follow, and that encoding a decoded header and decoding the result
/// gives the same header in its shortest form.
pub fn frame_header(data: &[u8]) {
    let decoded = FrameHeader::decode(data);
    match decoded {
        Ok(Decoded::Complete { header, header_len }) => {
            assert!(
                header_len <= data.len(),
                "claims {header_len} of {}",
                data.len()
            );
            assert!((2..=MAX_HEADER_LEN).contains(&header_len));
            assert!(header.payload_len >> 63 == 0);
            assert!(header.rsv <= 7);
            if header.opcode.is_control() {
                assert!(header.fin && header.payload_len <= 125);
            }
            for n in 0..header_len {
                match FrameHeader::decode(&data[..n]) {
                    Ok(Decoded::Incomplete { needed }) => {
                        assert!(needed > n && needed <= header_len, "prefix {n}: {needed}");
                    }
                    other => panic!("prefix {n} of a valid header gave {other:?}"),
                }
            }
            let mut out = [0u8; MAX_HEADER_LEN];
            let len = header.encode(&mut out);
            assert_eq!(len, header.encoded_len());
            assert!(len <= header_len, "the shortest form is never longer");
            assert_eq!(
                FrameHeader::decode(&out[..len]),
                Ok(Decoded::Complete {
                    header,
                    header_len: len
                })
            );
        }
        Ok(Decoded::Incomplete { needed }) => {
            assert!(needed > data.len() && needed <= MAX_HEADER_LEN);
        }
        Err(error) => {
            let mut longer = data.to_vec();
            longer.extend_from_slice(&[0xFF; MAX_HEADER_LEN]);
            assert!(
                FrameHeader::decode(&longer).is_err(),
                "{error:?} undone by more bytes"
            );
        }
    }
}

// ------------------------------------------------------------ targets 2, 3

/// The parameters the stream functions read from their first bytes.
#[derive(Clone, Debug)]
pub struct StreamParams {
    /// The connection's configuration (small limits).
    pub config: Config,
    /// Largest chunk the stream is cut into.
    pub max_chunk: usize,
    /// Seed of the chunk sizes.
    seed: u32,
    /// Whether the output is taken after every chunk (a peer that reads) or
    /// never until the end (a peer that never reads).
    pub drain_output: bool,
    /// Client: whether a valid 101 response precedes the fuzzed bytes.
    pub valid_response: bool,
    /// Client: whether that 101 accepts permessage-deflate (feature
    /// `deflate`, which makes the client offer it).
    pub deflate_response: bool,
}

impl StreamParams {
    /// Reads the parameters from `p` (missing bytes count as zero).
    pub fn from_bytes(p: &[u8]) -> Self {
        let b = |i: usize| p.get(i).copied().unwrap_or(0);
        let (b0, b1, b2, b3) = (b(0), b(1), b(2), b(3));
        const FRAME: [usize; 8] = [1, 7, 125, 126, 127, 256, 1000, 4096];
        const MESSAGE: [usize; 8] = [1, 16, 200, 512, 1024, 4096, 8192, 65_536];
        const FRAGMENTS: [usize; 8] = [1, 2, 3, 4, 8, 16, 64, 1024];
        const HANDSHAKE: [usize; 4] = [256, 512, 1024, 8192];
        const HEADERS: [usize; 4] = [8, 9, 16, 64];
        let origin = if b1 & 0x80 == 0 {
            OriginPolicy::Any
        } else {
            OriginPolicy::SameHost
        };
        let config = Config::default()
            .with_max_frame_size(FRAME[usize::from(b0 & 7)])
            .and_then(|c| c.with_max_message_size(MESSAGE[usize::from((b0 >> 3) & 7)]))
            .and_then(|c| c.with_max_fragments(FRAGMENTS[usize::from(b1 & 7)]))
            .and_then(|c| c.with_max_handshake_bytes(HANDSHAKE[usize::from((b1 >> 3) & 3)]))
            .and_then(|c| c.with_max_headers(HEADERS[usize::from((b1 >> 5) & 3)]))
            .expect("limits in range")
            .with_auto_pong(b0 & 0x40 == 0)
            .with_origin_policy(origin);
        Self {
            config,
            max_chunk: 1 << (b3 % 13),
            seed: u32::from(b2) | (u32::from(b3) << 8) | 1,
            drain_output: b0 & 0x80 == 0,
            valid_response: b2 & 0x80 == 0,
            deflate_response: cfg!(feature = "deflate") && b2 & 0x40 != 0,
        }
    }

    /// The heap a connection with this configuration may hold while fed
    /// chunks of at most `chunk` bytes: the input buffer (one partial frame
    /// or handshake head plus one chunk), the reassembly buffer (one
    /// message), and the output it queues on its own; each doubled for
    /// `Vec`'s amortised growth.
    pub fn memory_bound(config: &Config, chunk: usize) -> usize {
        let partial = config
            .max_handshake_bytes()
            .max(MAX_HEADER_LEN + config.max_frame_size());
        2 * (partial + chunk) + 2 * config.max_message_size() + 2 * OWN_OUTPUT
    }

    fn chunks<'a>(&self, mut stream: &'a [u8]) -> Vec<&'a [u8]> {
        let mut x = self.seed;
        let mut out = Vec::new();
        while !stream.is_empty() {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let n = (1 + x as usize % self.max_chunk).min(stream.len());
            out.push(&stream[..n]);
            stream = &stream[n..];
        }
        out
    }
}

/// What a stream harness saw, to check the output against.
#[derive(Debug, Default)]
struct Seen {
    /// Payloads of the pings received (an automatic pong echoes one).
    pings: Vec<Vec<u8>>,
    /// The peer's close code, if its close frame arrived.
    close: Option<CloseCode>,
    /// The protocol error the connection failed with, if any.
    error: Option<ProtocolError>,
}

/// Drains events after one input, answering handshakes; checks limits.
/// Returns false once the connection reported an error.
fn drain_stream(conn: &mut Connection, seen: &mut Seen, budget: usize) -> bool {
    let config = conn.config().clone();
    let mut state = conn.state();
    // Every event but the handshake ones consumes at least a 2-byte frame.
    for _ in 0..budget + 3 {
        let event = match conn.next_event() {
            Ok(Some(event)) => event,
            Ok(None) => return true,
            Err(error) => {
                assert!(seen.error.is_none(), "a second error: {error:?}");
                seen.error = Some(error);
                assert_eq!(conn.state(), State::Closed);
                assert_eq!(conn.next_event(), Ok(None), "errors are reported once");
                return false;
            }
        };
        assert!(seen.close.is_none(), "an event after the close: {event:?}");
        match event {
            Event::Handshake(request) => {
                let protocol = request.protocols().first().cloned();
                let accept = match &protocol {
                    Some(p) => Accept::new().protocol(p),
                    None => Accept::new(),
                };
                conn.accept(accept)
                    .expect("accepting the pending handshake");
            }
            Event::Connected(response) => assert_eq!(response.status(), 101),
            Event::Message(message) => {
                assert!(message.as_bytes().len() <= config.max_message_size());
            }
            Event::Ping(payload) => {
                assert!(payload.len() <= 125 && payload.len() <= config.max_frame_size());
                seen.pings.push(payload.to_vec());
            }
            Event::Pong(payload) => assert!(payload.len() <= 125),
            Event::Close(frame) => {
                assert!(frame.reason.len() <= 123);
                seen.close = Some(frame.code);
                assert_eq!(conn.state(), State::Closed);
            }
        }
        let now = conn.state();
        assert!(rank(now) >= rank(state), "{state:?} -> {now:?}");
        state = now;
    }
    panic!("next_event did not return None within {budget} events");
}

/// Checks the frames a connection wrote after its handshake: masked by a
/// client only, RSV clear, control frames short and final, nothing after a
/// close frame, and the close frame the one the connection owed.
fn check_frames(mut wire: &[u8], role_client: bool, seen: &Seen) {
    let mut last_close: Option<Vec<u8>> = None;
    while !wire.is_empty() {
        assert!(last_close.is_none(), "bytes after the close frame");
        let Ok(Decoded::Complete { header, header_len }) = FrameHeader::decode(wire) else {
            panic!("output is not whole frames: {wire:x?}");
        };
        let len = usize::try_from(header.payload_len).expect("fits");
        assert!(
            wire.len() >= header_len + len,
            "truncated frame in the output"
        );
        assert_eq!(header.mask.is_some(), role_client, "masking by role");
        assert_eq!(header.rsv, 0);
        let mut payload = wire[header_len..header_len + len].to_vec();
        if let Some(key) = header.mask {
            crate::frame::apply_mask(&mut payload, key, 0);
        }
        match header.opcode {
            OpCode::Pong => assert!(
                seen.pings.contains(&payload),
                "a pong for no ping: {payload:x?}"
            ),
            OpCode::Close => last_close = Some(payload),
            other => panic!("the harness sent nothing, yet {other:?} was written"),
        }
        wire = &wire[header_len + len..];
    }
    let expected = match (seen.close, seen.error) {
        (Some(code), _) if code == CloseCode::NO_STATUS => Some(Vec::new()),
        (Some(code), _) => Some(code.0.to_be_bytes().to_vec()),
        (None, Some(ProtocolError::AbnormalClosure | ProtocolError::Handshake(_))) => None,
        (None, Some(error)) => Some(error.close_code().0.to_be_bytes().to_vec()),
        (None, None) => None,
    };
    assert_eq!(last_close, expected, "the close frame written ({seen:?})");
}

/// Feeds `stream` to `conn` in the chunks `params` gives, then EOF, checking
/// memory and events after every chunk; returns everything it wrote.
fn run_stream(
    conn: &mut Connection,
    params: &StreamParams,
    stream: &[u8],
    seen: &mut Seen,
) -> Vec<u8> {
    let config = params.config.clone();
    let mut wire = Vec::new();
    let mut alive = true;
    let mut largest = 0;
    let mut closed_memory = None;
    for chunk in params.chunks(stream) {
        largest = largest.max(chunk.len());
        let before = conn.state();
        conn.receive(chunk);
        if alive {
            alive = drain_stream(conn, seen, chunk.len());
        } else {
            assert_eq!(conn.next_event(), Ok(None));
        }
        assert!(rank(conn.state()) >= rank(before));
        if params.drain_output {
            wire.extend_from_slice(conn.pending_output());
            let n = conn.pending_output().len();
            conn.advance_output(n);
        }
        let used = conn.memory_usage();
        let bound = StreamParams::memory_bound(&config, largest);
        assert!(used <= bound, "memory {used} > bound {bound}");
        if conn.is_closed() {
            // Input after the end is ignored: memory does not grow.
            let held = *closed_memory.get_or_insert(used);
            assert!(used <= held, "memory grew after close: {held} -> {used}");
        }
    }
    conn.receive_eof();
    if alive {
        drain_stream(conn, seen, 0);
    }
    assert!(conn.is_closed(), "EOF leaves the connection closed");
    wire.extend_from_slice(conn.pending_output());
    wire
}

/// Target `server_stream`: a server [`Connection`] with small limits fed
/// a handshake and frames from the fuzzer, cut into chunks of the sizes the
/// parameters give. Any valid handshake is accepted.
///
/// Checks that memory stays under [`StreamParams::memory_bound`], that no
/// message exceeds the limits, that states only move forward, that each
/// error is reported once, and that the output is an HTTP response followed
/// (after a 101) by frames ending in the right close frame.
pub fn server_stream(data: &[u8]) {
    let (params, stream) = data.split_at(data.len().min(PARAM_BYTES));
    let params = StreamParams::from_bytes(params);
    let mut conn = Connection::server(params.config.clone());
    let mut seen = Seen::default();
    let wire = run_stream(&mut conn, &params, stream, &mut seen);
    if wire.is_empty() {
        assert!(
            matches!(seen.error, None | Some(ProtocolError::AbnormalClosure)),
            "{seen:?} without an answer"
        );
        return;
    }
    assert!(
        wire.starts_with(b"HTTP/1.1 "),
        "output starts with a status line"
    );
    let head_end = find_head_end(&wire).expect("a whole response head");
    if wire.starts_with(b"HTTP/1.1 101 ") {
        check_frames(&wire[head_end..], false, &seen);
    } else {
        let status = core::str::from_utf8(&wire[9..12]).expect("status");
        let Some(ProtocolError::Handshake(error)) = seen.error else {
            panic!("an error response without a handshake error: {seen:?}");
        };
        assert_eq!(status, error.http_status().to_string());
    }
}

/// Target `client_stream`: a client [`Connection`] with small limits whose
/// request is answered by a valid 101 (with the accept key computed from the
/// request it wrote) followed by the fuzzer's bytes, or, by a parameter
/// switch, by the fuzzer's bytes alone. Same checks as [`server_stream`].
pub fn client_stream(data: &[u8]) {
    let (params, stream) = data.split_at(data.len().min(PARAM_BYTES));
    let params = StreamParams::from_bytes(params);
    let request = ClientRequest::new("example.com", "/chat").protocol("chat");
    let mut conn =
        Connection::client(&request, params.config.clone(), masks()).expect("a valid request");
    let written = conn.pending_output().to_vec();
    conn.advance_output(written.len());
    let mut input = Vec::new();
    if params.valid_response {
        let (parsed, used) = RequestParser::new()
            .parse(&written, HandshakeLimits::default())
            .expect("the client's own request parses")
            .expect("whole");
        assert_eq!(used, written.len());
        let valid = parsed
            .validate(&OriginPolicy::Any)
            .expect("the client's own request is valid");
        let key = accept_key(valid.key().as_bytes());
        assert_eq!(key, valid.accept_key());
        let extensions = params.deflate_response.then_some("permessage-deflate");
        write_accept_response(&mut input, &key, Some("chat"), extensions, &[]).expect("101");
    }
    input.extend_from_slice(stream);
    let mut seen = Seen::default();
    let wire = run_stream(&mut conn, &params, &input, &mut seen);
    if conn.handshake_response().is_some_and(|r| r.status() == 101) {
        check_frames(&wire, true, &seen);
    } else {
        assert!(wire.is_empty(), "frames before the handshake completed");
        assert!(seen.error.is_some(), "closed without an error");
    }
}

fn find_head_end(wire: &[u8]) -> Option<usize> {
    wire.windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4)
}

// ---------------------------------------------------------------- target 4

/// Target `handshake_request`: the request parser and validator alone, with
/// limits from the first three bytes (any values, zero included), fed the
/// rest as one growing buffer cut at points the fuzzer chose.
///
/// Checks that incremental parsing agrees with parsing the whole buffer at
/// once, that a parsed head lies within the buffer and the byte limit, and
/// that a valid request's 101 and an invalid one's error response are
/// well-formed HTTP with the right status.
pub fn handshake_request(data: &[u8]) {
    let (p, stream) = data.split_at(data.len().min(3));
    let b = |i: usize| p.get(i).copied().unwrap_or(0);
    let limits = HandshakeLimits {
        max_bytes: usize::from(u16::from_be_bytes([b(0), b(1)])),
        max_headers: usize::from(b(2) & 0x7F),
    };
    let policy = if b(2) & 0x80 == 0 {
        OriginPolicy::SameHost
    } else {
        OriginPolicy::Any
    };
    let whole = RequestParser::new().parse(stream, limits);
    // The same bytes arriving in pieces: cut where the bytes say.
    let mut parser = RequestParser::new();
    let mut incremental = Ok(None);
    let mut end = 0;
    while end < stream.len() {
        end = (end + 1 + usize::from(stream[end] % 17)).min(stream.len());
        incremental = parser.parse(&stream[..end], limits);
        if !matches!(incremental, Ok(None)) {
            break;
        }
    }
    if stream.is_empty() {
        incremental = parser.parse(stream, limits);
    }
    match (&whole, &incremental) {
        (Ok(Some((a, n))), Ok(Some((b, m)))) => {
            assert_eq!((a, n), (b, m), "split changed the request");
        }
        (Err(a), Err(b)) => assert_eq!(a, b, "split changed the error"),
        (Ok(None), Ok(None)) => {}
        (a, b) => panic!("whole {a:?} but in pieces {b:?}"),
    }
    let parsed = match whole {
        Ok(Some((parsed, used))) => {
            assert!(used <= stream.len() && used <= limits.max_bytes);
            parsed
        }
        Ok(None) => {
            assert!(stream.len() < limits.max_bytes, "no error past the limit");
            return;
        }
        Err(error) => return check_error_response(&error),
    };
    match parsed.validate(&policy) {
        Ok(request) => {
            assert_eq!(request.accept_key(), accept_key(request.key().as_bytes()));
            let mut out = Vec::new();
            write_accept_response(&mut out, &request.accept_key(), None, None, &[])
                .expect("a 101 can always be written");
            let (response, used) = ResponseParser::new()
                .parse(&out, HandshakeLimits::default())
                .expect("our 101 parses")
                .expect("whole");
            assert_eq!((response.status(), used), (101, out.len()));
            assert_eq!(
                response.header("Sec-WebSocket-Accept"),
                Some(request.accept_key().as_bytes())
            );
        }
        Err(error) => check_error_response(&error),
    }
}

fn check_error_response(error: &crate::HandshakeError) {
    let mut out = Vec::new();
    write_error_response(&mut out, error);
    let (response, used) = ResponseParser::new()
        .parse(&out, HandshakeLimits::default())
        .expect("our error response parses")
        .expect("whole");
    assert_eq!(response.status(), error.http_status());
    let body_len = response.body_len(HandshakeLimits::default());
    assert_eq!(
        used + body_len,
        out.len(),
        "Content-Length matches the body"
    );
}

// ---------------------------------------------------------------- target 5

/// Which end of the pair an [`Op`] acts on.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// The client.
    Client,
    /// The server.
    Server,
}

/// One step of [`pair_ops`].
#[derive(Arbitrary, Clone, Debug)]
pub enum Op {
    /// `send_text` on one end.
    Text(End, String),
    /// `send_binary` on one end.
    Binary(End, Vec<u8>),
    /// `send_fragment` on one end.
    Fragment {
        /// The sending end.
        end: End,
        /// Text (else binary).
        text: bool,
        /// The fragment's bytes (text may end inside a character).
        data: Vec<u8>,
        /// Whether it ends the message.
        fin: bool,
    },
    /// `send_ping` on one end.
    Ping(End, Vec<u8>),
    /// `send_pong` on one end.
    Pong(End, Vec<u8>),
    /// `close` on one end.
    Close(End, u16, String),
    /// Moves up to this many bytes of one end's output to the other end.
    Deliver(End, u16),
    /// The transport into this end ends.
    Eof(End),
}

/// What one end sent that the other must receive intact and in order.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Sent {
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Close(u16, String),
}

/// A passive decoder of one direction of the wire: checks masking by
/// direction and that nothing follows a close frame.
#[derive(Debug)]
struct Wire {
    masked: bool,
    head_done: bool,
    buf: Vec<u8>,
    closed: bool,
}

impl Wire {
    fn new(masked: bool) -> Self {
        Self {
            masked,
            head_done: false,
            buf: Vec::new(),
            closed: false,
        }
    }

    fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
        if !self.head_done {
            let Some(end) = find_head_end(&self.buf) else {
                return;
            };
            self.buf.drain(..end);
            self.head_done = true;
        }
        while let Ok(Decoded::Complete { header, header_len }) = FrameHeader::decode(&self.buf) {
            let len = usize::try_from(header.payload_len).expect("fits");
            if self.buf.len() < header_len + len {
                break;
            }
            assert!(!self.closed, "a frame after the close frame");
            assert_eq!(header.mask.is_some(), self.masked, "masking by direction");
            self.closed = header.opcode == OpCode::Close;
            self.buf.drain(..header_len + len);
        }
    }
}

/// One end of the pair and what the harness knows about it.
struct Peer {
    conn: Connection,
    /// What this end sent, in order, not yet received by the other end.
    sent: VecDeque<Sent>,
    /// Payloads of pongs this end sent explicitly.
    pongs: Vec<Vec<u8>>,
    /// Payloads of pings this end sent (automatic pongs echo them).
    pings: Vec<Vec<u8>>,
    /// The fragmented message being sent: kind, bytes, frames.
    outgoing: Option<(MessageKind, Vec<u8>, usize)>,
    /// The transport into this end ended.
    eof: bool,
    /// This end received the other's close frame.
    close_received: bool,
    state: State,
    /// The bytes this end wrote, as the other end sees them.
    wire: Wire,
    /// The largest delivery this end received, and the most output it held.
    largest_input: usize,
    most_output: usize,
}

impl Peer {
    fn new(conn: Connection, masked: bool) -> Self {
        let state = conn.state();
        Self {
            conn,
            sent: VecDeque::new(),
            pongs: Vec::new(),
            pings: Vec::new(),
            outgoing: None,
            eof: false,
            close_received: false,
            state,
            wire: Wire::new(masked),
            largest_input: 0,
            most_output: 0,
        }
    }
}

/// The configuration both ends of [`pair_ops`] use, from one byte. Frames
/// may always carry a control payload, so only data messages can exceed a
/// limit, and the harness never sends those. With the `deflate` feature,
/// permessage-deflate is negotiated unless the top bit is set.
fn pair_config(b: u8) -> Config {
    const FRAME: [usize; 4] = [125, 300, 1024, 70_000];
    const MESSAGE: [usize; 4] = [125, 1000, 4096, 100_000];
    const FRAGMENTS: [usize; 4] = [1, 2, 5, 64];
    let config = Config::default()
        .with_max_frame_size(FRAME[usize::from(b & 3)])
        .and_then(|c| c.with_max_message_size(MESSAGE[usize::from((b >> 2) & 3)]))
        .and_then(|c| c.with_max_fragments(FRAGMENTS[usize::from((b >> 4) & 3)]))
        .expect("limits in range")
        .with_auto_pong(b & 0x40 == 0)
        .with_origin_policy(OriginPolicy::Any);
    #[cfg(feature = "deflate")]
    let config =
        config.with_deflate(crate::deflate::DeflateConfig::default().with_enabled(b & 0x80 == 0));
    config
}

/// Target `pair_ops`: a client and a server, joined by memory and opened
/// by a real handshake, driven by a sequence of [`Op`]s decoded from the
/// bytes (the first byte picks the limits, see `pair_config`).
///
/// Sends the receiver's limits would refuse are skipped, so no protocol
/// error may ever occur but the 1006 an [`Op::Eof`] calls for. After each
/// step: whatever one end sent arrives intact and in order, nothing follows
/// a close frame on the wire, every event is within the limits, memory is
/// bounded, and states only move forward. At the end, all output is
/// delivered both ways and everything sent must have arrived.
pub fn pair_ops(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let config = pair_config(u.arbitrary().unwrap_or(0));
    let ops: Vec<Op> = u.arbitrary().unwrap_or_default();
    let request = ClientRequest::new("example.com", "/");
    let client = Connection::client(&request, config.clone(), masks()).expect("client");
    let server = Connection::server(config.clone());
    let mut ends = [Peer::new(client, true), Peer::new(server, false)];
    for op in ops {
        apply_op(&mut ends, &config, &op);
        for peer in &mut ends {
            let now = peer.conn.state();
            assert!(rank(now) >= rank(peer.state), "{:?} -> {now:?}", peer.state);
            peer.state = now;
            // The input side is bounded by the limits; the output holds what
            // the application queued (its own business) plus the automatic
            // replies, and a buffer up to 64 KiB is kept once written.
            peer.most_output = peer.most_output.max(peer.conn.pending_output().len());
            let bound = StreamParams::memory_bound(&config, peer.largest_input)
                + 2 * peer.most_output
                + 128 * 1024;
            let used = peer.conn.memory_usage();
            assert!(used <= bound, "memory {used} > bound {bound}");
        }
    }
    // Flush: deliver everything both ways until nothing moves.
    for _ in 0..64 {
        let moved = deliver(&mut ends, 0, usize::MAX) + deliver(&mut ends, 1, usize::MAX);
        if moved == 0 {
            break;
        }
    }
    for (from, to) in [(0, 1), (1, 0)] {
        if !ends[to].eof {
            assert!(
                ends[from].sent.is_empty(),
                "sent but never received: {:?}",
                ends[from].sent
            );
        }
    }
}

/// Whether this end compresses what it sends (permessage-deflate negotiated).
fn compressing(p: &Peer) -> bool {
    #[cfg(feature = "deflate")]
    return p.conn.deflate_params().is_some();
    #[cfg(not(feature = "deflate"))]
    {
        let _ = p;
        false
    }
}

fn index(end: End) -> usize {
    match end {
        End::Client => 0,
        End::Server => 1,
    }
}

fn apply_op(ends: &mut [Peer; 2], config: &Config, op: &Op) {
    let max_frame = config.max_frame_size();
    let max_message = config.max_message_size();
    // A compressed frame may carry more than its own fragment (the
    // compressor holds input back) and incompressible data grows a little:
    // bound a compressed frame by the whole message so far, plus 1/8 and
    // the block overhead.
    let wire_len = |p: &Peer, n: usize| {
        if compressing(p) { n + n / 8 + 64 } else { n }
    };
    let whole_ok = |p: &Peer, n: usize| wire_len(p, n) <= max_frame && n <= max_message;
    match op {
        Op::Text(end, text) => {
            let p = &mut ends[index(*end)];
            if whole_ok(p, text.len()) && p.conn.send_text(text).is_ok() {
                p.sent.push_back(Sent::Text(text.clone()));
            }
        }
        Op::Binary(end, data) => {
            let p = &mut ends[index(*end)];
            if whole_ok(p, data.len()) && p.conn.send_binary(data).is_ok() {
                p.sent.push_back(Sent::Binary(data.clone()));
            }
        }
        Op::Fragment {
            end,
            text,
            data,
            fin,
        } => {
            let p = &mut ends[index(*end)];
            let kind = if *text {
                MessageKind::Text
            } else {
                MessageKind::Binary
            };
            let (sofar, frames) = p
                .outgoing
                .as_ref()
                .map_or((0, 0), |(_, bytes, frames)| (bytes.len(), *frames));
            let frames_needed = frames + 1 + usize::from(!*fin);
            let fits = wire_len(p, sofar + data.len()) <= max_frame
                && data.len() <= max_frame
                && sofar + data.len() <= max_message
                && frames_needed <= config.max_fragments();
            if fits && p.conn.send_fragment(kind, data, *fin).is_ok() {
                let (_, bytes, frames) = p.outgoing.get_or_insert((kind, Vec::new(), 0));
                bytes.extend_from_slice(data);
                *frames += 1;
                if *fin {
                    let (kind, bytes, _) = p.outgoing.take().expect("in progress");
                    p.sent.push_back(match kind {
                        MessageKind::Text => {
                            Sent::Text(String::from_utf8(bytes).expect("sender checked UTF-8"))
                        }
                        MessageKind::Binary => Sent::Binary(bytes),
                    });
                }
            }
        }
        Op::Ping(end, data) => {
            let p = &mut ends[index(*end)];
            if p.conn.send_ping(data).is_ok() {
                p.sent.push_back(Sent::Ping(data.clone()));
                p.pings.push(data.clone());
            }
        }
        Op::Pong(end, data) => {
            let p = &mut ends[index(*end)];
            if p.conn.send_pong(data).is_ok() {
                p.pongs.push(data.clone());
            }
        }
        Op::Close(end, code, reason) => {
            let p = &mut ends[index(*end)];
            let was = p.conn.state();
            match p.conn.close(CloseCode(*code), reason) {
                Ok(()) => {
                    assert_eq!(was, State::Open);
                    p.sent.push_back(Sent::Close(*code, reason.clone()));
                    p.outgoing = None;
                    // No data after a close.
                    assert!(p.conn.send_text("late").is_err());
                    assert!(p.conn.send_ping(b"late").is_err());
                }
                Err(_) => assert!(
                    was != State::Open
                        || !CloseCode(*code).is_valid_on_wire()
                        || reason.len() > 123,
                    "close refused while open"
                ),
            }
        }
        Op::Deliver(end, n) => {
            deliver(ends, index(*end), usize::from(*n).max(1));
        }
        Op::Eof(end) => {
            let to = index(*end);
            if ends[to].eof {
                return;
            }
            ends[to].eof = true;
            ends[to].conn.receive_eof();
            receive_events(ends, to, &[], true);
            assert!(ends[to].conn.is_closed(), "EOF closes");
        }
    }
}

/// Moves up to `n` bytes of end `from`'s output to the other end; returns
/// how many moved.
fn deliver(ends: &mut [Peer; 2], from: usize, n: usize) -> usize {
    let to = 1 - from;
    let bytes = {
        let pending = ends[from].conn.pending_output();
        pending[..pending.len().min(n)].to_vec()
    };
    ends[from].conn.advance_output(bytes.len());
    if bytes.is_empty() || ends[to].eof {
        // A transport that ended carries nothing more.
        return bytes.len();
    }
    ends[from].wire.push(&bytes);
    receive_events(ends, to, &bytes, false);
    bytes.len()
}

/// Feeds `bytes` to end `to` and checks every event against what the other
/// end sent.
fn receive_events(ends: &mut [Peer; 2], to: usize, bytes: &[u8], eof: bool) {
    let from = 1 - to;
    let [a, b] = ends;
    let (rx, tx) = if to == 0 { (a, b) } else { (b, a) };
    let config = rx.conn.config().clone();
    rx.largest_input = rx.largest_input.max(bytes.len());
    rx.conn.receive(bytes);
    for _ in 0..bytes.len() + 3 {
        let was = rx.conn.state();
        let event = match rx.conn.next_event() {
            Ok(Some(event)) => event,
            Ok(None) => break,
            Err(ProtocolError::AbnormalClosure) if eof => break,
            Err(error) => panic!("end {to} failed with {error:?} talking to end {from}"),
        };
        assert!(!rx.close_received, "an event after the close: {event:?}");
        let got = match event {
            Event::Handshake(_) => {
                rx.conn.accept(Accept::new()).expect("accept");
                continue;
            }
            Event::Connected(_) => continue,
            Event::Message(Message::Text(t)) => {
                assert!(t.len() <= config.max_message_size());
                Sent::Text(t.to_string())
            }
            Event::Message(Message::Binary(b)) => {
                assert!(b.len() <= config.max_message_size());
                Sent::Binary(b.to_vec())
            }
            Event::Ping(p) => Sent::Ping(p.to_vec()),
            Event::Pong(p) => {
                assert!(
                    tx.pongs.iter().any(|x| x == p) || rx.pings.iter().any(|x| x == p),
                    "a pong nobody sent or owed: {p:x?}"
                );
                continue;
            }
            Event::Close(frame) => Sent::Close(frame.code.0, frame.reason.to_string()),
        };
        if let Sent::Close(code, _) = got {
            rx.close_received = true;
            if was == State::Open {
                // The reply echoes the code; a close without one is
                // answered by one without one (seen as 1005).
                rx.sent.push_back(Sent::Close(code, String::new()));
                rx.outgoing = None;
            }
        }
        let expected = tx.sent.pop_front();
        assert_eq!(
            Some(&got),
            expected.as_ref(),
            "end {to} received out of order"
        );
    }
    assert!(
        rx.conn.next_event().map(|e| e.is_none()).unwrap_or(true),
        "more events than bytes"
    );
}

// ---------------------------------------------------------------- target 6

/// Target `inflate`: a [`Decompressor`](crate::deflate::Decompressor) fed
/// arbitrary compressed messages, frame by frame, under a message limit.
///
/// Input: one byte of switches (window, context takeover, memory policy,
/// mode), a big-endian `u16` limit (plus one), then frames, each a
/// big-endian `u16` whose top bit ends the message and whose low 15 bits are
/// the length of the payload that follows.
///
/// With bit 6 of the switches set, the frames go to a server [`Connection`]
/// that negotiated permessage-deflate (the window, context takeover and
/// memory policy from the switches, the limit as its `max_message_size`),
/// as masked frames of compressed messages (RSV1 on each first frame; bit 5
/// picks text or binary; bit 7 cuts the stream in small chunks): checked
/// like [`server_stream`], and the only errors allowed are 1009 (too large
/// once inflated), 1007 (corrupt data or text that is not UTF-8) and 1006.
///
/// In the raw mode the frames are arbitrary compressed data: the output
/// never exceeds the limit (nor its buffer about twice the limit), and after
/// an error the decompressor stays failed. In the round-trip mode the frames
/// are plaintext fragments, compressed by a
/// [`Compressor`](crate::deflate::Compressor) and inflated again: they must
/// come back unchanged.
#[cfg(feature = "deflate")]
pub fn inflate(data: &[u8]) {
    use crate::deflate::{Compressor, Decompressor, DeflateConfig, DeflateError, Direction};

    let b = |i: usize| data.get(i).copied().unwrap_or(0);
    let switches = b(0);
    let direction = Direction {
        max_window_bits: 8 + (switches & 7),
        no_context_takeover: switches & 8 != 0,
    };
    let config = DeflateConfig::default().with_release_idle_memory(switches & 16 != 0);
    let max_total = usize::from(u16::from_be_bytes([b(1), b(2)])) + 1;
    let messages = split_messages(data.get(3..).unwrap_or_default());
    if switches & 64 != 0 {
        return inflate_connection(switches, max_total, &messages);
    }
    let mut rx = Decompressor::new(direction, &config);
    if switches & 32 == 0 {
        let mut failed = false;
        for frames in messages {
            let mut out = Vec::new();
            let mut result = Ok(());
            for frame in &frames {
                result = result.and_then(|()| rx.decompress(frame, &mut out, max_total));
            }
            result = result.and_then(|()| rx.finish_message(&mut out, max_total));
            assert!(out.len() <= max_total, "{} > limit {max_total}", out.len());
            assert!(
                out.capacity() <= 2 * (max_total + 1) + 256,
                "inflate buffer {} for a limit of {max_total}",
                out.capacity()
            );
            if failed {
                assert_eq!(result, Err(DeflateError::Corrupt), "used after an error");
            }
            failed |= result.is_err();
        }
    } else {
        let mut tx = Compressor::new(direction, &config);
        for fragments in messages {
            let plain: Vec<u8> = fragments.concat();
            let limit = plain.len().max(1);
            let mut out = Vec::new();
            for (i, fragment) in fragments.iter().enumerate() {
                let mut frame = Vec::new();
                tx.compress_fragment(fragment, &mut frame);
                if i + 1 == fragments.len() {
                    tx.finish_message(&mut frame);
                }
                rx.decompress(&frame, &mut out, limit)
                    .expect("our own data inflates");
            }
            rx.finish_message(&mut out, limit)
                .expect("our own data inflates");
            assert_eq!(out, plain, "round trip");
        }
    }
}

/// The `inflate` target's connection mode.
#[cfg(feature = "deflate")]
fn inflate_connection(switches: u8, max_total: usize, messages: &[Vec<&[u8]>]) {
    use crate::deflate::DeflateConfig;

    let mut offer = String::from("permessage-deflate");
    if switches & 8 != 0 {
        offer.push_str("; client_no_context_takeover");
    }
    let bits = 8 + (switches & 7);
    if bits > 8 {
        offer.push_str("; client_max_window_bits=");
        offer.push_str(&bits.to_string());
    }
    let mut stream = Vec::from(
        &b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
Sec-WebSocket-Extensions: "[..],
    );
    stream.extend_from_slice(offer.as_bytes());
    stream.extend_from_slice(b"\r\n\r\n");
    let opcode = if switches & 32 != 0 { 0x1 } else { 0x2 };
    let key = [0x5A, 0xA5, 0x3C, 0xC3];
    for frames in messages {
        for (i, payload) in frames.iter().enumerate() {
            let fin = if i + 1 == frames.len() { 0x80 } else { 0 };
            let first = if i == 0 { 0x40 | opcode } else { 0 };
            let header = FrameHeader {
                fin: fin != 0,
                rsv: (first >> 4) & 7,
                opcode: OpCode::from_u8(first & 0xF).expect("data opcode"),
                mask: Some(key),
                payload_len: payload.len() as u64,
            };
            let mut head = [0u8; MAX_HEADER_LEN];
            let n = header.encode(&mut head);
            stream.extend_from_slice(&head[..n]);
            let at = stream.len();
            stream.extend_from_slice(payload);
            crate::frame::apply_mask(&mut stream[at..], key, 0);
        }
    }
    let config = Config::default()
        .with_max_message_size(max_total)
        .and_then(|c| c.with_max_frame_size(1 << 15))
        .expect("limits in range")
        .with_origin_policy(OriginPolicy::Any)
        .with_deflate(DeflateConfig::default().with_release_idle_memory(switches & 16 != 0));
    let params = StreamParams {
        config,
        max_chunk: if switches & 128 != 0 { 64 } else { 1 << 16 },
        seed: u32::try_from(max_total).unwrap_or(1) | 1,
        drain_output: true,
        valid_response: false,
        deflate_response: false,
    };
    let mut conn = Connection::server(params.config.clone());
    let mut seen = Seen::default();
    let wire = run_stream(&mut conn, &params, &stream, &mut seen);
    assert!(
        conn.deflate_params().is_some(),
        "a valid offer was declined: {offer}"
    );
    assert!(
        matches!(
            seen.error,
            None | Some(
                ProtocolError::AbnormalClosure
                    | ProtocolError::MessageTooLarge
                    | ProtocolError::InvalidCompressedData
                    | ProtocolError::InvalidUtf8
            )
        ),
        "{seen:?}"
    );
    let head_end = find_head_end(&wire).expect("a 101");
    assert!(wire.starts_with(b"HTTP/1.1 101 "));
    check_frames(&wire[head_end..], false, &seen);
}

/// Splits `data` into messages of frames: each frame a big-endian `u16`
/// (top bit: last frame of its message; low 15 bits: length) and its bytes.
/// A message the input ends inside still counts, with the frames it has.
#[cfg(feature = "deflate")]
fn split_messages(mut data: &[u8]) -> Vec<Vec<&[u8]>> {
    let mut messages = Vec::new();
    let mut frames = Vec::new();
    while let [hi, lo, rest @ ..] = data {
        let word = u16::from_be_bytes([*hi, *lo]);
        let len = usize::from(word & 0x7FFF).min(rest.len());
        frames.push(&rest[..len]);
        data = &rest[len..];
        if word & 0x8000 != 0 {
            messages.push(core::mem::take(&mut frames));
        }
    }
    if !frames.is_empty() {
        messages.push(frames);
    }
    messages
}

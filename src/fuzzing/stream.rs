//! Fuzz targets: a server or client connection fed a byte stream.

#[allow(unused_imports)]
use super::*;

/// The parameters the stream functions read from their first bytes.
#[derive(Clone, Debug)]
pub struct StreamParams {
    /// The connection's configuration (small limits).
    pub config: Config,
    /// Largest chunk the stream is cut into.
    pub max_chunk: usize,
    /// Seed of the chunk sizes.
    pub(super) seed: u32,
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
            .with_origin_policy(origin)
            .with_streaming(b2 & 0x20 != 0);
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
pub(super) struct Seen {
    /// Payloads of the pings received (an automatic pong echoes one).
    pings: Vec<Vec<u8>>,
    /// The peer's close code, if its close frame arrived.
    close: Option<CloseCode>,
    /// The protocol error the connection failed with, if any.
    pub(super) error: Option<ProtocolError>,
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
            Event::Chunk(chunk) => assert!(
                config.streaming(),
                "a chunk while streaming is off: {chunk:?}"
            ),
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
pub(super) fn check_frames(mut wire: &[u8], role_client: bool, seen: &Seen) {
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
pub(super) fn run_stream(
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

pub(super) fn find_head_end(wire: &[u8]) -> Option<usize> {
    wire.windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4)
}

// ---------------------------------------------------------------- target 4

//! Fuzz target: a client and a server driven by a sequence of operations.

#[allow(unused_imports)]
use super::*;

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
            Event::Chunk(c) => panic!("a chunk while streaming is off: {c:?}"),
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

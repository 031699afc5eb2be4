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
//! | [`frame_header`](fn@frame_header) | [`FrameHeader::decode`] / [`FrameHeader::encode`] |
//! | [`server_stream`](fn@server_stream) | a server [`Connection`] fed a handshake and frames in chunks |
//! | [`client_stream`](fn@client_stream) | a client [`Connection`] fed a (valid or fuzzed) 101 and frames |
//! | [`handshake_request`](fn@handshake_request) | [`RequestParser::parse`] and [`ParsedRequest::validate`](crate::handshake::ParsedRequest::validate) |
//! | [`pair_ops`](fn@pair_ops) | a client and a server driven by a sequence of [`Op`]s |
//! | `inflate` | [`Decompressor`](crate::deflate::Decompressor) (feature `deflate`) |
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

mod frame;
mod handshake;
#[cfg(feature = "deflate")]
mod inflate;
mod pair;
mod stream;

pub use frame::frame_header;
pub use handshake::handshake_request;
#[cfg(feature = "deflate")]
pub use inflate::inflate;
pub use pair::{End, Op, pair_ops};
use stream::find_head_end;
#[cfg(feature = "deflate")]
use stream::{Seen, check_frames, run_stream};
pub use stream::{StreamParams, client_stream, server_stream};

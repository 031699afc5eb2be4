//! Errors, split by whose fault they are.
//!
//! - [`ProtocolError`]: the peer broke the protocol (or vanished). It carries
//!   the close code that was sent because of it.
//! - [`UsageError`]: the caller asked for something the protocol forbids.
//!   Nothing was sent and the connection is unchanged.
//! - [`Timeout`]: a timer expired (the peer is gone or too slow); not a
//!   protocol violation, and told apart from one.
//! - [`ConfigError`]: a [`Config`](crate::Config) value out of range.

use core::fmt;

use crate::frame::HeaderError;
use crate::handshake::HandshakeError;
use crate::message::CloseCode;

/// The peer broke RFC 6455, sent more than the configured limits allow, or
/// vanished. The connection has failed: its close frame (if any) is already
/// in the output and it is now closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// An RSV bit was set and no extension defines it (section 5.2).
    ReservedBits,
    /// An opcode RFC 6455 reserves (3-7, 0xB-0xF).
    ReservedOpcode(u8),
    /// A control frame with FIN clear (section 5.5).
    FragmentedControl,
    /// A control frame with more than 125 bytes of payload (section 5.5).
    ControlTooLong,
    /// A continuation frame while no fragmented message was in progress.
    UnexpectedContinuation,
    /// A new text or binary frame while a fragmented message was in progress.
    ExpectedContinuation,
    /// A server got a frame without a mask (section 5.1).
    UnmaskedFrame,
    /// A client got a masked frame (section 5.1).
    MaskedFrame,
    /// A 64-bit payload length with its most significant bit set.
    LengthMsbSet,
    /// A text message or close reason that is not UTF-8 (section 8.1).
    InvalidUtf8,
    /// A close frame with a 1-byte payload (section 5.5.1).
    CloseTooShort,
    /// A close frame with a code that may not appear on the wire (section 7.4).
    InvalidCloseCode(u16),
    /// A frame longer than [`Config::max_frame_size`](crate::Config::max_frame_size).
    FrameTooLarge,
    /// A message longer than [`Config::max_message_size`](crate::Config::max_message_size).
    MessageTooLarge,
    /// A message in more fragments than [`Config::max_fragments`](crate::Config::max_fragments).
    TooManyFragments,
    /// The byte stream ended without a close frame (abnormal closure, 1006).
    AbnormalClosure,
    /// Compressed data (permessage-deflate) that does not inflate (1007).
    InvalidCompressedData,
    /// The server's permessage-deflate response was not acceptable
    /// (RFC 7692 section 7.1: the client must fail the connection; 1002).
    BadExtensionResponse,
    /// The opening handshake failed. On a server, the HTTP error response
    /// ([`http_status`](Self::http_status)) is already in the output; no
    /// close frame is ever sent for it.
    Handshake(HandshakeError),
}

impl ProtocolError {
    /// The close code for this failure, as RFC 6455 prescribes. For
    /// [`AbnormalClosure`](Self::AbnormalClosure) it is 1006, which is never
    /// sent; every other code was written to the output in a close frame.
    pub const fn close_code(&self) -> CloseCode {
        match self {
            Self::InvalidUtf8 | Self::InvalidCompressedData => CloseCode::INVALID_PAYLOAD,
            Self::FrameTooLarge | Self::MessageTooLarge | Self::TooManyFragments => {
                CloseCode::MESSAGE_TOO_BIG
            }
            Self::AbnormalClosure => CloseCode::ABNORMAL,
            _ => CloseCode::PROTOCOL_ERROR,
        }
    }

    /// For a failed opening handshake, the HTTP status that describes it
    /// (the one a server wrote, or the one a client received).
    pub const fn http_status(&self) -> Option<u16> {
        match self {
            Self::Handshake(e) => Some(e.http_status()),
            _ => None,
        }
    }
}

impl From<HeaderError> for ProtocolError {
    fn from(e: HeaderError) -> Self {
        match e {
            HeaderError::ReservedOpcode(op) => Self::ReservedOpcode(op),
            HeaderError::LengthMsbSet => Self::LengthMsbSet,
            HeaderError::FragmentedControl => Self::FragmentedControl,
            HeaderError::ControlTooLong => Self::ControlTooLong,
        }
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ReservedBits => f.write_str("reserved bits set without a negotiated extension"),
            Self::ReservedOpcode(op) => write!(f, "reserved opcode {op:#x}"),
            Self::FragmentedControl => f.write_str("fragmented control frame"),
            Self::ControlTooLong => f.write_str("control frame payload over 125 bytes"),
            Self::UnexpectedContinuation => {
                f.write_str("continuation frame with no message in progress")
            }
            Self::ExpectedContinuation => {
                f.write_str("new data frame while a fragmented message is in progress")
            }
            Self::UnmaskedFrame => f.write_str("unmasked frame from a client"),
            Self::MaskedFrame => f.write_str("masked frame from a server"),
            Self::LengthMsbSet => f.write_str("64-bit payload length with the high bit set"),
            Self::InvalidUtf8 => f.write_str("invalid UTF-8 in text"),
            Self::CloseTooShort => f.write_str("close frame with a 1-byte payload"),
            Self::InvalidCloseCode(code) => {
                write!(f, "close code {code} is not allowed on the wire")
            }
            Self::FrameTooLarge => f.write_str("frame exceeds the configured maximum frame size"),
            Self::MessageTooLarge => {
                f.write_str("message exceeds the configured maximum message size")
            }
            Self::TooManyFragments => {
                f.write_str("message exceeds the configured maximum number of fragments")
            }
            Self::AbnormalClosure => f.write_str("connection ended without a close frame"),
            Self::InvalidCompressedData => f.write_str("compressed payload does not inflate"),
            Self::BadExtensionResponse => {
                f.write_str("unacceptable permessage-deflate parameters in the response")
            }
            Self::Handshake(e) => return write!(f, "opening handshake failed: {e}"),
        }
        .and_then(|()| write!(f, " (close code {})", self.close_code()))
    }
}

impl core::error::Error for ProtocolError {}

/// A timer expired, reported once by
/// [`Connection::handle_timeout`](crate::Connection::handle_timeout); the
/// connection is now closed.
///
/// Unlike a [`ProtocolError`], nothing the peer sent was wrong: it sent
/// nothing, or not in time. Drop the transport at once: write what
/// [`pending_output`](crate::Connection::pending_output) holds only if the
/// socket takes it without waiting, and do not wait for a reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Timeout {
    /// The opening handshake did not complete within
    /// [`Config::open_timeout`](crate::Config::open_timeout). Nothing is sent
    /// (there is no WebSocket yet to close).
    Opening,
    /// Nothing arrived within [`Config::ping_timeout`](crate::Config::ping_timeout)
    /// after a keepalive ping. A close frame with 1011 ("keepalive ping
    /// timeout", as Python websockets sends) is queued, though the peer is
    /// most likely not there to read it.
    DeadPeer,
    /// The peer did not answer this end's close frame within
    /// [`Config::close_timeout`](crate::Config::close_timeout): the closing
    /// handshake did not complete.
    Closing,
}

impl Timeout {
    /// The close code that describes the end: 1011 for a dead peer (the one
    /// sent), 1006 (never sent: abnormal closure) for the others.
    pub const fn close_code(&self) -> CloseCode {
        match self {
            Self::DeadPeer => CloseCode::INTERNAL_ERROR,
            Self::Opening | Self::Closing => CloseCode::ABNORMAL,
        }
    }
}

impl fmt::Display for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Opening => "opening handshake timed out",
            Self::DeadPeer => "keepalive ping timeout: nothing received from the peer",
            Self::Closing => "closing handshake timed out: the peer did not answer the close frame",
        })
    }
}

impl core::error::Error for Timeout {}

/// The caller asked for something the protocol or the connection's state
/// forbids. Nothing was queued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UsageError {
    /// The connection is not open for this: a close frame was sent or received,
    /// or it failed.
    Closed,
    /// The connection is still in its opening handshake.
    NotOpen,
    /// A ping or pong payload over 125 bytes.
    ControlTooLong,
    /// A close reason over 123 bytes.
    CloseReasonTooLong,
    /// A close code that may not be sent (1005, 1006, 1015, unassigned, ...).
    InvalidCloseCode(u16),
    /// A whole message (or a first fragment) while a fragmented message is
    /// still being sent.
    MessageInProgress,
    /// A continuation fragment with no fragmented message started, or of the
    /// other kind than the one in progress.
    NoMessageInProgress,
    /// Text fragments that do not form valid UTF-8.
    InvalidUtf8,
    /// `accept` or `reject` without a handshake request waiting for an answer.
    NoHandshakePending,
    /// `accept` chose a subprotocol the client did not offer.
    ProtocolNotOffered,
    /// A header name or value that cannot be sent (CR, LF, or reserved).
    InvalidHeader,
    /// [`Sender::send_vectored`](crate::Sender::send_vectored) on a client
    /// (whose frames must be masked: see
    /// [`Sender::send_in_place`](crate::Sender::send_in_place)) or on a
    /// connection that compresses; `send_in_place` on one that compresses.
    VectoredUnavailable,
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Closed => f.write_str("the connection is closed or closing"),
            Self::NotOpen => f.write_str("the opening handshake has not completed"),
            Self::ControlTooLong => f.write_str("control frame payload over 125 bytes"),
            Self::CloseReasonTooLong => f.write_str("close reason over 123 bytes"),
            Self::InvalidCloseCode(code) => write!(f, "close code {code} may not be sent"),
            Self::MessageInProgress => f.write_str("a fragmented message is still being sent"),
            Self::NoMessageInProgress => {
                f.write_str("no fragmented message of this kind is being sent")
            }
            Self::InvalidUtf8 => f.write_str("text fragments are not valid UTF-8"),
            Self::NoHandshakePending => f.write_str("no handshake request awaits an answer"),
            Self::ProtocolNotOffered => f.write_str("the client did not offer that subprotocol"),
            Self::InvalidHeader => f.write_str("invalid or reserved header name or value"),
            Self::VectoredUnavailable => {
                f.write_str("vectored sends need a server connection without compression")
            }
        }
    }
}

impl core::error::Error for UsageError {}

/// A configuration value out of its allowed range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// A size limit of zero.
    ZeroLimit(&'static str),
    /// A limit above what the engine supports.
    LimitTooLarge(&'static str),
    /// A limit below what a working connection needs.
    LimitTooSmall(&'static str),
    /// A timer of zero length (turn a timer off with `None` instead).
    ZeroDuration(&'static str),
    /// A timer longer than a day.
    DurationTooLong(&'static str),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ZeroLimit(name) => write!(f, "{name} must be at least 1"),
            Self::LimitTooLarge(name) => write!(f, "{name} is larger than supported"),
            Self::LimitTooSmall(name) => write!(f, "{name} is too small to be useful"),
            Self::ZeroDuration(name) => {
                write!(f, "{name} must be longer than zero (None turns it off)")
            }
            Self::DurationTooLong(name) => write!(f, "{name} must be at most a day"),
        }
    }
}

impl core::error::Error for ConfigError {}

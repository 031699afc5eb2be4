//! What travels over an open connection: messages, close frames, close codes.

use core::fmt;

/// A complete data message, borrowed from the connection that received it.
///
/// A message that arrived in a single frame is unmasked in place and lent
/// straight out of the input buffer; only fragmented messages are copied
/// (reassembled).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Message<'a> {
    /// A text message (always valid UTF-8).
    Text(&'a str),
    /// A binary message.
    Binary(&'a [u8]),
}

impl<'a> Message<'a> {
    /// The payload bytes.
    pub const fn as_bytes(&self) -> &'a [u8] {
        match self {
            Self::Text(text) => text.as_bytes(),
            Self::Binary(bytes) => bytes,
        }
    }

    /// Whether this is a text message.
    pub const fn is_text(&self) -> bool {
        matches!(self, Self::Text(_))
    }

    /// The kind of message.
    pub const fn kind(&self) -> MessageKind {
        match self {
            Self::Text(_) => MessageKind::Text,
            Self::Binary(_) => MessageKind::Binary,
        }
    }
}

/// A piece of a data message received in streaming mode
/// ([`Config::with_streaming`](crate::Config::with_streaming)), borrowed from
/// the connection's input buffer (or, for a compressed message, from its
/// inflate buffer).
///
/// A message arrives as one or more chunks: the first has
/// [`is_first`](Self::is_first) set, the last [`is_last`](Self::is_last)
/// (one chunk may be both). Concatenated, they are the message. Control
/// frames may arrive between them. Only the last chunk may be empty.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chunk<'a> {
    data: Message<'a>,
    first: bool,
    last: bool,
}

impl<'a> Chunk<'a> {
    pub(crate) const fn new(data: Message<'a>, first: bool, last: bool) -> Self {
        Self { data, first, last }
    }

    /// The kind of the message this chunk belongs to.
    pub const fn kind(&self) -> MessageKind {
        self.data.kind()
    }

    /// The chunk's bytes.
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.data.as_bytes()
    }

    /// The chunk as text, for a text message: every text chunk is valid
    /// UTF-8 on its own (a character split across reads is held back and
    /// starts the next chunk).
    pub const fn as_text(&self) -> Option<&'a str> {
        match self.data {
            Message::Text(text) => Some(text),
            Message::Binary(_) => None,
        }
    }

    /// The chunk as a [`Message`] of its kind (a part of the message, not
    /// the whole unless it is both first and last).
    pub const fn data(&self) -> Message<'a> {
        self.data
    }

    /// Whether this chunk starts its message.
    pub const fn is_first(&self) -> bool {
        self.first
    }

    /// Whether this chunk ends its message.
    pub const fn is_last(&self) -> bool {
        self.last
    }
}

/// Text or binary: the two kinds of data message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// UTF-8 text (opcode 0x1).
    Text,
    /// Arbitrary bytes (opcode 0x2).
    Binary,
}

/// The close frame the peer sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CloseFrame<'a> {
    /// The status code; [`CloseCode::NO_STATUS`] (1005) when the frame carried
    /// none (RFC 6455 section 7.1.5).
    pub code: CloseCode,
    /// The reason, possibly empty.
    pub reason: &'a str,
}

/// A close status code (RFC 6455 section 7.4), an open set: any `u16` can be
/// held, and [`is_valid_on_wire`](Self::is_valid_on_wire) tells which may
/// appear in a close frame.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CloseCode(pub u16);

impl CloseCode {
    /// 1000: normal closure.
    pub const NORMAL: Self = Self(1000);
    /// 1001: the endpoint is going away (server shutdown, page navigation).
    pub const GOING_AWAY: Self = Self(1001);
    /// 1002: protocol error.
    pub const PROTOCOL_ERROR: Self = Self(1002);
    /// 1003: a kind of data the endpoint cannot accept.
    pub const UNSUPPORTED_DATA: Self = Self(1003);
    /// 1005: no status code was present (never sent on the wire).
    pub const NO_STATUS: Self = Self(1005);
    /// 1006: the connection was lost without a close frame (never sent on the wire).
    pub const ABNORMAL: Self = Self(1006);
    /// 1007: data inconsistent with its type, such as invalid UTF-8 in text.
    pub const INVALID_PAYLOAD: Self = Self(1007);
    /// 1008: a message violating the endpoint's policy.
    pub const POLICY_VIOLATION: Self = Self(1008);
    /// 1009: a message too big to process.
    pub const MESSAGE_TOO_BIG: Self = Self(1009);
    /// 1010: the client expected an extension the server did not negotiate.
    pub const MANDATORY_EXTENSION: Self = Self(1010);
    /// 1011: the server met an unexpected condition.
    pub const INTERNAL_ERROR: Self = Self(1011);
    /// 1012: the service is restarting.
    pub const SERVICE_RESTART: Self = Self(1012);
    /// 1013: try again later.
    pub const TRY_AGAIN_LATER: Self = Self(1013);
    /// 1014: a gateway got an invalid response upstream.
    pub const BAD_GATEWAY: Self = Self(1014);
    /// 1015: TLS handshake failure (never sent on the wire).
    pub const TLS_HANDSHAKE: Self = Self(1015);

    /// Whether this code may appear in a close frame (RFC 6455 section 7.4):
    /// 1000-1003 and 1007-1014 (IANA-registered), 3000-4999 (libraries,
    /// frameworks and applications). Not 0-999, 1004-1006, 1015, the
    /// unassigned 1016-2999, nor 5000 and above.
    pub const fn is_valid_on_wire(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }
}

impl From<u16> for CloseCode {
    fn from(code: u16) -> Self {
        Self(code)
    }
}

impl From<CloseCode> for u16 {
    fn from(code: CloseCode) -> Self {
        code.0
    }
}

impl fmt::Debug for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CloseCode({})", self.0)
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_validity_table() {
        let valid = [1000, 1001, 1002, 1003, 1007, 1010, 1011, 1014, 3000, 4999];
        let invalid = [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535];
        for code in valid {
            assert!(CloseCode(code).is_valid_on_wire(), "{code}");
        }
        for code in invalid {
            assert!(!CloseCode(code).is_valid_on_wire(), "{code}");
        }
    }
}

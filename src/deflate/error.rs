//! Errors of permessage-deflate: negotiation, compression limits, bad data.

use core::fmt;

/// Why a `Sec-WebSocket-Extensions` response was refused by
/// [`client_accept`](super::client_accept) ([RFC 7692 §7.1]).
///
/// [RFC 7692 §7.1]: https://www.rfc-editor.org/rfc/rfc7692#section-7.1
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NegotiationError {
    /// The response accepts `permessage-deflate` more than once.
    DuplicateExtension,
    /// The response accepts `permessage-deflate` although the client did not offer it.
    NotOffered,
    /// A parameter that RFC 7692 does not define.
    UnknownParameter,
    /// The same parameter twice in one extension.
    DuplicateParameter,
    /// A flag parameter (`*_no_context_takeover`) carries a value.
    UnexpectedValue,
    /// A window-bits parameter lacks its value (in a response it is mandatory).
    MissingValue,
    /// A window-bits value that is not a decimal number from 8 to 15.
    InvalidValue,
    /// `client_max_window_bits` above the limit the client announced.
    WindowTooLarge,
}

impl fmt::Display for NegotiationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::DuplicateExtension => "permessage-deflate accepted more than once",
            Self::NotOffered => "permessage-deflate accepted but not offered",
            Self::UnknownParameter => "unknown permessage-deflate parameter",
            Self::DuplicateParameter => "duplicate permessage-deflate parameter",
            Self::UnexpectedValue => "value on a permessage-deflate flag parameter",
            Self::MissingValue => "permessage-deflate window parameter without value",
            Self::InvalidValue => "permessage-deflate window bits not in 8..=15",
            Self::WindowTooLarge => "permessage-deflate window larger than offered",
        })
    }
}

/// An error of permessage-deflate, small and `Copy`.
///
/// Each variant maps to the close code the connection fails with
/// ([`DeflateError::close_code`]):
///
/// | variant | close code | why |
/// | --- | --- | --- |
/// | [`TooLarge`](Self::TooLarge) | 1009 Message Too Big | the inflated message passes the configured limit |
/// | [`Corrupt`](Self::Corrupt) | 1007 Invalid Payload Data | the payload is not valid DEFLATE data |
/// | [`Negotiation`](Self::Negotiation) | 1002 Protocol Error | the server's handshake response is unacceptable |
///
/// RFC 7692 §8 only says "_Fail the WebSocket Connection_" for data that is not
/// valid DEFLATE, without a code. 1007 is the RFC 6455 §7.4.1 code for "data
/// within a message that was not consistent with the type of the message",
/// which fits a compressed message that does not decompress. The
/// Autobahn|Testsuite does not decide the question: its cases 12.* and 13.*
/// only echo valid compressed messages and never send corrupt DEFLATE data,
/// and autobahn-python itself just lets the decompression exception drop the
/// connection.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeflateError {
    /// Inflating would produce more bytes than the limit given by the caller.
    TooLarge,
    /// The compressed payload is not valid DEFLATE data, or the decompressor
    /// was used again after an earlier error.
    Corrupt,
    /// The server's `Sec-WebSocket-Extensions` response is not acceptable.
    Negotiation(NegotiationError),
}

impl DeflateError {
    /// The WebSocket close code to fail the connection with (see the table above).
    pub const fn close_code(self) -> u16 {
        match self {
            Self::TooLarge => 1009,
            Self::Corrupt => 1007,
            Self::Negotiation(_) => 1002,
        }
    }
}

impl From<NegotiationError> for DeflateError {
    fn from(e: NegotiationError) -> Self {
        Self::Negotiation(e)
    }
}

impl fmt::Display for DeflateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge => f.write_str("decompressed message exceeds the size limit"),
            Self::Corrupt => f.write_str("invalid DEFLATE data in a compressed message"),
            Self::Negotiation(e) => write!(f, "permessage-deflate negotiation failed: {e}"),
        }
    }
}

impl core::error::Error for DeflateError {}
impl core::error::Error for NegotiationError {}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn close_codes() {
        assert_eq!(DeflateError::TooLarge.close_code(), 1009);
        assert_eq!(DeflateError::Corrupt.close_code(), 1007);
        let e: DeflateError = NegotiationError::UnknownParameter.into();
        assert_eq!(e.close_code(), 1002);
        assert!(e.to_string().contains("unknown"));
    }
}

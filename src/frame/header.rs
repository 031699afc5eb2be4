//! Frame header decoding and encoding (RFC 6455 section 5.2).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-------+-+-------------+-------------------------------+
//! |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
//! |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
//! |N|V|V|V|       |S|             |   (if payload len==126/127)   |
//! | |1|2|3|       |K|             |                               |
//! +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
//! |     Extended payload length continued, if payload len == 127  |
//! + - - - - - - - - - - - - - - - +-------------------------------+
//! |                               |Masking-key, if MASK set to 1  |
//! +-------------------------------+-------------------------------+
//! ```

use core::fmt;

/// The longest possible header: 2 fixed bytes, 8 length bytes, 4 mask bytes.
pub const MAX_HEADER_LEN: usize = 14;

/// Largest payload of a control frame (RFC 6455 section 5.5).
const MAX_CONTROL_PAYLOAD: u64 = 125;

/// A frame's opcode. The reserved opcodes (3-7, 0xB-0xF) are not
/// representable: decoding them is a [`HeaderError::ReservedOpcode`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpCode {
    /// 0x0: continues a fragmented message.
    Continuation,
    /// 0x1: first frame of a text message.
    Text,
    /// 0x2: first frame of a binary message.
    Binary,
    /// 0x8: close.
    Close,
    /// 0x9: ping.
    Ping,
    /// 0xA: pong.
    Pong,
}

impl OpCode {
    /// The opcode for a 4-bit wire value, or `None` for a reserved one.
    pub const fn from_u8(value: u8) -> Option<Self> {
        Some(match value {
            0x0 => Self::Continuation,
            0x1 => Self::Text,
            0x2 => Self::Binary,
            0x8 => Self::Close,
            0x9 => Self::Ping,
            0xA => Self::Pong,
            _ => return None,
        })
    }

    /// The 4-bit wire value.
    pub const fn as_u8(self) -> u8 {
        match self {
            Self::Continuation => 0x0,
            Self::Text => 0x1,
            Self::Binary => 0x2,
            Self::Close => 0x8,
            Self::Ping => 0x9,
            Self::Pong => 0xA,
        }
    }

    /// Whether this is a control opcode (close, ping, pong).
    pub const fn is_control(self) -> bool {
        matches!(self, Self::Close | Self::Ping | Self::Pong)
    }
}

/// A decoded (or to-be-encoded) frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// FIN: this is the last frame of its message.
    pub fin: bool,
    /// RSV1, RSV2, RSV3 as the low three bits (`0b100` is RSV1).
    pub rsv: u8,
    /// The opcode.
    pub opcode: OpCode,
    /// The masking key, present on every client-to-server frame.
    pub mask: Option<[u8; 4]>,
    /// The payload length in bytes.
    pub payload_len: u64,
}

/// The result of decoding a header from the start of a slice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decoded {
    /// A whole header: it occupies the first `header_len` bytes.
    Complete {
        /// The header.
        header: FrameHeader,
        /// How many bytes it occupies.
        header_len: usize,
    },
    /// The slice is a proper prefix of a header: at least `needed` bytes in
    /// total are required before decoding can finish.
    Incomplete {
        /// Bytes needed in total (not additionally).
        needed: usize,
    },
}

/// A header that no valid frame can have, whatever the connection's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeaderError {
    /// Opcode 3-7 or 0xB-0xF.
    ReservedOpcode(u8),
    /// A 64-bit length with its most significant bit set (section 5.2).
    LengthMsbSet,
    /// A control frame with FIN clear (section 5.5: "MUST NOT be fragmented").
    FragmentedControl,
    /// A control frame with a payload over 125 bytes (section 5.5).
    ControlTooLong,
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ReservedOpcode(op) => write!(f, "reserved opcode {op:#x}"),
            Self::LengthMsbSet => f.write_str("64-bit payload length with the high bit set"),
            Self::FragmentedControl => f.write_str("fragmented control frame"),
            Self::ControlTooLong => f.write_str("control frame payload over 125 bytes"),
        }
    }
}

impl core::error::Error for HeaderError {}

impl FrameHeader {
    /// Decodes a header from the start of `buf`.
    ///
    /// Fails as early as the bytes allow: a reserved opcode is reported
    /// from the first byte alone. Every proper prefix of a valid header is
    /// [`Decoded::Incomplete`], never an error.
    ///
    /// ```
    /// use wsmachine::frame::{Decoded, FrameHeader, OpCode};
    /// // An unmasked text frame "Hello" (RFC 6455 section 5.7).
    /// let bytes = [0x81, 0x05, b'H', b'e', b'l', b'l', b'o'];
    /// let Ok(Decoded::Complete { header, header_len }) = FrameHeader::decode(&bytes) else {
    ///     panic!("a whole header");
    /// };
    /// assert_eq!((header.opcode, header.fin, header.payload_len, header_len), (OpCode::Text, true, 5, 2));
    /// assert_eq!(FrameHeader::decode(&bytes[..1]), Ok(Decoded::Incomplete { needed: 2 }));
    /// ```
    #[inline]
    pub fn decode(buf: &[u8]) -> Result<Decoded, HeaderError> {
        let Some(&b0) = buf.first() else {
            return Ok(Decoded::Incomplete { needed: 2 });
        };
        let opcode = OpCode::from_u8(b0 & 0x0F).ok_or(HeaderError::ReservedOpcode(b0 & 0x0F))?;
        let fin = b0 & 0x80 != 0;
        if opcode.is_control() && !fin {
            return Err(HeaderError::FragmentedControl);
        }
        let Some(&b1) = buf.get(1) else {
            return Ok(Decoded::Incomplete { needed: 2 });
        };
        let masked = b1 & 0x80 != 0;
        let len7 = b1 & 0x7F;
        if opcode.is_control() && u64::from(len7) > MAX_CONTROL_PAYLOAD {
            return Err(HeaderError::ControlTooLong);
        }
        let ext_len = match len7 {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        let header_len = 2 + ext_len + if masked { 4 } else { 0 };
        if buf.len() < header_len {
            // The high bit of a 64-bit length can be judged from its first byte.
            if len7 == 127 && buf.len() > 2 && buf[2] & 0x80 != 0 {
                return Err(HeaderError::LengthMsbSet);
            }
            return Ok(Decoded::Incomplete { needed: header_len });
        }
        let payload_len = match ext_len {
            0 => u64::from(len7),
            2 => u64::from(u16::from_be_bytes([buf[2], buf[3]])),
            _ => {
                let mut be = [0u8; 8];
                be.copy_from_slice(&buf[2..10]);
                let len = u64::from_be_bytes(be);
                if len >> 63 != 0 {
                    return Err(HeaderError::LengthMsbSet);
                }
                len
            }
        };
        let mask = if masked {
            let at = 2 + ext_len;
            Some([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]])
        } else {
            None
        };
        Ok(Decoded::Complete {
            header: FrameHeader {
                fin,
                rsv: (b0 >> 4) & 0x7,
                opcode,
                mask,
                payload_len,
            },
            header_len,
        })
    }

    /// How many bytes [`encode`](Self::encode) writes for this header.
    #[inline]
    pub const fn encoded_len(&self) -> usize {
        let ext = if self.payload_len < 126 {
            0
        } else if self.payload_len <= 0xFFFF {
            2
        } else {
            8
        };
        2 + ext + if self.mask.is_some() { 4 } else { 0 }
    }

    /// Encodes the header into the start of `out`, using the shortest length
    /// form, and returns the number of bytes written
    /// ([`encoded_len`](Self::encoded_len)).
    ///
    /// ```
    /// use wsmachine::frame::{FrameHeader, OpCode, MAX_HEADER_LEN};
    /// let header = FrameHeader { fin: true, rsv: 0, opcode: OpCode::Binary, mask: None, payload_len: 256 };
    /// let mut out = [0u8; MAX_HEADER_LEN];
    /// assert_eq!(header.encode(&mut out), 4);
    /// assert_eq!(out[..4], [0x82, 126, 0x01, 0x00]);
    /// ```
    #[inline]
    pub fn encode(&self, out: &mut [u8; MAX_HEADER_LEN]) -> usize {
        let len = self.encoded_len();
        out[0] = (u8::from(self.fin) << 7) | ((self.rsv & 0x7) << 4) | self.opcode.as_u8();
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        let at = if self.payload_len < 126 {
            out[1] = mask_bit | self.payload_len as u8;
            2
        } else if self.payload_len <= 0xFFFF {
            out[1] = mask_bit | 126;
            out[2..4].copy_from_slice(&(self.payload_len as u16).to_be_bytes());
            4
        } else {
            out[1] = mask_bit | 127;
            out[2..10].copy_from_slice(&self.payload_len.to_be_bytes());
            10
        };
        if let Some(key) = self.mask {
            out[at..at + 4].copy_from_slice(&key);
        }
        len
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn complete(bytes: &[u8]) -> (FrameHeader, usize) {
        match FrameHeader::decode(bytes) {
            Ok(Decoded::Complete { header, header_len }) => (header, header_len),
            other => panic!("expected a complete header, got {other:?}"),
        }
    }

    #[test]
    fn rfc_examples() {
        // RFC 6455 section 5.7.
        let (h, n) = complete(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d]);
        assert_eq!(n, 6);
        assert_eq!(h.mask, Some([0x37, 0xfa, 0x21, 0x3d]));
        assert_eq!(h.payload_len, 5);
        let (h, n) = complete(&[0x01, 0x03]);
        assert_eq!((h.fin, h.opcode, n), (false, OpCode::Text, 2));
        let (h, _) = complete(&[0x80, 0x02]);
        assert_eq!((h.fin, h.opcode), (true, OpCode::Continuation));
        let (h, n) = complete(&[0x82, 0x7E, 0x01, 0x00]);
        assert_eq!((h.payload_len, n), (256, 4));
        let (h, n) = complete(&[0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0]);
        assert_eq!((h.payload_len, n), (65536, 10));
    }

    #[test]
    fn every_reserved_opcode_is_rejected_from_one_byte() {
        for op in (3..=7).chain(0xB..=0xF) {
            assert_eq!(
                FrameHeader::decode(&[0x80 | op]),
                Err(HeaderError::ReservedOpcode(op))
            );
        }
    }

    #[test]
    fn control_rules() {
        assert_eq!(
            FrameHeader::decode(&[0x09]),
            Err(HeaderError::FragmentedControl)
        );
        assert_eq!(
            FrameHeader::decode(&[0x89, 126]),
            Err(HeaderError::ControlTooLong)
        );
        assert!(matches!(
            FrameHeader::decode(&[0x89, 125]),
            Ok(Decoded::Complete { .. })
        ));
    }

    #[test]
    fn msb_of_64_bit_length() {
        let bytes = [0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(FrameHeader::decode(&bytes), Err(HeaderError::LengthMsbSet));
        // Judged as soon as the first length byte is there.
        assert_eq!(
            FrameHeader::decode(&bytes[..3]),
            Err(HeaderError::LengthMsbSet)
        );
    }

    fn opcode() -> impl Strategy<Value = OpCode> {
        prop_oneof![
            Just(OpCode::Continuation),
            Just(OpCode::Text),
            Just(OpCode::Binary),
            Just(OpCode::Close),
            Just(OpCode::Ping),
            Just(OpCode::Pong),
        ]
    }

    fn length() -> impl Strategy<Value = u64> {
        prop_oneof![
            Just(0u64),
            Just(125),
            Just(126),
            Just(65535),
            Just(65536),
            Just(u64::MAX >> 1),
            0u64..(1 << 40),
        ]
    }

    proptest! {
        /// encode then decode is the identity, and every proper prefix is Incomplete.
        #[test]
        fn encode_decode_identity(
            fin in any::<bool>(), rsv in 0u8..8, opcode in opcode(),
            mask in any::<Option<[u8; 4]>>(), len in length(),
        ) {
            let (fin, len) = if opcode.is_control() { (true, len % 126) } else { (fin, len) };
            let header = FrameHeader { fin, rsv, opcode, mask, payload_len: len };
            let mut out = [0u8; MAX_HEADER_LEN];
            let n = header.encode(&mut out);
            prop_assert_eq!(n, header.encoded_len());
            prop_assert_eq!(FrameHeader::decode(&out[..n]), Ok(Decoded::Complete { header, header_len: n }));
            for cut in 0..n {
                let is_incomplete = matches!(FrameHeader::decode(&out[..cut]), Ok(Decoded::Incomplete { .. }));
                prop_assert!(is_incomplete);
            }
        }

        /// Arbitrary bytes never panic, and a complete header never claims more bytes than given.
        #[test]
        fn arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..20)) {
            if let Ok(Decoded::Complete { header_len, .. }) = FrameHeader::decode(&bytes) {
                prop_assert!(header_len <= bytes.len());
            }
        }
    }
}

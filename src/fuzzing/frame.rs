//! Fuzz target: frame header decode and encode.

#[allow(unused_imports)]
use super::*;

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

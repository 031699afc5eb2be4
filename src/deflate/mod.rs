//! permessage-deflate ([RFC 7692]): negotiation and per-message compression.
//!
//! Pure building blocks that know nothing of connections or sockets:
//!
//! - [`DeflateConfig`]: what this endpoint offers, accepts and demands.
//! - Negotiation in the opening handshake: [`negotiate`] for a server,
//!   [`client_offer`] and [`client_accept`] for a client. The outcome is
//!   [`PmdParams`], which tells each [`Side`] the window and context takeover
//!   of its own compressor and of its peer's.
//! - [`Compressor`] for outgoing messages (whole or fragment by fragment) and
//!   [`Decompressor`] for incoming ones (frame by frame, bounded output).
//! - [`DeflateError`], with the close code each error fails the connection with.
//!
//! ```
//! use wsmachine::deflate::{client_accept, client_offer, negotiate, DeflateConfig, Side};
//! use wsmachine::handshake::extension::ExtensionOffer;
//!
//! let config = DeflateConfig::default();
//! // The client offers; the handshake module parses the header into offers.
//! assert_eq!(client_offer(&config).unwrap(), "permessage-deflate; client_max_window_bits");
//! let offer = ExtensionOffer {
//!     name: "permessage-deflate".into(),
//!     params: vec![("client_max_window_bits".into(), None)],
//! };
//! // The server picks and answers.
//! let (server_params, response) = negotiate(&config, &[offer]).unwrap();
//! assert_eq!(response, "permessage-deflate");
//! // The client checks the answer.
//! let answer = ExtensionOffer { name: "permessage-deflate".into(), params: vec![] };
//! let client_params = client_accept(&config, &[answer])?.unwrap();
//!
//! let mut tx = client_params.compressor(Side::Client, &config);
//! let mut rx = server_params.decompressor(Side::Server, &config);
//! let mut wire = Vec::new();
//! tx.compress(b"Hello, Hello, Hello, Hello", &mut wire);
//! let mut message = Vec::new();
//! rx.decompress_message(&wire, &mut message, 1 << 20)?;
//! assert_eq!(message, b"Hello, Hello, Hello, Hello");
//! # Ok::<(), wsmachine::deflate::DeflateError>(())
//! ```
//!
//! # Backend: miniz_oxide
//!
//! DEFLATE itself comes from `miniz_oxide` (default features off,
//! `with-alloc`). It was chosen over `zlib-rs` because only it keeps this
//! feature `no_std`: with default features off zlib-rs has no allocator, its
//! `rust-allocator` feature turns its crate into a `std` one (it calls
//! `std::alloc`) and `c-allocator` links libc's `malloc`, and its safe API
//! takes no custom allocator. zlib-rs's smaller windows would not have saved
//! much memory either (137 KiB for window 9 at memLevel 1 against 380 KiB at
//! the defaults, measured: its 128 KiB hash head is fixed), and it refuses
//! raw window 8. miniz_oxide gives raw DEFLATE, streaming with sync and full
//! flushes, and cheap resets. Its limit, a compressor window fixed at 32 KiB,
//! is worked around by segmenting (see [`Compressor`]), which also handles
//! window 8; its inflater always keeps 32 KiB and so decodes any window.
//!
//! # Memory
//!
//! Measured with a counting global allocator (miniz_oxide 0.9.1, x86_64,
//! heap bytes held once the state exists):
//!
//! | state | heap bytes |
//! | --- | --- |
//! | [`Compressor`], any window 8..=15, any level 1..=9 | 319,326 (about 312 KiB) |
//! | [`Decompressor`], any window | 43,296 (about 42 KiB) |
//!
//! The backend's state has the same size whatever the window and level, so
//! the smallest settings cost the same as the defaults. Both are allocated on
//! first use, so a connection that never sends or receives a compressed
//! message holds neither. With [`DeflateConfig::with_release_idle_memory`] a
//! direction without context takeover frees its state after every message.
//! Creating a compressor also puts a 64 KiB value on the stack for a moment
//! (miniz_oxide builds it there before it is boxed).
//!
//! # Speed of small windows
//!
//! Segmenting costs: compressing 1 MiB of Rust source (release build, one
//! core) ran at about 171 MB/s with window 15, 29 MB/s with window 12,
//! 11 MB/s with window 9 and 8 MB/s with window 8, each segment paying a
//! hash reset and a new Huffman block. Small windows are rare (browsers never
//! ask for them; Autobahn 13.3, 13.5 and 13.7 do) and only slow the direction
//! that was asked for them.
//!
//! # Errors and close codes
//!
//! [`DeflateError::TooLarge`] → 1009, [`DeflateError::Corrupt`] → 1007,
//! [`DeflateError::Negotiation`] → 1002; see [`DeflateError`] for why.
//!
//! [RFC 7692]: https://www.rfc-editor.org/rfc/rfc7692

mod block;
mod compress;
mod config;
mod decompress;
mod error;
mod huffman;
mod lz77;
mod negotiate;
mod params;
mod shared;

pub use compress::Compressor;
pub use config::{
    CompressorMemory, DeflateConfig, InvalidConfig, MAX_WINDOW_BITS, MIN_WINDOW_BITS,
};
pub use decompress::Decompressor;
pub use error::{DeflateError, NegotiationError};
pub use negotiate::{EXTENSION_NAME, client_accept, client_offer, negotiate};
pub use params::{Direction, PmdParams, Side};

#[cfg(test)]
mod tests;

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
//! # Backends: our own compressor, miniz_oxide's inflater
//!
//! Compression is this crate's own safe Rust (`lz77.rs`: a hash table of
//! recent positions, plus hash chains from level 2 and one-byte lazy
//! evaluation from level 4; `block.rs` and `huffman.rs`: dynamic, fixed or
//! stored blocks, whichever is shortest, with length-limited canonical
//! Huffman codes). Inflating is miniz_oxide's (default features off,
//! `with-alloc`), which stays `no_std`.
//!
//! Why not a library compressor: memory. miniz_oxide's `CompressorOxide` is
//! 319,326 heap bytes whatever the window or level (a 32 KiB window and fixed
//! hash tables), so 10,000 connections with compression needed about 3 GB.
//! zlib-rs sizes its window from `windowBits` but keeps a fixed 128 KiB hash
//! head (137 KiB measured at window 9, memLevel 1), refuses raw window 8, and
//! is `no_std` only without an allocator (its `rust-allocator` feature makes
//! it a `std` crate). A compressor may always refer back less far than
//! negotiated (RFC 7692 §7.1.2: the window parameters only bound it), and the
//! peer's inflater keeps the negotiated window anyway, so ours keeps an 8 KiB
//! window by default and sizes everything from it; measured on
//! `benches/compress.rs` against miniz_oxide in the same run, it compresses
//! the README's corpus 6–7 % smaller at level 1 (it adds positions inside
//! short matches to its hash), and at level 6 as well on prose and 6–7 %
//! worse on JSON (the window, not the search, makes that difference: the
//! `Max` preset matches it).
//!
//! # Memory
//!
//! Heap bytes held once the state exists (x86_64), as
//! [`Compressor::memory_usage`] and [`Decompressor::memory_usage`] report them:
//!
//! | state | heap bytes |
//! | --- | --- |
//! | [`Compressor`], [`CompressorMemory::Default`] (8 KiB window), level 1 | 16,456 |
//! | [`Compressor`], any preset, window 10 negotiated | 2,120 |
//! | [`Compressor`], presets `Tiny` to `Max`, level 1 | 2,120 to 65,608 (see [`CompressorMemory`]) |
//! | [`Decompressor`], any window | 43,296 (about 42 KiB, miniz_oxide's 32 KiB ring plus tables) |
//!
//! So a connection with context takeover both ways holds about 59 KiB of
//! codec state at the defaults. Both are allocated on first use, so a
//! connection that never sends or receives a compressed message holds
//! neither. Without context takeover a direction needs its state only during
//! a message: [`DeflateConfig::with_release_idle_memory`] frees it after each
//! one, and [`DeflateConfig::with_shared_state`] lends every connection of a
//! thread the same compressor and inflater (the inflater's window is zeroed
//! before it changes hands, so one connection's peer cannot refer back into
//! what another connection received).
//!
//! # Speed
//!
//! One pass per window-sized step: the history and the new input are copied
//! side by side (at most 64 KiB of input per step), so small windows cost no
//! more than large ones. Level 1 runs at 0.61–0.73x miniz_oxide's level 1
//! on the compression bench, level 6 at 1.2–1.5x its level 6 (see the README).
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
mod cost;
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

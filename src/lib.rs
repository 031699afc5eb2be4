//! A WebSocket ([RFC 6455](https://www.rfc-editor.org/rfc/rfc6455)) protocol
//! engine with no I/O and no runtime: bytes go in, events and bytes to send
//! come out. Whoever owns the socket (a blocking thread, an epoll loop, mio,
//! tokio, an embedded TCP stack) drives it.
//!
//! ```text
//!            your code: socket, event loop, threads, timers
//!     bytes read |                       ^ bytes to write
//!                v                       |
//!   +------------------------------------------------------------+
//!   |  Connection::receive        pending_output / advance_output |
//!   |        next_event  ->  Event::{Message, Ping, Pong, Close}  |
//!   |  send_text / send_binary / send_ping / close   (commands)   |
//!   +------------------------------------------------------------+
//!            wsmachine: framing, masking, UTF-8, limits, closing
//! ```
//!
//! The core is `#![no_std]` + `alloc` and `#![forbid(unsafe_code)]`. It holds
//! no clock and no hidden randomness: a client's masking keys come from a
//! [`MaskSource`] you give it ([`OsRandom`] with the `std` feature).
//!
//! # Driving a connection
//!
//! A client and a server talk through two byte buffers, no sockets needed:
//!
//! ```
//! use wsmachine::{CloseCode, Config, Connection, Event, Message};
//!
//! let mut key = 0u32;
//! let masks = move || { key = key.wrapping_add(0x9E37_79B9); key.to_be_bytes() };
//! let mut client = Connection::open_client(Config::default(), masks);
//! let mut server = Connection::open_server(Config::default());
//!
//! client.send_text("hello")?;
//!
//! // "Write" the client's output to the server, as a socket would.
//! let wire = client.pending_output().to_vec();
//! client.advance_output(wire.len());
//! server.receive(&wire);
//!
//! // The server echoes every message: the event borrows the input buffer,
//! // and the sender half lets it answer without copying.
//! while let Some((event, sender)) = server.next_event_with_sender()? {
//!     match event {
//!         Event::Message(message) => sender.send(message)?,
//!         Event::Close(_) => {} // the reply is already queued
//!         _ => {}               // pongs to pings are queued automatically
//!     }
//! }
//!
//! let wire = server.pending_output().to_vec();
//! server.advance_output(wire.len());
//! client.receive(&wire);
//! assert_eq!(client.next_event()?, Some(Event::Message(Message::Text("hello"))));
//!
//! client.close(CloseCode::NORMAL, "bye")?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! With a socket, the loop is: read into [`Connection::receive`] (or
//! [`Connection::read_buf`]), call [`Connection::next_event`] until it
//! returns `None`, write [`Connection::pending_output`] and report what was
//! written with [`Connection::advance_output`]; on end of stream call
//! [`Connection::receive_eof`]. Stop when [`Connection::is_closed`] and the
//! output is written.
//!
//! # Errors
//!
//! [`ProtocolError`] is the peer's fault and carries the close code that was
//! sent ([`ProtocolError::close_code`]); [`UsageError`] is the caller's and
//! changes nothing. Every message completed before a protocol error is
//! delivered before the error.
//!
//! # Features
//!
//! - `std` (default): the `blocking` adapter over `std::io::{Read, Write}`,
//!   [`OsRandom`] masking keys from the OS, `Connection::open`, `simd-utf8`
//!   and `simd-mask`.
//! - `deflate`: permessage-deflate (RFC 7692), negotiated by default once on
//!   (see `Config::with_deflate`).
//! - `simd-utf8`: UTF-8 validation by the `simdutf8` crate (on with `std`;
//!   without it, `core::str::from_utf8`).
//! - `simd-mask`: payload masking with AVX2 when the CPU has it, detected at
//!   run time by the `fearless_simd` crate (on with `std`, and implies it:
//!   the detection needs it; x86_64 only, elsewhere the baseline loop).
//! - `rustls`: `wss://` in the `blocking` adapter (and in the `tokio` one
//!   with `tokio`) and the [`tls`] module
//!   (rustls with the `ring` provider, chosen explicitly; no OpenSSL). The
//!   engine itself never sees TLS.
//! - `tokio`: the async adapter `tokio` over any tokio
//!   `AsyncRead + AsyncWrite + Unpin` stream, with `futures` `Stream` and
//!   `Sink` impls (implies `std`).
//!
//! # Handshake
//!
//! [`Connection::server`] and [`Connection::client`] start with the HTTP/1.1
//! opening handshake (RFC 6455 section 4) in the same byte streams; the
//! server hands the request out as [`Event::Handshake`] and answers with
//! [`Connection::accept`] or [`Connection::reject`]. [`handshake`] has the
//! same steps as plain functions for servers that parse HTTP themselves.
//!
//! # Streaming
//!
//! With [`Config::with_streaming`] a connection hands out each text or
//! binary message as [`Event::Chunk`]s, the bytes that have arrived so far
//! (partial frames too), unmasked in place and borrowed from the input
//! buffer: memory is bounded by the read size, not the message size.
//! Receiving:
//!
//! ```
//! use wsmachine::{Config, Connection, Event};
//!
//! let config = Config::default()
//!     .with_streaming(true)
//!     .without_message_size_limit() // any length; max_frame_size still applies
//!     .with_max_frame_size(1 << 40)?;
//! let mut server = Connection::open_server(config);
//!
//! let mut client = Connection::open_client(Config::default(), || [1, 2, 3, 4]);
//! client.send_text("grüße, one chunk at a time")?;
//! let wire = client.pending_output().to_vec();
//!
//! let mut text = String::new();
//! for read in wire.chunks(7) {
//!     server.receive(read); // whatever the socket gave
//!     while let Some(event) = server.next_event()? {
//!         if let Event::Chunk(chunk) = event {
//!             // Each text chunk is valid UTF-8: a split character waits for the next.
//!             text.push_str(chunk.as_text().unwrap());
//!             if chunk.is_last() {
//!                 assert_eq!(text, "grüße, one chunk at a time");
//!             }
//!         }
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Sending a message whose length is not known up front:
//!
//! ```
//! use wsmachine::{Config, Connection, MessageKind};
//!
//! let mut client = Connection::open_client(Config::default(), || [1, 2, 3, 4]);
//! client.begin_message(MessageKind::Binary)?; // or begin_message_coalesced(kind, frame_size)
//! for piece in [&b"a file "[..], b"of any ", b"size"] {
//!     client.write_chunk(piece)?; // one frame each
//!     client.send_ping(b"")?; // control frames may go in between
//!     // Backpressure: write pending_output() to the socket while
//!     // client.pending_output_len() is over your high-water mark.
//! }
//! client.finish_message()?;
//! # Ok::<(), wsmachine::UsageError>(())
//! ```
//!
//! The blocking adapter turns both into `std::io` (gorilla's `NextWriter`
//! and `NextReader`): see `blocking::WebSocket::message_writer` and
//! `message_reader` (feature `std`).
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
// The library itself must not lean on std where core or alloc would do.
#![warn(
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::alloc_instead_of_core
)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

#[cfg(feature = "std")]
pub mod blocking;
mod config;
mod connection;
#[cfg(feature = "deflate")]
pub mod deflate;
mod error;
pub mod frame;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod handshake;
mod mask_source;
mod message;
#[cfg(feature = "std")]
mod sniff;
mod time;
#[cfg(feature = "rustls")]
pub mod tls;
#[cfg(feature = "tokio")]
pub mod tokio;
pub mod utf8;

pub use config::Config;
pub use connection::{
    Accept, Connection, Event, FrameHead, HandshakeResponse, Owed, Receiver, Role, Sender, State,
};
pub use error::{ConfigError, ProtocolError, Timeout, UsageError};
pub use handshake::{ClientRequest, HandshakeError, HandshakeRequest, OriginPolicy};
pub use mask_source::MaskSource;
#[cfg(feature = "std")]
pub use mask_source::OsRandom;
pub use message::{Chunk, CloseCode, CloseFrame, Message, MessageKind};
pub use time::Timestamp;

//! wsmachine (work in progress).
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod config;
mod connection;
#[cfg(feature = "deflate")]
pub mod deflate;
mod error;
pub mod frame;
pub mod handshake;
mod mask_source;
mod message;
pub mod utf8;

pub use config::Config;
pub use connection::{Connection, Event, Role, Sender, State};
pub use error::{ConfigError, ProtocolError, UsageError};
pub use mask_source::MaskSource;
#[cfg(feature = "std")]
pub use mask_source::OsRandom;
pub use message::{CloseCode, CloseFrame, Message, MessageKind};

//! wsmachine (work in progress).
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

#[cfg(feature = "deflate")]
pub mod deflate;
pub mod handshake;

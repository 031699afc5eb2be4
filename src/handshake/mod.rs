//! The HTTP/1.1 opening handshake of RFC 6455 section 4 (work in progress).

pub mod extension;

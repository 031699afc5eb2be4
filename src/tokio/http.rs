//! The small HTTP pieces a server needs to route plain requests beside
//! WebSockets on one port, async.

use alloc::vec::Vec;
use core::future::poll_fn;
use core::pin::Pin;
use std::io;

use ::tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::{Decision, Error, WebSocket};
use crate::blocking::RequestHead;
use crate::{Config, Connection, HandshakeRequest};

/// Reads an HTTP request head (up to the blank line) from `io`, reading at
/// most `max_bytes`. Bytes read past the head are kept for
/// [`WebSocket::accept_head`].
///
/// Not cancel-safe: bytes read so far are lost with the future. Bound it
/// with `tokio::time::timeout` (a client that never finishes its request).
///
/// # Errors
///
/// [`Error::Protocol`] with [`HandshakeError::Malformed`](crate::HandshakeError::Malformed) or
/// [`HandshakeError::TooLarge`](crate::HandshakeError::TooLarge), or [`Error::Io`] (`UnexpectedEof` when the
/// stream ends first).
pub async fn read_request_head<S: AsyncRead + Unpin>(
    io: &mut S,
    max_bytes: usize,
) -> Result<RequestHead, Error> {
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 2048];
    loop {
        if let Some(head) = RequestHead::parse(&mut bytes, max_bytes)? {
            return Ok(head);
        }
        let want = chunk.len().min(max_bytes - bytes.len());
        let mut buf = ReadBuf::new(&mut chunk[..want]);
        poll_fn(|cx| Pin::new(&mut *io).poll_read(cx, &mut buf)).await?;
        if buf.filled().is_empty() {
            return Err(Error::Io(io::ErrorKind::UnexpectedEof.into()));
        }
        bytes.extend_from_slice(buf.filled());
    }
}

/// Writes a complete HTTP/1.1 response with `Connection: close`, for the
/// plain requests a server answers itself (a page, a 404), and flushes.
///
/// # Errors
///
/// The stream's write error.
pub async fn respond<S: AsyncWrite + Unpin>(
    io: &mut S,
    status: u16,
    content_type: &str,
    body: &[u8],
) -> io::Result<()> {
    let head = crate::blocking::response_head(status, content_type, body.len());
    write_all(io, head.as_bytes()).await?;
    write_all(io, body).await?;
    poll_fn(|cx| Pin::new(&mut *io).poll_flush(cx)).await
}

pub(super) async fn write_all<S: AsyncWrite + Unpin>(
    io: &mut S,
    mut bytes: &[u8],
) -> io::Result<()> {
    while !bytes.is_empty() {
        let n = poll_fn(|cx| Pin::new(&mut *io).poll_write(cx, bytes)).await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        bytes = &bytes[n..];
    }
    Ok(())
}

impl<S: AsyncRead + AsyncWrite + Unpin> WebSocket<S> {
    /// Like [`accept_with`](Self::accept_with), for a request whose head was
    /// already read from `io` by [`read_request_head`] (to route plain HTTP
    /// requests elsewhere). Not cancel-safe.
    ///
    /// # Errors
    ///
    /// As [`accept_with`](Self::accept_with).
    pub async fn accept_head(
        io: S,
        head: &RequestHead,
        config: Config,
        decide: impl FnOnce(&HandshakeRequest) -> Decision,
    ) -> Result<Self, Error> {
        let mut conn = Connection::server(config);
        conn.receive(head.bytes());
        Self::accept_connection(io, conn, decide).await
    }
}

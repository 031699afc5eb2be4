//! The `futures` idioms: a [`Stream`] of owned messages and a [`Sink`] of
//! them, so that `StreamExt::next`, `SinkExt::send` and
//! `stream.forward(sink)` work.

use core::pin::Pin;
use core::task::{Context, Poll};

use ::tokio::io::{AsyncRead, AsyncWrite};
use futures_core::Stream;
use futures_sink::Sink;

use super::{Error, OwnedMessage, WebSocket};
use crate::{CloseCode, State, UsageError};

/// Owned messages and control frames, as [`WebSocket::read`] returns them;
/// the stream ends after the peer's close (or a terminal error). Cancel-safe
/// like `read`: a dropped `next()` loses nothing.
impl<S: AsyncRead + AsyncWrite + Unpin> Stream for WebSocket<S> {
    type Item = Result<OwnedMessage, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            return match this.poll_event(cx, |event, _| OwnedMessage::from_event(&event)) {
                Poll::Ready(Ok(Some(message))) => Poll::Ready(Some(Ok(message))),
                Poll::Ready(Ok(None)) => continue,
                Poll::Ready(Err(Error::Closed)) => Poll::Ready(None),
                Poll::Ready(Err(error)) => Poll::Ready(Some(Err(error))),
                Poll::Pending => Poll::Pending,
            };
        }
    }
}

/// Messages to send. `poll_ready` waits while the pending output is above
/// the high-water mark; `start_send` queues the message in the engine (from
/// then on it is not lost, even if the future that called it is dropped:
/// the next flush, read or send writes it); `poll_flush` writes everything
/// and flushes the stream; `poll_close` sends a normal close (unless a close
/// was already sent or received) and flushes.
///
/// A [`OwnedMessage::Close`] sends a close frame with its code and reason
/// (1000 when it has none); once the connection is closing it is ignored,
/// so that an echo `stream.forward(sink)` passes the peer's close through
/// without an error (the engine answered it already).
impl<S: AsyncRead + AsyncWrite + Unpin> Sink<OwnedMessage> for WebSocket<S> {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().poll_below_high_water(cx)
    }

    fn start_send(self: Pin<&mut Self>, item: OwnedMessage) -> Result<(), Error> {
        let conn = self.get_mut().connection_mut();
        let result = match &item {
            OwnedMessage::Text(text) => conn.send_text(text),
            OwnedMessage::Binary(data) => conn.send_binary(data),
            OwnedMessage::Ping(data) => conn.send_ping(data),
            OwnedMessage::Pong(data) => conn.send_pong(data),
            OwnedMessage::Close(frame) => {
                if conn.state() != State::Open {
                    return Ok(());
                }
                match frame {
                    Some((code, reason)) => conn.close(*code, reason),
                    None => conn.close(CloseCode::NORMAL, ""),
                }
            }
        };
        result.map_err(Error::Usage)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().poll_flush_all(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        if this.state() == State::Open {
            match this.connection_mut().close(CloseCode::NORMAL, "") {
                Ok(()) | Err(UsageError::Closed) => {}
                Err(error) => return Poll::Ready(Err(Error::Usage(error))),
            }
        }
        this.poll_flush_all(cx)
    }
}

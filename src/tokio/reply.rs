//! The direct reply: a large message written from the input buffer straight
//! to the stream (header and payload in one vectored write), and the spill
//! that keeps the part the stream did not take until it does.
//!
//! The write happens inside [`Reply::send`], within the poll that lends
//! the event, and the untaken tail is copied to the [`Spill`] before that
//! poll returns: no await point lies between the frame being committed and
//! its bytes being either written or held, so a dropped future cannot lose
//! or split a frame.

use alloc::vec::Vec;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};
use std::io;

use ::tokio::io::AsyncWrite;

use super::Error;
use crate::{Message, Sender};

/// Messages at least this large go from [`Reply::send`] straight to the
/// stream (the blocking adapter's bound): below it the copy into the output
/// buffer costs less than the extra write would.
pub(super) const DIRECT_MIN: usize = 16 * 1024;

/// The unwritten tail of a directly written frame. It is older than
/// anything the engine queues after it, so every write path empties it
/// before it writes the engine's output.
#[derive(Debug, Default)]
pub(super) struct Spill {
    bytes: Vec<u8>,
    /// Bytes of `bytes` already written.
    start: usize,
}

impl Spill {
    pub(super) fn is_empty(&self) -> bool {
        self.start == self.bytes.len()
    }

    /// Bytes still to write.
    pub(super) fn len(&self) -> usize {
        self.bytes.len() - self.start
    }

    fn hold(&mut self, part: &[u8]) {
        self.bytes.extend_from_slice(part);
    }

    /// Writes the spill until it is empty; `unflushed` notes a write.
    pub(super) fn poll_drain<W: AsyncWrite + Unpin + ?Sized>(
        &mut self,
        io: &mut W,
        cx: &mut Context<'_>,
        unflushed: &mut bool,
    ) -> Poll<Result<(), Error>> {
        while !self.is_empty() {
            let n = match Pin::new(&mut *io).poll_write(cx, &self.bytes[self.start..]) {
                Poll::Ready(Ok(n)) => n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(Error::Io(e))),
                Poll::Pending => return Poll::Pending,
            };
            if n == 0 {
                return Poll::Ready(Err(Error::Io(io::ErrorKind::WriteZero.into())));
            }
            self.start += n;
            *unflushed = true;
        }
        // A spill is rare (the stream was full): its memory goes back.
        *self = Self::default();
        Poll::Ready(Ok(()))
    }
}

/// The sending half lent to [`WebSocket::read_with_reply`](super::WebSocket::read_with_reply)'s
/// closure, with the stream beside it.
pub struct Reply<'a> {
    pub(super) sender: &'a mut Sender,
    pub(super) io: &'a mut (dyn AsyncWrite + Unpin + 'a),
    /// The waker of the poll that lends the event: a write the stream
    /// refuses wakes the task when it can take more.
    pub(super) waker: &'a Waker,
    pub(super) spill: &'a mut Spill,
    pub(super) unflushed: &'a mut bool,
}

impl core::fmt::Debug for Reply<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Reply")
            .field("sender", &self.sender)
            .finish_non_exhaustive()
    }
}

impl Reply<'_> {
    /// Sends a whole message. One of 16 KiB or more, with nothing queued
    /// before it and no compression negotiated, is written now, header and
    /// payload in vectored writes, as far as the stream takes them without
    /// waiting; the rest is copied aside and written before any other
    /// output. Anything else is queued on the [`Sender`]. Either way the
    /// read that lent this reply then writes and flushes what it can.
    ///
    /// # Errors
    ///
    /// [`Error::Usage`] (nothing sent) or [`Error::Io`] (the frame is
    /// committed: what was not written is kept and written first by the
    /// next call that writes).
    pub fn send(&mut self, message: Message<'_>) -> Result<(), Error> {
        let payload = message.as_bytes();
        if payload.len() < DIRECT_MIN || self.sender.wants_write() || !self.spill.is_empty() {
            // Small, or it would overtake what is queued: the engine frames it.
            return Ok(self.sender.send(message)?);
        }
        let Ok(head) = self.sender.send_vectored(message) else {
            // A client (which must mask) or compression: the engine frames it.
            return Ok(self.sender.send(message)?);
        };
        let head = head.as_bytes();
        let total = head.len() + payload.len();
        let mut written = 0;
        let mut cx = Context::from_waker(self.waker);
        // Each round writes at least one byte or stops: at most `total` rounds.
        let result = loop {
            if written == total {
                break Ok(());
            }
            let parts = if written < head.len() {
                [
                    io::IoSlice::new(&head[written..]),
                    io::IoSlice::new(payload),
                ]
            } else {
                [
                    io::IoSlice::new(&payload[written - head.len()..]),
                    io::IoSlice::new(&[]),
                ]
            };
            match Pin::new(&mut *self.io).poll_write_vectored(&mut cx, &parts) {
                Poll::Ready(Ok(0)) => break Err(io::Error::from(io::ErrorKind::WriteZero)),
                Poll::Ready(Ok(n)) => {
                    written += n;
                    *self.unflushed = true;
                }
                // The stream is full (its waker is registered) or was
                // interrupted: the rest waits in the spill.
                Poll::Pending => break Ok(()),
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => break Ok(()),
                Poll::Ready(Err(e)) => break Err(e),
            }
        };
        // The frame is committed: its tail goes out before anything else.
        if written < total {
            self.spill.hold(&head[written.min(head.len())..]);
            self.spill
                .hold(&payload[written.saturating_sub(head.len())..]);
        }
        result.map_err(Error::Io)
    }

    /// The sender, for everything else (fragments, pings, close); what it
    /// queues goes out after a direct write's tail.
    pub fn sender(&mut self) -> &mut Sender {
        self.sender
    }
}

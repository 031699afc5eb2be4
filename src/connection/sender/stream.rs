//! Sending a message as a stream: begin it, write chunks, finish it. Each
//! chunk goes out as a frame through the same path as
//! [`Sender::send_fragment`] (or chunks are coalesced into frames of a chosen
//! size); control frames may go out between them.

use alloc::boxed::Box;
use alloc::vec::Vec;

use super::Sender;
use crate::error::UsageError;
use crate::message::{Chunk, MessageKind};

/// A message being streamed out.
#[derive(Debug)]
pub(super) struct OutStream {
    kind: MessageKind,
    /// Frame payload size to coalesce chunks into; 0: a frame per chunk.
    frame_size: usize,
    /// Coalesced bytes waiting to fill a frame (fewer than `frame_size`).
    pending: Vec<u8>,
}

impl OutStream {
    pub(super) fn capacity(&self) -> usize {
        self.pending.capacity()
    }
}

impl Sender {
    /// Starts a message of `kind` to be sent as a stream: each
    /// [`write_chunk`](Self::write_chunk) becomes one frame as it is written,
    /// and [`finish_message`](Self::finish_message) (or
    /// [`finish_message_with`](Self::finish_message_with)) ends the message.
    /// Control frames ([`send_ping`](Self::send_ping), pongs,
    /// [`close`](Self::close)) may be sent in between; other data may not
    /// (one data message at a time: [`UsageError::MessageInProgress`]).
    ///
    /// The message's length need not be known. Memory stays bounded by what
    /// is pending output: check [`pending_output_len`](Self::pending_output_len)
    /// before each chunk to apply backpressure. With permessage-deflate, the
    /// message is compressed and each frame ends with a sync flush, so the
    /// peer can inflate every frame as it arrives.
    ///
    /// ```
    /// use wsmachine::{Config, Connection, MessageKind};
    /// let mut server = Connection::open_server(Config::default());
    /// let tx = server.sender();
    /// tx.begin_message(MessageKind::Text)?;
    /// tx.write_chunk(b"hello, ")?;
    /// tx.send_ping(b"")?; // control frames may go between chunks
    /// tx.finish_message_with(b"world")?;
    /// assert_eq!(
    ///     server.pending_output(),
    ///     [&[0x01, 7][..], b"hello, ", &[0x89, 0], &[0x80, 5], b"world"].concat()
    /// );
    /// # Ok::<(), wsmachine::UsageError>(())
    /// ```
    pub fn begin_message(&mut self, kind: MessageKind) -> Result<(), UsageError> {
        self.begin(kind, 0)
    }

    /// Like [`begin_message`](Self::begin_message), but chunks are coalesced
    /// into frames of `frame_size` payload bytes (the last one shorter);
    /// at most `frame_size - 1` bytes wait in the sender between writes. A
    /// `frame_size` of 0 is taken as 1.
    pub fn begin_message_coalesced(
        &mut self,
        kind: MessageKind,
        frame_size: usize,
    ) -> Result<(), UsageError> {
        self.begin(kind, frame_size.max(1))
    }

    fn begin(&mut self, kind: MessageKind, frame_size: usize) -> Result<(), UsageError> {
        self.check_can_send_data()?;
        if self.outgoing.is_some() || self.stream.is_some() {
            return Err(UsageError::MessageInProgress);
        }
        self.outgoing_utf8.reset();
        self.stream = Some(Box::new(OutStream {
            kind,
            frame_size,
            pending: Vec::new(),
        }));
        Ok(())
    }

    /// Writes the next chunk of the message started with
    /// [`begin_message`](Self::begin_message). For text, the chunks together
    /// must be UTF-8 (a chunk may end inside a character); invalid text is
    /// refused with [`UsageError::InvalidUtf8`] and nothing of it is sent.
    pub fn write_chunk(&mut self, data: &[u8]) -> Result<(), UsageError> {
        self.check_chunk(data)?;
        let Some(stream) = self.stream.as_mut() else {
            return Err(UsageError::NoMessageInProgress);
        };
        let (kind, size) = (stream.kind, stream.frame_size);
        if size == 0 {
            return if data.is_empty() {
                Ok(())
            } else {
                self.fragment(kind, data, false, true)
            };
        }
        let mut pending = core::mem::take(&mut stream.pending);
        let result = self.coalesce(kind, size, &mut pending, data);
        if let Some(stream) = self.stream.as_mut() {
            stream.pending = pending;
        }
        result
    }

    /// Appends `data` to the frame being filled, sending every frame that fills.
    fn coalesce(
        &mut self,
        kind: MessageKind,
        size: usize,
        pending: &mut Vec<u8>,
        mut data: &[u8],
    ) -> Result<(), UsageError> {
        if !pending.is_empty() {
            let take = (size - pending.len()).min(data.len());
            pending.extend_from_slice(&data[..take]);
            data = &data[take..];
            if pending.len() < size {
                return Ok(());
            }
            self.fragment(kind, pending, false, true)?;
            pending.clear();
        }
        // Whole frames straight from the caller's bytes, without a copy.
        while data.len() >= size {
            self.fragment(kind, &data[..size], false, true)?;
            data = &data[size..];
        }
        pending.extend_from_slice(data);
        Ok(())
    }

    /// Sends the bytes coalesced so far as a frame now, without waiting for
    /// a full frame (a flush). Nothing happens when none are waiting or
    /// chunks are not coalesced. A text frame may end inside a character,
    /// which RFC 6455 allows (the message as a whole is UTF-8).
    pub fn flush_message(&mut self) -> Result<(), UsageError> {
        let Some(stream) = self.stream.as_mut() else {
            return Err(UsageError::NoMessageInProgress);
        };
        if stream.pending.is_empty() {
            return Ok(());
        }
        let kind = stream.kind;
        let pending = core::mem::take(&mut stream.pending);
        let result = self.fragment(kind, &pending, false, true);
        if let Some(stream) = self.stream.as_mut() {
            stream.pending = pending;
            if result.is_ok() {
                stream.pending.clear();
            }
        }
        result
    }

    /// Ends the streamed message (with the coalesced bytes, if any, or an
    /// empty final frame). Text must end on a character boundary, else
    /// [`UsageError::InvalidUtf8`] and the message stays open.
    pub fn finish_message(&mut self) -> Result<(), UsageError> {
        self.finish_message_with(b"")
    }

    /// Writes a last chunk and ends the message: with a frame per chunk,
    /// this chunk is the final frame (no empty frame after it). Text must
    /// end on a character boundary (else [`UsageError::InvalidUtf8`]; with a
    /// frame per chunk nothing was sent, when coalescing the chunk was
    /// written; the message stays open either way).
    pub fn finish_message_with(&mut self, data: &[u8]) -> Result<(), UsageError> {
        self.check_can_send_data()?;
        let Some(stream) = self.stream.as_ref() else {
            return Err(UsageError::NoMessageInProgress);
        };
        let kind = stream.kind;
        if stream.frame_size == 0 {
            if kind == MessageKind::Text {
                let mut check = self.outgoing_utf8;
                check.feed(data).map_err(|_| UsageError::InvalidUtf8)?;
                if !check.is_complete() {
                    return Err(UsageError::InvalidUtf8);
                }
                self.outgoing_utf8 = check;
            }
            self.stream = None;
            return self.fragment(kind, data, true, true);
        }
        if !data.is_empty() {
            self.write_chunk(data)?;
        }
        if !self.outgoing_utf8.is_complete() {
            return Err(UsageError::InvalidUtf8);
        }
        let Some(stream) = self.stream.take() else {
            return Err(UsageError::NoMessageInProgress);
        };
        self.fragment(kind, &stream.pending, true, true)
    }

    /// Echoes a received [`Chunk`] as part of a stream: the first chunk
    /// begins a message (a frame per chunk), the last finishes it.
    ///
    /// ```
    /// # use wsmachine::{Config, Connection, Event};
    /// # let mut server = Connection::open_server(Config::default().with_streaming(true));
    /// # server.receive(&[0x82, 0x83, 0, 0, 0, 0, 1, 2, 3]);
    /// while let Some((event, sender)) = server.next_event_with_sender()? {
    ///     if let Event::Chunk(chunk) = event {
    ///         sender.send_chunk(chunk)?; // straight from the input buffer
    ///     }
    /// }
    /// assert_eq!(server.pending_output(), [0x82, 3, 1, 2, 3]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn send_chunk(&mut self, chunk: Chunk<'_>) -> Result<(), UsageError> {
        if chunk.is_first() {
            self.begin_message(chunk.kind())?;
        }
        if chunk.is_last() {
            self.finish_message_with(chunk.as_bytes())
        } else {
            self.write_chunk(chunk.as_bytes())
        }
    }

    /// Whether a message started with [`begin_message`](Self::begin_message)
    /// is in progress.
    pub fn is_streaming(&self) -> bool {
        self.stream.is_some()
    }

    /// Bytes of output waiting to be written ([`pending_output`](Self::pending_output)'s
    /// length): a driver streaming a message writes a chunk only while this
    /// is under its high-water mark, so memory stays bounded by it.
    pub fn pending_output_len(&self) -> usize {
        self.out.len() - self.out_start
    }

    /// The checks a chunk passes before anything of it is queued: the
    /// connection may send data, and text stays UTF-8.
    fn check_chunk(&mut self, data: &[u8]) -> Result<(), UsageError> {
        self.check_can_send_data()?;
        let Some(stream) = self.stream.as_ref() else {
            return Err(UsageError::NoMessageInProgress);
        };
        if stream.kind == MessageKind::Text {
            let mut check = self.outgoing_utf8;
            check.feed(data).map_err(|_| UsageError::InvalidUtf8)?;
            self.outgoing_utf8 = check;
        }
        Ok(())
    }
}

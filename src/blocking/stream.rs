//! One message as a byte stream: [`MessageReader`] (`std::io::Read`) and
//! [`MessageWriter`] (`std::io::Write`), gorilla/websocket's `NextReader`
//! and `NextWriter`.

use alloc::vec::Vec;
use std::io::{self, Read, Write};

use super::{Error, Transport, WebSocket};
use crate::{Event, MessageKind, UsageError};

/// Frame payload size a [`MessageWriter`] coalesces its writes into.
const WRITER_FRAME: usize = 64 * 1024;

fn io_error(error: Error) -> io::Error {
    match error {
        Error::Io(e) => e,
        Error::Closed => io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the connection closed in the middle of a message",
        ),
        other => io::Error::other(other),
    }
}

impl<S: Read + Write + Transport> WebSocket<S> {
    /// The next text or binary message as a reader (`std::io::Read`),
    /// waiting for its first bytes. Pings are answered on the way; pongs are
    /// skipped.
    ///
    /// With [`Config::with_streaming`](crate::Config::with_streaming) the
    /// message is read chunk by chunk as it arrives, holding no more than
    /// one read of it: a message of any size (see
    /// [`Config::without_message_size_limit`](crate::Config::without_message_size_limit))
    /// can be saved to a file:
    ///
    /// ```no_run
    /// # use wsmachine::blocking::WebSocket;
    /// # fn save(ws: &mut WebSocket<std::net::TcpStream>) -> Result<(), Box<dyn std::error::Error>> {
    /// let mut file = std::fs::File::create("upload.bin")?;
    /// let mut message = ws.message_reader()?;
    /// std::io::copy(&mut message, &mut file)?;
    /// # Ok(()) }
    /// ```
    ///
    /// In whole-message mode the message is read whole first, then served
    /// from a copy. A message reader dropped before the end leaves the rest
    /// of its message to be skipped by the next `message_reader`.
    ///
    /// # Errors
    ///
    /// As [`read`](Self::read): [`Error::Closed`] once the peer's close
    /// arrived (there is no next message).
    pub fn message_reader(&mut self) -> Result<MessageReader<'_, S>, Error> {
        let mut pending = Vec::new();
        loop {
            let start = self.read_with(|event, _| match event {
                Event::Chunk(chunk) if chunk.is_first() => {
                    pending.extend_from_slice(chunk.as_bytes());
                    Some(Ok((chunk.kind(), chunk.is_last())))
                }
                Event::Message(message) => {
                    pending.extend_from_slice(message.as_bytes());
                    Some(Ok((message.kind(), true)))
                }
                Event::Close(_) => Some(Err(Error::Closed)),
                // Pings (already answered), pongs, and the rest of a message
                // whose reader was dropped early.
                _ => None,
            })?;
            if let Some(start) = start {
                let (kind, done) = start?;
                return Ok(MessageReader {
                    ws: self,
                    kind,
                    pending,
                    at: 0,
                    done,
                });
            }
        }
    }

    /// A writer (`std::io::Write`) that sends everything written to it as
    /// one message of `kind`, in frames of up to 64 KiB as the writes come
    /// (memory: one frame, whatever the message size). The message ends
    /// when the writer is [finished](MessageWriter::finish) or dropped.
    ///
    /// ```no_run
    /// # use wsmachine::{MessageKind, blocking::WebSocket};
    /// # fn send(ws: &mut WebSocket<std::net::TcpStream>) -> std::io::Result<()> {
    /// let mut file = std::fs::File::open("video.mp4")?;
    /// std::io::copy(&mut file, &mut ws.message_writer(MessageKind::Binary))?;
    /// # Ok(()) }
    /// ```
    ///
    /// Control frames the connection owes (pongs) go out between frames.
    /// Each write blocks until the stream took its frames (backpressure).
    /// Text must be UTF-8 over the whole message; a write of invalid bytes
    /// fails with [`std::io::ErrorKind::InvalidInput`] and sends nothing.
    pub fn message_writer(&mut self, kind: MessageKind) -> MessageWriter<'_, S> {
        let begun = self.conn.begin_message_coalesced(kind, WRITER_FRAME);
        MessageWriter {
            ws: self,
            begun,
            finished: false,
        }
    }
}

/// One received message as a byte stream; see [`WebSocket::message_reader`].
#[derive(Debug)]
pub struct MessageReader<'a, S> {
    ws: &'a mut WebSocket<S>,
    kind: MessageKind,
    /// Bytes of the latest chunk the caller's buffer had no room for.
    pending: Vec<u8>,
    at: usize,
    /// The last chunk was read from the connection.
    done: bool,
}

impl<S> MessageReader<'_, S> {
    /// The kind of the message.
    pub fn kind(&self) -> MessageKind {
        self.kind
    }

    /// The engine underneath (to check its `memory_usage`, for instance).
    pub fn connection(&self) -> &crate::Connection {
        self.ws.connection()
    }
}

impl<S: Read + Write + Transport> Read for MessageReader<'_, S> {
    /// Reads the message's next bytes; `Ok(0)` at its end. A protocol
    /// error (invalid UTF-8 in a text message: 1007, already sent) comes
    /// back as [`std::io::ErrorKind::Other`] wrapping the [`Error`]; the
    /// connection closing mid-message as `UnexpectedEof`.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.at < self.pending.len() {
            let n = buf.len().min(self.pending.len() - self.at);
            buf[..n].copy_from_slice(&self.pending[self.at..self.at + n]);
            self.at += n;
            return Ok(n);
        }
        while !self.done {
            let Self {
                ws, pending, at, ..
            } = self;
            let got = ws
                .read_with(|event, _| match event {
                    Event::Chunk(chunk) => {
                        let bytes = chunk.as_bytes();
                        let n = buf.len().min(bytes.len());
                        buf[..n].copy_from_slice(&bytes[..n]);
                        pending.clear();
                        pending.extend_from_slice(&bytes[n..]);
                        *at = 0;
                        Some(Ok((n, chunk.is_last())))
                    }
                    Event::Close(_) => Some(Err(Error::Closed)),
                    _ => None,
                })
                .map_err(io_error)?;
            if let Some(got) = got {
                let (n, last) = got.map_err(io_error)?;
                self.done = last;
                if n > 0 || last {
                    return Ok(n);
                }
            }
        }
        Ok(0)
    }
}

/// One message sent as a byte stream; see [`WebSocket::message_writer`].
#[derive(Debug)]
pub struct MessageWriter<'a, S: Read + Write + Transport> {
    ws: &'a mut WebSocket<S>,
    /// Whether the message could be started (not while another is being
    /// sent, nor once closed): reported by the first write.
    begun: Result<(), UsageError>,
    finished: bool,
}

impl<S: Read + Write + Transport> MessageWriter<'_, S> {
    /// Ends the message and writes it out, reporting any error (dropping
    /// the writer does the same, ignoring errors, as `BufWriter` does).
    ///
    /// # Errors
    ///
    /// [`Error::Usage`] if the message could not be started, or is text
    /// that ends inside a character; [`Error::Io`] from the stream.
    pub fn finish(mut self) -> Result<(), Error> {
        self.end()
    }

    fn end(&mut self) -> Result<(), Error> {
        self.begun?;
        if !self.finished {
            self.ws.conn.finish_message()?;
            self.finished = true;
        }
        self.ws.flush()
    }
}

fn usage_io(error: UsageError) -> io::Error {
    let kind = if error == UsageError::InvalidUtf8 {
        io::ErrorKind::InvalidInput
    } else {
        io::ErrorKind::Other
    };
    io::Error::new(kind, Error::Usage(error))
}

impl<S: Read + Write + Transport> Write for MessageWriter<'_, S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.begun.map_err(usage_io)?;
        self.ws.conn.write_chunk(buf).map_err(usage_io)?;
        self.ws.flush().map_err(io_error)?;
        Ok(buf.len())
    }

    /// Sends the bytes written so far as a frame, then flushes the stream.
    fn flush(&mut self) -> io::Result<()> {
        self.begun.map_err(usage_io)?;
        self.ws.conn.sender().flush_message().map_err(usage_io)?;
        self.ws.flush().map_err(io_error)
    }
}

impl<S: Read + Write + Transport> Drop for MessageWriter<'_, S> {
    fn drop(&mut self) {
        if !self.finished && self.begun.is_ok() {
            let _ = self.end();
        }
    }
}

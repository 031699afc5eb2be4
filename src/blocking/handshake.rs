//! The opening handshake over a blocking stream, both roles, and the small
//! HTTP pieces a server needs to route plain requests beside WebSockets.

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};

use super::{Error, Transport, WebSocket, lingering_close};
use crate::handshake::{HandshakeError, WsUrl};
use crate::{
    Accept, ClientRequest, Config, Connection, Event, HandshakeRequest, OsRandom, ProtocolError,
};

/// Bytes asked of the connection's input buffer per read during the handshake.
const HANDSHAKE_CHUNK: usize = 4096;

/// A server's answer to an opening handshake request, returned by the
/// callback of [`WebSocket::accept_with`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Decision {
    /// Switch protocols (`101`).
    Accept {
        /// The subprotocol picked from those the client offered.
        protocol: Option<String>,
        /// Extra response headers, such as `Set-Cookie`.
        headers: Vec<(String, String)>,
    },
    /// Refuse with an HTTP error response.
    Reject {
        /// The status, such as 403 or 404.
        status: u16,
        /// Response headers (a `Content-Type` is added for a non-empty body
        /// without one).
        headers: Vec<(String, String)>,
        /// The response body.
        body: Vec<u8>,
    },
}

impl Decision {
    /// Accept, with no subprotocol and no extra headers.
    pub fn accept() -> Self {
        Self::Accept {
            protocol: None,
            headers: Vec::new(),
        }
    }

    /// Accept, picking `protocol` (it must be one the client offered, see
    /// [`HandshakeRequest::protocols`]).
    pub fn accept_protocol(protocol: &str) -> Self {
        Self::Accept {
            protocol: Some(protocol.to_owned()),
            headers: Vec::new(),
        }
    }

    /// Refuse with `status` and a plain-text `body`.
    pub fn reject(status: u16, body: &str) -> Self {
        Self::Reject {
            status,
            headers: Vec::new(),
            body: body.as_bytes().to_vec(),
        }
    }

    /// Adds a response header to either answer.
    #[must_use]
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        match &mut self {
            Self::Accept { headers, .. } | Self::Reject { headers, .. } => {
                headers.push((name.to_owned(), value.to_owned()));
            }
        }
        self
    }
}

impl<S: Read + Write + Transport> WebSocket<S> {
    /// Runs the server side of the opening handshake with the default
    /// [`Config`] and accepts every valid request.
    ///
    /// # Errors
    ///
    /// [`Error::Protocol`] with [`ProtocolError::Handshake`] for an invalid
    /// request (its error response, 400/403/426..., was written), or
    /// [`Error::Io`].
    pub fn accept(stream: S) -> Result<Self, Error> {
        Self::accept_with(stream, Config::default(), |_| Decision::accept())
    }

    /// Runs the server side of the opening handshake: reads the request,
    /// validates it (including the `Origin` policy of `config`), lets
    /// `decide` see it, and writes the answer.
    ///
    /// # Errors
    ///
    /// As [`accept`](Self::accept), and [`Error::Rejected`] when `decide`
    /// rejected (its response was written).
    pub fn accept_with(
        stream: S,
        config: Config,
        decide: impl FnOnce(&HandshakeRequest) -> Decision,
    ) -> Result<Self, Error> {
        Self::from_connection(stream, Connection::server(config)).server_handshake(decide)
    }

    /// Like [`accept_with`](Self::accept_with), for a request whose head was
    /// already read from `stream` by [`read_request_head`] (to route plain
    /// HTTP requests elsewhere).
    ///
    /// # Errors
    ///
    /// As [`accept_with`](Self::accept_with).
    pub fn accept_head(
        stream: S,
        head: &RequestHead,
        config: Config,
        decide: impl FnOnce(&HandshakeRequest) -> Decision,
    ) -> Result<Self, Error> {
        let mut conn = Connection::server(config);
        conn.receive(&head.bytes);
        Self::from_connection(stream, conn).server_handshake(decide)
    }

    fn server_handshake(
        mut self,
        decide: impl FnOnce(&HandshakeRequest) -> Decision,
    ) -> Result<Self, Error> {
        let mut eof = false;
        loop {
            match self.conn.next_event() {
                Ok(Some(Event::Handshake(request))) => {
                    let decision = decide(request);
                    return self.answer(decision);
                }
                Ok(_) => {}
                Err(error) => {
                    // The error response (400, 403, 426, 431, ...) is queued:
                    // write it, then close so that it reaches the client.
                    if self.flush().is_ok() {
                        lingering_close(self.stream);
                    }
                    return Err(error.into());
                }
            }
            self.handshake_fill(&mut eof)?;
        }
    }

    fn answer(mut self, decision: Decision) -> Result<Self, Error> {
        match decision {
            Decision::Accept { protocol, headers } => {
                let mut accept = Accept::new();
                if let Some(protocol) = &protocol {
                    accept = accept.protocol(protocol);
                }
                for (name, value) in &headers {
                    accept = accept.header(name, value);
                }
                self.conn.accept(accept)?;
                self.protocol = protocol;
                self.flush()?;
                Ok(self)
            }
            Decision::Reject {
                status,
                mut headers,
                body,
            } => {
                let has_type = headers
                    .iter()
                    .any(|(name, _)| name.eq_ignore_ascii_case("content-type"));
                if !body.is_empty() && !has_type {
                    headers.push(("Content-Type".into(), "text/plain; charset=utf-8".into()));
                }
                let headers: Vec<(&str, &str)> = headers
                    .iter()
                    .map(|(name, value)| (name.as_str(), value.as_str()))
                    .collect();
                self.conn.reject(status, &headers, &body)?;
                self.flush()?;
                lingering_close(self.stream);
                Err(Error::Rejected { status, body })
            }
        }
    }

    /// Runs the client side of the opening handshake for `request` with the
    /// default [`Config`], masking with keys from the OS ([`OsRandom`]).
    ///
    /// # Errors
    ///
    /// [`Error::Rejected`] with the status when the server answered other
    /// than `101`; [`Error::Protocol`] for an invalid answer; [`Error::Io`].
    pub fn connect(stream: S, request: &ClientRequest) -> Result<Self, Error> {
        Self::connect_with(stream, request, Config::default())
    }

    /// [`connect`](Self::connect) with a [`Config`].
    ///
    /// # Errors
    ///
    /// As [`connect`](Self::connect).
    pub fn connect_with(stream: S, request: &ClientRequest, config: Config) -> Result<Self, Error> {
        let conn = Connection::client(request, config, OsRandom::new())?;
        Self::from_connection(stream, conn).client_handshake()
    }

    /// [`connect`](Self::connect) to a `ws://` or `wss://` URL over a stream
    /// already connected to its host (a TLS stream for `wss://`).
    ///
    /// # Errors
    ///
    /// [`Error::Url`], or as [`connect`](Self::connect).
    pub fn connect_url(stream: S, url: &str) -> Result<Self, Error> {
        Self::connect(stream, &ClientRequest::from_url(url)?)
    }

    fn client_handshake(mut self) -> Result<Self, Error> {
        let mut eof = false;
        loop {
            self.flush()?;
            match self.conn.next_event() {
                Ok(Some(Event::Connected(response))) => {
                    let protocol = response.protocol().map(str::to_owned);
                    self.protocol = protocol;
                    return Ok(self);
                }
                Ok(_) => {}
                Err(ProtocolError::Handshake(HandshakeError::UnexpectedStatus { status })) => {
                    let body = self.conn.handshake_response().map(|r| r.body().to_vec());
                    return Err(Error::Rejected {
                        status,
                        body: body.unwrap_or_default(),
                    });
                }
                Err(error) => return Err(error.into()),
            }
            self.handshake_fill(&mut eof)?;
        }
    }

    /// Writes what is owed and reads once more; a second end of stream with
    /// no answer from the engine is an abnormal closure.
    fn handshake_fill(&mut self, eof: &mut bool) -> Result<(), Error> {
        if *eof || self.conn.is_closed() {
            let _ = self.flush();
            return Err(Error::Protocol(ProtocolError::AbnormalClosure));
        }
        self.flush()?;
        // Bounded by the open timeout: a stalled handshake ends in
        // Error::Timeout(Timeout::Opening).
        *eof = self.fill(HANDSHAKE_CHUNK, None)?;
        Ok(())
    }
}

/// Connects a `TcpStream` to a `ws://` URL and runs the client handshake.
///
/// # Errors
///
/// [`Error::TlsRequired`] for `wss://` (open the TLS stream yourself and
/// use [`WebSocket::connect_url`]), [`Error::Url`], or as
/// [`WebSocket::connect`].
pub fn connect(url: &str) -> Result<WebSocket<TcpStream>, Error> {
    connect_with_config(url, Config::default())
}

/// [`connect`] with a [`Config`] (timers, limits, compression). The TCP
/// connect and the handshake are each bounded by the config's open timeout.
///
/// # Errors
///
/// As [`connect`]; [`Error::Timeout`] when the open timeout passes.
pub fn connect_with_config(url: &str, config: Config) -> Result<WebSocket<TcpStream>, Error> {
    connect_request(url, &ClientRequest::from_url(url)?, config)
}

/// [`connect_with_config`] with a request of your own for the handshake
/// (subprotocols, `Origin`, headers: see [`ClientRequest`]), sent to the
/// host and port of `url`.
///
/// # Errors
///
/// As [`connect_with_config`].
pub fn connect_request(
    url: &str,
    request: &ClientRequest,
    config: Config,
) -> Result<WebSocket<TcpStream>, Error> {
    let parsed = WsUrl::parse(url)?;
    if parsed.secure {
        return Err(Error::TlsRequired);
    }
    let stream = connect_tcp(&parsed.host, parsed.port, config.open_timeout())?;
    stream.set_nodelay(true)?;
    WebSocket::connect_with(stream, request, config)
}

/// Tries each address of `host` in turn, each bounded by `timeout`.
fn connect_tcp(host: &str, port: u16, timeout: Option<Duration>) -> Result<TcpStream, Error> {
    let mut last = None;
    for addr in (host, port).to_socket_addrs()? {
        let attempt = match timeout {
            Some(timeout) => TcpStream::connect_timeout(&addr, timeout),
            None => TcpStream::connect(addr),
        };
        match attempt {
            Ok(stream) => return Ok(stream),
            Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                last = Some(Error::Timeout(crate::Timeout::Opening));
            }
            Err(e) => last = Some(Error::Io(e)),
        }
    }
    Err(last.unwrap_or_else(|| {
        Error::Io(io::Error::new(
            io::ErrorKind::NotFound,
            "the host name resolved to no address",
        ))
    }))
}

/// The head of an HTTP request read by [`read_request_head`], for a server
/// that answers plain HTTP requests itself and hands WebSocket upgrades to
/// [`WebSocket::accept_head`].
#[derive(Clone, Debug)]
pub struct RequestHead {
    /// Everything read from the stream, the head and anything after it.
    bytes: Vec<u8>,
    method: String,
    path: String,
    upgrade: bool,
}

impl RequestHead {
    /// The method, such as `GET`.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The request target: path and query.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The path without the query.
    pub fn path_only(&self) -> &str {
        self.path.split('?').next().unwrap_or_default()
    }

    /// Whether an `Upgrade` header lists `websocket`: a WebSocket opening
    /// handshake (valid or not) rather than a plain request.
    pub fn is_websocket(&self) -> bool {
        self.upgrade
    }
}

/// [`read_request_head`] within one deadline: the whole head must arrive
/// within `timeout` (typically [`Config::open_timeout`]), however slowly
/// it trickles in. A per-read timeout alone would let a client that sends a
/// byte every few seconds hold the connection for as long as it likes.
///
/// # Errors
///
/// As [`read_request_head`], and [`Error::Timeout`] with
/// [`Timeout::Opening`](crate::Timeout::Opening) when the deadline passes.
pub fn read_request_head_within<S: Read + Transport>(
    stream: &mut S,
    max_bytes: usize,
    timeout: Option<Duration>,
) -> Result<RequestHead, Error> {
    let Some(timeout) = timeout else {
        stream.set_read_timeout(None)?;
        return read_request_head(stream, max_bytes);
    };
    let deadline = std::time::Instant::now() + timeout;
    let mut timed = Deadline { stream, deadline };
    match read_request_head(&mut timed, max_bytes) {
        Err(Error::Io(e))
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) =>
        {
            Err(Error::Timeout(crate::Timeout::Opening))
        }
        result => result,
    }
}

/// A reader whose every read is bounded by what is left until `deadline`.
struct Deadline<'a, S> {
    stream: &'a mut S,
    deadline: std::time::Instant,
}

impl<S: Read + Transport> Read for Deadline<'_, S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self
            .deadline
            .saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        self.stream
            .set_read_timeout(Some(left.max(Duration::from_millis(1))))?;
        self.stream.read(buf)
    }
}

/// Reads an HTTP request head (up to the blank line) from `stream`, reading
/// at most `max_bytes`. Bytes read past the head are kept for
/// [`WebSocket::accept_head`]. See [`read_request_head_within`] for a
/// deadline on the whole head.
///
/// # Errors
///
/// [`Error::Protocol`] with [`HandshakeError::Malformed`] or
/// [`HandshakeError::TooLarge`], or [`Error::Io`] (`UnexpectedEof` when the
/// stream ends first).
pub fn read_request_head<S: Read>(stream: &mut S, max_bytes: usize) -> Result<RequestHead, Error> {
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 2048];
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut request = httparse::Request::new(&mut headers);
        match request.parse(&bytes) {
            Ok(httparse::Status::Complete(_)) => {
                let upgrade = request.headers.iter().any(|h| {
                    h.name.eq_ignore_ascii_case("upgrade")
                        && h.value
                            .split(|&b| b == b',')
                            .any(|token| token.trim_ascii().eq_ignore_ascii_case(b"websocket"))
                });
                return Ok(RequestHead {
                    method: request.method.unwrap_or_default().to_owned(),
                    path: request.path.unwrap_or_default().to_owned(),
                    upgrade,
                    bytes,
                });
            }
            Ok(httparse::Status::Partial) if bytes.len() < max_bytes => {}
            Ok(httparse::Status::Partial) | Err(httparse::Error::TooManyHeaders) => {
                return Err(Error::Protocol(ProtocolError::Handshake(
                    HandshakeError::TooLarge,
                )));
            }
            Err(_) => {
                return Err(Error::Protocol(ProtocolError::Handshake(
                    HandshakeError::Malformed,
                )));
            }
        }
        let want = chunk.len().min(max_bytes - bytes.len());
        match stream.read(&mut chunk[..want]) {
            Ok(0) => return Err(Error::Io(io::ErrorKind::UnexpectedEof.into())),
            Ok(n) => bytes.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::Io(e)),
        }
    }
}

/// Writes a complete HTTP/1.1 response with `Connection: close`, for the
/// plain requests a server answers itself (a page, a 404).
///
/// # Errors
///
/// The stream's write error.
pub fn respond<S: Write>(
    stream: &mut S,
    status: u16,
    content_type: &str,
    body: &[u8],
) -> io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        426 => "Upgrade Required",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        _ => "",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    stream.flush()
}

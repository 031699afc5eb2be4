//! The echo server on tokio: one task per connection, on a multi-thread
//! runtime. Same command line, page and behaviour as `echo_server`.
//!
//! ```text
//! cargo run --example tokio_echo_server --features tokio -- [ADDR] [--any-origin]
//!     [--ping-interval S] [--ping-timeout S] [--open-timeout S]
//! cargo run --example tokio_echo_server --features tokio,rustls -- [ADDR]
//!     --tls-cert CERT.pem --tls-key KEY.pem
//! ```
//!
//! `ADDR` defaults to `127.0.0.1:8080` (`127.0.0.1:0` picks a free port); the
//! first line on stdout is `listening on http://ADDR`. A plain `GET /`
//! serves a page with a JavaScript client; a WebSocket handshake on any path
//! is accepted and every text and binary message is echoed back, straight
//! from the input buffer (`read_with_reply`: a message of 16 KiB or more
//! goes to the socket as header + payload in one vectored write, without
//! being copied into the output buffer). Other plain requests get the
//! engine's HTTP error. Connects and closes are logged on stderr.
//!
//! Browsers from other sites are refused (403) unless `--any-origin`.
//! Liveness as in `echo_server`: ping after `--ping-interval` seconds of
//! silence (20), drop the peer `--ping-timeout` seconds later (20), a
//! handshake within `--open-timeout` seconds (10); 0 turns a timer off.
//! With `--tls-cert` and `--tls-key` (feature `rustls`), as `echo_server`:
//! every connection is TLS, the page is served over https:// and opens its
//! WebSocket with wss://, the startup line says `https://`, a plain
//! `http://`/`ws://` request is answered `400`, and the TLS handshake is
//! bounded by `--open-timeout` too.
//! `TOKIO_WORKER_THREADS` sets the runtime's thread count (default: one per
//! core).
use std::io::Write;
use std::net::SocketAddr;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use wsmachine::tokio::{self as ws, Decision, Error, WebSocket};
use wsmachine::{Config, Event};

mod common;

const PAGE: &str = include_str!("echo_page.html");
const USAGE: &str = "usage: tokio_echo_server [ADDR] [--any-origin] [--ping-interval S] \
[--ping-timeout S] [--open-timeout S] [--tls-cert CERT.pem --tls-key KEY.pem]   \
(ADDR defaults to 127.0.0.1:8080; --help explains)";

const COMPRESSION: &str = if cfg!(feature = "deflate") {
    " (permessage-deflate on)"
} else {
    ""
};

fn main() {
    let (addr, config, tls) = parse_args().unwrap_or_else(|message| {
        eprintln!("tokio_echo_server: {message}\n{USAGE}");
        std::process::exit(2);
    });
    let tls = tls.config().unwrap_or_else(|message| {
        eprintln!("tokio_echo_server: {message}");
        std::process::exit(2);
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| {
            eprintln!("tokio_echo_server: cannot start the runtime: {e}");
            std::process::exit(1);
        });
    runtime.block_on(run(addr, config, tls));
}

async fn run(addr: SocketAddr, config: Config, tls: Option<common::TlsConfig>) {
    let listener = TcpListener::bind(addr).await.unwrap_or_else(|e| {
        eprintln!("tokio_echo_server: cannot listen on {addr}: {e}");
        std::process::exit(1);
    });
    let local = listener
        .local_addr()
        .expect("a bound listener has an address");
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!("listening on {scheme}://{local}{COMPRESSION}");
    std::io::stdout().flush().ok();
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                tokio::spawn(serve_tcp(stream, peer, config.clone(), tls.clone()));
            }
            Err(e) => eprintln!("accept failed: {e}"),
        }
    }
}

fn parse_args() -> Result<(SocketAddr, Config, common::TlsFiles), String> {
    common::server_args(USAGE, Config::default(), |_, _| false)
}

/// Plain, or TLS first (within the open timeout) when the server has a
/// certificate; then the same HTTP and WebSocket handling over either.
async fn serve_tcp(
    stream: TcpStream,
    peer: SocketAddr,
    config: Config,
    tls: Option<common::TlsConfig>,
) {
    stream.set_nodelay(true).ok();
    match tls {
        None => serve(stream, peer, config).await,
        Some(tls) => match tls_accept(stream, tls, config.open_timeout()).await {
            Ok(stream) => serve(stream, peer, config).await,
            Err(e) => eprintln!("{peer}: TLS handshake failed: {e}"),
        },
    }
}

#[cfg(feature = "rustls")]
async fn tls_accept(
    stream: TcpStream,
    config: common::TlsConfig,
    timeout: Option<std::time::Duration>,
) -> Result<ws::TlsStream<TcpStream>, Error> {
    ws::tls_accept_within(stream, config, timeout).await
}

#[cfg(not(feature = "rustls"))]
async fn tls_accept(
    _: TcpStream,
    config: common::TlsConfig,
    _: Option<std::time::Duration>,
) -> Result<TcpStream, Error> {
    match config {}
}

async fn serve<S>(mut stream: S, peer: SocketAddr, config: Config)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    // A client that never finishes its request does not hold a task forever.
    let head = ws::read_request_head(&mut stream, config.max_handshake_bytes());
    let head = match config.open_timeout() {
        Some(limit) => match tokio::time::timeout(limit, head).await {
            Ok(head) => head,
            Err(_) => return eprintln!("{peer}: no request within the open timeout"),
        },
        None => head.await,
    };
    let head = match head {
        Ok(head) => head,
        Err(Error::Protocol(e)) => {
            let status = e.http_status().unwrap_or(400);
            eprintln!("{peer}: bad request, answered {status}: {e}");
            let body = e.to_string();
            if ws::respond(&mut stream, status, "text/plain", body.as_bytes())
                .await
                .is_ok()
            {
                linger(stream).await;
            }
            return;
        }
        Err(e) => return eprintln!("{peer}: no request: {e}"),
    };
    if !head.is_websocket() && head.method() == "GET" && head.path_only() == "/" {
        match ws::respond(
            &mut stream,
            200,
            "text/html; charset=utf-8",
            PAGE.as_bytes(),
        )
        .await
        {
            Ok(()) => linger(stream).await,
            Err(e) => eprintln!("{peer}: writing the page failed: {e}"),
        }
        return;
    }
    let socket = match WebSocket::accept_head(stream, &head, config, |_| Decision::accept()).await {
        Ok(socket) => socket,
        Err(e) => return eprintln!("{peer}: handshake for {} failed: {e}", head.path()),
    };
    eprintln!("{peer}: connected on {}", head.path());
    match echo(socket).await {
        Ok(Some((code, reason))) => eprintln!("{peer}: closed with {code} {reason:?}"),
        Ok(None) => eprintln!("{peer}: closed"),
        Err(e) => eprintln!("{peer}: ended: {e}"),
    }
    // Dropping the stream closes TCP: the server closes first (RFC 6455 7.1.1).
}

/// Echoes until the close handshake completes; returns the peer's close code.
async fn echo<S>(mut socket: WebSocket<S>) -> Result<Option<(u16, String)>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut close = None;
    loop {
        let sent = socket
            .read_with_reply(|event, reply| match event {
                // Zero copy: the message is sent straight from the input
                // buffer (a large one without even the output buffer).
                Event::Message(message) => reply.send(message),
                Event::Close(frame) => {
                    close = Some((frame.code.0, frame.reason.to_owned()));
                    Ok(())
                }
                _ => Ok(()),
            })
            .await;
        match sent {
            Ok(result) => {
                result?;
                // The echo goes out before the next read waits.
                socket.flush().await?;
            }
            Err(Error::Closed) => return Ok(close),
            Err(e) => return Err(e),
        }
    }
}

/// After a plain response: half close, then drain briefly, so that the
/// client reads the response rather than a reset.
async fn linger<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    if stream.shutdown().await.is_err() {
        return;
    }
    let mut scratch = [0u8; 4096];
    let drain = async {
        let mut total = 0usize;
        while total < 4 << 20 {
            match stream.read(&mut scratch).await {
                Ok(n) if n > 0 => total += n,
                _ => return,
            }
        }
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), drain).await;
}

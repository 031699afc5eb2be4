//! A WebSocket echo server, one thread per connection.
//!
//! ```text
//! cargo run --example echo_server -- [ADDR] [--any-origin]
//!     [--ping-interval S] [--ping-timeout S] [--open-timeout S] [--stream]
//! cargo run --features rustls --example echo_server -- [ADDR] --tls-cert CERT.pem --tls-key KEY.pem
//! ```
//!
//! `ADDR` defaults to `127.0.0.1:8080` (`127.0.0.1:0` picks a free port); the
//! first line on stdout is `listening on http://ADDR`. A plain `GET /`
//! serves a page with a JavaScript client; a WebSocket handshake on any path
//! (`/echo` from the page, `/` from the Autobahn fuzzingclient) is accepted
//! and every text and binary message is echoed back. Other plain requests get
//! the engine's HTTP error. Connects and closes are logged on stderr.
//!
//! Browsers from other sites are refused (403) by the default
//! `OriginPolicy::SameHost`; `--any-origin` lets every origin in. The default
//! limits (16 MiB frames, 64 MiB messages) are enough for Autobahn 9.*.
//!
//! Liveness (the `blocking` adapter's defaults, Python websockets' values):
//! a connection with nothing received for `--ping-interval` seconds (20) is
//! pinged, and dropped with 1011 if nothing arrives `--ping-timeout` seconds
//! (20) later; a handshake must complete within `--open-timeout` seconds
//! (10). 0 turns a timer off. A request refused with an HTTP error (a 431
//! for a header flood) is answered, then closed with a lingering close so
//! the client reads the answer rather than a reset.
//!
//! With `--tls-cert` and `--tls-key` (PEM files: the certificate chain, leaf
//! first, and its private key; feature `rustls`) every connection is TLS:
//! the page is served over https:// (and opens its WebSocket with wss://,
//! from `location.protocol`), the startup line says `https://`, and a plain
//! `http://`/`ws://` request is answered `400` saying the port speaks TLS.
//! The TLS handshake is bounded by `--open-timeout` too.
//!
//! `--stream` echoes every message chunk by chunk as it arrives (streaming
//! mode): each chunk goes back out as a frame before the next read, so a
//! connection holds about one read (64 KiB) whatever the message size, and
//! frames up to 1 TiB with no message size limit are accepted.
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;

use wsmachine::blocking::{self, Decision, Error, Transport, WebSocket};
use wsmachine::{Config, Event};

mod common;

const PAGE: &str = include_str!("echo_page.html");
const USAGE: &str = "usage: echo_server [ADDR] [--any-origin] [--ping-interval S] [--ping-timeout S] \
[--open-timeout S] [--stream] [--tls-cert CERT.pem --tls-key KEY.pem]   (ADDR defaults to 127.0.0.1:8080; --help explains)";

/// `--stream`: streaming mode, memory bounded by the read size, so any message size.
fn stream_config(config: Config) -> Config {
    config
        .with_streaming(true)
        .without_message_size_limit()
        .with_max_frame_size(1 << 40)
        .expect("1 TiB is the largest frame limit")
}

/// Said on the startup line: built with `--features deflate`, the default
/// `Config` negotiates permessage-deflate.
const COMPRESSION: &str = if cfg!(feature = "deflate") {
    " (permessage-deflate on)"
} else {
    ""
};

fn main() {
    let (addr, config, tls) = parse_args().unwrap_or_else(|message| {
        eprintln!("echo_server: {message}\n{USAGE}");
        std::process::exit(2);
    });
    let tls = tls.config().unwrap_or_else(|message| {
        eprintln!("echo_server: {message}");
        std::process::exit(2);
    });
    let listener = TcpListener::bind(addr).unwrap_or_else(|e| {
        eprintln!("echo_server: cannot listen on {addr}: {e}");
        std::process::exit(1);
    });
    let local = listener
        .local_addr()
        .expect("a bound listener has an address");
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!("listening on {scheme}://{local}{COMPRESSION}");
    std::io::stdout().flush().ok();
    for stream in listener.incoming() {
        match stream {
            Ok(stream) => {
                let (config, tls) = (config.clone(), tls.clone());
                thread::spawn(move || serve_tcp(stream, config, tls));
            }
            Err(e) => eprintln!("accept failed: {e}"),
        }
    }
}

fn parse_args() -> Result<(SocketAddr, Config, common::TlsFiles), String> {
    common::server_args(USAGE, Config::default(), |flag, config| {
        let stream = flag == "--stream";
        if stream {
            *config = stream_config(config.clone());
        }
        stream
    })
}

/// Runs the TLS handshake when configured, then [`serve`].
fn serve_tcp(stream: TcpStream, config: Config, tls: Option<common::TlsConfig>) {
    let peer = stream
        .peer_addr()
        .map_or_else(|_| "?".into(), |a| a.to_string());
    stream.set_nodelay(true).ok();
    match tls {
        None => serve(stream, &peer, config),
        Some(tls) => match common::tls_accept(stream, tls, config.open_timeout()) {
            Ok(stream) => serve(stream, &peer, config),
            Err(e) => eprintln!("{peer}: TLS handshake failed: {e}"),
        },
    }
}

/// Serves one connection over `stream`, plain or TLS.
fn serve<S: Read + Write + Transport>(mut stream: S, peer: &str, config: Config) {
    // A client that never finishes its request does not hold a thread forever.
    let limit = config.max_handshake_bytes();
    let head = match blocking::read_request_head_within(&mut stream, limit, config.open_timeout()) {
        Ok(head) => head,
        Err(Error::Protocol(e)) => {
            // Too large (431) or malformed (400): say so, and make sure the
            // client can read it.
            let status = e.http_status().unwrap_or(400);
            eprintln!("{peer}: bad request, answered {status}: {e}");
            if blocking::respond(&mut stream, status, "text/plain", e.to_string().as_bytes())
                .is_ok()
            {
                blocking::lingering_close(stream);
            }
            return;
        }
        Err(e) => return eprintln!("{peer}: no request: {e}"),
    };
    if !head.is_websocket() && head.method() == "GET" && head.path_only() == "/" {
        match blocking::respond(
            &mut stream,
            200,
            "text/html; charset=utf-8",
            PAGE.as_bytes(),
        ) {
            Ok(()) => blocking::lingering_close(stream),
            Err(e) => eprintln!("{peer}: writing the page failed: {e}"),
        }
        return;
    }
    let ws = match WebSocket::accept_head(stream, &head, config, |_| Decision::accept()) {
        Ok(ws) => ws,
        Err(e) => return eprintln!("{peer}: handshake for {} failed: {e}", head.path()),
    };
    eprintln!("{peer}: connected on {}", head.path());
    match echo(ws) {
        Ok(Some((code, reason))) => eprintln!("{peer}: closed with {code} {reason:?}"),
        Ok(None) => eprintln!("{peer}: closed"),
        Err(e) => eprintln!("{peer}: ended: {e}"),
    }
    // Dropping the stream here closes TCP: the server closes first (RFC 6455 7.1.1).
}

/// Echoes until the close handshake completes; returns the peer's close code.
fn echo<S: Read + Write + Transport>(mut ws: WebSocket<S>) -> Result<Option<(u16, String)>, Error> {
    // Idle WebSockets stay open as long as they answer keepalive pings.
    let mut close = None;
    loop {
        let sent = ws.read_with_reply(|event, reply| match event {
            // Zero copy: the message is sent straight from the input buffer
            // (16 KiB and up with one vectored write to the socket).
            Event::Message(message) => reply.send(message),
            // --stream: each chunk goes out as a frame, also from the input buffer.
            Event::Chunk(chunk) => Ok(reply.sender().send_chunk(chunk)?),
            Event::Close(frame) => {
                close = Some((frame.code.0, frame.reason.to_owned()));
                Ok(())
            }
            _ => Ok(()),
        });
        match sent {
            Ok(result) => result?,
            Err(Error::Closed) => return Ok(close),
            Err(e) => return Err(e),
        }
    }
}

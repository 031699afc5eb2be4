//! A WebSocket echo server, one thread per connection.
//!
//! ```text
//! cargo run --example echo_server -- [ADDR] [--any-origin]
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
//! With `--tls-cert` and `--tls-key` (PEM files: the certificate chain, leaf
//! first, and its private key; feature `rustls`) every connection is TLS:
//! the page is served over https:// (and opens its WebSocket with wss://,
//! from `location.protocol`), the startup line says `https://`, and a plain
//! `http://`/`ws://` request is answered `400` saying the port speaks TLS.
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::thread;
use std::time::Duration;

use wsmachine::blocking::{self, Decision, Error, SetTimeouts, WebSocket};
use wsmachine::{Config, Event, OriginPolicy};

const PAGE: &str = include_str!("echo_page.html");
const USAGE: &str = "usage: echo_server [ADDR] [--any-origin] [--tls-cert CERT.pem --tls-key KEY.pem]   (ADDR defaults to 127.0.0.1:8080)";

/// Said on the startup line: built with `--features deflate`, the default
/// `Config` negotiates permessage-deflate.
const COMPRESSION: &str = if cfg!(feature = "deflate") {
    " (permessage-deflate on)"
} else {
    ""
};

fn main() {
    let (addr, any_origin, tls) = parse_args().unwrap_or_else(|message| {
        eprintln!("echo_server: {message}\n{USAGE}");
        std::process::exit(2);
    });
    let tls = tls::server_config(tls).unwrap_or_else(|message| {
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
    let policy = if any_origin {
        OriginPolicy::Any
    } else {
        OriginPolicy::SameHost
    };
    for stream in listener.incoming() {
        match stream {
            Ok(stream) => {
                let config = Config::default().with_origin_policy(policy.clone());
                let tls = tls.clone();
                thread::spawn(move || serve_tcp(stream, config, tls));
            }
            Err(e) => eprintln!("accept failed: {e}"),
        }
    }
}

fn parse_args() -> Result<(SocketAddr, bool, tls::Files), String> {
    let mut addr = None;
    let mut any_origin = false;
    let mut tls = tls::Files::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--any-origin" => any_origin = true,
            "--tls-cert" => tls.cert = Some(args.next().ok_or("--tls-cert needs a file")?),
            "--tls-key" => tls.key = Some(args.next().ok_or("--tls-key needs a file")?),
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag}")),
            _ if addr.is_some() => return Err(format!("unexpected argument {arg}")),
            _ => {
                let resolved = arg.to_socket_addrs().ok().and_then(|mut a| a.next());
                addr = Some(resolved.ok_or_else(|| format!("bad address {arg}"))?);
            }
        }
    }
    Ok((
        addr.unwrap_or_else(|| ([127, 0, 0, 1], 8080).into()),
        any_origin,
        tls,
    ))
}

fn serve_tcp(stream: TcpStream, config: Config, tls: Option<tls::ServerConfig>) {
    let peer = stream
        .peer_addr()
        .map_or_else(|_| "?".into(), |a| a.to_string());
    stream.set_nodelay(true).ok();
    // A client that never finishes its TLS handshake or its request does
    // not hold a thread forever.
    stream.set_read_timeout(Some(Duration::from_secs(30))).ok();
    let Ok(socket) = stream.try_clone() else {
        return eprintln!("{peer}: cannot clone the socket handle");
    };
    match tls {
        None => serve(stream, &socket, &peer, config),
        Some(tls) => match tls::accept(stream, tls) {
            Ok(stream) => serve(stream, &socket, &peer, config),
            Err(e) => eprintln!("{peer}: TLS handshake failed: {e}"),
        },
    }
}

/// Serves one connection over `stream` (plain or TLS); `socket` is the same
/// TCP socket, for its timeouts.
fn serve<S: Read + Write + SetTimeouts>(
    mut stream: S,
    socket: &TcpStream,
    peer: &str,
    config: Config,
) {
    let head = match blocking::read_request_head(&mut stream, 16 * 1024) {
        Ok(head) => head,
        Err(e) => return eprintln!("{peer}: bad request: {e}"),
    };
    if !head.is_websocket() && head.method() == "GET" && head.path_only() == "/" {
        if let Err(e) = blocking::respond(
            &mut stream,
            200,
            "text/html; charset=utf-8",
            PAGE.as_bytes(),
        ) {
            eprintln!("{peer}: writing the page failed: {e}");
        }
        return;
    }
    let ws = match WebSocket::accept_head(stream, &head, config, |_| Decision::accept()) {
        Ok(ws) => ws,
        Err(e) => return eprintln!("{peer}: handshake for {} failed: {e}", head.path()),
    };
    eprintln!("{peer}: connected on {}", head.path());
    // Idle WebSockets may stay open as long as they like.
    if let Err(e) = socket.set_read_timeout(None) {
        return eprintln!("{peer}: {e}");
    }
    match echo(ws) {
        Ok(Some((code, reason))) => eprintln!("{peer}: closed with {code} {reason:?}"),
        Ok(None) => eprintln!("{peer}: closed"),
        Err(e) => eprintln!("{peer}: ended: {e}"),
    }
    // Dropping the stream here closes TCP: the server closes first (RFC 6455 7.1.1).
}

/// Echoes until the close handshake completes; returns the peer's close code.
fn echo<S: Read + Write + SetTimeouts>(
    mut ws: WebSocket<S>,
) -> Result<Option<(u16, String)>, Error> {
    let mut close = None;
    loop {
        let sent = ws.read_with(|event, sender| match event {
            // Zero copy: the message is sent straight from the input buffer.
            Event::Message(message) => sender.send(message),
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

/// TLS for the server (`--tls-cert`, `--tls-key`): with the `rustls`
/// feature, a rustls config from the PEM files; without it, the flags are
/// refused with a hint.
mod tls {
    use std::net::TcpStream;

    /// The PEM files named on the command line.
    #[derive(Default)]
    pub struct Files {
        pub cert: Option<String>,
        pub key: Option<String>,
    }

    #[cfg(feature = "rustls")]
    pub type ServerConfig = std::sync::Arc<wsmachine::tls::rustls::ServerConfig>;
    /// Without the feature there is no config (and `server_config` refuses
    /// the flags).
    #[cfg(not(feature = "rustls"))]
    #[derive(Clone)]
    pub enum ServerConfig {}

    /// `None` for plain HTTP, or the config built from both files.
    pub fn server_config(files: Files) -> Result<Option<ServerConfig>, String> {
        match (files.cert, files.key) {
            (None, None) => Ok(None),
            (Some(_), None) | (None, Some(_)) => Err("--tls-cert and --tls-key go together".into()),
            #[cfg(feature = "rustls")]
            (Some(cert), Some(key)) => {
                wsmachine::tls::server_config_from_pem_files(cert.as_ref(), key.as_ref())
                    .map(Some)
                    .map_err(|e| format!("TLS: {e}"))
            }
            #[cfg(not(feature = "rustls"))]
            (Some(_), Some(_)) => {
                Err("--tls-cert needs the rustls feature: cargo run --features rustls ...".into())
            }
        }
    }

    #[cfg(feature = "rustls")]
    pub fn accept(
        stream: TcpStream,
        config: ServerConfig,
    ) -> Result<wsmachine::blocking::TlsStream<TcpStream>, wsmachine::blocking::Error> {
        wsmachine::blocking::tls_accept(stream, config)
    }

    #[cfg(not(feature = "rustls"))]
    pub fn accept(_: TcpStream, config: ServerConfig) -> Result<TcpStream, String> {
        match config {}
    }
}

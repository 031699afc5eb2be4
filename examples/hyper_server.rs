//! A WebSocket echo server on hyper 1: hyper parses HTTP and sends the 101,
//! wsmachine checks the request and runs the WebSocket on the upgraded I/O.
//!
//! ```text
//! cargo run --example hyper_server --features tokio -- [ADDR] [--any-origin]
//! ```
//!
//! `ADDR` defaults to `127.0.0.1:8080`; the first line on stdout is
//! `listening on http://ADDR`. `GET /` serves the echo page; a WebSocket
//! handshake on any path is checked with `wsmachine::handshake::validate_request`
//! (an invalid one gets its status: 400, 403, 426 with
//! `Sec-WebSocket-Version: 13`), answered `101` through hyper, and echoed.
//!
//! The bytes hyper read past the request (a client may send its first
//! frames right behind the handshake) come back in `Parts::read_buf`;
//! `WebSocket::from_upgraded` decodes them before anything read later.
//! permessage-deflate is not negotiated here (the 101 carries no
//! extensions); keepalive and the other timers run as in `echo_server`.
use std::convert::Infallible;
use std::io::Write;
use std::net::SocketAddr;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONNECTION, CONTENT_TYPE, HeaderValue, SEC_WEBSOCKET_ACCEPT, UPGRADE};
use hyper::{Request, Response, StatusCode, Version};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use wsmachine::handshake::validate_request;
use wsmachine::tokio::{Error, WebSocket};
use wsmachine::{Config, Connection, Event, OriginPolicy};

mod common;

const PAGE: &str = include_str!("echo_page.html");

fn main() {
    let (addr, config) = parse_args().unwrap_or_else(|message| {
        eprintln!("hyper_server: {message}\nusage: hyper_server [ADDR] [--any-origin]");
        std::process::exit(2);
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(run(addr, config));
}

fn parse_args() -> Result<(SocketAddr, Config), String> {
    let mut addr = None;
    let mut config = Config::default();
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--any-origin" => config = config.with_origin_policy(OriginPolicy::Any),
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag}")),
            _ if addr.is_some() => return Err(format!("unexpected argument {arg}")),
            _ => addr = Some(common::socket_addr(&arg)?),
        }
    }
    Ok((addr.unwrap_or_else(common::default_addr), config))
}

async fn run(addr: SocketAddr, config: Config) {
    let listener = TcpListener::bind(addr).await.unwrap_or_else(|e| {
        eprintln!("hyper_server: cannot listen on {addr}: {e}");
        std::process::exit(1);
    });
    let local = listener.local_addr().expect("a bound address");
    println!("listening on http://{local}");
    std::io::stdout().flush().ok();
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        stream.set_nodelay(true).ok();
        let config = config.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| handle(req, config.clone()));
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            if let Err(e) = connection.await {
                eprintln!("{peer}: {e}");
            }
        });
    }
}

async fn handle(
    request: Request<Incoming>,
    config: Config,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let is_upgrade = request.headers().contains_key(UPGRADE);
    if !is_upgrade && request.uri().path() == "/" {
        let mut page = Response::new(Full::new(Bytes::from_static(PAGE.as_bytes())));
        page.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        return Ok(page);
    }
    let headers: Vec<(&str, &[u8])> = request
        .headers()
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_bytes()))
        .collect();
    let version = match request.version() {
        Version::HTTP_09 => (0, 9),
        Version::HTTP_10 => (1, 0),
        Version::HTTP_11 => (1, 1),
        _ => (2, 0),
    };
    let valid = match validate_request(
        request.method().as_str(),
        version,
        &headers,
        config.origin_policy(),
    ) {
        Ok(valid) => valid,
        Err(e) => {
            let mut refusal = Response::new(Full::new(Bytes::from(e.to_string())));
            *refusal.status_mut() =
                StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
            if e.http_status() == 426 {
                // RFC 6455 section 4.4: name the versions we speak.
                refusal
                    .headers_mut()
                    .insert("Sec-WebSocket-Version", HeaderValue::from_static("13"));
            }
            return Ok(refusal);
        }
    };
    let accept = HeaderValue::from_str(&valid.accept_key()).expect("base64 is a valid header");
    let path = request.uri().path().to_owned();
    tokio::spawn(async move {
        let upgraded = match hyper::upgrade::on(request).await {
            Ok(upgraded) => upgraded,
            Err(e) => return eprintln!("upgrade failed: {e}"),
        };
        let conn = Connection::open_server(config);
        // The TCP stream itself when hyper hands it back, with the bytes it
        // read ahead; otherwise hyper's own upgraded I/O (which replays them).
        let result = match upgraded.downcast::<TokioIo<TcpStream>>() {
            Ok(parts) => {
                eprintln!("{path}: open, {} bytes read ahead", parts.read_buf.len());
                echo(WebSocket::from_upgraded(
                    parts.io.into_inner(),
                    conn,
                    &parts.read_buf,
                ))
                .await
            }
            Err(upgraded) => {
                eprintln!("{path}: open (hyper's upgraded I/O)");
                echo(WebSocket::from_connection(TokioIo::new(upgraded), conn)).await
            }
        };
        match result {
            Ok(()) => eprintln!("{path}: closed"),
            Err(e) => eprintln!("{path}: ended: {e}"),
        }
    });
    let mut switching = Response::new(Full::new(Bytes::new()));
    *switching.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = switching.headers_mut();
    headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert(SEC_WEBSOCKET_ACCEPT, accept);
    Ok(switching)
}

/// Echoes every message straight from the input buffer until the close.
async fn echo<S: AsyncRead + AsyncWrite + Unpin>(mut ws: WebSocket<S>) -> Result<(), Error> {
    loop {
        match ws
            .read_with(|event, sender| match event {
                Event::Message(message) => sender.send(message),
                _ => Ok(()),
            })
            .await
        {
            Ok(sent) => {
                sent?;
                ws.flush().await?;
            }
            Err(Error::Closed) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}

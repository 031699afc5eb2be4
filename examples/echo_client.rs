//! Sends each line of stdin as a text message to a WebSocket echo server and
//! prints each reply.
//!
//! ```text
//! cargo run --example echo_client -- [OPTIONS] [ws://127.0.0.1:8080/echo]
//! ```
//!
//! Options (`--help` lists them): `--origin URL` sends an `Origin` header
//! (servers such as Go's `golang.org/x/net/websocket` refuse a handshake
//! without one), `--protocol NAME` offers a subprotocol (repeatable, most
//! preferred first), `--header "Name: value"` sends one more header
//! (repeatable). Once connected, one line on stderr names the subprotocol the
//! server chose and the extensions it accepted.
//!
//! Every line waits for its reply before the next is sent. At the end of
//! input the client closes with 1000 and waits for the server's close.
//!
//! It never hangs: `--open-timeout S` (default 10) bounds the TCP connect
//! and the handshake, `--close-timeout S` (default 10) the wait for the
//! server's close; a server that sends nothing at all while we wait for a
//! reply is pinged after 20 s and given up 20 s later. Each ends the client
//! with a message and a non-zero status.
//!
//! `--file PATH` sends the file as ONE binary message instead, through the
//! blocking adapter's message writer (`std::io::copy` into it: 64 KiB
//! frames as the file is read, whatever its size), and checks that the
//! echo is the file byte for byte. The echo is read as it comes back, on a
//! second thread, chunk by chunk (streaming mode), so neither side holds
//! the message whole: `echo_server --stream` echoes a file of any size.
use std::io::{BufRead, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

mod common;

use wsmachine::blocking::{self, Error, OwnedMessage, Transport, WebSocket};
use wsmachine::handshake::{ClientRequest, WsUrl, format_extensions};
use wsmachine::{CloseCode, Config, Connection, MessageKind, ProtocolError, Role, Timeout};

const USAGE: &str = "\
usage: echo_client [OPTIONS] [ws://HOST:PORT/PATH]   (default ws://127.0.0.1:8080/echo)

Sends each line of stdin as a text message and prints each reply.

options:
  --origin URL            send `Origin: URL` (a server checking Origin, such as
                          Go's x/net/websocket, refuses a handshake without it)
  --protocol NAME         offer subprotocol NAME; repeatable, most preferred
                          first; the one the server chose is printed on stderr
  --header \"Name: value\"  send one more request header; repeatable
  --open-timeout S        give up if the connection is not open within S seconds
                          (default 10; 0: wait forever)
  --close-timeout S       give up if the server does not answer our close within
                          S seconds (default 10; 0: wait forever)
  --file PATH             send the file as one binary message (message writer)
                          and check the echo byte for byte
  -h, --help              print this help";

/// Said after a bad command line.
const SHORT_USAGE: &str =
    "usage: echo_client [OPTIONS] [ws://HOST:PORT/PATH]   (--help lists the options)";

/// Headers the handshake itself writes: a second copy would make the request
/// ambiguous, so they are refused (Origin and the subprotocol have their own
/// options).
const HANDSHAKE_HEADERS: [&str; 9] = [
    "host",
    "upgrade",
    "connection",
    "origin",
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-protocol",
    "sec-websocket-extensions",
    "sec-websocket-accept",
];

/// What the command line asked for.
#[derive(Default)]
struct Options {
    url: Option<String>,
    origin: Option<String>,
    protocols: Vec<String>,
    headers: Vec<(String, String)>,
    config: Config,
    file: Option<PathBuf>,
}

fn main() -> ExitCode {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("echo_client: {message}\n{SHORT_USAGE}");
            return ExitCode::from(2);
        }
    };
    let url = options
        .url
        .clone()
        .unwrap_or_else(|| "ws://127.0.0.1:8080/echo".into());
    let (target, request) = match build_request(&url, &options) {
        Ok(parts) => parts,
        Err(message) => {
            eprintln!("echo_client: {message}\n{SHORT_USAGE}");
            return ExitCode::from(2);
        }
    };
    // --file: without compression, since the echo is read by a second engine
    // state (see `send_file`) that took no part in the handshake.
    let config = match options.file {
        Some(_) => uncompressed(options.config.clone()),
        None => options.config.clone(),
    };
    let mut ws = match connect(&target, &request, config) {
        Ok(ws) => ws,
        Err(Error::Rejected { status, body }) => {
            let body = String::from_utf8_lossy(&body);
            let body = body.trim();
            let said = if body.is_empty() {
                String::new()
            } else {
                format!(": {body}")
            };
            eprintln!(
                "echo_client: {url} refused the WebSocket handshake with HTTP {status}{said}"
            );
            if status == 403 && options.origin.is_none() {
                eprintln!(
                    "echo_client: a 403 usually means the server checks the Origin header; \
                     send one with --origin URL"
                );
            }
            return ExitCode::FAILURE;
        }
        Err(Error::Timeout(Timeout::Opening)) => {
            let after = options
                .config
                .open_timeout()
                .map_or_else(String::new, |t| format!(" within {} s", t.as_secs_f64()));
            eprintln!(
                "echo_client: {url} did not complete the WebSocket handshake{after} \
                 (--open-timeout)"
            );
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!("echo_client: cannot connect to {url}: {e}");
            return ExitCode::FAILURE;
        }
    };
    report_connected(&url, &ws, &options.protocols);
    if let Some(path) = &options.file {
        return match send_file(ws, path) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("echo_client: {e}");
                ExitCode::FAILURE
            }
        };
    }
    match run(&mut ws) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Error::Timeout(Timeout::Closing)) => {
            eprintln!(
                "echo_client: the server did not answer our close frame in time \
                 (--close-timeout); closing anyway"
            );
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("echo_client: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `Ok(None)` for `--help`. One arm per option; an option's value is the
/// next argument.
fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Option<Options>, String> {
    let mut options = Options::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--open-timeout" | "--close-timeout" => {
                options.config = common::timer_flag(&options.config, &arg, || args.next())?
                    .expect("a timer flag");
            }
            "--origin" => options.origin = Some(value_of(&arg, args.next())?),
            "--file" => options.file = Some(value_of(&arg, args.next())?.into()),
            "--protocol" => options.protocols.push(value_of(&arg, args.next())?),
            "--header" => options
                .headers
                .push(parse_header(&value_of(&arg, args.next())?)?),
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag}")),
            _ if options.url.is_some() => return Err(format!("unexpected argument {arg}")),
            _ => options.url = Some(arg),
        }
    }
    Ok(Some(options))
}

/// The value after `flag`, which must be there and not be empty.
fn value_of(flag: &str, value: Option<String>) -> Result<String, String> {
    value
        .filter(|value| !value.is_empty())
        .ok_or_else(|| format!("{flag} needs a value"))
}

/// `"Name: value"` into its two halves, whitespace around the value trimmed.
fn parse_header(raw: &str) -> Result<(String, String), String> {
    let Some((name, value)) = raw.split_once(':') else {
        return Err(format!("--header {raw:?} is not \"Name: value\""));
    };
    let name = name.trim();
    if HANDSHAKE_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
        return Err(format!(
            "--header {name} is written by the handshake itself (use --origin or --protocol \
             for those)"
        ));
    }
    Ok((name.into(), value.trim().into()))
}

/// The URL and the handshake request the options describe, each part
/// checked on its own so that an error names the option at fault.
fn build_request(url: &str, options: &Options) -> Result<(WsUrl, ClientRequest), String> {
    let target = WsUrl::parse(url).map_err(|e| format!("bad URL {url}: {e}"))?;
    if target.secure {
        return Err(format!(
            "{url}: wss:// needs TLS, which this example does not open"
        ));
    }
    let mut request = ClientRequest::from_ws_url(&target);
    if let Some(origin) = &options.origin {
        let probe = ClientRequest::new("h", "/").origin(origin);
        writable(&probe).map_err(|e| format!("--origin {origin:?}: {e}"))?;
        request = request.origin(origin);
    }
    for protocol in &options.protocols {
        let probe = ClientRequest::new("h", "/").protocol(protocol);
        writable(&probe).map_err(|_| format!("--protocol {protocol:?} is not an HTTP token"))?;
        request = request.protocol(protocol);
    }
    for (name, value) in &options.headers {
        let probe = ClientRequest::new("h", "/").header(name, value);
        writable(&probe).map_err(|e| format!("--header {name:?}: {e}"))?;
        request = request.header(name, value);
    }
    writable(&request).map_err(|e| format!("bad URL {url}: {e}"))?;
    Ok((target, request))
}

/// Whether the request can be written (with a placeholder key).
fn writable(request: &ClientRequest) -> Result<(), wsmachine::handshake::HeaderError> {
    request.write_request("dGhlIHNhbXBsZSBub25jZQ==", &mut Vec::new())
}

/// The TCP connect and the handshake, both bounded by the open timeout.
fn connect(
    target: &WsUrl,
    request: &ClientRequest,
    config: Config,
) -> Result<WebSocket<TcpStream>, Error> {
    let host = if target.host.contains(':') {
        format!("[{}]", target.host) // an IPv6 literal
    } else {
        target.host.clone()
    };
    let url = format!("ws://{host}:{}/", target.port);
    blocking::connect_request(&url, request, config)
}

/// One line on stderr: the subprotocol chosen and the extensions accepted.
fn report_connected(url: &str, ws: &WebSocket<TcpStream>, offered: &[String]) {
    let protocol = match ws.protocol() {
        Some(chosen) => format!("subprotocol {chosen}"),
        None if offered.is_empty() => "no subprotocol".into(),
        None => format!("no subprotocol (offered {})", offered.join(", ")),
    };
    let extensions = ws
        .connection()
        .handshake_response()
        .map(|response| format_extensions(response.extensions()))
        .filter(|accepted| !accepted.is_empty())
        .unwrap_or_else(|| "none".into());
    eprintln!("echo_client: connected to {url}: {protocol}, extensions: {extensions}");
}

fn run(ws: &mut WebSocket<TcpStream>) -> Result<(), Error> {
    let stdout = std::io::stdout();
    for line in std::io::stdin().lock().lines() {
        ws.send_text(&line?)?;
        let reply = next_message(ws)?;
        let mut out = stdout.lock();
        match reply {
            OwnedMessage::Text(text) => writeln!(out, "{text}")?,
            OwnedMessage::Binary(data) => writeln!(out, "<{} binary bytes>", data.len())?,
            _ => unreachable!("next_message returns data messages"),
        }
        out.flush()?;
    }
    ws.close(CloseCode::NORMAL, "end of input")?;
    // Drain until the server's close arrives and the handshake completes.
    loop {
        match ws.read() {
            Ok(_) => {}
            Err(Error::Closed) => return Ok(()),
            // Some servers (Go's x/net/websocket) drop TCP instead of
            // answering a close frame: abnormal (1006), but every reply is in.
            Err(Error::Protocol(ProtocolError::AbnormalClosure)) => {
                eprintln!(
                    "echo_client: the server closed TCP without answering our close frame \
                     (1006); every reply had arrived"
                );
                return Ok(());
            }
            Err(e) => return Err(e),
        }
    }
}

/// The next text or binary message; pings are answered on the way.
fn next_message(ws: &mut WebSocket<TcpStream>) -> Result<OwnedMessage, Error> {
    loop {
        match ws.read()? {
            message if message.is_data() => return Ok(message),
            OwnedMessage::Close(close) => {
                eprintln!("echo_client: the server closed: {close:?}");
                return Err(Error::Closed);
            }
            _ => {}
        }
    }
}

/// `--file`: the file as one binary message through the message writer,
/// while a second thread checks the echo against the file as it arrives.
fn send_file(ws: WebSocket<TcpStream>, path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let mut file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let size = file.metadata()?.len();
    let started = Instant::now();
    // The writing half keeps the connection that did the handshake; the
    // reading half is a second engine state over a clone of the socket, in
    // streaming mode. Whatever the reading half would send (pongs, the
    // close reply) is the writing half's business, so it is dropped.
    let (stream, conn) = ws.into_parts();
    let echo_config = Config::default()
        .with_streaming(true)
        .without_message_size_limit()
        .with_max_frame_size(1 << 40)?
        .with_auto_pong(false);
    let reader = WebSocket::from_connection(
        ReadHalf(stream.try_clone()?),
        Connection::open(Role::Client, echo_config),
    );
    let (verdict_tx, verdict_rx) = mpsc::channel();
    let checker = {
        let path = path.to_owned();
        thread::spawn(move || check_echo(reader, &path, verdict_tx))
    };
    let mut ws = WebSocket::from_connection(stream, conn);
    std::io::copy(&mut file, &mut ws.message_writer(MessageKind::Binary))?;
    let sent = started.elapsed();
    // The checker's verdict on the whole echo, then the close handshake.
    let verdict = verdict_rx
        .recv()
        .map_err(|_| "the echo checker stopped without a verdict")?;
    ws.close(CloseCode::NORMAL, "file echoed")?;
    checker.join().map_err(|_| "the echo checker panicked")??;
    let echoed = verdict?;
    if echoed != size {
        return Err(format!("sent {size} bytes, {echoed} came back").into());
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{}: {size} bytes sent as one message in {:.2} s and echoed intact in {secs:.2} s ({:.0} MiB/s)",
        path.display(),
        sent.as_secs_f64(),
        size as f64 / secs / (1 << 20) as f64
    );
    Ok(())
}

fn uncompressed(config: Config) -> Config {
    #[cfg(feature = "deflate")]
    return config.with_deflate(wsmachine::deflate::DeflateConfig::default().with_enabled(false));
    #[cfg(not(feature = "deflate"))]
    config
}

/// Reads the echoed message chunk by chunk and compares it with the file;
/// sends the verdict (bytes that matched), then reads on until the close.
fn check_echo(
    mut ws: WebSocket<ReadHalf>,
    path: &Path,
    verdict: mpsc::Sender<Result<u64, String>>,
) -> Result<(), String> {
    let result = compare_message(&mut ws, path);
    let failed = result.is_err();
    let _ = verdict.send(result);
    if failed {
        return Ok(());
    }
    loop {
        match ws.read() {
            Ok(_) => {}
            Err(Error::Closed) => return Ok(()),
            Err(e) => return Err(format!("after the echo: {e}")),
        }
    }
}

fn compare_message(ws: &mut WebSocket<ReadHalf>, path: &Path) -> Result<u64, String> {
    let mut original = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut echo = ws.message_reader().map_err(|e| e.to_string())?;
    if echo.kind() != MessageKind::Binary {
        return Err("the echo is not a binary message".into());
    }
    let (mut got, mut want) = (vec![0u8; 64 << 10], vec![0u8; 64 << 10]);
    let mut at = 0u64;
    loop {
        let n = echo.read(&mut got).map_err(|e| e.to_string())?;
        if n == 0 {
            return Ok(at);
        }
        original
            .read_exact(&mut want[..n])
            .map_err(|_| format!("the echo is longer than the file (over {at} bytes)"))?;
        if got[..n] != want[..n] {
            let i = got[..n].iter().zip(&want[..n]).position(|(a, b)| a != b);
            return Err(format!(
                "the echo differs at byte {}",
                at + i.unwrap_or(0) as u64
            ));
        }
        at += n as u64;
    }
}

/// The reading half of the socket: reads go to the socket, writes are
/// dropped (the writing half owns everything sent).
struct ReadHalf(TcpStream);

impl Read for ReadHalf {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf)
    }
}

impl Write for ReadHalf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Read timeouts are the reading half's own; the writing half keeps the
/// write side (and its shutdown).
impl Transport for ReadHalf {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> std::io::Result<()> {
        self.0.set_read_timeout(timeout)
    }

    fn set_write_timeout(&mut self, _: Option<Duration>) -> std::io::Result<()> {
        Ok(())
    }

    fn shutdown_write(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

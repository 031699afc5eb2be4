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
use std::io::{BufRead, Write};
use std::net::TcpStream;
use std::process::ExitCode;

mod common;

use wsmachine::blocking::{self, Error, OwnedMessage, WebSocket};
use wsmachine::handshake::{ClientRequest, WsUrl, format_extensions};
use wsmachine::{CloseCode, Config, ProtocolError, Timeout};

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
    let mut ws = match connect(&target, &request, options.config.clone()) {
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

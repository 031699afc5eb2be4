//! Sends each line of stdin as a text message to a WebSocket echo server and
//! prints each reply.
//!
//! ```text
//! cargo run --example echo_client -- [ws://127.0.0.1:8080/echo]
//! ```
//!
//! Every line waits for its reply before the next is sent. At the end of
//! input the client closes with 1000 and waits for the server's close.
use std::io::{BufRead, Write};
use std::process::ExitCode;

use wsmachine::CloseCode;
use wsmachine::blocking::{self, Error, MaybeTlsStream, OwnedMessage, WebSocket};

const USAGE: &str = "usage: echo_client [ws://HOST:PORT/PATH]   (default ws://127.0.0.1:8080/echo)";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .unwrap_or_else(|| "ws://127.0.0.1:8080/echo".into());
    if args.next().is_some() || url.starts_with('-') {
        if url == "-h" || url == "--help" {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        eprintln!("echo_client: bad arguments\n{USAGE}");
        return ExitCode::from(2);
    }
    let mut ws = match blocking::connect(&url) {
        Ok(ws) => ws,
        Err(Error::Url(e)) => {
            eprintln!("echo_client: bad URL {url}: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("echo_client: cannot connect to {url}: {e}");
            return ExitCode::FAILURE;
        }
    };
    match run(&mut ws) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("echo_client: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(ws: &mut WebSocket<MaybeTlsStream>) -> Result<(), Error> {
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
            Err(e) => return Err(e),
        }
    }
}

/// The next text or binary message; pings are answered on the way.
fn next_message(ws: &mut WebSocket<MaybeTlsStream>) -> Result<OwnedMessage, Error> {
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

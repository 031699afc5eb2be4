//! The Autobahn|Testsuite fuzzingserver client testee.
//!
//! ```text
//! cargo run --release --example autobahn_client -- [ws://127.0.0.1:9001]
//! ```
//!
//! Asks the fuzzingserver for its case count (`/getCaseCount`), runs every
//! case (`/runCase?case=N&agent=wsmachine`) by echoing each text and binary
//! message back until the connection closes, then asks for the reports
//! (`/updateReports?agent=wsmachine`). A case that fails its connection is
//! logged and the run goes on. Echoes are zero copy: each message is sent
//! straight from the input buffer it arrived in.
use std::process::ExitCode;

use wsmachine::Event;
use wsmachine::blocking::{self, Error, MaybeTlsStream, OwnedMessage, WebSocket};

const AGENT: &str = "wsmachine";
const USAGE: &str = "usage: autobahn_client [ws://HOST:PORT]   (default ws://127.0.0.1:9001)";

/// Said on the startup line: built with `--features deflate`, the default
/// `Config` negotiates permessage-deflate.
const COMPRESSION: &str = if cfg!(feature = "deflate") {
    " (permessage-deflate on)"
} else {
    ""
};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let base = args.next().unwrap_or_else(|| "ws://127.0.0.1:9001".into());
    if args.next().is_some() || !base.starts_with("ws://") {
        eprintln!("autobahn_client: bad arguments\n{USAGE}");
        return ExitCode::from(2);
    }
    let base = base.trim_end_matches('/');
    let count = match case_count(base) {
        Ok(count) => count,
        Err(e) => {
            eprintln!("autobahn_client: cannot get the case count from {base}: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("running {count} cases{COMPRESSION}");
    for case in 1..=count {
        let url = format!("{base}/runCase?case={case}&agent={AGENT}");
        match run_case(&url) {
            Ok(()) => eprintln!("case {case}/{count}: closed"),
            Err(e) => eprintln!("case {case}/{count}: {e}"),
        }
    }
    match finish(&format!("{base}/updateReports?agent={AGENT}")) {
        Ok(()) => {
            eprintln!("reports updated");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("autobahn_client: updating the reports failed: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The one text message of `/getCaseCount`, parsed.
fn case_count(base: &str) -> Result<u32, Box<dyn std::error::Error>> {
    let mut ws = blocking::connect(&format!("{base}/getCaseCount"))?;
    loop {
        if let OwnedMessage::Text(text) = ws.read()? {
            let count = text.trim().parse()?;
            drain(&mut ws)?;
            return Ok(count);
        }
    }
}

/// Echoes every message until the close handshake completes.
fn run_case(url: &str) -> Result<(), Error> {
    let mut ws = blocking::connect(url)?;
    loop {
        let echoed = ws.read_with(|event, sender| match event {
            Event::Message(message) => sender.send(message),
            _ => Ok(()),
        });
        match echoed {
            Ok(sent) => sent?,
            Err(Error::Closed) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}

fn finish(url: &str) -> Result<(), Error> {
    drain(&mut blocking::connect(url)?)
}

/// Reads until the server's close completes the handshake.
fn drain(ws: &mut WebSocket<MaybeTlsStream>) -> Result<(), Error> {
    loop {
        match ws.read() {
            Ok(_) => {}
            Err(Error::Closed) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}

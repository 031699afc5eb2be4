//! Sends each line of stdin as a text message to a WebSocket echo server and
//! prints each reply.
//!
//! ```text
//! cargo run --example echo_client -- [ws://127.0.0.1:8080/echo]
//! ```
//!
//! Every line waits for its reply before the next is sent. At the end of
//! input the client closes with 1000 and waits for the server's close.
//!
//! `--file PATH` sends the file as ONE binary message instead, through the
//! blocking adapter's message writer (`std::io::copy` into it: 64 KiB
//! frames as the file is read, whatever its size), and checks that the
//! echo is the file byte for byte. The echo is read as it comes back, on a
//! second thread, chunk by chunk (streaming mode), so neither side holds
//! the message whole: `echo_server --stream` echoes a file of any size.
use std::io::{BufRead, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc;
use std::thread;
use std::time::Instant;

use wsmachine::blocking::{self, Error, OwnedMessage, WebSocket};
use wsmachine::handshake::WsUrl;
use wsmachine::{ClientRequest, CloseCode, Config, Connection, MessageKind, Role};

const USAGE: &str =
    "usage: echo_client [ws://HOST:PORT/PATH] [--file PATH]   (default ws://127.0.0.1:8080/echo)";

fn main() -> ExitCode {
    let mut url = None;
    let mut file = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--file" => file = Some(args.next().map(PathBuf::from).unwrap_or_default()),
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            _ if arg.starts_with('-') || url.is_some() => {
                eprintln!("echo_client: bad argument {arg}\n{USAGE}");
                return ExitCode::from(2);
            }
            _ => url = Some(arg),
        }
    }
    let url = url.unwrap_or_else(|| "ws://127.0.0.1:8080/echo".into());
    if let Some(path) = file {
        return match send_file(&url, path) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("echo_client: {e}");
                ExitCode::FAILURE
            }
        };
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

fn run(ws: &mut WebSocket<std::net::TcpStream>) -> Result<(), Error> {
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
fn next_message(ws: &mut WebSocket<std::net::TcpStream>) -> Result<OwnedMessage, Error> {
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
fn send_file(url: &str, path: PathBuf) -> Result<(), Box<dyn std::error::Error>> {
    let mut file = std::fs::File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let parsed = WsUrl::parse(url)?;
    let stream = TcpStream::connect((parsed.host.as_str(), parsed.port))?;
    // Without compression: the echo is read by a second engine state (below)
    // that took no part in the handshake, so it could not inflate.
    let ws = WebSocket::connect_with(stream, &ClientRequest::from_url(url)?, uncompressed())?;
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
        let path = path.clone();
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

fn uncompressed() -> Config {
    #[cfg(feature = "deflate")]
    return Config::default()
        .with_deflate(wsmachine::deflate::DeflateConfig::default().with_enabled(false));
    #[cfg(not(feature = "deflate"))]
    Config::default()
}

/// Reads the echoed message chunk by chunk and compares it with the file;
/// sends the verdict (bytes that matched), then reads on until the close.
fn check_echo(
    mut ws: WebSocket<ReadHalf>,
    path: &std::path::Path,
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

fn compare_message(ws: &mut WebSocket<ReadHalf>, path: &std::path::Path) -> Result<u64, String> {
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

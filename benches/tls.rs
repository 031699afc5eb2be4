//! The cost of TLS: echo throughput over `wss://` against `ws://`, the same
//! wsmachine blocking echo server and client, in the same run, on loopback.
//!
//! ```text
//! cargo bench --features rustls --bench tls      # WSM_BENCH_QUICK=1 for a smoke run
//! cargo bench --features rustls,tokio --bench tls   # adds the tokio adapter's table
//! ```
//!
//! One persistent connection per scheme, each served by its own in-process
//! server thread (our blocking adapter, `tls_accept` for wss). A sample echoes
//! a fixed number of binary messages with a window of messages in flight
//! (up to 256 KiB); samples alternate between ws and wss (round-robin, so
//! that load from elsewhere on the shared machine hits both alike), and the
//! median is reported. Time is the CPU time of the whole process (client and
//! server threads: the TLS cost is paid on both ends); throughput is echoed
//! payload bytes (one way) per CPU second, and the ratio is wss / ws. The
//! connect cost (TCP + TLS handshake + opening handshake) is measured the
//! same way, per connection. Certificates are made at start (rcgen, ECDSA
//! P-256); the cipher suite is what rustls negotiates by default
//! (printed on the first line).
//!
//! With `tokio`, a second table does the same over the tokio adapter: our
//! tokio server (`tokio::tls_accept` for wss) and our tokio client on one
//! multi-thread runtime, same sizes, windows and alternation.

mod common;

#[path = "../tests/tls_common/mod.rs"]
mod tls_common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use cpu_time::ProcessTime;
use wsmachine::blocking::{
    self, Connector, Error, MaybeTlsStream, OwnedMessage, Transport, WebSocket,
};
use wsmachine::tls::{self, Roots};
use wsmachine::{CloseCode, Event};

const SIZES: [usize; 4] = [125, 1024, 16 * 1024, 1024 * 1024];

/// Payload bytes echoed per sample (one way).
fn bytes_per_sample() -> usize {
    if common::quick() { 4 << 20 } else { 32 << 20 }
}

fn echo<S: Read + Write + Transport>(mut ws: WebSocket<S>) -> Result<(), Error> {
    loop {
        match ws.read_with(|event, sender| match event {
            Event::Message(message) => sender.send(message),
            _ => Ok(()),
        }) {
            Ok(sent) => sent?,
            Err(Error::Closed) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}

/// Accepts connections for ever on a fresh port, each echoed on its own
/// thread, over TLS when `tls` is given. Returns the URL.
fn server(tls: Option<Arc<rustls::ServerConfig>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let scheme = if tls.is_some() { "wss" } else { "ws" };
    thread::spawn(move || {
        for tcp in listener.incoming() {
            let Ok(tcp) = tcp else { continue };
            tcp.set_nodelay(true).unwrap();
            let tls = tls.clone();
            thread::spawn(move || {
                let _ = match tls {
                    None => WebSocket::accept(tcp).and_then(echo),
                    Some(config) => blocking::tls_accept(tcp, config)
                        .and_then(WebSocket::accept)
                        .and_then(echo),
                };
            });
        }
    });
    format!("{scheme}://127.0.0.1:{port}/")
}

/// Echoes `count` messages of `payload` with `window` in flight; returns a
/// checksum of what came back.
fn exchange(
    ws: &mut WebSocket<MaybeTlsStream>,
    payload: &[u8],
    count: usize,
    window: usize,
) -> u64 {
    let (mut sent, mut received, mut sum) = (0, 0, 0u64);
    while sent < window.min(count) {
        ws.send_binary(payload).unwrap();
        sent += 1;
    }
    while received < count {
        match ws.read().unwrap() {
            OwnedMessage::Binary(data) => {
                sum = sum.wrapping_add(data.len() as u64 + u64::from(data[data.len() / 2]));
                received += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
        if sent < count {
            ws.send_binary(payload).unwrap();
            sent += 1;
        }
    }
    sum
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn main() {
    let pki = tls_common::Pki::new();
    let server_tls = tls::server_config(pki.good.chain(), pki.good.private_key()).unwrap();
    let client_tls = tls::client_config(&Roots::Certificates(vec![pki.ca.cert.clone()])).unwrap();
    let urls = [server(None), server(Some(server_tls))];
    let connector = Connector::new().tls_config(client_tls);
    let runs = common::runs();
    let probe = connector.connect(&urls[1]).unwrap();
    let suite = match probe.get_ref() {
        MaybeTlsStream::Tls(stream) => stream.tls().negotiated_cipher_suite(),
        _ => None,
    };
    drop(probe);
    println!(
        "TLS cost: wsmachine blocking echo, ws vs wss on loopback, process CPU time \
         (client + server), median of {runs}; wss negotiated {suite:?}"
    );
    println!();
    println!("| message | ws | wss | wss / ws |");
    println!("|---|---|---|---|");
    for size in SIZES {
        if common::filter().is_some_and(|f| !common::size_name(size).contains(&f)) {
            continue;
        }
        let payload: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
        let count = (bytes_per_sample() / size).max(8);
        let window = ((256 << 10) / size).clamp(1, 64);
        let mut sockets: Vec<_> = urls
            .iter()
            .map(|url| connector.connect(url).unwrap())
            .collect();
        let mut times = [Vec::new(), Vec::new()];
        let mut sums = [None, None];
        for _ in 0..runs {
            for (i, ws) in sockets.iter_mut().enumerate() {
                let start = ProcessTime::now();
                let sum = exchange(ws, &payload, count, window);
                times[i].push(start.elapsed());
                assert_eq!(
                    *sums[i].get_or_insert(sum),
                    sum,
                    "echoes changed between runs"
                );
            }
        }
        assert_eq!(sums[0], sums[1], "ws and wss echoed different bytes");
        for ws in &mut sockets {
            ws.close(CloseCode::NORMAL, "").unwrap();
        }
        let [plain, secure] = times.map(median);
        let bytes = count * size;
        println!(
            "| {} | {} | {} | {:.2}x |",
            common::size_name(size),
            common::cell(bytes, count, plain),
            common::cell(bytes, count, secure),
            plain.as_secs_f64() / secure.as_secs_f64()
        );
    }

    // Opening a connection: TCP, (TLS,) the opening handshake, and a close.
    let connects = if common::quick() { 20 } else { 100 };
    let mut times = [Vec::new(), Vec::new()];
    for _ in 0..runs {
        for (i, url) in urls.iter().enumerate() {
            let start = ProcessTime::now();
            for _ in 0..connects {
                let mut ws = connector.connect(url).unwrap();
                ws.close(CloseCode::NORMAL, "").unwrap();
                while ws.read().is_ok() {}
            }
            times[i].push(start.elapsed() / connects);
        }
    }
    let [plain, secure] = times.map(median);
    println!();
    println!(
        "connect + close, per connection: ws {:.0} us, wss {:.0} us of CPU ({:.1}x)",
        plain.as_secs_f64() * 1e6,
        secure.as_secs_f64() * 1e6,
        secure.as_secs_f64() / plain.as_secs_f64()
    );
    #[cfg(feature = "tokio")]
    tokio_table(&pki);
}

/// The same table over the tokio adapter (feature `tokio`).
#[cfg(feature = "tokio")]
fn tokio_table(pki: &tls_common::Pki) {
    use wsmachine::tokio::{self as ws, Connector, MaybeTlsStream, WebSocket};

    async fn serve(listener: tokio::net::TcpListener, tls: Option<Arc<rustls::ServerConfig>>) {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            tcp.set_nodelay(true).unwrap();
            let tls = tls.clone();
            tokio::spawn(async move {
                let _ = match tls {
                    None => match WebSocket::accept(tcp).await {
                        Ok(socket) => echo(socket).await,
                        Err(e) => Err(e),
                    },
                    Some(config) => match ws::tls_accept(tcp, config).await {
                        Ok(stream) => match WebSocket::accept(stream).await {
                            Ok(socket) => echo(socket).await,
                            Err(e) => Err(e),
                        },
                        Err(e) => Err(e),
                    },
                };
            });
        }
    }

    async fn echo<S>(mut socket: WebSocket<S>) -> Result<(), Error>
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    {
        loop {
            match socket
                .read_with(|event, sender| match event {
                    Event::Message(message) => sender.send(message),
                    _ => Ok(()),
                })
                .await
            {
                Ok(sent) => {
                    sent?;
                    socket.flush().await?;
                }
                Err(Error::Closed) => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    }

    async fn exchange(
        socket: &mut WebSocket<MaybeTlsStream>,
        payload: &[u8],
        count: usize,
        window: usize,
    ) -> u64 {
        let (mut sent, mut received, mut sum) = (0, 0, 0u64);
        while sent < window.min(count) {
            socket.send_binary(payload).await.unwrap();
            sent += 1;
        }
        while received < count {
            match socket.read().await.unwrap() {
                OwnedMessage::Binary(data) => {
                    sum = sum.wrapping_add(data.len() as u64 + u64::from(data[data.len() / 2]));
                    received += 1;
                }
                other => panic!("unexpected {other:?}"),
            }
            if sent < count {
                socket.send_binary(payload).await.unwrap();
                sent += 1;
            }
        }
        sum
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server_tls = tls::server_config(pki.good.chain(), pki.good.private_key()).unwrap();
    let client_tls = tls::client_config(&Roots::Certificates(vec![pki.ca.cert.clone()])).unwrap();
    let connector = Connector::new().tls_config(client_tls);
    let urls = runtime.block_on(async {
        let mut urls = Vec::new();
        for tls in [None, Some(server_tls)] {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = listener.local_addr().unwrap().port();
            let scheme = if tls.is_some() { "wss" } else { "ws" };
            tokio::spawn(serve(listener, tls));
            urls.push(format!("{scheme}://127.0.0.1:{port}/"));
        }
        urls
    });
    let runs = common::runs();
    println!();
    println!(
        "The tokio adapter: our tokio echo server and client on one runtime (2 workers), \
         ws vs wss, process CPU time, median of {runs}"
    );
    println!();
    println!("| message | ws | wss | wss / ws |");
    println!("|---|---|---|---|");
    for size in SIZES {
        if common::filter().is_some_and(|f| !common::size_name(size).contains(&f)) {
            continue;
        }
        let payload: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
        let count = (bytes_per_sample() / size).max(8);
        let window = ((256 << 10) / size).clamp(1, 64);
        let mut sockets = runtime.block_on(async {
            let mut sockets = Vec::new();
            for url in &urls {
                sockets.push(connector.connect(url).await.unwrap());
            }
            sockets
        });
        let mut times = [Vec::new(), Vec::new()];
        let mut sums = [None, None];
        for _ in 0..runs {
            for (i, socket) in sockets.iter_mut().enumerate() {
                let start = ProcessTime::now();
                let sum = runtime.block_on(exchange(socket, &payload, count, window));
                times[i].push(start.elapsed());
                assert_eq!(
                    *sums[i].get_or_insert(sum),
                    sum,
                    "echoes changed between runs"
                );
            }
        }
        assert_eq!(sums[0], sums[1], "ws and wss echoed different bytes");
        runtime.block_on(async {
            for socket in &mut sockets {
                socket.close(CloseCode::NORMAL, "").await.unwrap();
            }
        });
        let [plain, secure] = times.map(median);
        let bytes = count * size;
        println!(
            "| {} | {} | {} | {:.2}x |",
            common::size_name(size),
            common::cell(bytes, count, plain),
            common::cell(bytes, count, secure),
            plain.as_secs_f64() / secure.as_secs_f64()
        );
    }
}

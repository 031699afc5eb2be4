//! `chat_server --tls-cert --tls-key` (feature `rustls`), whose members'
//! WebSockets are split over the shared TLS session: two wss members talk
//! at once and each hears both, a silent member is dropped by keepalive
//! (1011, then TLS close_notify and the end of the stream) while the room
//! goes on, and the members close cleanly. Build the examples first
//! (`cargo build --all-features --examples`).
#![cfg(feature = "rustls")]

mod common;
mod tls_common;

use std::io::{BufRead, BufReader, Read};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::{example_binary, parse_frames};
use tls_common::Pki;
use wsmachine::blocking::{self, Connector, MaybeTlsStream, OwnedMessage, WebSocket};
use wsmachine::tls::{self, Roots};
use wsmachine::{CloseCode, Config};

const GUARD: Duration = Duration::from_secs(15);

/// The server's PEM files in a directory of this test's own.
fn pem_files(pki: &Pki) -> (std::path::PathBuf, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("wsmachine-chat-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, &pki.good.cert_pem).unwrap();
    std::fs::write(&key, &pki.good.key_pem).unwrap();
    (cert, key)
}

fn member(addr: &str, client: &Arc<rustls::ClientConfig>) -> WebSocket<MaybeTlsStream> {
    let config = Config::default().with_ping_interval(None).unwrap();
    let mut ws = Connector::new()
        .tls_config(client.clone())
        .config(config)
        .connect(&format!("wss://{addr}/ws"))
        .unwrap();
    assert!(ws.get_ref().is_tls());
    ws.set_read_timeout(Some(Duration::from_millis(200)));
    ws
}

/// Reads (answering the server's pings) until a broadcast of `text` arrives
/// or `limit` passes; whether it did.
fn hears(ws: &mut WebSocket<MaybeTlsStream>, text: &str, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        match ws.read() {
            Ok(OwnedMessage::Text(json)) if json.contains(text) => return true,
            Ok(_) => {}
            Err(e) if e.is_timeout() => {}
            Err(e) => panic!("{e}"),
        }
    }
    false
}

#[test]
fn chat_over_tls_relays_both_ways_at_once_and_drops_a_dead_member() {
    let pki = Pki::new();
    let (cert, key) = pem_files(&pki);
    let client = tls::client_config(&Roots::Certificates(vec![pki.ca.cert.clone()])).unwrap();
    let server = Command::new(example_binary("chat_server"))
        .arg("127.0.0.1:0")
        .args(["--ping-interval", "0.3", "--ping-timeout", "0.6"])
        .arg("--tls-cert")
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut server = common::Child(server);
    let mut first = String::new();
    BufReader::new(server.0.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let mut log = BufReader::new(server.0.stderr.take().unwrap());
    let Some(addr) = first
        .trim()
        .strip_prefix("listening on https://")
        .and_then(|rest| rest.split_whitespace().next())
        .map(str::to_owned)
    else {
        // Most likely an example binary built without `rustls`.
        let mut why = String::new();
        log.read_to_string(&mut why).ok();
        panic!("chat_server said {first:?}, then {why:?} (cargo build --all-features --examples)");
    };

    let mut alice = member(&addr, &client);
    let mut bob = member(&addr, &client);
    // Bob is in the room once one of Alice's messages reaches him.
    let joining = Instant::now();
    loop {
        assert!(joining.elapsed() < GUARD, "Bob never heard Alice");
        alice.send_text("are you there").unwrap();
        if hears(&mut bob, "are you there", Duration::from_millis(300)) {
            break;
        }
    }

    // The dead member: TLS and WebSocket handshakes, then it never sends
    // again. It reads the decrypted bytes without answering anything.
    let dead_addr = addr.clone();
    let dead_client = client.clone();
    let dead = thread::spawn(move || {
        let tcp = TcpStream::connect(&dead_addr).unwrap();
        tcp.set_read_timeout(Some(GUARD)).unwrap();
        let tls = blocking::tls_connect(tcp, "127.0.0.1", dead_client).unwrap();
        let ws = WebSocket::connect_url(tls, &format!("ws://{dead_addr}/ws")).unwrap();
        let mut tls = ws.into_inner();
        let (mut seen, mut buf, start) = (Vec::new(), [0u8; 4096], Instant::now());
        let ended = loop {
            assert!(start.elapsed() < GUARD, "the dead member was never dropped");
            match tls.read(&mut buf) {
                Ok(0) => break true,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
                Err(e) => panic!("the dead member's stream failed: {e}"),
            }
        };
        (ended, seen)
    });

    // Alice and Bob talk at once, each on its own thread, while the dead
    // member is found out: everyone's messages reach everyone.
    const N: usize = 40;
    let talk = |mut me: WebSocket<MaybeTlsStream>, name: &'static str, other: &'static str| {
        thread::spawn(move || {
            let mut heard = 0;
            let start = Instant::now();
            for i in 0..N {
                me.send_text(&format!("{name} {i}")).unwrap();
                // Drain what arrived meanwhile, without waiting.
                me.set_read_timeout(Some(Duration::from_millis(1)));
                while let Ok(message) = me.read() {
                    if let OwnedMessage::Text(json) = message {
                        heard += usize::from(json.contains(&format!("\"{other} ")));
                    }
                }
                thread::sleep(Duration::from_millis(25));
            }
            me.set_read_timeout(Some(Duration::from_millis(200)));
            while heard < N {
                assert!(
                    start.elapsed() < GUARD,
                    "{name} heard {heard} of {other}'s {N}"
                );
                match me.read() {
                    Ok(OwnedMessage::Text(json)) => {
                        heard += usize::from(json.contains(&format!("\"{other} ")));
                    }
                    Ok(_) => {}
                    Err(e) if e.is_timeout() => {}
                    Err(e) => panic!("{name}: {e}"),
                }
            }
            me
        })
    };
    let alice_talks = talk(alice, "alice", "bob");
    let bob_talks = talk(bob, "bob", "alice");
    let mut alice = alice_talks.join().unwrap();
    let mut bob = bob_talks.join().unwrap();

    let (ended, seen) = dead.join().unwrap();
    assert!(ended, "the dead member's stream did not end");
    let frames = parse_frames(&seen);
    let last = frames.last().expect("frames before the end");
    assert_eq!(common::close_code_of(last), Some(1011), "{frames:x?}");

    for ws in [&mut alice, &mut bob] {
        ws.set_read_timeout(Some(GUARD));
        ws.close(CloseCode::NORMAL, "").unwrap();
        loop {
            match ws.read() {
                Ok(_) => {}
                Err(blocking::Error::Closed) => break,
                Err(e) => panic!("closing: {e}"),
            }
        }
        // The server closes first, after its log line: TLS close_notify,
        // then the end of the stream.
        ws.get_ref().tcp().set_read_timeout(Some(GUARD)).unwrap();
        let mut rest = Vec::new();
        ws.get_mut().read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty(), "{rest:x?}");
    }
    drop(server);
    let log: Vec<String> = log.lines().map_while(Result::ok).collect();
    assert!(
        log.iter()
            .any(|l| l.contains("dropped") && l.contains("keepalive ping timeout")),
        "{log:?}"
    );
    assert!(
        log.iter()
            .filter(|l| l.contains("closed with 1000"))
            .count()
            >= 2,
        "{log:?}"
    );
}

//! Replays the fuzz corpus (`fuzz/corpus/<target>/`) and every minimised
//! crash (`tests/data/<target>-*`) through the `wsmachine::fuzzing`
//! functions the fuzz targets wrap, so `cargo test --all-features` checks on
//! stable Rust what the fuzzers found. Plus one test per finding.
#![cfg(feature = "fuzzing")]

use std::path::Path;

/// A fuzzing entry point.
type Target = fn(&[u8]);

/// The fuzz targets, by directory name.
const TARGETS: &[(&str, Target)] = &[
    ("frame_header", wsmachine::fuzzing::frame_header),
    ("server_stream", wsmachine::fuzzing::server_stream),
    ("client_stream", wsmachine::fuzzing::client_stream),
    ("handshake_request", wsmachine::fuzzing::handshake_request),
    ("pair_ops", wsmachine::fuzzing::pair_ops),
    #[cfg(feature = "deflate")]
    ("inflate", wsmachine::fuzzing::inflate),
];

fn target(name: &str) -> Target {
    TARGETS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, f)| *f)
        .unwrap_or_else(|| panic!("no target {name}"))
}

/// Runs every file in `dir` through `f`; returns how many ran.
fn replay_dir(dir: &Path, f: Target) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut files: Vec<_> = entries
        .map(|e| e.expect("readable directory").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    for file in &files {
        let data = std::fs::read(file).expect("readable corpus file");
        let outcome = std::panic::catch_unwind(|| f(&data));
        assert!(outcome.is_ok(), "{} fails", file.display());
    }
    files.len()
}

#[test]
fn corpus_replays_cleanly() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let mut total = 0;
    for (name, f) in TARGETS {
        let n = replay_dir(&root.join(name), *f);
        assert!(n > 0, "no seed corpus for {name}");
        total += n;
    }
    assert!(total > 0);
}

/// Every file in `tests/data/` is named `<target>-<what>` and must pass.
#[test]
fn minimised_crashes_replay_cleanly() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    for entry in std::fs::read_dir(&dir).expect("tests/data exists") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let Some((target_name, _)) = name.split_once('-') else {
            continue;
        };
        if !TARGETS.iter().any(|(n, _)| *n == target_name) {
            continue;
        }
        let data = std::fs::read(&path).expect("readable");
        let f = target(target_name);
        let outcome = std::panic::catch_unwind(|| f(&data));
        assert!(outcome.is_ok(), "{} fails", path.display());
    }
}

/// Finding 1 of the fuzzing work: while a server held an unanswered
/// `Event::Handshake`, `next_event` returned `None` at once, so a driver
/// following the documented loop (receive, drain to `None`, receive again)
/// kept buffering whatever the client pipelined after its request, past
/// every `Config` limit. Now the request is refused with 431 once more than
/// a full handshake plus one maximal frame waits.
#[test]

fn input_while_the_handshake_decision_is_pending_is_bounded() {
    use wsmachine::{Config, Connection, Event};
    let config = Config::default()
        .with_max_frame_size(1024)
        .unwrap()
        .with_max_message_size(4096)
        .unwrap();
    let mut server = Connection::server(config);
    server.receive(
        b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    );
    assert!(matches!(server.next_event(), Ok(Some(Event::Handshake(_)))));
    // The application is still deciding (say, an authorisation look-up);
    // the client pipelines 1,000 frames of 1 KiB, each within every limit.
    let mut frame = vec![0x82, 0xFE, 0x04, 0x00, 1, 2, 3, 4];
    frame.resize(8 + 1024, 0);
    let mut refused = false;
    for _ in 0..1000 {
        server.receive(&frame);
        match server.next_event() {
            Ok(None) => {}
            Err(wsmachine::ProtocolError::Handshake(wsmachine::HandshakeError::TooLarge)) => {
                refused = true;
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(refused, "the pipelining client was never refused");
    // The frame and handshake limits together allow about 8 KiB + 1 KiB.
    assert!(
        server.memory_usage() <= 64 * 1024,
        "{} bytes buffered while deciding",
        server.memory_usage()
    );
}

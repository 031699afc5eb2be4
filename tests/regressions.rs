//! Replays the fuzz corpus (`fuzz/corpus/<target>/`) and every minimised
//! crash (`tests/data/<target>-*`) through the `wsmachine::fuzzing`
//! functions the fuzz targets wrap, so `cargo test --all-features` checks on
//! stable Rust what the fuzzers found. Plus one test per finding.
#![cfg(feature = "fuzzing")]

use std::path::Path;

/// The fuzz targets, by directory name.
const TARGETS: &[(&str, fn(&[u8]))] = &[
    ("frame_header", wsmachine::fuzzing::frame_header),
    ("server_stream", wsmachine::fuzzing::server_stream),
    ("client_stream", wsmachine::fuzzing::client_stream),
    ("handshake_request", wsmachine::fuzzing::handshake_request),
    ("pair_ops", wsmachine::fuzzing::pair_ops),
    #[cfg(feature = "deflate")]
    ("inflate", wsmachine::fuzzing::inflate),
];

fn target(name: &str) -> fn(&[u8]) {
    TARGETS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, f)| *f)
        .unwrap_or_else(|| panic!("no target {name}"))
}

/// Runs every file in `dir` through `f`; returns how many ran.
fn replay_dir(dir: &Path, f: fn(&[u8])) -> usize {
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

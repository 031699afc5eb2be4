//! permessage-deflate: throughput and ratio of wsmachine's compression on
//! text payloads (JSON-like records and English-like prose), end to end
//! through two `Connection`s: the client compresses and frames, the server
//! inflates and delivers. Levels 1 (the default) and 6; the compressor alone
//! against miniz_oxide at levels 1, 6 and 7 (the first cost-based level).
//!
//! Neither peer is measured: tungstenite 0.30 and fastwebsockets 0.10 have
//! no permessage-deflate.
//!
//! `cargo bench --features deflate --bench compress` (`WSM_BENCH_QUICK=1` for
//! a short run; `-- miniz` for the compressor-alone table only, `-- presets`
//! for the per-preset ratios only).

mod common;

use common::{Rng, compare, quick, runs};
use wsmachine::deflate::{Compressor, CompressorMemory, DeflateConfig, Direction};
use wsmachine::{Accept, ClientRequest, Config, Connection, Event};

/// A deterministic key source, so every run produces the same bytes.
fn masks() -> impl FnMut() -> [u8; 4] + Send {
    let mut n: u32 = 0x1234_5678;
    move || {
        n = n.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        n.to_be_bytes()
    }
}

const WORDS: [&str; 32] = [
    "the", "of", "and", "a", "to", "in", "is", "you", "that", "it", "he", "was", "for", "on",
    "are", "as", "with", "his", "they", "at", "be", "this", "have", "from", "or", "one", "had",
    "by", "word", "but", "not", "what",
];

fn prose(rng: &mut Rng, size: usize) -> String {
    let mut text = String::with_capacity(size + 16);
    while text.len() < size {
        let word = WORDS[(rng.next_u64() % WORDS.len() as u64) as usize];
        text.push_str(word);
        text.push(if rng.next_u64().is_multiple_of(12) {
            '.'
        } else {
            ' '
        });
    }
    text.truncate(size);
    text
}

fn json(rng: &mut Rng, size: usize) -> String {
    let mut text = String::from("[");
    let mut id = rng.next_u64() % 1000;
    while text.len() + 120 < size {
        id += 1 + rng.next_u64() % 7;
        let (user, score) = (rng.next_u64() % 50, rng.next_u64() % 10_000);
        let words = 24 + (rng.next_u64() % 24) as usize;
        let words = prose(rng, words);
        text.push_str(&format!(
            r#"{{"id":{id},"user":"user{user}","score":{score},"text":"{words}","tags":["news","sports"],"ok":true}},"#
        ));
    }
    text.push_str("{}]");
    text
}

fn config(level: u8) -> Config {
    config_with(level, CompressorMemory::Default)
}

fn config_with(level: u8, memory: CompressorMemory) -> Config {
    Config::default().with_deflate(
        DeflateConfig::default()
            .with_level(level)
            .expect("valid")
            .with_memory(memory),
    )
}

/// The client's handshake request and the wire bytes of `messages`, as the
/// client compressed and framed them.
fn client_wire(level: u8, messages: &[String], wire: &mut Vec<u8>) -> Vec<u8> {
    client_wire_with(config(level), messages, wire)
}

fn client_wire_with(client_config: Config, messages: &[String], wire: &mut Vec<u8>) -> Vec<u8> {
    let level = client_config.deflate().level();
    let request = ClientRequest::new("127.0.0.1:1", "/");
    let mut client = Connection::client(&request, client_config, masks()).expect("valid");
    let head = client.pending_output().to_vec();
    client.advance_output(head.len());
    let mut server = Connection::server(config(level));
    server.receive(&head);
    assert!(matches!(server.next_event(), Ok(Some(Event::Handshake(_)))));
    server.accept(Accept::new()).expect("accept");
    client.receive(server.pending_output());
    assert!(matches!(client.next_event(), Ok(Some(Event::Connected(_)))));
    assert!(client.deflate_params().is_some(), "compression negotiated");
    wire.clear();
    for message in messages {
        client.send_text(message).expect("open");
        let n = client.pending_output().len();
        wire.extend_from_slice(client.pending_output());
        client.advance_output(n);
    }
    head
}

/// A server that reads `head`, accepts, and then `wire` in 16 KiB reads.
fn server_read(level: u8, head: &[u8], wire: &[u8]) -> u64 {
    let mut server = Connection::server(config(level));
    server.receive(head);
    assert!(matches!(server.next_event(), Ok(Some(Event::Handshake(_)))));
    server.accept(Accept::new()).expect("accept");
    let mut sum = 0u64;
    for piece in wire.chunks(16 * 1024) {
        server.receive(piece);
        while let Some(event) = server.next_event().expect("valid") {
            if let Event::Message(message) = event {
                sum = sum.wrapping_add(message.as_bytes().len() as u64);
            }
        }
    }
    sum
}

fn main() {
    let total = if quick() { 2 << 20 } else { 16 << 20 };
    let only = std::env::args().skip(1).find(|a| !a.starts_with("--"));
    match only.as_deref() {
        Some("miniz") => return against_miniz(total),
        Some("presets") => return presets(total),
        _ => {}
    }
    let mut rng = Rng::new(7);
    println!("# permessage-deflate: wsmachine client compresses, server inflates\n");
    println!(
        "| payload | message | level | ratio (wire / payload) | compress + frame | inflate + deliver |"
    );
    println!("|---|---|---|---|---|---|");
    for (name, make) in [
        ("JSON-like", json as fn(&mut Rng, usize) -> String),
        ("prose", prose),
    ] {
        for size in [1024usize, 16 * 1024] {
            let messages: Vec<String> = (0..total / size).map(|_| make(&mut rng, size)).collect();
            let bytes: usize = messages.iter().map(String::len).sum();
            for level in [1u8, 6] {
                let mut wire = Vec::new();
                let head = client_wire(level, &messages, &mut wire);
                let mut scratch = Vec::new();
                let mut send = || {
                    client_wire(level, &messages, &mut scratch);
                    scratch.len() as u64
                };
                let mut receive = || server_read(level, &head, &wire);
                let times = compare(runs(), &mut [&mut send, &mut receive]);
                let mbs = |t: std::time::Duration| bytes as f64 / 1e6 / t.as_secs_f64();
                println!(
                    "| {name} | {} KiB | {level} | {:.3} | {:.0} MB/s | {:.0} MB/s |",
                    size >> 10,
                    wire.len() as f64 / bytes as f64,
                    mbs(times[0]),
                    mbs(times[1]),
                );
            }
        }
    }
    presets(total);
    against_miniz(total);
}

/// The compressors alone on the same messages, one context-takeover stream
/// each: ours, and miniz_oxide 0.9's `CompressorOxide` (the compressor this
/// crate used before; 32 KiB window, sync flush after every message).
fn against_miniz(total: usize) {
    use miniz_oxide::deflate::core::{
        CompressorOxide, TDEFLFlush, compress_to_output, create_comp_flags_from_zip_params,
    };
    println!(
        "\n# compressor alone: wsmachine against miniz_oxide 0.9 (the compressor before), same messages, same run\n"
    );
    println!(
        "| payload | message | level | wsmachine ratio | miniz_oxide ratio | wsmachine | miniz_oxide | speed, wsmachine / miniz_oxide |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let mut rng = Rng::new(7);
    for (name, make) in [
        ("JSON-like", json as fn(&mut Rng, usize) -> String),
        ("prose", prose),
    ] {
        for size in [1024usize, 16 * 1024] {
            let messages: Vec<String> = (0..total / size).map(|_| make(&mut rng, size)).collect();
            let bytes: usize = messages.iter().map(String::len).sum();
            for level in [1u8, 6, 7] {
                let config = DeflateConfig::default().with_level(level).expect("valid");
                let direction = Direction {
                    max_window_bits: 15,
                    no_context_takeover: false,
                };
                let mut out = Vec::new();
                let mut ours = || {
                    let mut c = Compressor::new(direction, &config);
                    let mut sum = 0;
                    for m in &messages {
                        out.clear();
                        c.compress(m.as_bytes(), &mut out);
                        sum += out.len() as u64;
                    }
                    sum
                };
                let mut theirs = || {
                    let flags = create_comp_flags_from_zip_params(i32::from(level), -15, 0);
                    let mut state = Box::new(CompressorOxide::new(flags));
                    let mut sum = 0u64;
                    for m in &messages {
                        for (input, flush) in [
                            (m.as_bytes(), TDEFLFlush::None),
                            (&[][..], TDEFLFlush::Sync),
                        ] {
                            compress_to_output(&mut state, input, flush, |chunk| {
                                sum += chunk.len() as u64;
                                true
                            });
                        }
                        sum -= 4; // the 00 00 ff ff tail
                    }
                    sum
                };
                let (a, b) = (ours(), theirs());
                let times = compare(runs(), &mut [&mut ours, &mut theirs]);
                let mbs = |t: std::time::Duration| bytes as f64 / 1e6 / t.as_secs_f64();
                println!(
                    "| {name} | {} KiB | {level} | {:.4} | {:.4} | {:.0} MB/s | {:.0} MB/s | {:.2}x |",
                    size >> 10,
                    a as f64 / bytes as f64,
                    b as f64 / bytes as f64,
                    mbs(times[0]),
                    mbs(times[1]),
                    times[1].as_secs_f64() / times[0].as_secs_f64(),
                );
            }
        }
    }
}

/// Wire / payload per memory preset (window 1 KiB to 32 KiB), same corpus.
fn presets(total: usize) {
    println!("\n# ratio (wire / payload) per compressor memory preset\n");
    let names: Vec<String> = CompressorMemory::ALL
        .iter()
        .map(|m| format!("{m:?} ({} KiB)", (1usize << m.window_bits()) >> 10))
        .collect();
    println!("| payload | message | level | {} |", names.join(" | "));
    println!("|---|---|---|{}", "---|".repeat(names.len()));
    let mut rng = Rng::new(7);
    for (name, make) in [
        ("JSON-like", json as fn(&mut Rng, usize) -> String),
        ("prose", prose),
    ] {
        for size in [1024usize, 16 * 1024] {
            let messages: Vec<String> = (0..total / size).map(|_| make(&mut rng, size)).collect();
            let bytes: usize = messages.iter().map(String::len).sum();
            for level in [1u8, 6] {
                let cells: Vec<String> = CompressorMemory::ALL
                    .iter()
                    .map(|&m| {
                        let mut wire = Vec::new();
                        client_wire_with(config_with(level, m), &messages, &mut wire);
                        format!("{:.3}", wire.len() as f64 / bytes as f64)
                    })
                    .collect();
                println!(
                    "| {name} | {} KiB | {level} | {} |",
                    size >> 10,
                    cells.join(" | ")
                );
            }
        }
    }
}

//! Shared pieces of the side-by-side benches: a tiny median-of-N timer, the
//! byte streams every implementation is fed, and in-memory transports (sync
//! and tokio) that serve those bytes in fixed-size reads and swallow writes.
//!
//! Every bench binary includes this with `mod common;`; each uses only part
//! of it.
#![allow(dead_code)]

use std::hint::black_box;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use cpu_time::ThreadTime;

/// `WSM_BENCH_QUICK=1`: smaller streams and fewer runs, for a smoke run.
pub fn quick() -> bool {
    std::env::var_os("WSM_BENCH_QUICK").is_some_and(|v| !v.is_empty() && v != "0")
}

/// The first command-line argument that is not a flag (`cargo bench --bench
/// decode -- 1KiB` runs only cases whose name contains `1KiB`).
pub fn filter() -> Option<String> {
    std::env::args().skip(1).find(|a| !a.starts_with('-'))
}

/// Runs per measurement: the median is reported.
pub fn runs() -> usize {
    std::env::var("WSM_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick() { 5 } else { 7 })
}

/// Shortest time one sample of a measurement takes: a fast case is repeated
/// until a sample is at least this long.
pub fn min_sample() -> Duration {
    Duration::from_millis(if quick() { 4 } else { 25 })
}

/// Median time per call of each of `fns`, in CPU time of this thread (the
/// machine is shared: wall time would count other processes' slices), over `runs` samples taken
/// round-robin (one sample of each function per round, so that load from
/// elsewhere on the machine hits every implementation alike). Each sample
/// repeats its function enough times to last [`min_sample`]. Every function
/// returns a checksum that must not change from call to call.
pub fn compare(runs: usize, fns: &mut [&mut dyn FnMut() -> u64]) -> Vec<Duration> {
    let mut plan = Vec::with_capacity(fns.len());
    for f in fns.iter_mut() {
        // Warm-up, checksum and calibration.
        let start = ThreadTime::now();
        let expected = black_box(f());
        let once = start.elapsed().max(Duration::from_nanos(1));
        let iters = (min_sample().as_secs_f64() / once.as_secs_f64())
            .ceil()
            .max(1.0) as u32;
        plan.push((expected, iters, Vec::with_capacity(runs)));
    }
    for _ in 0..runs.max(1) {
        for (f, (expected, iters, times)) in fns.iter_mut().zip(plan.iter_mut()) {
            let start = ThreadTime::now();
            for _ in 0..*iters {
                let sum = black_box(f());
                assert_eq!(sum, *expected, "checksum changed between runs");
            }
            times.push(start.elapsed() / *iters);
        }
    }
    plan.into_iter()
        .map(|(_, _, mut times)| {
            times.sort();
            times[times.len() / 2]
        })
        .collect()
}

/// The message sizes of every bench.
pub const SIZES: [usize; 6] = [16, 125, 1024, 16 * 1024, 64 * 1024, 1024 * 1024];

/// How many messages of `size` bytes a stream holds: ~64 MiB of payload
/// (8 MiB in quick mode), at most 1,000,000 (125,000) messages.
pub fn message_count(size: usize) -> usize {
    let (bytes, max) = if quick() {
        (8 << 20, 125_000)
    } else {
        (64 << 20, 1_000_000)
    };
    (bytes / size).clamp(1, max)
}

/// Like [`message_count`], a quarter of it for text: mixed UTF-8 runs at a
/// few hundred MiB/s, and the suite should finish in minutes.
pub fn message_count_for(kind: Payload, size: usize) -> usize {
    match kind {
        Payload::Binary => message_count(size),
        _ => (message_count(size) / 4).max(1),
    }
}

/// `16 B`, `1 KiB`, `1 MiB`.
pub fn size_name(size: usize) -> String {
    if size >= 1 << 20 && size.is_multiple_of(1 << 20) {
        format!("{} MiB", size >> 20)
    } else if size >= 1024 && size.is_multiple_of(1024) {
        format!("{} KiB", size >> 10)
    } else {
        format!("{size} B")
    }
}

/// A read size for the in-memory transports; `usize::MAX` is "all at once".
pub const READS: [(usize, &str); 3] = [
    (16 * 1024, "16 KiB reads"),
    (4 * 1024, "4 KiB reads"),
    (usize::MAX, "all at once"),
];

/// Throughput in MiB/s.
pub fn mib_per_s(bytes: usize, time: Duration) -> f64 {
    bytes as f64 / (1 << 20) as f64 / time.as_secs_f64()
}

/// A table cell with both throughputs: "N MiB/s, M M msg/s".
pub fn cell(bytes: usize, count: usize, time: Duration) -> String {
    format!(
        "{:.0} MiB/s, {:.2} M msg/s",
        mib_per_s(bytes, time),
        mmsg_per_s(count, time)
    )
}

/// Messages per second, in millions.
pub fn mmsg_per_s(count: usize, time: Duration) -> f64 {
    count as f64 / 1e6 / time.as_secs_f64()
}

/// A deterministic pseudo-random byte source (xorshift), so that every run
/// and every implementation sees the same bytes.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let word = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
    }
}

/// What a payload holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Payload {
    /// Random bytes, sent as binary frames.
    Binary,
    /// Printable ASCII, sent as text frames.
    Ascii,
    /// Text mixing ASCII with 2-, 3- and 4-byte characters, sent as text frames.
    Mixed,
}

impl Payload {
    pub fn name(self) -> &'static str {
        match self {
            Self::Binary => "binary",
            Self::Ascii => "text ASCII",
            Self::Mixed => "text mixed UTF-8",
        }
    }
}

/// One payload of exactly `size` bytes of the given kind (valid UTF-8 for text).
pub fn payload(kind: Payload, size: usize, rng: &mut Rng) -> Vec<u8> {
    match kind {
        Payload::Binary => {
            let mut data = vec![0; size];
            rng.fill(&mut data);
            data
        }
        Payload::Ascii => (0..size)
            .map(|_| b' ' + (rng.next_u64() % 95) as u8)
            .collect(),
        Payload::Mixed => {
            // Roughly half ASCII by characters; ends padded with ASCII so the
            // length is exact and every character is whole.
            const PIECES: [&str; 8] = ["a", "Z", " ", "é", "ß", "€", "中", "𝄞"];
            let mut text = String::with_capacity(size);
            loop {
                let piece = PIECES[(rng.next_u64() % PIECES.len() as u64) as usize];
                if text.len() + piece.len() > size {
                    break;
                }
                text.push_str(piece);
            }
            while text.len() < size {
                text.push('.');
            }
            text.into_bytes()
        }
    }
}

/// Appends one frame header to `out` (RFC 6455 section 5.2), written here
/// rather than taken from any implementation under test.
pub fn push_header(out: &mut Vec<u8>, opcode: u8, len: usize, mask: Option<[u8; 4]>) {
    out.push(0x80 | opcode);
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    if len < 126 {
        out.push(mask_bit | len as u8);
    } else if len <= 0xFFFF {
        out.push(mask_bit | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(mask_bit | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    if let Some(key) = mask {
        out.extend_from_slice(&key);
    }
}

/// A client-to-server stream: `count` masked single-frame messages of `size`
/// bytes, each with its own key. Returns the stream and the payload bytes.
pub fn masked_stream(kind: Payload, size: usize, count: usize) -> Vec<u8> {
    let mut rng = Rng::new(0x5EED ^ size as u64);
    // A few distinct payloads, cycled, so the stream is not one repeated frame.
    let payloads: Vec<Vec<u8>> = (0..8).map(|_| payload(kind, size, &mut rng)).collect();
    let opcode = if kind == Payload::Binary { 2 } else { 1 };
    let mut out = Vec::with_capacity(count * (size + 14));
    for i in 0..count {
        let key = (rng.next_u64() as u32).to_be_bytes();
        push_header(&mut out, opcode, size, Some(key));
        let at = out.len();
        out.extend_from_slice(&payloads[i % payloads.len()]);
        for (j, byte) in out[at..].iter_mut().enumerate() {
            *byte ^= key[j & 3];
        }
    }
    out
}

/// A blocking in-memory transport: reads serve `stream` at most `chunk`
/// bytes at a time (one copy, as a socket read would make); writes are
/// copied into a fixed scratch buffer and counted (as a kernel would copy
/// them into a socket buffer).
pub struct MemStream<'a> {
    pub input: &'a [u8],
    pub pos: usize,
    pub chunk: usize,
    pub sink: Sink,
}

impl<'a> MemStream<'a> {
    pub fn new(input: &'a [u8], chunk: usize) -> Self {
        Self {
            input,
            pos: 0,
            chunk,
            sink: Sink::new(),
        }
    }

    fn read_into(&mut self, buf: &mut [u8]) -> usize {
        let n = buf.len().min(self.chunk).min(self.input.len() - self.pos);
        buf[..n].copy_from_slice(&self.input[self.pos..self.pos + n]);
        self.pos += n;
        n
    }
}

impl io::Read for MemStream<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Ok(self.read_into(buf))
    }
}

impl io::Write for MemStream<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(self.sink.take(buf))
    }
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        Ok(bufs.iter().map(|b| self.sink.take(b)).sum())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl tokio::io::AsyncRead for MemStream<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let n = self.read_into(buf.initialize_unfilled());
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl tokio::io::AsyncWrite for MemStream<'_> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(self.sink.take(buf)))
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(bufs.iter().map(|b| self.sink.take(b)).sum()))
    }
    fn is_write_vectored(&self) -> bool {
        true
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Where written bytes go: copied into a 256 KiB ring (the cost a kernel
/// socket buffer imposes on every implementation alike) and counted.
pub struct Sink {
    ring: Vec<u8>,
    at: usize,
    pub written: usize,
    /// XOR of the first byte of every write, so the copies are observed.
    pub check: u8,
}

impl Sink {
    pub fn new() -> Self {
        Self {
            ring: vec![0; 256 * 1024],
            at: 0,
            written: 0,
            check: 0,
        }
    }

    pub fn take(&mut self, mut data: &[u8]) -> usize {
        let total = data.len();
        if let Some(first) = data.first() {
            self.check ^= first;
        }
        while !data.is_empty() {
            if self.at == self.ring.len() {
                self.at = 0;
            }
            let n = data.len().min(self.ring.len() - self.at);
            self.ring[self.at..self.at + n].copy_from_slice(&data[..n]);
            self.at += n;
            data = &data[n..];
        }
        self.written += total;
        // The ring is never read: keep the compiler from dropping the copies.
        black_box(&mut self.ring);
        total
    }
}

impl Default for Sink {
    fn default() -> Self {
        Self::new()
    }
}

/// A current-thread tokio runtime, as a single-connection server would use.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("tokio runtime")
}

/// A current-thread tokio runtime with I/O enabled, for a socket server.
pub fn runtime_with_io() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .expect("tokio runtime")
}

/// XORs `buf` with a repeating 4-byte key: the plain loop of the "limit"
/// rows, written for the compiler to vectorise (8 bytes at a time).
pub fn xor_key(buf: &mut [u8], key: [u8; 4]) {
    let wide = u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ]);
    let mut chunks = buf.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let word = u64::from_ne_bytes(chunk.try_into().unwrap()) ^ wide;
        chunk.copy_from_slice(&word.to_ne_bytes());
    }
    for (i, byte) in chunks.into_remainder().iter_mut().enumerate() {
        *byte ^= key[i & 3];
    }
}

/// Copies `src` to `dst` XORing with `key` on the way, one pass.
pub fn copy_xor(dst: &mut [u8], src: &[u8], key: [u8; 4]) {
    let wide = u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ]);
    let n = src.len() / 8 * 8;
    for (d, s) in dst[..n].chunks_exact_mut(8).zip(src[..n].chunks_exact(8)) {
        let word = u64::from_ne_bytes(s.try_into().unwrap()) ^ wide;
        d.copy_from_slice(&word.to_ne_bytes());
    }
    for i in n..src.len() {
        dst[i] = src[i] ^ key[i & 3];
    }
}

/// The "limit": what any server must at least do with a client stream —
/// copy it out of the transport in `chunk`-sized reads and XOR it with a
/// mask. The faster of two plain loops (copy then XOR in place; fused
/// copy-XOR) is reported. `scratch` is at least `min(chunk, stream.len())`.
pub fn limit_pass(stream: &[u8], chunk: usize, scratch: &mut [u8], fused: bool) -> u64 {
    let key = [0x37, 0xfa, 0x21, 0x3d];
    let mut sum = 0u64;
    for piece in stream.chunks(chunk.min(stream.len()).max(1)) {
        let dst = &mut scratch[..piece.len()];
        if fused {
            copy_xor(dst, piece, key);
        } else {
            dst.copy_from_slice(piece);
            xor_key(dst, key);
        }
        sum = sum.wrapping_add(u64::from(dst[0]) + u64::from(dst[dst.len() - 1]));
        black_box(&dst);
    }
    sum
}

//! [`DeflateConfig`]: what this endpoint offers, accepts and demands.

use core::fmt;

/// The smallest LZ77 window RFC 7692 allows, as a power of two (256 bytes).
pub const MIN_WINDOW_BITS: u8 = 8;
/// The largest (and default) LZ77 window, as a power of two (32 KiB).
pub const MAX_WINDOW_BITS: u8 = 15;

/// How much memory a compressor may use: its window and hash table.
///
/// Like uWebSockets' dedicated-compressor sizes. The window is the most a
/// compressor refers back (it never exceeds what was negotiated, and may
/// always be smaller: the peer's decompressor keeps the negotiated window
/// anyway); the hash table finds repeats in it. Heap bytes of one
/// compressor's state with the 32 KiB window negotiated (x86_64), as
/// [`Compressor::memory_usage`](super::Compressor::memory_usage) reports them:
///
/// | preset | window | hash entries | level 1 | levels 2-9 (adds hash chains) |
/// | --- | --- | --- | --- | --- |
/// | [`Tiny`](Self::Tiny) | 1 KiB | 512 | 2,120 B | 4,168 B |
/// | [`Small`](Self::Small) | 2 KiB | 1,024 | 4,168 B | 8,264 B |
/// | [`Medium`](Self::Medium) | 4 KiB | 2,048 | 8,264 B | 16,456 B |
/// | [`Default`](Self::Default) | 8 KiB | 4,096 | 16,456 B | 32,840 B |
/// | [`Large`](Self::Large) | 16 KiB | 8,192 | 32,840 B | 65,608 B |
/// | [`Max`](Self::Max) | 32 KiB | 16,384 | 65,608 B | 131,144 B |
///
/// A smaller negotiated window shrinks the window and the hash table further
/// (`server_max_window_bits=10` gives a 1 KiB window whatever the preset).
/// The decompressor is not sized by the preset: it must keep the window the
/// peer negotiated (about 42 KiB with miniz_oxide's inflater).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CompressorMemory {
    /// 1 KiB window: about 2 KiB of state.
    Tiny,
    /// 2 KiB window: about 4 KiB.
    Small,
    /// 4 KiB window: about 8 KiB.
    Medium,
    /// 8 KiB window: about 16 KiB (the default; with the decompressor a
    /// connection with context takeover holds about 59 KiB of codec state).
    #[default]
    Default,
    /// 16 KiB window: about 32 KiB.
    Large,
    /// 32 KiB window, the largest DEFLATE has: about 64 KiB.
    Max,
}

impl CompressorMemory {
    /// Every preset, smallest first.
    pub const ALL: [Self; 6] = [
        Self::Tiny,
        Self::Small,
        Self::Medium,
        Self::Default,
        Self::Large,
        Self::Max,
    ];

    /// The preset's window, as log2 of bytes.
    pub const fn window_bits(self) -> u8 {
        match self {
            Self::Tiny => 10,
            Self::Small => 11,
            Self::Medium => 12,
            Self::Default => 13,
            Self::Large => 14,
            Self::Max => 15,
        }
    }

    /// log2 of the preset's hash table entries (half the window's bytes).
    pub const fn hash_bits(self) -> u8 {
        self.window_bits() - 1
    }
}

/// A [`DeflateConfig`] setter was given a value outside its range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct InvalidConfig {
    /// The setting that was refused.
    pub setting: &'static str,
}

impl fmt::Display for InvalidConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid permessage-deflate setting: {}", self.setting)
    }
}

impl core::error::Error for InvalidConfig {}

/// Settings for permessage-deflate (RFC 7692), for either role.
///
/// The same value serves a client (what it offers) and a server (what it
/// accepts and what it demands). An endpoint may always compress with a
/// smaller window than negotiated and may always drop its context between
/// messages, so the settings about the endpoint's *own* compressor are applied
/// whatever the peer says; the settings about the *peer's* compressor are
/// requests.
///
/// ```
/// use wsmachine::deflate::DeflateConfig;
/// let config = DeflateConfig::default()
///     .with_server_no_context_takeover(true)
///     .with_client_max_window_bits(10)?
///     .with_threshold(128);
/// assert_eq!(config.client_max_window_bits(), 10);
/// # Ok::<(), wsmachine::deflate::InvalidConfig>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeflateConfig {
    enabled: bool,
    client_max_window_bits: u8,
    server_max_window_bits: u8,
    client_no_context_takeover: bool,
    server_no_context_takeover: bool,
    level: u8,
    threshold: usize,
    release_idle_memory: bool,
    memory: CompressorMemory,
    shared_state: bool,
}

impl Default for DeflateConfig {
    /// Enabled, 32 KiB windows with context takeover both ways, level 1,
    /// threshold 64 bytes, [`CompressorMemory::Default`], state kept between
    /// messages, not shared.
    fn default() -> Self {
        Self {
            enabled: true,
            client_max_window_bits: MAX_WINDOW_BITS,
            server_max_window_bits: MAX_WINDOW_BITS,
            client_no_context_takeover: false,
            server_no_context_takeover: false,
            level: 1,
            threshold: 64,
            release_idle_memory: false,
            memory: CompressorMemory::Default,
            shared_state: false,
        }
    }
}

fn window(bits: u8, setting: &'static str) -> Result<u8, InvalidConfig> {
    if (MIN_WINDOW_BITS..=MAX_WINDOW_BITS).contains(&bits) {
        Ok(bits)
    } else {
        Err(InvalidConfig { setting })
    }
}

impl DeflateConfig {
    /// Whether a client offers permessage-deflate and a server accepts it.
    pub const fn enabled(&self) -> bool {
        self.enabled
    }

    /// Turns permessage-deflate on or off (default: on).
    pub const fn with_enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }

    /// The largest window (log2 of bytes, 8..=15) the client's compressor uses.
    pub const fn client_max_window_bits(&self) -> u8 {
        self.client_max_window_bits
    }

    /// Sets `client_max_window_bits` (8..=15, default 15).
    ///
    /// A client compresses with at most this window and announces it in its
    /// offer; a server asks the client for it when the client's offer says it
    /// supports `client_max_window_bits`.
    pub fn with_client_max_window_bits(mut self, bits: u8) -> Result<Self, InvalidConfig> {
        self.client_max_window_bits = window(bits, "client_max_window_bits")?;
        Ok(self)
    }

    /// The largest window (log2 of bytes, 8..=15) the server's compressor uses.
    pub const fn server_max_window_bits(&self) -> u8 {
        self.server_max_window_bits
    }

    /// Sets `server_max_window_bits` (8..=15, default 15).
    ///
    /// A server compresses with at most this window (and with less if the
    /// client asks for less); a client asks the server for it in its offer.
    pub fn with_server_max_window_bits(mut self, bits: u8) -> Result<Self, InvalidConfig> {
        self.server_max_window_bits = window(bits, "server_max_window_bits")?;
        Ok(self)
    }

    /// Whether the client's compressor starts every message afresh.
    pub const fn client_no_context_takeover(&self) -> bool {
        self.client_no_context_takeover
    }

    /// Sets `client_no_context_takeover` (default off).
    ///
    /// A client then resets its compressor after every message and says so in
    /// its offer; a server demands it of the client in its response.
    pub const fn with_client_no_context_takeover(mut self, on: bool) -> Self {
        self.client_no_context_takeover = on;
        self
    }

    /// Whether the server's compressor starts every message afresh.
    pub const fn server_no_context_takeover(&self) -> bool {
        self.server_no_context_takeover
    }

    /// Sets `server_no_context_takeover` (default off).
    ///
    /// A server then resets its compressor after every message and says so in
    /// its response; a client requests it in its offer.
    pub const fn with_server_no_context_takeover(mut self, on: bool) -> Self {
        self.server_no_context_takeover = on;
        self
    }

    /// The compression level, 1 (fastest) to 9 (smallest).
    pub const fn level(&self) -> u8 {
        self.level
    }

    /// Sets the compression level (1..=9, default 1).
    ///
    /// Level 1 looks up one candidate per position (a hash table, no
    /// chains); levels 2 and up follow hash chains (4 candidates at level 2
    /// up to 4,096 at 9, which adds two bytes of state per window byte), and
    /// from level 4 look one byte ahead for a longer match. Level 1 is the
    /// default because a WebSocket server compresses on its message path; Go's
    /// gorilla/websocket makes the same choice (`flate.BestSpeed`). See the
    /// README's compression table for speed and ratio per level.
    pub fn with_level(mut self, level: u8) -> Result<Self, InvalidConfig> {
        if !(1..=9).contains(&level) {
            return Err(InvalidConfig { setting: "level" });
        }
        self.level = level;
        Ok(self)
    }

    /// Messages shorter than this many bytes are sent uncompressed.
    pub const fn threshold(&self) -> usize {
        self.threshold
    }

    /// Sets the threshold (default 64 bytes).
    ///
    /// Why 64: a payload under 126 bytes has a 2-byte length either way, so
    /// only payload bytes can be saved; a lone message that short gains a few
    /// bytes at best (RFC 7692's own 5-byte `Hello` grows to 7), while every
    /// compressed message costs a compressor call. Messages that are skipped
    /// do not enter the compressor's context, and the peer's decompressor never
    /// sees them either, so skipping is always safe. Use 0 to compress
    /// everything (best with context takeover and many similar short
    /// messages).
    pub const fn with_threshold(mut self, bytes: usize) -> Self {
        self.threshold = bytes;
        self
    }

    /// Whether compressor and decompressor state is freed between messages.
    pub const fn release_idle_memory(&self) -> bool {
        self.release_idle_memory
    }

    /// Frees state between messages where context takeover is off (default off).
    ///
    /// When this is on, a compressor or decompressor whose direction has no
    /// context takeover frees its state at the end of each message and
    /// allocates it again for the next one, so an idle connection holds no
    /// deflate memory at all. Combine it with both `*_no_context_takeover`
    /// settings to get that in both directions, at the cost of ratio (no
    /// cross-message context) and an allocation per message;
    /// [`with_shared_state`](Self::with_shared_state) avoids the allocation.
    pub const fn with_release_idle_memory(mut self, on: bool) -> Self {
        self.release_idle_memory = on;
        self
    }

    /// The compressor's memory preset.
    pub const fn memory(&self) -> CompressorMemory {
        self.memory
    }

    /// Sets the compressor's memory preset (default
    /// [`CompressorMemory::Default`], an 8 KiB window).
    ///
    /// Measured on this crate's compression bench (`benches/compress.rs`),
    /// `Default` compresses within a few percent of the 32 KiB window; see
    /// the README for each preset's ratio.
    pub const fn with_memory(mut self, memory: CompressorMemory) -> Self {
        self.memory = memory;
        self
    }

    /// Whether directions without context takeover borrow a per-thread state.
    pub const fn shared_state(&self) -> bool {
        self.shared_state
    }

    /// Shares one compressor and one decompressor per thread across all
    /// connections, for the directions that have no context takeover
    /// (default off; it has no effect on a direction with context takeover,
    /// whose state must live as long as its connection).
    ///
    /// A server that sets `with_server_no_context_takeover(true)` and
    /// `with_client_no_context_takeover(true)` then holds no codec state per
    /// idle connection, and only one of each per thread, like uWebSockets'
    /// `SHARED_COMPRESSOR`. A connection holds the thread's state only from
    /// the first frame of a message to its end. Needs the `std` feature for
    /// the per-thread slot; without it, every message gets a fresh state.
    pub const fn with_shared_state(mut self, on: bool) -> Self {
        self.shared_state = on;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setters_validate() {
        let c = DeflateConfig::default();
        assert!(c.clone().with_client_max_window_bits(7).is_err());
        assert!(c.clone().with_client_max_window_bits(16).is_err());
        assert!(c.clone().with_server_max_window_bits(0).is_err());
        assert_eq!(
            c.clone()
                .with_server_max_window_bits(8)
                .unwrap()
                .server_max_window_bits(),
            8
        );
        assert!(c.clone().with_level(0).is_err());
        assert!(c.clone().with_level(10).is_err());
        assert_eq!(c.with_level(9).unwrap().level(), 9);
    }

    #[test]
    fn defaults() {
        let c = DeflateConfig::default();
        assert!(c.enabled());
        assert_eq!(
            (c.client_max_window_bits(), c.server_max_window_bits()),
            (15, 15)
        );
        assert!(!c.client_no_context_takeover() && !c.server_no_context_takeover());
        assert_eq!((c.level(), c.threshold()), (1, 64));
        assert!(!c.release_idle_memory());
        assert_eq!(c.memory(), CompressorMemory::Default);
        assert!(!c.shared_state());
    }
}

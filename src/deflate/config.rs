//! [`DeflateConfig`]: what this endpoint offers, accepts and demands.

use core::fmt;

/// The smallest LZ77 window RFC 7692 allows, as a power of two (256 bytes).
pub const MIN_WINDOW_BITS: u8 = 8;
/// The largest (and default) LZ77 window, as a power of two (32 KiB).
pub const MAX_WINDOW_BITS: u8 = 15;

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
}

impl Default for DeflateConfig {
    /// Enabled, 32 KiB windows with context takeover both ways, level 1,
    /// threshold 64 bytes, state kept between messages.
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
    /// Level 1 is the default because a WebSocket server compresses on its
    /// message path: measured with miniz_oxide on this project's machine it
    /// compresses German prose at 86 MB/s against 9.5 MB/s at level 6, and
    /// JSON at 1 GB/s against 115 MB/s, for a ratio of 0.53 against 0.39 on
    /// prose and 0.054 against 0.037 on JSON. Go's gorilla/websocket makes the
    /// same choice (`flate.BestSpeed`).
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

    /// The memory / ratio knob (default off).
    ///
    /// With miniz_oxide the state has a fixed size whatever the window
    /// (about 312 KiB to compress, 42 KiB to decompress; see the
    /// [module docs](super)), so smaller windows trade ratio for nothing. What
    /// does save memory is holding no state between messages: when this is on,
    /// a compressor or decompressor whose direction has no context takeover
    /// frees its state at the end of each message and allocates it again for
    /// the next one, so an idle connection holds no deflate memory at all.
    /// Combine it with both `*_no_context_takeover` settings to get that in
    /// both directions, at the cost of ratio (no cross-message context) and an
    /// allocation per message.
    pub const fn with_release_idle_memory(mut self, on: bool) -> Self {
        self.release_idle_memory = on;
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
    }
}

//! Limits and switches for a [`Connection`](crate::Connection).

use alloc::sync::Arc;
use core::time::Duration;

use crate::error::ConfigError;
use crate::handshake::{HandshakeLimits, OriginPolicy};

/// A connection's limits and protocol switches.
///
/// Every limit has a safe default; setters reject values out of range with a
/// [`ConfigError`] rather than panicking.
///
/// ```
/// use wsmachine::Config;
/// let config = Config::default()
///     .with_max_message_size(1 << 20)?
///     .with_max_frame_size(1 << 16)?
///     .with_auto_pong(false);
/// assert_eq!(config.max_message_size(), 1 << 20);
/// # Ok::<(), wsmachine::ConfigError>(())
/// ```
///
/// Cloning is cheap and clones share one copy of the settings (a reference
/// count): a server that gives every connection a clone of one `Config`
/// holds the settings once, and each connection a pointer to them. A setter
/// on a shared `Config` copies the settings first (clone on write), so the
/// other clones never change.
#[derive(Clone)]
pub struct Config {
    settings: Arc<Settings>,
}

/// What a [`Config`] holds, shared between its clones.
#[derive(Clone)]
struct Settings {
    max_frame_size: usize,
    max_message_size: usize,
    max_fragments: usize,
    auto_pong: bool,
    max_handshake_bytes: usize,
    max_headers: usize,
    origin_policy: OriginPolicy,
    #[cfg(feature = "deflate")]
    deflate: crate::deflate::DeflateConfig,
    timeouts: Timeouts,
    /// Streaming mode (issue 12): see [`Config::streaming`].
    streaming: Streaming,
}

/// The streaming-mode settings, kept together.
#[derive(Clone, Copy, Debug, Default)]
struct Streaming {
    on: bool,
    /// `max_message_size` does not apply to streamed messages.
    unlimited_messages: bool,
}

/// The four timers, each off when `None` (see [`Config::ping_interval`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Timeouts {
    pub(crate) ping_interval: Option<Duration>,
    pub(crate) ping_timeout: Option<Duration>,
    pub(crate) open_timeout: Option<Duration>,
    pub(crate) close_timeout: Option<Duration>,
}

/// The longest timer accepted: a day. Longer is a unit mistake, not a policy.
const DURATION_CEILING: Duration = Duration::from_secs(24 * 60 * 60);

fn check_duration(
    name: &'static str,
    value: Option<Duration>,
) -> Result<Option<Duration>, ConfigError> {
    match value {
        Some(d) if d.is_zero() => Err(ConfigError::ZeroDuration(name)),
        Some(d) if d > DURATION_CEILING => Err(ConfigError::DurationTooLong(name)),
        _ => Ok(value),
    }
}

/// The largest limit accepted: the address space of a 32-bit target stays
/// the binding constraint there, and 1 TiB elsewhere.
const LIMIT_CEILING: u64 = 1 << 40;

impl core::fmt::Debug for Config {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let s = &self.settings;
        let mut d = f.debug_struct("Config");
        d.field("max_frame_size", &s.max_frame_size)
            .field("max_message_size", &s.max_message_size)
            .field("max_fragments", &s.max_fragments)
            .field("auto_pong", &s.auto_pong)
            .field("max_handshake_bytes", &s.max_handshake_bytes)
            .field("max_headers", &s.max_headers)
            .field("origin_policy", &s.origin_policy);
        #[cfg(feature = "deflate")]
        d.field("deflate", &s.deflate);
        d.field("timeouts", &s.timeouts)
            .field("streaming", &s.streaming)
            .finish()
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            settings: Arc::new(Settings::default()),
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            max_frame_size: 16 << 20,
            max_message_size: 64 << 20,
            max_fragments: 1 << 17,
            auto_pong: true,
            max_handshake_bytes: 8 * 1024,
            max_headers: 64,
            origin_policy: OriginPolicy::SameHost,
            #[cfg(feature = "deflate")]
            deflate: crate::deflate::DeflateConfig::default(),
            // Python websockets' defaults: they are what keeps NAT mappings
            // and proxies (nginx's proxy_read_timeout is 60 s) from dropping
            // idle connections, and dead peers from holding one forever.
            timeouts: Timeouts {
                ping_interval: Some(Duration::from_secs(20)),
                ping_timeout: Some(Duration::from_secs(20)),
                open_timeout: Some(Duration::from_secs(10)),
                close_timeout: Some(Duration::from_secs(10)),
            },
            streaming: Streaming::default(),
        }
    }
}

fn check_limit(name: &'static str, value: usize) -> Result<usize, ConfigError> {
    if value == 0 {
        Err(ConfigError::ZeroLimit(name))
    } else if value as u64 > LIMIT_CEILING {
        Err(ConfigError::LimitTooLarge(name))
    } else {
        Ok(value)
    }
}

impl Config {
    /// The settings to change, copied first if other clones share them.
    fn settings_mut(&mut self) -> &mut Settings {
        Arc::make_mut(&mut self.settings)
    }

    /// Largest payload of a single received frame, in bytes (default 16 MiB).
    /// A longer frame fails the connection with 1009 as soon as its header
    /// arrives, before any of its payload is buffered.
    pub fn max_frame_size(&self) -> usize {
        self.settings.max_frame_size
    }

    /// Largest received message, in bytes, summed over its fragments
    /// (default 64 MiB). Bounds the reassembly buffer; over it, 1009.
    pub fn max_message_size(&self) -> usize {
        self.settings.max_message_size
    }

    /// Most frames one received message may arrive in (default 131,072).
    /// Over it, 1009.
    pub fn max_fragments(&self) -> usize {
        self.settings.max_fragments
    }

    /// Whether a received ping is answered with a pong automatically
    /// (default `true`). Only the pong for the latest ping is kept owed.
    pub fn auto_pong(&self) -> bool {
        self.settings.auto_pong
    }

    /// Largest opening handshake (request or response head), in bytes
    /// (default 8 KiB). Over it a server answers 431.
    pub fn max_handshake_bytes(&self) -> usize {
        self.settings.max_handshake_bytes
    }

    /// Most header lines in the opening handshake (default 64). Over it a
    /// server answers 431.
    pub fn max_headers(&self) -> usize {
        self.settings.max_headers
    }

    /// Which `Origin`s a server accepts (default [`OriginPolicy::SameHost`]:
    /// a browser page from another host is refused with 403).
    pub fn origin_policy(&self) -> &OriginPolicy {
        &self.settings.origin_policy
    }

    /// Keepalive: after this long with nothing received on an open
    /// connection, a ping is sent (default 20 s; `None` sends none).
    /// Anything received resets it; what this end sends does not.
    ///
    /// Timers run only when the driver gives the connection the time: see
    /// [`Connection::poll_timeout`](crate::Connection::poll_timeout).
    pub fn ping_interval(&self) -> Option<Duration> {
        self.settings.timeouts.ping_interval
    }

    /// Dead peer: if nothing at all arrives within this long after a
    /// keepalive ping, the connection fails with
    /// [`Timeout::DeadPeer`](crate::Timeout::DeadPeer) and close code 1011
    /// (default 20 s; `None` waits forever). Without
    /// [`ping_interval`](Self::ping_interval) no ping is sent and this never fires.
    pub fn ping_timeout(&self) -> Option<Duration> {
        self.settings.timeouts.ping_timeout
    }

    /// Opening: the handshake must complete within this long after the
    /// connection's clock starts, in both roles (default 10 s), or
    /// [`Timeout::Opening`](crate::Timeout::Opening). A server waiting for
    /// its application's decision is waiting too.
    pub fn open_timeout(&self) -> Option<Duration> {
        self.settings.timeouts.open_timeout
    }

    /// Closing: after this end's close frame, wait at most this long for the
    /// peer's (default 10 s), then the connection is closed with
    /// [`Timeout::Closing`](crate::Timeout::Closing).
    pub fn close_timeout(&self) -> Option<Duration> {
        self.settings.timeouts.close_timeout
    }

    /// Sets [`ping_interval`](Self::ping_interval): `None` (off), or more than zero and at most a day.
    pub fn with_ping_interval(
        mut self,
        interval: impl Into<Option<Duration>>,
    ) -> Result<Self, ConfigError> {
        self.settings_mut().timeouts.ping_interval =
            check_duration("ping_interval", interval.into())?;
        Ok(self)
    }

    /// Sets [`ping_timeout`](Self::ping_timeout): `None` (off), or more than zero and at most a day.
    pub fn with_ping_timeout(
        mut self,
        timeout: impl Into<Option<Duration>>,
    ) -> Result<Self, ConfigError> {
        self.settings_mut().timeouts.ping_timeout = check_duration("ping_timeout", timeout.into())?;
        Ok(self)
    }

    /// Sets [`open_timeout`](Self::open_timeout): `None` (off), or more than zero and at most a day.
    pub fn with_open_timeout(
        mut self,
        timeout: impl Into<Option<Duration>>,
    ) -> Result<Self, ConfigError> {
        self.settings_mut().timeouts.open_timeout = check_duration("open_timeout", timeout.into())?;
        Ok(self)
    }

    /// Sets [`close_timeout`](Self::close_timeout): `None` (off), or more than zero and at most a day.
    pub fn with_close_timeout(
        mut self,
        timeout: impl Into<Option<Duration>>,
    ) -> Result<Self, ConfigError> {
        self.settings_mut().timeouts.close_timeout =
            check_duration("close_timeout", timeout.into())?;
        Ok(self)
    }

    /// All four timers off: the connection never asks for the time.
    pub fn without_timeouts(mut self) -> Self {
        self.settings_mut().timeouts = Timeouts {
            ping_interval: None,
            ping_timeout: None,
            open_timeout: None,
            close_timeout: None,
        };
        self
    }

    pub(crate) fn timeouts(&self) -> &Timeouts {
        &self.settings.timeouts
    }

    pub(crate) fn handshake_limits(&self) -> HandshakeLimits {
        HandshakeLimits {
            max_bytes: self.settings.max_handshake_bytes,
            max_headers: self.settings.max_headers,
        }
    }

    /// Sets [`max_handshake_bytes`](Self::max_handshake_bytes); 256 bytes to 1 MiB.
    pub fn with_max_handshake_bytes(mut self, bytes: usize) -> Result<Self, ConfigError> {
        if bytes < 256 {
            return Err(ConfigError::LimitTooSmall("max_handshake_bytes"));
        }
        if bytes > 1 << 20 {
            return Err(ConfigError::LimitTooLarge("max_handshake_bytes"));
        }
        self.settings_mut().max_handshake_bytes = bytes;
        Ok(self)
    }

    /// Sets [`max_headers`](Self::max_headers); 8 to 1024.
    pub fn with_max_headers(mut self, count: usize) -> Result<Self, ConfigError> {
        if count < 8 {
            return Err(ConfigError::LimitTooSmall("max_headers"));
        }
        if count > 1024 {
            return Err(ConfigError::LimitTooLarge("max_headers"));
        }
        self.settings_mut().max_headers = count;
        Ok(self)
    }

    /// What permessage-deflate a client offers and a server accepts
    /// (default: enabled, both windows 15, context takeover both ways, level
    /// 6, messages under 64 bytes sent uncompressed).
    #[cfg(feature = "deflate")]
    pub fn deflate(&self) -> &crate::deflate::DeflateConfig {
        &self.settings.deflate
    }

    /// Sets [`deflate`](Self::deflate); `DeflateConfig::default().with_enabled(false)`
    /// turns compression off.
    #[cfg(feature = "deflate")]
    pub fn with_deflate(mut self, deflate: crate::deflate::DeflateConfig) -> Self {
        self.settings_mut().deflate = deflate;
        self
    }

    /// Sets [`origin_policy`](Self::origin_policy).
    pub fn with_origin_policy(mut self, policy: OriginPolicy) -> Self {
        self.settings_mut().origin_policy = policy;
        self
    }

    /// Sets [`max_frame_size`](Self::max_frame_size); 1 byte to 1 TiB.
    pub fn with_max_frame_size(mut self, bytes: usize) -> Result<Self, ConfigError> {
        self.settings_mut().max_frame_size = check_limit("max_frame_size", bytes)?;
        Ok(self)
    }

    /// Sets [`max_message_size`](Self::max_message_size); 1 byte to 1 TiB.
    pub fn with_max_message_size(mut self, bytes: usize) -> Result<Self, ConfigError> {
        self.settings_mut().max_message_size = check_limit("max_message_size", bytes)?;
        Ok(self)
    }

    /// Sets [`max_fragments`](Self::max_fragments); at least 1.
    pub fn with_max_fragments(mut self, count: usize) -> Result<Self, ConfigError> {
        self.settings_mut().max_fragments = check_limit("max_fragments", count)?;
        Ok(self)
    }

    /// Sets [`auto_pong`](Self::auto_pong).
    pub fn with_auto_pong(mut self, on: bool) -> Self {
        self.settings_mut().auto_pong = on;
        self
    }
}

/// Streaming mode: messages received as chunks, memory bounded by the read size.
impl Config {
    /// Whether received text and binary messages arrive in pieces, as
    /// [`Event::Chunk`](crate::Event::Chunk)s holding the bytes that have
    /// arrived so far (partial frames too), instead of whole as
    /// [`Event::Message`](crate::Event::Message) (default `false`).
    ///
    /// The connection then holds no more than one read (plus a partial
    /// header or control frame, at most 139 bytes, and the deflate scratch
    /// buffer of 64 KiB): a message of any size passes through the same
    /// memory. Text chunks are each valid UTF-8 (a character split by a
    /// read or a frame boundary is held back, at most 3 bytes, and starts
    /// the next chunk); invalid text fails the connection with 1007 as soon
    /// as it arrives, after every chunk before it was delivered.
    pub fn streaming(&self) -> bool {
        self.settings.streaming.on
    }

    /// Sets [`streaming`](Self::streaming).
    pub fn with_streaming(mut self, on: bool) -> Self {
        self.settings_mut().streaming.on = on;
        self
    }

    /// Turns [`max_message_size`](Self::max_message_size) off for streamed
    /// messages: with [`streaming`](Self::streaming) on, a message may be
    /// any length ([`max_frame_size`](Self::max_frame_size) and
    /// [`max_fragments`](Self::max_fragments) still apply). Whole-message
    /// mode keeps the limit, which bounds its reassembly buffer.
    ///
    /// ```
    /// use wsmachine::Config;
    /// let config = Config::default()
    ///     .with_streaming(true)
    ///     .without_message_size_limit()
    ///     .with_max_frame_size(1 << 40)?; // a 1 GiB single frame is fine
    /// assert_eq!(config.streamed_message_limit(), None);
    /// assert_eq!(Config::default().streamed_message_limit(), Some(64 << 20));
    /// # Ok::<(), wsmachine::ConfigError>(())
    /// ```
    pub fn without_message_size_limit(mut self) -> Self {
        self.settings_mut().streaming.unlimited_messages = true;
        self
    }

    /// The message size limit that applies in streaming mode: `None` after
    /// [`without_message_size_limit`](Self::without_message_size_limit),
    /// else [`max_message_size`](Self::max_message_size).
    pub fn streamed_message_limit(&self) -> Option<usize> {
        if self.settings.streaming.unlimited_messages {
            None
        } else {
            Some(self.settings.max_message_size)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_settings_and_setters_copy_on_write() {
        let base = Config::default().with_max_frame_size(1 << 12).unwrap();
        let shared = base.clone();
        // One copy of the settings between the two: a connection given a
        // clone holds a pointer, not 160 bytes.
        assert!(Arc::ptr_eq(&base.settings, &shared.settings));
        assert_eq!(Arc::strong_count(&base.settings), 2);
        // Changing a clone leaves the others as they were.
        let changed = shared.clone().with_max_frame_size(1 << 13).unwrap();
        assert_eq!(base.max_frame_size(), 1 << 12);
        assert_eq!(shared.max_frame_size(), 1 << 12);
        assert_eq!(changed.max_frame_size(), 1 << 13);
        assert!(!Arc::ptr_eq(&base.settings, &changed.settings));
        let debug = alloc::format!("{base:?}");
        assert!(debug.starts_with("Config {") && debug.contains("max_frame_size: 4096"));
    }

    #[test]
    fn invalid_values_are_errors() {
        assert_eq!(
            Config::default().with_max_frame_size(0).unwrap_err(),
            ConfigError::ZeroLimit("max_frame_size")
        );
        assert_eq!(
            Config::default().with_max_fragments(0).unwrap_err(),
            ConfigError::ZeroLimit("max_fragments")
        );
        #[cfg(target_pointer_width = "64")]
        assert_eq!(
            Config::default()
                .with_max_message_size(usize::MAX)
                .unwrap_err(),
            ConfigError::LimitTooLarge("max_message_size")
        );
    }

    #[test]
    fn timers_default_to_python_websockets_and_reject_zero_and_overlong() {
        let config = Config::default();
        assert_eq!(config.ping_interval(), Some(Duration::from_secs(20)));
        assert_eq!(config.ping_timeout(), Some(Duration::from_secs(20)));
        assert_eq!(config.open_timeout(), Some(Duration::from_secs(10)));
        assert_eq!(config.close_timeout(), Some(Duration::from_secs(10)));
        assert_eq!(
            Config::default()
                .with_ping_interval(Duration::ZERO)
                .unwrap_err(),
            ConfigError::ZeroDuration("ping_interval")
        );
        assert_eq!(
            Config::default()
                .with_close_timeout(Duration::from_secs(2 * 24 * 3600))
                .unwrap_err(),
            ConfigError::DurationTooLong("close_timeout")
        );
        let off = Config::default().with_open_timeout(None).unwrap();
        assert_eq!(off.open_timeout(), None);
        assert_eq!(Config::default().without_timeouts().ping_timeout(), None);
    }
}

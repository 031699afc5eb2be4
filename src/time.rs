//! Time as an input: the engine has no clock, so the caller tells it the time.

use core::ops::{Add, Sub};
use core::time::Duration;

/// A point on the caller's monotonic clock: the time elapsed since an epoch
/// the caller chooses (process start, the creation of an event loop, boot).
///
/// The engine never reads a clock. Pass the same clock's readings to every
/// call on one connection ([`Connection::handle_timeout`](crate::Connection::handle_timeout)),
/// and compare deadlines from [`Connection::poll_timeout`](crate::Connection::poll_timeout)
/// with it. Stored as whole nanoseconds in a `u64` (584 years), so it costs
/// eight bytes per timer.
///
/// ```
/// use core::time::Duration;
/// use wsmachine::Timestamp;
/// let start = Timestamp::from_millis(1_000);
/// let later = start + Duration::from_secs(20);
/// assert_eq!(later - start, Duration::from_secs(20));
/// assert_eq!(start - later, Duration::ZERO); // saturates: monotonic clocks only go forward
/// ```
///
/// With `std`, a reading of [`std::time::Instant`] against an epoch of your
/// choice: `Timestamp::from_duration(now.duration_since(epoch))`, or
/// [`Timestamp::since`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(u64);

impl Timestamp {
    /// The epoch itself.
    pub const ZERO: Self = Self(0);

    /// `elapsed` since the epoch (saturating at 584 years).
    pub const fn from_duration(elapsed: Duration) -> Self {
        let nanos = elapsed.as_nanos();
        Self(if nanos > u64::MAX as u128 {
            u64::MAX
        } else {
            nanos as u64
        })
    }

    /// `millis` milliseconds since the epoch.
    pub const fn from_millis(millis: u64) -> Self {
        Self(millis.saturating_mul(1_000_000))
    }

    /// `nanos` nanoseconds since the epoch.
    pub const fn from_nanos(nanos: u64) -> Self {
        Self(nanos)
    }

    /// The time elapsed since the epoch.
    pub const fn as_duration(self) -> Duration {
        Duration::from_nanos(self.0)
    }

    /// Nanoseconds since the epoch.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// The reading of `now` on a clock whose epoch is `epoch`.
    #[cfg(feature = "std")]
    pub fn since(epoch: std::time::Instant, now: std::time::Instant) -> Self {
        Self::from_duration(now.saturating_duration_since(epoch))
    }
}

impl Add<Duration> for Timestamp {
    type Output = Self;

    /// Saturating: a deadline past the end of the clock is "never".
    fn add(self, rhs: Duration) -> Self {
        Self(self.0.saturating_add(Self::from_duration(rhs).0))
    }
}

impl Sub for Timestamp {
    type Output = Duration;

    /// The time from `rhs` to `self`, zero if `rhs` is later.
    fn sub(self, rhs: Self) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(rhs.0))
    }
}

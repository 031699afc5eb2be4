//! The four timers (open, keepalive, dead peer, close) as data: deadlines
//! computed from the time the driver last gave, never from a clock.
//!
//! The engine learns the time only from `handle_timeout(now)`. Input between
//! two such calls is noted as "heard" and folded in at the next call, so a
//! driver that calls `handle_timeout` after every read keeps keepalive and
//! round-trip times exact to the read, and one that calls it only when a
//! deadline passes still never fails a live peer: at worst its keepalive
//! pings come up to one interval late.

use core::time::Duration;

use super::State;
use crate::config::Timeouts;
use crate::error::Timeout;
use crate::time::Timestamp;

/// What a timer check asks the connection to do.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Action {
    Nothing,
    /// Send a keepalive ping with this payload.
    Ping([u8; 4]),
    /// Fail the connection with this timeout.
    Expire(Timeout),
}

/// An optional time in 8 bytes (`Option<Timestamp>` takes 16): `u64::MAX`
/// nanoseconds, 584 years after the epoch, stands for none. A time that
/// far out is stored as one nanosecond earlier: "never" either way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct MaybeTime(u64);

impl MaybeTime {
    const NONE: Self = Self(u64::MAX);

    fn new(time: Option<Timestamp>) -> Self {
        time.map_or(Self::NONE, |t| Self(t.as_nanos().min(u64::MAX - 1)))
    }

    fn get(self) -> Option<Timestamp> {
        (self != Self::NONE).then_some(Timestamp::from_nanos(self.0))
    }
}

impl Default for MaybeTime {
    fn default() -> Self {
        Self::NONE
    }
}

/// Every connection carries these, so they are kept compact (56 bytes, not
/// 120): optional times in 8 bytes each, the round trip as a time span.
#[derive(Debug, Default)]
pub(super) struct Timers {
    /// The latest time the driver gave; none until the clock starts.
    now: MaybeTime,
    /// When the next keepalive ping is due: an interval after the later of
    /// the last input (as of the last `handle_timeout` that saw it) and the
    /// last ping, so with no ping timeout pings repeat every interval. Kept
    /// as the deadline itself, not the time it counts from: a driver asks
    /// for it after every read, and the sum was taken twice per read.
    keepalive_at: MaybeTime,
    /// The open deadline while connecting, the close deadline once closing
    /// (`closing` says which): a connection is never in both phases, and
    /// never connecting again once closing.
    phase_deadline: MaybeTime,
    /// When the last keepalive ping went out (none once answered); its
    /// sequence number is the one before `next_seq`.
    ping_sent: MaybeTime,
    /// Nothing heard by then after a keepalive ping means the peer is gone.
    dead_deadline: MaybeTime,
    /// The last measured round trip, in nanoseconds (none: `u64::MAX`).
    latency: MaybeTime,
    next_seq: u32,
    /// Input arrived since the last `handle_timeout`.
    heard: bool,
    /// `phase_deadline` is the close deadline.
    closing: bool,
}

impl Timers {
    /// Bytes arrived from the peer.
    #[inline]
    pub(super) fn heard(&mut self) {
        self.heard = true;
    }

    /// A pong arrived: if it answers our last keepalive ping, measure the
    /// round trip against the time of the read it came in (the last time
    /// the driver gave). Other pongs (unsolicited, or for the application's
    /// own pings) change nothing.
    pub(super) fn on_pong(&mut self, payload: &[u8]) {
        if let (Some(sent), Some(now)) = (self.ping_sent.get(), self.now.get())
            && payload == self.next_seq.wrapping_sub(1).to_be_bytes()
        {
            let nanos = u64::try_from((now - sent).as_nanos()).unwrap_or(u64::MAX);
            self.latency = MaybeTime::new(Some(Timestamp::from_nanos(nanos)));
            self.ping_sent = MaybeTime::NONE;
        }
    }

    pub(super) fn latency(&self) -> Option<Duration> {
        self.latency.get().map(Timestamp::as_duration)
    }

    /// Takes the time and says what has expired, if anything.
    #[inline]
    pub(super) fn on_time(&mut self, now: Timestamp, state: State, t: &Timeouts) -> Action {
        let Some(before) = self.now.get() else {
            return self.start(now, state, t);
        };
        let now = before.max(now);
        self.now = MaybeTime::new(Some(now));
        if core::mem::take(&mut self.heard) {
            // Anything at all from the peer proves it alive (not only the pong).
            self.keepalive_at = MaybeTime::new(t.ping_interval.map(|i| now + i));
            self.dead_deadline = MaybeTime::NONE;
        }
        // The common answer, inline: open, no ping unanswered, keepalive
        // not yet due (a disabled keepalive is never due).
        if state == State::Open
            && self.dead_deadline == MaybeTime::NONE
            && now.as_nanos() < self.keepalive_at.0
        {
            return Action::Nothing;
        }
        self.check(now, state, t)
    }

    /// The first time given: the clock starts, counting the open timeout
    /// and the first keepalive interval from it.
    #[cold]
    fn start(&mut self, now: Timestamp, state: State, t: &Timeouts) -> Action {
        self.now = MaybeTime::new(Some(now));
        self.heard = false;
        self.keepalive_at = MaybeTime::new(t.ping_interval.map(|i| now + i));
        if state == State::Connecting {
            self.phase_deadline = MaybeTime::new(t.open_timeout.map(|d| now + d));
        }
        self.check(now, state, t)
    }

    #[inline(never)]
    fn check(&mut self, now: Timestamp, state: State, t: &Timeouts) -> Action {
        match state {
            State::Connecting => match self.open_deadline() {
                Some(deadline) if now >= deadline => Action::Expire(Timeout::Opening),
                _ => Action::Nothing,
            },
            State::Open => {
                if let Some(deadline) = self.dead_deadline.get() {
                    return if now >= deadline {
                        Action::Expire(Timeout::DeadPeer)
                    } else {
                        Action::Nothing
                    };
                }
                match self.keepalive_at.get() {
                    Some(deadline) if now >= deadline => {
                        let seq = self.next_seq;
                        self.next_seq = seq.wrapping_add(1);
                        self.ping_sent = MaybeTime::new(Some(now));
                        self.keepalive_at = MaybeTime::new(t.ping_interval.map(|i| now + i));
                        self.dead_deadline = MaybeTime::new(t.ping_timeout.map(|d| now + d));
                        Action::Ping(seq.to_be_bytes())
                    }
                    _ => Action::Nothing,
                }
            }
            State::Closing => {
                let Some(timeout) = t.close_timeout else {
                    return Action::Nothing;
                };
                let deadline = self.close_deadline().unwrap_or(now + timeout);
                self.phase_deadline = MaybeTime::new(Some(deadline));
                self.closing = true;
                if now >= deadline {
                    Action::Expire(Timeout::Closing)
                } else {
                    Action::Nothing
                }
            }
            State::Closed => Action::Nothing,
        }
    }

    /// When the connection next needs `handle_timeout`: the earliest armed
    /// deadline, or a time already passed when a timer waits to be armed.
    // Inline for the open state (a driver asks after every read) and for
    // "no timer" (an async driver asks before every wait); the rest out of
    // line.
    #[inline]
    pub(super) fn deadline(&self, state: State, t: &Timeouts) -> Option<Timestamp> {
        match state {
            State::Open if t.ping_interval.is_none() => None,
            State::Open if self.now != MaybeTime::NONE => {
                // A dead-peer deadline, when armed, is the one that counts:
                // no keepalive ping goes out while one is unanswered.
                self.dead_deadline.get().or(self.keepalive_at.get())
            }
            State::Connecting if t.open_timeout.is_none() => None,
            State::Closing if t.close_timeout.is_none() => None,
            State::Closed => None,
            _ => self.armed_deadline(state),
        }
    }

    /// [`deadline`](Self::deadline) for a state whose timer is configured.
    #[inline(never)]
    fn armed_deadline(&self, state: State) -> Option<Timestamp> {
        // Not started yet: "now" (the epoch is in the past for any clock).
        let Some(now) = self.now.get() else {
            return Some(Timestamp::ZERO);
        };
        match state {
            State::Connecting => self.open_deadline(),
            State::Open => self.dead_deadline.get().or(self.keepalive_at.get()),
            // Our close went out since the last call: arm it at the next one.
            State::Closing => Some(self.close_deadline().unwrap_or(now)),
            State::Closed => None,
        }
    }

    fn open_deadline(&self) -> Option<Timestamp> {
        self.phase_deadline.get().filter(|_| !self.closing)
    }

    fn close_deadline(&self) -> Option<Timestamp> {
        self.phase_deadline.get().filter(|_| self.closing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_deadline_does_not_inherit_the_open_deadline() {
        // The open and close deadlines share one slot: a connection that
        // opened and closed between two clock readings must get the close
        // timeout from the reading after, not the old open deadline.
        let secs = |s| Some(Duration::from_secs(s));
        let t = Timeouts {
            ping_interval: None,
            ping_timeout: None,
            open_timeout: secs(10),
            close_timeout: secs(2),
        };
        let at = |s: u64| Timestamp::from_millis(s * 1000);
        let mut timers = Timers::default();
        assert_eq!(
            timers.on_time(at(0), State::Connecting, &t),
            Action::Nothing
        );
        assert_eq!(timers.deadline(State::Connecting, &t), Some(at(10)));
        // Open, then closing, with no reading in between.
        assert_eq!(timers.deadline(State::Closing, &t), Some(at(0)));
        assert_eq!(timers.on_time(at(1), State::Closing, &t), Action::Nothing);
        assert_eq!(timers.deadline(State::Closing, &t), Some(at(3)));
        assert_eq!(
            timers.on_time(at(3), State::Closing, &t),
            Action::Expire(Timeout::Closing)
        );
    }

    #[test]
    fn keepalive_counts_from_the_later_of_input_and_the_last_ping() {
        let secs = |s| Some(Duration::from_secs(s));
        let at = |s: u64| Timestamp::from_millis(s * 1000);
        let no_timeout = Timeouts {
            ping_interval: secs(10),
            ping_timeout: None,
            open_timeout: None,
            close_timeout: None,
        };
        let mut timers = Timers::default();
        assert_eq!(
            timers.deadline(State::Open, &no_timeout),
            Some(Timestamp::ZERO)
        );
        assert_eq!(
            timers.on_time(at(0), State::Open, &no_timeout),
            Action::Nothing
        );
        assert_eq!(timers.deadline(State::Open, &no_timeout), Some(at(10)));
        // Input at 4 s moves the ping to 14 s.
        timers.heard();
        assert_eq!(
            timers.on_time(at(4), State::Open, &no_timeout),
            Action::Nothing
        );
        assert_eq!(timers.deadline(State::Open, &no_timeout), Some(at(14)));
        assert_eq!(
            timers.on_time(at(14), State::Open, &no_timeout),
            Action::Ping(0u32.to_be_bytes())
        );
        // Unanswered with no ping timeout: the next ping an interval later.
        assert_eq!(timers.deadline(State::Open, &no_timeout), Some(at(24)));
        assert_eq!(
            timers.on_time(at(24), State::Open, &no_timeout),
            Action::Ping(1u32.to_be_bytes())
        );

        // A ping timeout longer than the interval: the dead-peer deadline
        // is the one reported (no second ping while one is unanswered).
        let long_timeout = Timeouts {
            ping_timeout: secs(30),
            ..no_timeout
        };
        let mut timers = Timers::default();
        assert_eq!(
            timers.on_time(at(0), State::Open, &long_timeout),
            Action::Nothing
        );
        assert_eq!(
            timers.on_time(at(10), State::Open, &long_timeout),
            Action::Ping(0u32.to_be_bytes())
        );
        assert_eq!(timers.deadline(State::Open, &long_timeout), Some(at(40)));
        assert_eq!(
            timers.on_time(at(25), State::Open, &long_timeout),
            Action::Nothing
        );
        assert_eq!(
            timers.on_time(at(40), State::Open, &long_timeout),
            Action::Expire(Timeout::DeadPeer)
        );
        // Disabled keepalive: never due, whatever the time.
        let off = Timeouts {
            ping_interval: None,
            ..no_timeout
        };
        let mut timers = Timers::default();
        assert_eq!(timers.on_time(at(0), State::Open, &off), Action::Nothing);
        assert_eq!(
            timers.on_time(at(100_000), State::Open, &off),
            Action::Nothing
        );
        assert_eq!(timers.deadline(State::Open, &off), None);
    }
}

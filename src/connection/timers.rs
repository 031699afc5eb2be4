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

#[derive(Debug, Default)]
pub(super) struct Timers {
    /// The latest time the driver gave; `None` until the clock starts.
    now: Option<Timestamp>,
    /// Input arrived since the last `handle_timeout`.
    heard: bool,
    /// When input last arrived, as of the last `handle_timeout` that saw it.
    last_heard: Timestamp,
    open_deadline: Option<Timestamp>,
    /// The last keepalive ping: its sequence number and when it went out.
    ping_sent: Option<(u32, Timestamp)>,
    /// Nothing heard by then after a keepalive ping means the peer is gone.
    dead_deadline: Option<Timestamp>,
    close_deadline: Option<Timestamp>,
    next_seq: u32,
    latency: Option<Duration>,
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
        if let (Some((seq, sent)), Some(now)) = (self.ping_sent, self.now)
            && payload == seq.to_be_bytes()
        {
            self.latency = Some(now - sent);
            self.ping_sent = None;
        }
    }

    pub(super) fn latency(&self) -> Option<Duration> {
        self.latency
    }

    /// Takes the time and says what has expired, if anything.
    pub(super) fn on_time(&mut self, now: Timestamp, state: State, t: &Timeouts) -> Action {
        let now = self.now.map_or(now, |before| before.max(now));
        if self.now.is_none() {
            self.last_heard = now;
            if state == State::Connecting {
                self.open_deadline = t.open_timeout.map(|d| now + d);
            }
        }
        self.now = Some(now);
        if core::mem::take(&mut self.heard) {
            self.last_heard = now;
            // Anything at all from the peer proves it alive (not only the pong).
            self.dead_deadline = None;
        }
        match state {
            State::Connecting => match self.open_deadline {
                Some(deadline) if now >= deadline => Action::Expire(Timeout::Opening),
                _ => Action::Nothing,
            },
            State::Open => {
                if let Some(deadline) = self.dead_deadline {
                    return if now >= deadline {
                        Action::Expire(Timeout::DeadPeer)
                    } else {
                        Action::Nothing
                    };
                }
                match self.keepalive_deadline(t) {
                    Some(deadline) if now >= deadline => {
                        let seq = self.next_seq;
                        self.next_seq = seq.wrapping_add(1);
                        self.ping_sent = Some((seq, now));
                        self.dead_deadline = t.ping_timeout.map(|d| now + d);
                        Action::Ping(seq.to_be_bytes())
                    }
                    _ => Action::Nothing,
                }
            }
            State::Closing => {
                let Some(timeout) = t.close_timeout else {
                    return Action::Nothing;
                };
                let deadline = *self.close_deadline.get_or_insert(now + timeout);
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
    pub(super) fn deadline(&self, state: State, t: &Timeouts) -> Option<Timestamp> {
        let wants_clock = match state {
            State::Connecting => t.open_timeout.is_some(),
            State::Open => t.ping_interval.is_some(),
            State::Closing => t.close_timeout.is_some(),
            State::Closed => false,
        };
        if !wants_clock {
            return None;
        }
        // Not started yet: "now" (the epoch is in the past for any clock).
        let Some(now) = self.now else {
            return Some(Timestamp::ZERO);
        };
        match state {
            State::Connecting => self.open_deadline,
            State::Open => self.dead_deadline.or_else(|| self.keepalive_deadline(t)),
            // Our close went out since the last call: arm it at the next one.
            State::Closing => Some(self.close_deadline.unwrap_or(now)),
            State::Closed => None,
        }
    }

    /// Keepalive fires an interval after the later of the last input and
    /// the last ping (so with no ping timeout, pings repeat every interval).
    fn keepalive_deadline(&self, t: &Timeouts) -> Option<Timestamp> {
        let interval = t.ping_interval?;
        let since = match self.ping_sent {
            Some((_, sent)) => sent.max(self.last_heard),
            None => self.last_heard,
        };
        Some(since + interval)
    }
}

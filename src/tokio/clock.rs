//! One timer per connection: a `tokio::time::Sleep` reset only when the
//! engine's next deadline moves earlier, or after it fired.

use alloc::boxed::Box;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, ready};

use ::tokio::time::{Instant, Sleep, sleep_until};

use crate::Timestamp;

/// The connection's clock (its epoch) and its one timer.
pub(super) struct Clock {
    epoch: Instant,
    /// Created at the first deadline.
    timer: Option<Pin<Box<Sleep>>>,
    /// The deadline `timer` is set to and has not fired for yet.
    armed: Option<Timestamp>,
}

impl Clock {
    pub(super) fn new() -> Self {
        Self {
            epoch: Instant::now(),
            timer: None,
            armed: None,
        }
    }

    /// The engine's reading of `at`.
    pub(super) fn timestamp(&self, at: Instant) -> Timestamp {
        Timestamp::from_duration(at.saturating_duration_since(self.epoch))
    }

    /// `Ready(now)` once `deadline` has passed (or, see below, an earlier
    /// deadline it was armed for); registers the waker otherwise. `None`
    /// never fires.
    ///
    /// A deadline that moved later (keepalive, pushed back by every read)
    /// does not reset the `Sleep`: the one armed for the earlier deadline
    /// fires first, the engine's tick then finds nothing due, and the next
    /// poll arms the new deadline. One early wake-up per pushed-back
    /// interval instead of a timer reset per read; a deadline that moved
    /// earlier is armed at once, so nothing fires late.
    pub(super) fn poll(
        &mut self,
        cx: &mut Context<'_>,
        deadline: Option<Timestamp>,
    ) -> Poll<Timestamp> {
        let Some(deadline) = deadline else {
            return Poll::Pending;
        };
        let armed = match (&mut self.timer, self.armed) {
            (Some(_), Some(armed)) if armed <= deadline => armed,
            (Some(timer), _) => {
                timer.as_mut().reset(self.epoch + deadline.as_duration());
                self.armed = Some(deadline);
                deadline
            }
            (None, _) => {
                self.timer = Some(Box::pin(sleep_until(self.epoch + deadline.as_duration())));
                self.armed = Some(deadline);
                deadline
            }
        };
        let Some(timer) = &mut self.timer else {
            return Poll::Pending;
        };
        ready!(timer.as_mut().poll(cx));
        // Fired: whatever the engine asks next is armed afresh.
        self.armed = None;
        let at = self.epoch + armed.as_duration();
        Poll::Ready(self.timestamp(Instant::now().max(at)))
    }
}

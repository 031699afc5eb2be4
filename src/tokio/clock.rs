//! One timer per connection: a `tokio::time::Sleep` reset only when the
//! engine's next deadline moves earlier, or after it fired.

use alloc::boxed::Box;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};

use ::tokio::time::{Instant, Sleep, sleep_until};

use crate::Timestamp;

/// The connection's clock (its epoch) and its one timer.
pub(super) struct Clock {
    epoch: Instant,
    /// Created at the first deadline.
    timer: Option<Pin<Box<Sleep>>>,
    /// The deadline `timer` is set to and has not fired for yet.
    armed: Option<Timestamp>,
    /// The waker `timer` holds: registered by its last poll, since which
    /// it was not reset. `None` until then.
    registered: Option<Waker>,
}

impl Clock {
    pub(super) fn new() -> Self {
        Self {
            epoch: Instant::now(),
            timer: None,
            armed: None,
            registered: None,
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
        let armed = match self.armed {
            // `armed` is only set with a timer.
            Some(armed) if armed <= deadline => armed,
            _ => {
                let at = self.epoch + deadline.as_duration();
                match &mut self.timer {
                    Some(timer) => timer.as_mut().reset(at),
                    None => self.timer = Some(Box::pin(sleep_until(at))),
                }
                self.armed = Some(deadline);
                self.registered = None;
                deadline
            }
        };
        let Some(timer) = &mut self.timer else {
            return Poll::Pending;
        };
        // Armed as at its last poll, not elapsed, and holding this task's
        // waker: polling it again would only register the same waker (once
        // per echo under keepalive). If it fires after this check, that
        // waker wakes the task, whose next poll sees it elapsed.
        if !timer.is_elapsed()
            && self
                .registered
                .as_ref()
                .is_some_and(|waker| waker.will_wake(cx.waker()))
        {
            return Poll::Pending;
        }
        if timer.as_mut().poll(cx).is_pending() {
            self.registered = Some(cx.waker().clone());
            return Poll::Pending;
        }
        // Fired: whatever the engine asks next is armed afresh.
        self.armed = None;
        self.registered = None;
        let at = self.epoch + armed.as_duration();
        Poll::Ready(self.timestamp(Instant::now().max(at)))
    }
}

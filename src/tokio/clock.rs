//! One timer per connection: a `tokio::time::Sleep` reset only when the
//! engine's next deadline changes.

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
    /// The deadline `timer` is set to.
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

    /// `Ready(now)` once `deadline` has passed; registers the waker
    /// otherwise. `None` never fires.
    pub(super) fn poll(
        &mut self,
        cx: &mut Context<'_>,
        deadline: Option<Timestamp>,
    ) -> Poll<Timestamp> {
        let Some(deadline) = deadline else {
            self.armed = None;
            return Poll::Pending;
        };
        let at = self.epoch + deadline.as_duration();
        if self.armed != Some(deadline) {
            match &mut self.timer {
                Some(timer) => timer.as_mut().reset(at),
                None => self.timer = Some(Box::pin(sleep_until(at))),
            }
            self.armed = Some(deadline);
        }
        let Some(timer) = &mut self.timer else {
            return Poll::Pending;
        };
        ready!(timer.as_mut().poll(cx));
        Poll::Ready(self.timestamp(Instant::now().max(at)))
    }
}

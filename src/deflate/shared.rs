//! Codec state shared by the connections of one thread
//! ([`DeflateConfig::with_shared_state`](super::DeflateConfig::with_shared_state)).
//!
//! A direction without context takeover needs its state only while one
//! message is compressed or inflated, so the connections of a thread can take
//! turns with one state instead of holding one each. A connection takes the
//! thread's state at the first fragment of a message and gives it back at the
//! message's end; if another connection holds it meanwhile (messages of
//! several connections streamed in interleaved fragments), it gets a fresh one,
//! and the spare is dropped when it comes back to an occupied slot. With the
//! `std` feature the slot is a thread local; without it there are no threads
//! to know about, so every message gets a fresh state (the same as
//! [`with_release_idle_memory`](super::DeflateConfig::with_release_idle_memory)).
//!
//! Handing a compressor's tables from one connection to another is safe: the
//! history is emptied at every message's end (no context takeover), and the
//! hash table's stale positions are checked against the window, the bytes
//! actually held, and the bytes themselves before use (see [`lz77`](super::lz77)).
//! The inflater is reset and its window zeroed before it is handed on.

use alloc::boxed::Box;

use miniz_oxide::inflate::stream::InflateState;

use super::lz77::{Matcher, Shape};

#[cfg(feature = "std")]
std::thread_local! {
    static MATCHER: core::cell::Cell<Option<Box<Matcher>>> = const { core::cell::Cell::new(None) };
    static INFLATER: core::cell::Cell<Option<Box<InflateState>>> = const { core::cell::Cell::new(None) };
}

/// The thread's compressor state if it has the right shape, else a new one.
pub(super) fn take_matcher(shape: Shape) -> Box<Matcher> {
    #[cfg(feature = "std")]
    if let Some(m) = MATCHER.try_with(|slot| slot.take()).ok().flatten()
        && m.shape() == shape
    {
        return m;
    }
    Matcher::new(shape)
}

/// Gives a compressor state (already emptied of history) back to the thread.
pub(super) fn give_matcher(matcher: Box<Matcher>) {
    #[cfg(feature = "std")]
    let _ = MATCHER.try_with(|slot| {
        let spare = slot.take();
        slot.set(Some(spare.unwrap_or(matcher)));
    });
    #[cfg(not(feature = "std"))]
    drop(matcher);
}

/// The thread's inflater, or a new one; either way ready for a new stream.
pub(super) fn take_inflater() -> Box<InflateState> {
    #[cfg(feature = "std")]
    if let Some(state) = INFLATER.try_with(|slot| slot.take()).ok().flatten() {
        return state;
    }
    InflateState::new_boxed(miniz_oxide::DataFormat::Raw)
}

/// Gives an inflater back to the thread; it is reset first, its window
/// zeroed: the next connection to use it must not be able to refer back to
/// what this one received (a peer's back-reference past its own message
/// would otherwise copy another connection's plaintext into its message).
pub(super) fn give_inflater(state: Box<InflateState>) {
    #[cfg(feature = "std")]
    {
        let mut state = state;
        state.reset_as(miniz_oxide::inflate::stream::ZeroReset);
        let _ = INFLATER.try_with(|slot| {
            let spare = slot.take();
            slot.set(Some(spare.unwrap_or(state)));
        });
    }
    #[cfg(not(feature = "std"))]
    drop(state);
}

//! The zoo: small primitives, each with one classic waker-contract bug that a
//! `Flavor` switch turns on or off. Tests check that pollcheck catches every buggy
//! flavor with the right violation kind and passes every fixed one; the tour shows
//! the reports.
#![allow(dead_code)]

pub mod bad_join;
#[cfg(feature = "io")]
pub mod buffered_writer;
pub mod busy_wait;
#[cfg(feature = "stream")]
pub mod chain;
pub mod check_then_register;
pub mod countdown;
pub mod counted_waker;
pub mod double_notify;
pub mod drop_under_lock;
pub mod early_drop;
#[cfg(feature = "sink")]
pub mod fanout;
pub mod first_waker;
pub mod flag;
pub mod forgetful_select;
#[cfg(feature = "stream")]
pub mod lazy_stream;
pub mod leaky;
#[cfg(feature = "io")]
pub mod line_reader;
pub mod locked_wake;
#[cfg(feature = "sink")]
pub mod lossy_sink;
#[cfg(feature = "stream")]
pub mod merge;
pub mod models;
pub mod moving_combinator;
pub mod mutex_wake;
pub mod noop_select;
pub mod notifier;
pub mod ping_pong;
pub mod relay_notifier;
pub mod second_poll;
pub mod spinner;
pub mod spurious;
#[cfg(feature = "stream")]
pub mod stale_stream;
pub mod swapping_select;
pub mod toy_executor;
pub mod wake_before_store;

/// Whether the bug is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    Buggy,
    Fixed,
}

impl Flavor {
    pub fn buggy(self) -> bool {
        self == Flavor::Buggy
    }
}

/// Wakes the waker a primitive took out of its state, if there was one (after the
/// state's borrow ended, so the woken task may borrow it).
pub fn wake(waker: Option<std::task::Waker>) {
    if let Some(w) = waker {
        w.wake();
    }
}

/// Replaces the waker in `slot` and returns the old one, so the caller can drop it
/// after releasing its borrow: a waker's drop may run arbitrary code.
pub fn swap_waker(slot: &mut Option<std::task::Waker>, new: &std::task::Waker) -> Option<std::task::Waker> {
    match slot {
        Some(w) if w.will_wake(new) => None,
        _ => slot.replace(new.clone()),
    }
}

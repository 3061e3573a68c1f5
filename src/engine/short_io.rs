//! The one-byte action (`b`, [`Step::ShortIo`](crate::Step::ShortIo)): the schedule arms
//! a thread-local flag, and the next read or write of an I/O probe on this thread that
//! moves bytes moves one and disarms it. Also counts the I/O probes created for the
//! coming run, so that `b` is enabled only in scenarios that have one.

use std::cell::Cell;

thread_local! {
    static ARMED: Cell<bool> = const { Cell::new(false) };
    /// I/O probes created on this thread since the last run ended (the factory makes
    /// them before the run begins).
    static PROBES: Cell<u32> = const { Cell::new(0) };
}

/// An I/O probe was created on this thread.
#[cfg_attr(not(feature = "io"), allow(dead_code))]
pub(crate) fn probe_created() {
    let _ = PROBES.try_with(|p| p.set(p.get().saturating_add(1)));
}

/// Whether the run on this thread has an I/O probe.
pub(crate) fn has_probes() -> bool {
    PROBES.try_with(Cell::get).unwrap_or(0) > 0
}

pub(crate) fn arm() {
    let _ = ARMED.try_with(|a| a.set(true));
}

pub(crate) fn is_armed() -> bool {
    ARMED.try_with(Cell::get).unwrap_or(false)
}

/// How many of `n` bytes a probe's read or write may move now: one if `b` is armed
/// (which it uses up), else all of them.
#[cfg_attr(not(feature = "io"), allow(dead_code))]
pub(crate) fn limit(n: usize) -> usize {
    if n > 1 && ARMED.try_with(|a| a.replace(false)).unwrap_or(false) {
        1
    } else {
        if n == 1 {
            let _ = ARMED.try_with(|a| a.set(false));
        }
        n
    }
}

/// Disarms (a run starts; an armed `b` that no read or write took is not carried over).
pub(crate) fn disarm() {
    let _ = ARMED.try_with(|a| a.set(false));
}

/// The run ended: forget its probes and the flag.
pub(crate) fn end_run() {
    disarm();
    let _ = PROBES.try_with(|p| p.set(0));
}

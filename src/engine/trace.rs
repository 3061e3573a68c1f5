//! Trace buffers reused across runs on a thread.

use std::cell::Cell;

use crate::schedule::Step;

thread_local! {
    /// A trace buffer handed back by [`recycle_trace`], for the next run on this thread.
    static SPARE_TRACE: Cell<Vec<Step>> = const { Cell::new(Vec::new()) };
}

/// An empty trace, reusing the last one recycled on this thread (one allocation less
/// per schedule).
pub(super) fn spare_trace() -> Vec<Step> {
    let spare = SPARE_TRACE.try_with(Cell::take).unwrap_or_default();
    if spare.capacity() == 0 {
        Vec::with_capacity(32)
    } else {
        spare
    }
}

/// Hands a finished run's trace back for the next run on this thread.
pub(crate) fn recycle_trace(mut trace: Vec<Step>) {
    trace.clear();
    let _ = SPARE_TRACE.try_with(|s| s.set(trace));
}

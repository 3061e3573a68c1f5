//! Lost wakeup, both proofs.

use std::task::Poll;

use super::{WakerCounts, WakerHistory};

/// First proof, checked after every action: the task is `Pending`, nothing woke it
/// since its last poll, and no clone of any waker it was ever given is alive.
pub(crate) fn nothing_can_wake<S: WakerCounts>(h: &WakerHistory<'_, S>) -> Option<String> {
    // Clones first: under loom a clone's drop happens after its wake, so reading the
    // count first makes the wake counters that follow up to date.
    if h.live_clones() > 0 || h.latest_woken() || h.older_woken().is_some() {
        return None;
    }
    Some(format!(
        "the task returned Pending, but every clone of its wakers was dropped without a wake \
         (latest waker #{}): nothing can ever wake it",
        h.latest_id()
    ))
}

/// Second proof, at quiescence: none of the task's wakers was woken since its last
/// poll (`woken` is false), and the extra probe poll returned `Ready`.
pub(crate) fn could_finish_unwoken(woken: bool, probe: Option<Poll<Option<String>>>) -> Option<String> {
    let Some(Poll::Ready(output)) = probe else {
        return None;
    };
    if woken {
        return None;
    }
    let output = output.map(|o| format!(" ({o})")).unwrap_or_default();
    Some(format!(
        "at quiescence the task is Pending and none of its wakers was woken since its last poll, \
         yet an extra poll returns Ready{output}: a real executor would never poll it again"
    ))
}

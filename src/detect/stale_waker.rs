//! Stale waker: a wake reached an older waker but not the latest one.

use super::{WakerCounts, WakerHistory};

/// Asked at quiescence, and when every clone is gone (where it takes precedence over
/// the lost-wakeup proof, since it names the cause).
pub(crate) fn woke_only_older<S: WakerCounts>(h: &WakerHistory<'_, S>) -> Option<String> {
    if h.latest_woken() {
        return None;
    }
    let older = h.older_woken()?;
    Some(format!(
        "the task was last polled with waker #{latest}; a wake reached the older waker #{older} \
         but never #{latest}, and the task was not polled since",
        latest = h.latest_id()
    ))
}

//! Leaked waker: clones alive after the tasks and the driver were dropped.

use super::{WakerCounts, WakerHistory};

pub(crate) fn still_alive<S: WakerCounts>(h: &WakerHistory<'_, S>) -> Option<String> {
    let leaked: Vec<String> = h.alive();
    (!leaked.is_empty()).then(|| {
        format!("after the tasks and the driver were dropped, waker clones are still alive: {}", leaked.join(", "))
    })
}

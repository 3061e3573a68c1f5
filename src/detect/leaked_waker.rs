//! Leaked waker: clones alive after the tasks and the driver were dropped.

use super::{WakerCounts, WakerHistory};

pub(crate) fn still_alive<S: WakerCounts>(h: &WakerHistory<'_, S>) -> Option<String> {
    let leaked: Vec<String> = h
        .slots
        .iter()
        .filter_map(|s| {
            let live = s.live();
            (live > 0).then(|| format!("#{} ({live} clone{})", s.id(), if live == 1 { "" } else { "s" }))
        })
        .collect();
    (!leaked.is_empty()).then(|| {
        format!("after the tasks and the driver were dropped, waker clones are still alive: {}", leaked.join(", "))
    })
}

//! Stuck task (opt-in): a task declared to finish is `Pending` at quiescence while its
//! wakers are still registered, and nothing is left that could wake them.

use super::WakerHistory;

/// Asked at quiescence for a task that must finish, is live (neither cancelled nor
/// abandoned) and `Pending`, once the other quiescence checks found nothing. A task
/// whose latest waker was woken is not stuck: an executor would poll it.
pub(crate) fn never_finishes(h: &WakerHistory<'_>) -> Option<String> {
    if h.latest_woken() {
        return None;
    }
    let alive: Vec<String> = h
        .slots
        .iter()
        .filter_map(|s| {
            let live = crate::engine::waker::live(s);
            (live > 0).then(|| format!("#{} ({live} clone{})", s.id, if live == 1 { "" } else { "s" }))
        })
        .collect();
    let registered = if alive.is_empty() {
        "no waker of the task is alive".to_owned()
    } else {
        format!(
            "its waker{} {} {} still alive (registered somewhere)",
            if alive.len() == 1 { "" } else { "s" },
            alive.join(", "),
            if alive.len() == 1 { "is" } else { "are" },
        )
    };
    Some(format!(
        "the task must finish but is still Pending: every driver step ran and nothing is left to happen; \
         {registered}, but none of them will ever be woken, so the notification or permit it waited for \
         was lost (latest waker #{})",
        h.latest_id()
    ))
}

/// Fewer than the quorum of `k` of `counted` tasks finished (`finished`; `gone`: those the
/// schedule cancelled or abandoned), and a counted task is stuck as `stuck` says.
pub(crate) fn short_of_quorum(k: usize, counted: usize, finished: usize, gone: &[String], stuck: &str) -> String {
    let gone = if gone.is_empty() { String::new() } else { format!(" ({})", gone.join(", ")) };
    format!(
        "at least {k} of the {counted} tasks counted must finish, but {finished} did{gone}; this one is stuck: {stuck}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::waker::{lend, WakerSlot};
    use crate::report::journal::Journal;

    fn slot(id: u32) -> crate::engine::waker::Slot {
        crate::engine::waker::Slot::new(WakerSlot::fresh(id, 0, 0, &Journal::off()))
    }

    #[test]
    fn names_the_live_wakers_and_their_clones() {
        let (a, b) = (slot(1), slot(2));
        let kept = [(*lend(&b)).clone(), (*lend(&b)).clone()];
        let slots = [a, b];
        let h = WakerHistory { slots: &slots, seen: &[0, 0], latest: 1 };
        let d = never_finishes(&h).expect("stuck");
        assert!(d.contains("every driver step ran and nothing is left to happen"), "{d}");
        assert!(d.contains("its waker #2 (2 clones) is still alive"), "{d}");
        assert!(d.contains("none of them will ever be woken"), "{d}");
        assert!(d.contains("was lost"), "{d}");
        drop(kept);
    }

    #[test]
    fn a_woken_task_is_not_stuck() {
        let a = slot(1);
        let kept = (*lend(&a)).clone();
        kept.wake_by_ref();
        let slots = [a];
        let h = WakerHistory { slots: &slots, seen: &[0], latest: 0 };
        assert_eq!(never_finishes(&h), None);
        drop(kept);
    }

    #[test]
    fn several_live_wakers_are_listed() {
        let (a, b) = (slot(3), slot(4));
        let kept = [(*lend(&a)).clone(), (*lend(&b)).clone()];
        let slots = [a, b];
        let h = WakerHistory { slots: &slots, seen: &[0, 0], latest: 1 };
        let d = never_finishes(&h).expect("stuck");
        assert!(d.contains("its wakers #3 (1 clone), #4 (1 clone) are still alive"), "{d}");
        drop(kept);
    }
}

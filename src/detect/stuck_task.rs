//! Stuck task (opt-in): a task declared to finish is `Pending` at quiescence while its
//! wakers are still registered, and nothing is left that could wake them.

use super::{WakerCounts, WakerHistory};

/// Asked at quiescence for a task that must finish, is live (neither cancelled nor
/// abandoned) and `Pending`, once the other quiescence checks found nothing. A task
/// whose latest waker was woken is not stuck: an executor would poll it.
/// `driver`: whether the scenario had driver steps (a model has none), for the wording.
pub(crate) fn never_finishes<S: WakerCounts>(h: &WakerHistory<'_, S>, driver: bool) -> Option<String> {
    if h.latest_woken() {
        return None;
    }
    let alive: Vec<String> = h.alive();
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
    let ran = if driver { "every driver step ran and nothing" } else { "nothing" };
    Some(format!(
        "the task must finish but is still Pending: {ran} is left to happen; \
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

    /// A waker identity with `live` clones held and `wakes` wakes so far.
    struct Fake {
        id: u32,
        wakes: u32,
        live: usize,
    }

    impl WakerCounts for Fake {
        fn id(&self) -> u32 {
            self.id
        }
        fn wakes(&self) -> u32 {
            self.wakes
        }
        fn live(&self) -> usize {
            self.live
        }
    }

    /// The verdict on a task whose latest waker is the last of `slots`, none woken
    /// since it was seen; `steps`: whether the check had driver steps.
    fn verdict(slots: &[Fake], steps: bool) -> Option<String> {
        let seen = vec![0; slots.len()];
        never_finishes(&WakerHistory { slots, seen: &seen, latest: slots.len() - 1 }, steps)
    }

    #[test]
    fn names_the_live_wakers_and_their_clones() {
        let slots = [Fake { id: 1, wakes: 0, live: 0 }, Fake { id: 2, wakes: 0, live: 2 }];
        let d = verdict(&slots, true).expect("stuck");
        assert!(d.contains("every driver step ran and nothing is left to happen"), "{d}");
        let d = verdict(&slots, false).expect("stuck");
        assert!(d.contains("still Pending: nothing is left to happen"), "{d}");
        assert!(d.contains("its waker #2 (2 clones) is still alive"), "{d}");
        assert!(d.contains("none of them will ever be woken"), "{d}");
        assert!(d.contains("was lost"), "{d}");
    }

    #[test]
    fn a_woken_task_is_not_stuck() {
        assert_eq!(verdict(&[Fake { id: 1, wakes: 1, live: 1 }], true), None);
    }

    #[test]
    fn several_live_wakers_are_listed() {
        let slots = [Fake { id: 3, wakes: 0, live: 1 }, Fake { id: 4, wakes: 0, live: 1 }];
        let d = verdict(&slots, true).expect("stuck");
        assert!(d.contains("its wakers #3 (1 clone), #4 (1 clone) are still alive"), "{d}");
    }
}

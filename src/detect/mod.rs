//! What pollcheck proves: the violation kinds ([`violation`]) and the detectors, pure
//! functions from a task's waker history (and the run's counters) to a verdict. The
//! engine decides *when* to ask; these decide *what* was proven. A new violation kind
//! is a variant in `violation.rs` and, if the engine proves it, a detector here.

pub(crate) mod leaked_waker;
pub(crate) mod lost_wakeup;
pub(crate) mod spin;
pub(crate) mod spurious_poll;
pub(crate) mod stale_waker;
pub(crate) mod stuck_task;
pub(crate) mod violation;

use crate::engine::waker::Slot;

/// Every waker identity a task was given, and what each had seen at the task's most
/// recent poll.
pub(crate) struct WakerHistory<'a> {
    pub(crate) slots: &'a [Slot],
    /// `slots[i].wakes()` as of the task's most recent poll.
    pub(crate) seen: &'a [u32],
    /// The slot the task was most recently polled with.
    pub(crate) latest: usize,
}

impl WakerHistory<'_> {
    #[inline]
    fn woken_since_poll(&self, i: usize) -> bool {
        self.slots[i].wakes() > self.seen[i]
    }

    /// Whether the waker from the most recent poll was woken since.
    #[inline]
    pub(crate) fn latest_woken(&self) -> bool {
        self.woken_since_poll(self.latest)
    }

    /// An older waker woken since the most recent poll, if any.
    pub(crate) fn older_woken(&self) -> Option<u32> {
        (0..self.slots.len())
            .filter(|&i| i != self.latest)
            .find(|&i| self.woken_since_poll(i))
            .map(|i| self.slots[i].id)
    }

    /// Clones of any of the task's wakers still held by user code.
    pub(crate) fn live_clones(&self) -> usize {
        self.slots.iter().map(crate::engine::waker::live).sum()
    }

    pub(crate) fn latest_id(&self) -> u32 {
        self.slots[self.latest].id
    }
}

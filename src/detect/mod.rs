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

/// What a detector reads of one waker identity: the engine's instrumented waker
/// implements it, a detector's unit test fakes it.
pub(crate) trait WakerCounts {
    /// The identity, `#id` in reports.
    fn id(&self) -> u32;
    /// `wake` and `wake_by_ref` calls so far.
    fn wakes(&self) -> u32;
    /// Clones held outside the engine. Read before the wake counters: a clone's drop
    /// on another thread happens after its wake, so the counters read next are at
    /// least as new as the drops seen.
    fn live(&self) -> usize;
}

/// Every waker identity a task was given, and what each had seen at the task's most
/// recent poll.
pub(crate) struct WakerHistory<'a, S> {
    pub(crate) slots: &'a [S],
    /// `slots[i].wakes()` as of the task's most recent poll.
    pub(crate) seen: &'a [u32],
    /// The slot the task was most recently polled with.
    pub(crate) latest: usize,
}

impl<S: WakerCounts> WakerHistory<'_, S> {
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
            .map(|i| self.slots[i].id())
    }

    /// Clones of any of the task's wakers still held by user code.
    pub(crate) fn live_clones(&self) -> usize {
        self.slots.iter().map(WakerCounts::live).sum()
    }

    /// The wakers with clones alive, as reports list them: `#2 (1 clone), #3 (2 clones)`.
    pub(crate) fn alive(&self) -> Vec<String> {
        self.slots
            .iter()
            .filter_map(|s| {
                let live = s.live();
                (live > 0).then(|| format!("#{} ({live} clone{})", s.id(), if live == 1 { "" } else { "s" }))
            })
            .collect()
    }

    pub(crate) fn latest_id(&self) -> u32 {
        self.slots[self.latest].id()
    }
}

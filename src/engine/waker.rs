//! Instrumented wakers: every waker the engine hands out has an identity, and every
//! clone, wake and drop of it (from any thread) is counted and, when the journal is
//! on, recorded.
//!
//! The engine never owns a counted waker: it lends one per poll (see
//! [`lend`]), so "no clone is alive" means exactly "the task kept nothing that can
//! wake it".

use std::mem::ManuallyDrop;
use std::task::{RawWaker, RawWakerVTable, Waker};

use crate::detect::WakerCounts;
use crate::engine::reentry;
use crate::report::journal::{Event, Journal};
use crate::sync::model::{fence, Arc, AtomicBool, AtomicU32};
use crate::sync::{current_thread, Ordering::Acquire, Ordering::SeqCst, ThreadId};

/// A shared handle on one waker identity.
pub(crate) type Slot = Arc<WakerSlot>;

/// The shared state behind one waker identity and all its clones.
#[derive(Debug)]
pub(crate) struct WakerSlot {
    /// Identity, unique within a run, shown as `#id` in reports.
    pub(crate) id: u32,
    /// The run that made it ([`crate::engine::hooks::run_id`]): ids restart at #1 every run,
    /// so a clone kept from an earlier run is told apart by this.
    run: u64,
    /// The task it was made for.
    task: usize,
    /// `wake` + `wake_by_ref` calls.
    wakes: AtomicU32,
    /// Its task no longer uses this identity: it was polled since with a newer one,
    /// or its future is gone. Set by the engine; a drop of a retired clone is where
    /// `u` runs its armed driver step.
    retired: AtomicBool,
    /// The run's journal, only when it records: a slot then costs no reference count
    /// on the shared journal that is off.
    journal: Option<std::sync::Arc<Journal>>,
    /// The polling thread, known only when the journal records.
    engine_thread: Option<ThreadId>,
}

impl WakerSlot {
    /// Identity `id` of run `run`, for task `task`, never woken, used by its task.
    pub(crate) fn fresh(id: u32, run: u64, task: usize, journal: &std::sync::Arc<Journal>) -> WakerSlot {
        let recording = journal.is_recording();
        WakerSlot {
            id,
            run,
            task,
            wakes: AtomicU32::new(0),
            retired: AtomicBool::new(false),
            journal: recording.then(|| std::sync::Arc::clone(journal)),
            engine_thread: recording.then(current_thread),
        }
    }

    /// Records an event built lazily, when the journal records.
    #[inline]
    fn record(&self, event: impl FnOnce() -> Event) {
        if let Some(journal) = &self.journal {
            journal.record(event);
        }
    }

    /// How many times this identity was woken so far.
    #[inline]
    pub(crate) fn wakes(&self) -> u32 {
        self.wakes.load(SeqCst)
    }

    /// Marks this identity as no longer used by its task (see [`reentry::fire_drop`]).
    #[inline]
    pub(crate) fn retire(&self) {
        self.retired.store(true, SeqCst);
    }

    fn on_wake(&self, by_ref: bool) {
        self.wakes.fetch_add(1, SeqCst);
        crate::engine::hooks::count_wake(self.run, self.task);
        self.record(|| Event::Wake {
            waker: self.id,
            by_ref,
            thread: Some(current_thread()).filter(|t| Some(t) != self.engine_thread.as_ref()).map(|t| format!("{t:?}")),
        });
        reentry::fire(self.id, self.run);
    }
}

/// How many clones of `slot`'s waker user code still holds.
///
/// Every clone owns one strong count of the slot's `Arc`, and the engine (or the loom
/// executor) owns exactly one `Slot` per identity while it asks: the lent waker owns
/// none. So the clones are the strong count less that one, and a clone costs one
/// locked instruction, not two. A clone being dropped counts until its drop returns.
impl WakerCounts for Slot {
    fn id(&self) -> u32 {
        self.id
    }

    fn wakes(&self) -> u32 {
        WakerSlot::wakes(self)
    }

    fn live(&self) -> usize {
        live(self)
    }
}

/// Clones of `slot` held outside the engine (see [`WakerCounts::live`]).
pub(crate) fn live(slot: &Slot) -> usize {
    let strong = Arc::strong_count(slot);
    // The count is read before the wake counters (a drop on another thread happens
    // after its `wake`): the fence makes this read an acquire, so the wake counters
    // read after it are at least as new as the drops it saw.
    fence(Acquire);
    strong.saturating_sub(1)
}

/// Under miri: keeps the identities among `slots` whose clones are still alive (the
/// ones a leaked-waker report names) reachable from a static, for the rest of the
/// process. A clone the code under test lost (overwritten, forgotten) owns a strong
/// count nobody will ever release, and miri's leak check at exit would fail the whole
/// test binary a second time for the leak the report already names, also in a test
/// that asserts that report. Memory reachable from a static is not a leak to miri;
/// holding a count frees nothing, so a clone that is still in use stays sound.
#[cfg(miri)]
pub(crate) fn keep_leaked(slots: &[Slot]) {
    static LEAKED: std::sync::Mutex<Vec<Slot>> = std::sync::Mutex::new(Vec::new());
    let mut kept = LEAKED.lock().unwrap_or_else(|e| e.into_inner());
    kept.extend(slots.iter().filter(|s| live(s) > 0).cloned());
}

/// A waker for one poll: it borrows the slot without owning a count and must never
/// be dropped, which `ManuallyDrop` guarantees.
#[inline]
pub(crate) fn lend(slot: &Arc<WakerSlot>) -> ManuallyDrop<Waker> {
    let raw = RawWaker::new(Arc::as_ptr(slot).cast(), &VTABLE);
    // SAFETY: the vtable functions below uphold the RawWaker contract for a data
    // pointer obtained from `Arc::as_ptr` of a live `Arc<WakerSlot>`; the engine keeps
    // `slot` alive for the whole poll, and clones take their own strong count. The
    // lent waker is never dropped, so it never releases a count it does not own.
    ManuallyDrop::new(unsafe { Waker::from_raw(raw) })
}

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop);

/// # Safety
/// `data` must come from `Arc::as_ptr` of a live `Arc<WakerSlot>`.
unsafe fn slot<'a>(data: *const ()) -> &'a WakerSlot {
    // SAFETY: guaranteed by the caller; the slot outlives the call because the caller
    // holds either the engine's Arc or a clone's strong count.
    unsafe { &*data.cast::<WakerSlot>() }
}

unsafe fn clone(data: *const ()) -> RawWaker {
    // SAFETY: `data` is a live slot (vtable contract); the new clone owns the count.
    unsafe { Arc::increment_strong_count(data.cast::<WakerSlot>()) };
    // SAFETY: as above.
    let slot = unsafe { slot(data) };
    slot.record(|| Event::Clone { waker: slot.id });
    // A step armed to run inside this clone (`k`) runs now, as a custom waker's
    // `clone` could run anything; the clone already owns its count.
    reentry::fire_clone(slot.id, slot.run);
    RawWaker::new(data, &VTABLE)
}

unsafe fn wake(data: *const ()) {
    /// Releases the consumed clone even if a re-entrant step panics inside the wake.
    struct Release(*const ());
    impl Drop for Release {
        fn drop(&mut self) {
            // SAFETY: `wake` consumed a clone, which owns one strong count; this is
            // the only place that releases it.
            unsafe { drop_inner(self.0, false) }
        }
    }
    let _release = Release(data);
    // SAFETY: `data` is a live slot until `_release` drops at the end of this scope.
    unsafe { wake_by_ref_inner(data, false) };
}

unsafe fn wake_by_ref(data: *const ()) {
    // SAFETY: `data` is a live slot (vtable contract).
    unsafe { wake_by_ref_inner(data, true) }
}

unsafe fn wake_by_ref_inner(data: *const (), by_ref: bool) {
    // SAFETY: `data` is a live slot (vtable contract).
    unsafe { slot(data) }.on_wake(by_ref);
}

unsafe fn drop(data: *const ()) {
    // SAFETY: only clones are ever dropped; each owns one strong count.
    unsafe { drop_inner(data, true) }
}

unsafe fn drop_inner(data: *const (), record: bool) {
    /// Releases the clone's strong count even if something below unwinds.
    struct Release(*const ());
    impl Drop for Release {
        fn drop(&mut self) {
            // SAFETY: the clone being dropped owns one strong count; this is the only
            // place that releases it, and the slot is not used after.
            unsafe { Arc::decrement_strong_count(self.0.cast::<WakerSlot>()) };
        }
    }
    let _release = Release(data);
    // SAFETY: the clone being dropped still owns its count until `_release` drops.
    let slot = unsafe { slot(data) };
    if record {
        slot.record(|| Event::Drop { waker: slot.id });
        // Only a retired clone's drop may be the last reference to a task whose
        // future then runs its `Drop` (`u`, opt-in); the drop inside a consuming
        // `wake` never runs a step. The flag is read only when a step waits for it.
        reentry::fire_drop(slot.id, slot.run, || slot.retired.load(SeqCst));
    }
}

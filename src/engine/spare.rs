//! Buffers reused across runs on a thread: the trace, the task list, each task's
//! waker history and its waker slots. A schedule runs in about a microsecond, and
//! allocating these anew took a good part of it.

use std::cell::{Cell, RefCell};

use super::Task;
use crate::engine::waker::{Slot, WakerSlot};
use crate::report::journal::Journal;
use crate::spec::schedule::Step;
use crate::spec::task::DriverStep;

/// At most this many spare histories and slots are kept per thread.
const KEEP: usize = 16;

/// A task's waker history, empty: its slots and what each had seen.
pub(super) type History = (Vec<Slot>, Vec<u32>);

#[derive(Default)]
struct Spare {
    /// Empty.
    tasks: Vec<RefCell<Task>>,
    histories: Vec<History>,
    /// Slots no waker clone refers to any more.
    slots: Vec<Slot>,
    /// Empty.
    steps: Vec<Option<DriverStep>>,
}

thread_local! {
    /// A trace buffer handed back by [`recycle_trace`], for the next run on this thread.
    static SPARE_TRACE: Cell<Vec<Step>> = const { Cell::new(Vec::new()) };
    static SPARE: RefCell<Spare> = RefCell::default();
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

/// Runs `f` on this thread's spares, unless they are in use further up the stack
/// (or gone, at thread exit).
fn with_spare<T>(f: impl FnOnce(&mut Spare) -> T) -> Option<T> {
    SPARE.try_with(|s| s.try_borrow_mut().ok().map(|mut s| f(&mut s))).ok().flatten()
}

/// An empty task list.
pub(super) fn tasks() -> Vec<RefCell<Task>> {
    with_spare(|s| std::mem::take(&mut s.tasks)).unwrap_or_default()
}

/// An empty list of driver steps.
pub(super) fn steps() -> Vec<Option<DriverStep>> {
    with_spare(|s| std::mem::take(&mut s.steps)).unwrap_or_default()
}

/// Takes back a run's list of driver steps, emptied.
pub(super) fn recycle_steps(steps: Vec<Option<DriverStep>>) {
    if steps.is_empty() {
        with_spare(|s| s.steps = steps);
    }
}

/// An empty waker history.
pub(super) fn history() -> History {
    with_spare(|s| s.histories.pop()).flatten().unwrap_or_default()
}

/// A new waker identity `id` of run `run`, for task `task`.
pub(super) fn slot(id: u32, run: u64, task: usize, journal: &std::sync::Arc<Journal>) -> Slot {
    if let Some(mut slot) = with_spare(|s| s.slots.pop()).flatten() {
        if let Some(fresh) = Slot::get_mut(&mut slot) {
            *fresh = WakerSlot::fresh(id, run, task, journal);
            return slot;
        }
    }
    Slot::new(WakerSlot::fresh(id, run, task, journal))
}

/// Takes back a finished run's tasks. Their futures are gone already (dropped or
/// leaked by the teardown); a slot is kept only if no waker clone refers to it.
pub(super) fn recycle(mut tasks: Vec<RefCell<Task>>) {
    // Anything left that may run user code is dropped before the spares are borrowed.
    for cell in &tasks {
        drop(cell.borrow_mut().future.take());
    }
    with_spare(|s| {
        for cell in tasks.drain(..) {
            let Task { mut slots, mut seen, .. } = cell.into_inner();
            // Under loom a slot belongs to one execution of the model: never kept.
            if !cfg!(loom) {
                for mut slot in slots.drain(..) {
                    if s.slots.len() < KEEP && Slot::get_mut(&mut slot).is_some() {
                        s.slots.push(slot);
                    }
                }
            }
            slots.clear();
            seen.clear();
            if s.histories.len() < KEEP {
                s.histories.push((slots, seen));
            }
        }
        if tasks.capacity() > s.tasks.capacity() {
            s.tasks = tasks;
        }
    });
}

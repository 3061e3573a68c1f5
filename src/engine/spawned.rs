//! The tasks `spawn` adds during a run, handed from the spawning code to the engine,
//! which takes them in as new tasks between two actions, in spawn order.

use std::cell::{Cell, RefCell};

use crate::spec::task::TaskSpec;

thread_local! {
    /// Tasks spawned during the run on this thread and not taken in by it yet
    /// (`None`: no run is going on).
    static SPAWNED: RefCell<Option<Vec<TaskSpec>>> = const { RefCell::new(None) };
    /// Whether `SPAWNED` holds anything: asked between every two actions.
    static PENDING: Cell<bool> = const { Cell::new(false) };
    /// The list of the last run, emptied: a check runs many.
    static SPARE: RefCell<Vec<TaskSpec>> = const { RefCell::new(Vec::new()) };
}

/// A run starts on this thread: spawns go to it.
pub(crate) fn open() {
    let list = SPARE.try_with(|s| std::mem::take(&mut *s.borrow_mut())).unwrap_or_default();
    let _ = SPAWNED.try_with(|s| *s.borrow_mut() = Some(list));
}

/// The run ended: what it did not take in is dropped (outside the thread-locals).
pub(crate) fn close() {
    let left = SPAWNED.try_with(|s| s.borrow_mut().take()).ok().flatten();
    let _ = PENDING.try_with(|p| p.set(false));
    if let Some(mut left) = left {
        left.clear();
        let _ = SPARE.try_with(|s| *s.borrow_mut() = left);
    }
}

/// Whether tasks were spawned since the last [`take`].
#[inline]
pub(crate) fn pending() -> bool {
    PENDING.try_with(Cell::get).unwrap_or(false)
}

/// Hands the tasks spawned since the last call, in spawn order, to `adopt`.
pub(crate) fn take(mut adopt: impl FnMut(TaskSpec)) {
    let _ = PENDING.try_with(|p| p.set(false));
    let mut list = SPAWNED.try_with(|s| s.borrow_mut().as_mut().map(std::mem::take)).ok().flatten().unwrap_or_default();
    for spec in list.drain(..) {
        adopt(spec);
    }
    // Back in place, empty, for the next spawns of this run.
    let _ = SPAWNED.try_with(|s| {
        if let Some(now) = s.borrow_mut().as_mut() {
            if now.is_empty() {
                *now = list;
            }
        }
    });
}

/// Adds `spec` to the run going on on this thread; gives it back if none is.
pub(crate) fn push(spec: TaskSpec) -> Result<(), TaskSpec> {
    let mut spec = Some(spec);
    let _ = SPAWNED.try_with(|s| {
        if let Some(list) = s.borrow_mut().as_mut() {
            list.extend(spec.take());
        }
    });
    match spec {
        Some(spec) => Err(spec),
        None => {
            let _ = PENDING.try_with(|p| p.set(true));
            Ok(())
        }
    }
}

/// Whether a run is going on on this thread.
#[cfg_attr(not(loom), allow(dead_code))]
pub(crate) fn is_open() -> bool {
    SPAWNED.try_with(|s| s.borrow().is_some()).unwrap_or(false)
}

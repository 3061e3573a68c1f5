//! Re-entrant actions: things the schedule arms to run *inside* a later `wake` or
//! `wake_by_ref` on the checker's thread. (Not inside drops: dropping a waker runs no
//! user code in real executors.)
//!
//! - `r` runs the next driver step with the one after it armed: a primitive that
//!   wakes or drops a waker while holding its own lock meets its own lock again.
//! - `i0` arms a poll of task 0 inside the next wake of its latest waker, as a worker
//!   thread of a multi-threaded executor may poll it before `wake` returns: a
//!   primitive that wakes before it stores the state the task looks for shows it.

use std::cell::RefCell;
use std::panic::Location;
use std::rc::Rc;

use crate::journal::{Event, Journal};
use crate::sync::Arc;

/// Something waiting for a waker call to run inside.
pub(crate) enum Armed {
    Step {
        index: usize,
        location: &'static Location<'static>,
        step: Box<dyn FnOnce()>,
        journal: Arc<Journal>,
    },
    /// Offered every wake (with the waker's id); `poll` polls the task and returns
    /// true only if that waker is the task's latest and the task could be polled
    /// (it is not the one being polled right now); otherwise it stays armed.
    Poll {
        poll: Rc<dyn Fn(u32) -> bool>,
    },
}

thread_local! {
    static ARMED: RefCell<Option<Armed>> = const { RefCell::new(None) };
    static FIRED: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// How many armed driver steps have run on this thread; a poll that panics after one
/// ran inside it panicked because of the re-entrant step, not because it was spurious.
pub(crate) fn steps_fired() -> u64 {
    FIRED.try_with(|f| f.get()).unwrap_or(0)
}

pub(crate) fn arm(armed: Armed) {
    ARMED.with(|a| *a.borrow_mut() = Some(armed));
}

/// Takes back whatever is armed.
pub(crate) fn disarm() -> Option<Armed> {
    ARMED.try_with(|a| a.borrow_mut().take()).ok().flatten()
}

/// Whether something is armed on this thread.
pub(crate) fn is_armed() -> bool {
    ARMED.try_with(|a| a.borrow().is_some()).unwrap_or(false)
}

/// Takes back an armed driver step (leaving an armed poll in place).
pub(crate) fn disarm_step() -> Option<Armed> {
    ARMED
        .try_with(|a| {
            let mut a = a.borrow_mut();
            if matches!(*a, Some(Armed::Step { .. })) {
                a.take()
            } else {
                None
            }
        })
        .ok()
        .flatten()
}

/// Whether a driver step is armed (as opposed to a poll).
pub(crate) fn step_is_armed() -> bool {
    ARMED.try_with(|a| matches!(*a.borrow(), Some(Armed::Step { .. }))).unwrap_or(false)
}

/// Called from a waker's `wake` or `wake_by_ref`.
pub(crate) fn fire(waker: u32) {
    // `try_with`: a waker dropped while this thread's locals are torn down is ignored.
    let Some(armed) = ARMED.try_with(|a| a.borrow_mut().take()).ok().flatten() else {
        return;
    };
    match armed {
        Armed::Step { index, location, step, journal } => {
            let _ = FIRED.try_with(|f| f.set(f.get() + 1));
            journal.record(|| Event::DriverStep { index, location, inside_waker: Some(waker) });
            step();
        }
        Armed::Poll { poll } => {
            if !poll(waker) {
                let _ = ARMED.try_with(|a| {
                    let mut a = a.borrow_mut();
                    if a.is_none() {
                        *a = Some(Armed::Poll { poll });
                    }
                });
            }
        }
    }
}

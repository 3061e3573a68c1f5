//! Re-entrant actions: things the schedule arms to run *inside* a later waker call on
//! the checker's thread.
//!
//! - `r` runs the next driver step with the one after it armed to run inside the next
//!   `wake` or `wake_by_ref`: a primitive that wakes while holding its own lock meets
//!   its own lock again.
//! - `i0` arms a poll of task 0 inside the next wake of its latest waker, as a worker
//!   thread of a multi-threaded executor may poll it before `wake` returns: a
//!   primitive that wakes before it stores the state the task looks for shows it.
//! - `u` arms the next driver step to run inside the next drop of a *retired* waker
//!   clone (one its task no longer uses): dropping the last reference to a task drops
//!   its future, whose `Drop` may touch the primitive that dropped the waker, so a
//!   primitive that drops a replaced waker while holding its own lock meets that lock
//!   again. Only drops of retired clones count: dropping a waker the task still uses
//!   cannot be its last reference.
//! - `k0` arms the next driver step to run inside the next clone of task 0's latest
//!   waker: the moment a primitive registers it. Code that checks its state and then
//!   registers misses a wake that lands between the two.

use std::cell::RefCell;
use std::panic::Location;
use std::rc::Rc;

use crate::detect::violation::{Violation, ViolationKind};
use crate::report::journal::{Event, Journal, WakerCall};
use crate::sync::Arc;

/// Which waker call an armed driver step runs inside.
#[derive(Clone, Debug)]
pub(crate) enum Trigger {
    /// A `wake` or `wake_by_ref` (`r`).
    Wake,
    /// The drop of a retired waker clone (`u`).
    RetiredDrop,
    /// A clone of the waker whose id the cell holds: the task's latest, kept current
    /// by the engine (`k`).
    Clone(Rc<std::cell::Cell<u32>>),
}

/// Something waiting for a waker call to run inside.
pub(crate) enum Armed {
    Step {
        index: usize,
        location: &'static Location<'static>,
        /// Given the waker call it runs inside, or `None` when it runs in order.
        step: Box<dyn FnOnce(Option<WakerCall>)>,
        journal: Arc<Journal>,
        trigger: Trigger,
        /// The run that armed it: only its own wakers fire it.
        run: u64,
    },
    /// Offered every wake (with the waker's id); `poll` polls the task and returns
    /// true only if that waker is the task's latest and the task could be polled
    /// (it is not the one being polled right now); otherwise it stays armed.
    Poll { poll: Rc<dyn Fn(u32) -> bool>, run: u64 },
}

impl Armed {
    /// The run that armed it ([`crate::engine::hooks::run_id`]).
    fn run(&self) -> u64 {
        match self {
            Armed::Step { run, .. } | Armed::Poll { run, .. } => *run,
        }
    }
}

thread_local! {
    static ARMED: RefCell<Option<Armed>> = const { RefCell::new(None) };
    static FIRED: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    static NESTED_STEP_PANICKED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// False only when nothing is armed: every waker call, poll and action asks
    /// whether something is, and this plain flag (no destructor, so no lazy
    /// registration) answers the common "no" without touching `ARMED`. Set whenever
    /// `ARMED` is filled; cleared when `ARMED` is found empty.
    static MAYBE_ARMED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether something may be armed (see `MAYBE_ARMED`).
#[inline]
fn maybe_armed() -> bool {
    MAYBE_ARMED.try_with(std::cell::Cell::get).unwrap_or(true)
}

/// `ARMED` was found empty.
fn none_armed() {
    let _ = MAYBE_ARMED.try_with(|m| m.set(false));
}

/// `ARMED` is about to be filled.
fn now_armed() {
    let _ = MAYBE_ARMED.try_with(|m| m.set(true));
}

/// How many armed driver steps have run on this thread; a poll that panics after one
/// ran inside it panicked because of the re-entrant step, not because it was spurious.
#[inline]
pub(crate) fn steps_fired() -> u64 {
    FIRED.try_with(|f| f.get()).unwrap_or(0)
}

pub(crate) fn arm(armed: Armed) {
    now_armed();
    ARMED.with(|a| *a.borrow_mut() = Some(armed));
}

/// Takes back whatever is armed.
pub(crate) fn disarm() -> Option<Armed> {
    if !maybe_armed() {
        return None;
    }
    let armed = ARMED.try_with(|a| a.borrow_mut().take()).ok().flatten();
    none_armed();
    armed
}

/// Whether something is armed on this thread.
#[inline]
pub(crate) fn is_armed() -> bool {
    maybe_armed() && ARMED.try_with(|a| a.borrow().is_some()).unwrap_or(false)
}

/// Takes back an armed driver step (leaving an armed poll in place).
pub(crate) fn disarm_step() -> Option<Armed> {
    if !maybe_armed() {
        return None;
    }
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
#[inline]
pub(crate) fn step_is_armed() -> bool {
    maybe_armed() && ARMED.try_with(|a| matches!(*a.borrow(), Some(Armed::Step { .. }))).unwrap_or(false)
}

/// Takes what is armed if `want` accepts it.
fn take_if(want: impl FnOnce(&Armed) -> bool) -> Option<Armed> {
    if !maybe_armed() {
        return None;
    }
    // `try_with`: a waker called while this thread's locals are torn down is ignored.
    ARMED
        .try_with(|a| {
            let mut a = a.borrow_mut();
            if a.is_none() {
                none_armed();
                return None;
            }
            if a.as_ref().is_some_and(want) {
                a.take()
            } else {
                None
            }
        })
        .ok()
        .flatten()
}

/// Called from a waker's `wake` or `wake_by_ref` (`waker`: its id, `run`: the run
/// that made it). A waker of another run (a clone kept from an earlier run on this
/// thread, whose ids also start at #1) fires nothing.
pub(crate) fn fire(waker: u32, run: u64) {
    let wanted =
        |a: &Armed| a.run() == run && matches!(a, Armed::Step { trigger: Trigger::Wake, .. } | Armed::Poll { .. });
    let Some(armed) = take_if(wanted) else {
        return;
    };
    match armed {
        Armed::Step { index, location, step, journal, .. } => {
            let _ = FIRED.try_with(|f| f.set(f.get() + 1));
            journal.record(|| Event::DriverStep { index, location, inside_waker: Some(WakerCall::Wake(waker)) });
            step(Some(WakerCall::Wake(waker)));
        }
        Armed::Poll { poll, run } => {
            if !poll(waker) {
                let _ = ARMED.try_with(|a| {
                    let mut a = a.borrow_mut();
                    if a.is_none() {
                        now_armed();
                        *a = Some(Armed::Poll { poll, run });
                    }
                });
            }
        }
    }
}

/// Called from a waker clone's drop (not the one inside a consuming `wake`), while it
/// still owns its strong count (so it still counts as a live clone). `retired` says whether the task no longer uses that waker; it is asked
/// only when a step waits for such a drop.
///
/// Never unwinds: the drop may run during unwinding or inside a user `Drop`. No step
/// fires while this thread panics, and a panic of the step is caught and reported
/// (through [`crate::engine::hooks::report`]) as a violation naming the step and the waker.
#[inline]
pub(crate) fn fire_drop(waker: u32, run: u64, retired: impl FnOnce() -> bool) {
    if maybe_armed() {
        fire_drop_armed(waker, run, retired);
    }
}

#[inline(never)]
fn fire_drop_armed(waker: u32, run: u64, retired: impl FnOnce() -> bool) {
    if std::thread::panicking() {
        return;
    }
    let wanted =
        move |a: &Armed| a.run() == run && matches!(a, Armed::Step { trigger: Trigger::RetiredDrop, .. }) && retired();
    let Some(Armed::Step { index, location, step, journal, .. }) = take_if(wanted) else {
        return;
    };
    run_nested(index, location, step, &journal, WakerCall::Drop(waker), "the drop");
}

/// Called from a waker's `clone`, once the clone owns its count.
///
/// Never unwinds, as [`fire_drop`]: a panic of the step is caught and reported.
#[inline]
pub(crate) fn fire_clone(waker: u32, run: u64) {
    if maybe_armed() {
        fire_clone_armed(waker, run);
    }
}

#[inline(never)]
fn fire_clone_armed(waker: u32, run: u64) {
    if std::thread::panicking() {
        return;
    }
    let wanted = |a: &Armed| {
        a.run() == run && matches!(a, Armed::Step { trigger: Trigger::Clone(latest), .. } if latest.get() == waker)
    };
    let Some(Armed::Step { index, location, step, journal, .. }) = take_if(wanted) else {
        return;
    };
    run_nested(index, location, step, &journal, WakerCall::Clone(waker), "a clone");
}

/// Runs an armed step inside the waker call `call` (`what` names it), catching and
/// reporting its panic.
fn run_nested(
    index: usize,
    location: &'static Location<'static>,
    step: Box<dyn FnOnce(Option<WakerCall>)>,
    journal: &Arc<Journal>,
    call: WakerCall,
    what: &str,
) {
    let _ = FIRED.try_with(|f| f.set(f.get() + 1));
    journal.record(|| Event::DriverStep { index, location, inside_waker: Some(call) });
    if let Err(p) = crate::engine::panic_capture::catch(move || step(Some(call))) {
        let _ = NESTED_STEP_PANICKED.try_with(|f| f.set(true));
        let waker = match call {
            WakerCall::Wake(w) | WakerCall::Drop(w) | WakerCall::Clone(w) => w,
        };
        let (kind, detail) = crate::engine::raised::take().unwrap_or_else(|| {
            (
                ViolationKind::Panic,
                format!("driver step {index} ({location}) panicked inside {what} of waker #{waker}: {p}"),
            )
        });
        crate::engine::hooks::report(Violation::new(kind, None, detail));
    }
}

/// Whether a driver step panicked inside a waker drop or clone since the last call (the
/// panic unwound through user code, whose state may be broken).
#[inline]
pub(crate) fn take_nested_step_panicked() -> bool {
    NESTED_STEP_PANICKED.try_with(|f| f.replace(false)).unwrap_or(false)
}

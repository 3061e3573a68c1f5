//! Hooks through which helpers that live inside the user's scenario (probes, checked
//! wrappers) talk to the engine running it on the same thread: violations they saw
//! without panicking, checks they want run at quiescence and after teardown, and a
//! count of instrumented wakes (to tell whether a wake reached the task).
//!
//! Outside a checker run nothing reads these; they cost a thread-local access, and
//! [`active`] tells a helper that nobody is listening (it then panics instead).

use std::cell::{Cell, RefCell};
use std::thread::LocalKey;

use crate::detect::violation::Violation;

/// Something that can judge the run at its end.
pub(crate) trait Watcher {
    /// At quiescence: every driver step ran and no wake is pending.
    fn at_quiescence(&self) -> Option<Violation> {
        None
    }

    /// After the tasks and the driver were dropped.
    fn after_teardown(&self) -> Option<Violation> {
        None
    }
}

/// Tasks whose polls are counted in plain cells.
const FEW: usize = 64;

/// A count per task for tasks 0..64 in plain cells: no destructor, so no lazy
/// registration of the thread local on the hot path. The tasks past them count in a
/// `RefCell<Vec<u64>>` beside it.
struct Few {
    counts: [Cell<u64>; FEW],
    /// How many of `counts` this run counted in (to clear only those).
    used: Cell<usize>,
}

impl Few {
    const fn new() -> Self {
        Few { counts: [const { Cell::new(0) }; FEW], used: Cell::new(0) }
    }
}

type More = RefCell<Vec<u64>>;

/// Adds one to task `t`'s count.
#[inline(always)]
fn bump(few: &'static LocalKey<Few>, more: &'static LocalKey<More>, t: usize) {
    if t < FEW {
        let _ = few.try_with(|f| {
            f.counts[t].set(f.counts[t].get() + 1);
            f.used.set(f.used.get().max(t + 1));
        });
    } else {
        let _ = more.try_with(|m| {
            let mut m = m.borrow_mut();
            if m.len() <= t - FEW {
                m.resize(t - FEW + 1, 0);
            }
            m[t - FEW] += 1;
        });
    }
}

/// Task `t`'s count.
#[inline(always)]
fn count_of(few: &'static LocalKey<Few>, more: &'static LocalKey<More>, t: usize) -> u64 {
    if t < FEW {
        few.try_with(|f| f.counts[t].get()).unwrap_or(0)
    } else {
        more.try_with(|m| m.borrow().get(t - FEW).copied().unwrap_or(0)).unwrap_or(0)
    }
}

/// Every task's count back to 0.
fn clear(few: &'static LocalKey<Few>, more: &'static LocalKey<More>) {
    let _ = few.try_with(|f| f.counts[..f.used.replace(0)].iter().for_each(|c| c.set(0)));
    if more.try_with(|m| !m.borrow().is_empty()).unwrap_or(false) {
        let _ = more.try_with(|m| m.borrow_mut().clear());
    }
}

/// A check deferred to the end of a task's poll.
type AfterPoll = Box<dyn FnOnce()>;

thread_local! {
    static REPORTED: RefCell<Vec<Violation>> = const { RefCell::new(Vec::new()) };
    static WATCHERS: RefCell<Vec<Box<dyn Watcher>>> = const { RefCell::new(Vec::new()) };
    /// This thread's run: see [`run_id`].
    static RUN_ID: Cell<u64> = const { Cell::new(0) };
    /// This thread's part of every run id (its high bits), 0 until its first run.
    static THREAD_TAG: Cell<u64> = const { Cell::new(0) };
    /// Wakes of each task's wakers in this run, tasks 0..64, as `TASK_POLLS`.
    static TASK_WAKES: Few = const { Few::new() };
    /// Wakes of tasks `FEW..`, in this run.
    static MORE_TASK_WAKES: More = const { RefCell::new(Vec::new()) };
    static ACTIVE: Cell<bool> = const { Cell::new(false) };
    static POLLS: Cell<u64> = const { Cell::new(0) };
    /// Polls of each task in this run, tasks 0..64, counted on every poll.
    static TASK_POLLS: Few = const { Few::new() };
    /// Polls of tasks `FEW..`, in this run.
    static MORE_TASK_POLLS: More = const { RefCell::new(Vec::new()) };
    static WAKES_AT_POLL_START: Cell<u64> = const { Cell::new(0) };
    static CURRENT_TASK: Cell<usize> = const { Cell::new(0) };
    /// Bit `t`: task `t`'s future was dropped in this run (tasks 0..64).
    static GONE: Cell<u64> = const { Cell::new(0) };
    /// The task whose poll is running on this thread (innermost), if any.
    static POLLING: Cell<Option<usize>> = const { Cell::new(None) };
    /// Checks to run when a task's poll ends, with the task.
    static AFTER_POLL: RefCell<Vec<(usize, AfterPoll)>> = const { RefCell::new(Vec::new()) };
    /// Whether the run keeps a journal (notes are made only then).
    static RECORDING: Cell<bool> = const { Cell::new(false) };
    /// Timeline notes from helpers (an I/O probe's byte counts), for the engine to
    /// put into the journal.
    static NOTES: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    /// False only when `REPORTED` and `AFTER_POLL` are both empty: the engine asks
    /// them after every action and poll, and this plain flag (no destructor, so no
    /// lazy registration) answers the common "nothing" without borrowing them. Set
    /// whenever either is filled; cleared when both are found empty.
    static MAYBE_PENDING: Cell<bool> = const { Cell::new(false) };
    /// Whether `NOTES` or `WATCHERS` may hold something: plain flags, set when either
    /// is filled, so that a run's start and end skip both lists in the common case.
    static MAYBE_NOTES: Cell<bool> = const { Cell::new(false) };
    static MAYBE_WATCHERS: Cell<bool> = const { Cell::new(false) };
}

/// The run keeps a journal: helpers' notes are wanted.
pub(crate) fn set_recording(on: bool) {
    let _ = RECORDING.try_with(|r| r.set(on));
}

/// Adds a line to the report's timeline (built only when the run keeps a journal).
#[cfg_attr(not(feature = "io"), allow(dead_code))]
pub(crate) fn note(text: impl FnOnce() -> String) {
    if active() && RECORDING.try_with(Cell::get).unwrap_or(false) {
        let text = text();
        let _ = MAYBE_NOTES.try_with(|m| m.set(true));
        let _ = NOTES.try_with(|n| n.borrow_mut().push(text));
    }
}

/// The notes made since the last call.
pub(crate) fn take_notes() -> Vec<String> {
    NOTES.try_with(|n| std::mem::take(&mut *n.borrow_mut())).unwrap_or_default()
}

/// Whether `REPORTED` or `AFTER_POLL` may hold something.
#[inline]
fn maybe_pending() -> bool {
    MAYBE_PENDING.try_with(Cell::get).unwrap_or(true)
}

fn now_pending() {
    let _ = MAYBE_PENDING.try_with(|m| m.set(true));
}

/// Clears the flag if both lists are empty.
fn recheck_pending() {
    let empty = REPORTED.try_with(|r| r.borrow().is_empty()).unwrap_or(false)
        && AFTER_POLL.try_with(|a| a.borrow().is_empty()).unwrap_or(false);
    if empty {
        let _ = MAYBE_PENDING.try_with(|m| m.set(false));
    }
}

/// Threads that started a run so far (each takes the next tag).
static THREADS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Bits of a run id that count the runs of one thread.
const RUN_BITS: u32 = 40;

/// A run starts: forget what earlier runs on this thread left behind. Returns the
/// run's id (see [`run_id`]).
pub(crate) fn begin_run() -> u64 {
    forget_run();
    let _ = ACTIVE.try_with(|a| a.set(true));
    let tag = THREAD_TAG
        .try_with(|t| {
            if t.get() == 0 {
                t.set((THREADS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1) << RUN_BITS);
            }
            t.get()
        })
        .unwrap_or(0);
    RUN_ID
        .try_with(|r| {
            let next = tag | ((r.get() + 1) & ((1 << RUN_BITS) - 1));
            r.set(next);
            next
        })
        .unwrap_or(0)
}

/// The id of the run on this thread (the latest one, between runs): unique in the
/// process (a thread's tag in the high bits, its count of runs in the low ones), never
/// 0. Waker slots carry the id of the run that made them, so that a clone kept from an
/// earlier run on this thread neither fires what this run armed (`r`, `i`, `u`) nor
/// counts as a wake of this run's task that has the same number.
#[inline]
pub(crate) fn run_id() -> u64 {
    RUN_ID.try_with(Cell::get).unwrap_or(0)
}

/// The run ended (after teardown): nobody listens any more.
pub(crate) fn end_run() {
    let _ = ACTIVE.try_with(|a| a.set(false));
    forget_run();
    let _ = RECORDING.try_with(|r| r.set(false));
    crate::engine::short_io::end_run();
}

fn forget_run() {
    // A `.checked()` panic caught outside any run must not label this run's panics.
    drop(crate::engine::raised::take());
    let _ = GONE.try_with(|g| g.set(0));
    clear(&TASK_POLLS, &MORE_TASK_POLLS);
    clear(&TASK_WAKES, &MORE_TASK_WAKES);
    let _ = POLLING.try_with(|p| p.set(None));
    if maybe_pending() {
        if AFTER_POLL.try_with(|a| !a.borrow().is_empty()).unwrap_or(false) {
            let old = AFTER_POLL.try_with(|a| std::mem::take(&mut *a.borrow_mut()));
            drop(old);
        }
        let _ = REPORTED.try_with(|r| r.borrow_mut().clear());
        recheck_pending();
    }
    if MAYBE_NOTES.try_with(|m| m.replace(false)).unwrap_or(true) {
        let _ = NOTES.try_with(|n| n.borrow_mut().clear());
    }
    crate::engine::short_io::disarm();
    if MAYBE_WATCHERS.try_with(|m| m.replace(false)).unwrap_or(true)
        && WATCHERS.try_with(|w| !w.borrow().is_empty()).unwrap_or(false)
    {
        // Dropped outside the borrow: a watcher may own user values.
        let old = WATCHERS.try_with(|w| std::mem::take(&mut *w.borrow_mut()));
        drop(old);
    }
}

/// Whether a checker run on this thread listens (between `begin_run` and `end_run`).
pub(crate) fn active() -> bool {
    ACTIVE.try_with(Cell::get).unwrap_or(false)
}

/// Reports a violation seen without panicking.
pub(crate) fn report(v: Violation) {
    now_pending();
    let _ = REPORTED.try_with(|r| r.borrow_mut().push(v));
}

/// The first violation reported since the last call.
#[inline]
pub(crate) fn take_reported() -> Option<Violation> {
    if !maybe_pending() {
        return None;
    }
    take_reported_slow()
}

#[inline(never)]
fn take_reported_slow() -> Option<Violation> {
    let taken = REPORTED
        .try_with(|r| {
            if r.borrow().is_empty() {
                return None;
            }
            Some(r.borrow_mut().remove(0))
        })
        .ok()
        .flatten();
    if taken.is_none() {
        recheck_pending();
    }
    taken
}

/// Registers a watcher for the rest of this run.
pub(crate) fn watch(w: Box<dyn Watcher>) {
    let _ = MAYBE_WATCHERS.try_with(|m| m.set(true));
    let _ = WATCHERS.try_with(|ws| ws.borrow_mut().push(w));
}

fn ask(f: impl Fn(&dyn Watcher) -> Option<Violation>) -> Option<Violation> {
    if !MAYBE_WATCHERS.try_with(Cell::get).unwrap_or(true)
        || WATCHERS.try_with(|w| w.borrow().is_empty()).unwrap_or(true)
    {
        return None;
    }
    // Take the list out while asking: a watcher may drop user values that register more.
    let watchers = WATCHERS.try_with(|w| std::mem::take(&mut *w.borrow_mut())).unwrap_or_default();
    let verdict = watchers.iter().find_map(|w| f(&**w));
    // (A run started and ended while they were out may have cleared the flag.)
    let _ = MAYBE_WATCHERS.try_with(|m| m.set(true));
    let _ = WATCHERS.try_with(|w| {
        let mut w = w.borrow_mut();
        let added = std::mem::take(&mut *w);
        *w = watchers;
        w.extend(added);
    });
    verdict
}

pub(crate) fn at_quiescence() -> Option<Violation> {
    ask(|w| w.at_quiescence())
}

pub(crate) fn after_teardown() -> Option<Violation> {
    ask(|w| w.after_teardown())
}

/// Counts a wake of a waker of task `task` made by run `run`. Only a wake of this
/// thread's run counts: a clone kept from an earlier run wakes no task of this one
/// (even one with the same number), and a wake on another thread is not this
/// thread's business.
#[inline]
pub(crate) fn count_wake(run: u64, task: usize) {
    if run != run_id() {
        return;
    }
    bump(&TASK_WAKES, &MORE_TASK_WAKES, task);
}

/// Wakes of task `t`'s own wakers (of this run, on this thread) so far: another
/// task's wake does not count.
#[inline]
pub(crate) fn wakes_of(t: usize) -> u64 {
    count_of(&TASK_WAKES, &MORE_TASK_WAKES, t)
}

/// The engine is about to poll task `t` on this thread.
#[inline]
pub(crate) fn count_poll(t: usize) {
    let _ = POLLS.try_with(|p| p.set(p.get() + 1));
    bump(&TASK_POLLS, &MORE_TASK_POLLS, t);
    let _ = WAKES_AT_POLL_START.try_with(|w| w.set(wakes_of(t)));
    let _ = CURRENT_TASK.try_with(|c| c.set(t));
}

/// The task the engine polled last on this thread (the one polling, inside a poll).
pub(crate) fn current_task() -> usize {
    CURRENT_TASK.try_with(Cell::get).unwrap_or(0)
}

/// Task `t`'s future is being dropped (finished, cancelled, panicked, torn down).
pub(crate) fn task_gone(t: usize) {
    if t < 64 {
        let _ = GONE.try_with(|g| g.set(g.get() | 1 << t));
    }
}

/// Whether task `t`'s future was dropped in this run.
pub(crate) fn is_task_gone(t: usize) -> bool {
    t < 64 && GONE.try_with(|g| g.get() & 1 << t != 0).unwrap_or(false)
}

/// Polls of task `t` the engine started on this thread in this run.
pub(crate) fn polls_of(t: usize) -> u64 {
    count_of(&TASK_POLLS, &MORE_TASK_POLLS, t)
}

/// Task polls the engine started on this thread so far.
pub(crate) fn polls_on_this_thread() -> u64 {
    POLLS.try_with(Cell::get).unwrap_or(0)
}

/// [`wakes_of`] the task when the engine's latest task poll started: a helper polled
/// inside that poll compares with it to learn whether a wake reached that task since
/// (any wake of its wakers during its poll counts, so a combinator that skips waking
/// a task that is already woken is not blamed; another task's wake never counts).
pub(crate) fn wakes_at_poll_start() -> u64 {
    WAKES_AT_POLL_START.try_with(Cell::get).unwrap_or(0)
}

/// Task `t`'s poll starts on this thread; returns the poll it is nested in, for
/// [`exit_poll`].
#[inline]
pub(crate) fn enter_poll(t: usize) -> Option<usize> {
    POLLING.try_with(|p| p.replace(Some(t))).ok().flatten()
}

/// Task `t`'s poll ended (`outer` is what [`enter_poll`] returned): runs the checks
/// deferred to its end.
#[inline]
pub(crate) fn exit_poll(t: usize, outer: Option<usize>) {
    let _ = POLLING.try_with(|p| p.set(outer));
    if maybe_pending() {
        run_after_poll(t);
    }
}

#[inline(never)]
fn run_after_poll(t: usize) {
    loop {
        let next = AFTER_POLL
            .try_with(|a| {
                let mut a = a.borrow_mut();
                a.iter().position(|(task, _)| *task == t).map(|i| a.remove(i).1)
            })
            .ok()
            .flatten();
        match next {
            Some(check) => check(),
            None => return recheck_pending(),
        }
    }
}

/// The task whose poll is running on this thread, if any.
pub(crate) fn polling_task() -> Option<usize> {
    POLLING.try_with(Cell::get).unwrap_or(None)
}

/// Runs `check` when task `t`'s current poll ends.
pub(crate) fn after_poll(t: usize, check: AfterPoll) {
    now_pending();
    let _ = AFTER_POLL.try_with(|a| a.borrow_mut().push((t, check)));
}

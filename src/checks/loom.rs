//! Running futures under [loom], with pollcheck's detectors (compiled only with
//! `RUSTFLAGS="--cfg loom"`).
//!
//! Single-threaded schedules cannot show a whole class of bugs: the other side sets
//! the flag and wakes *between* the task's check and its registration, so the wake
//! goes nowhere. loom explores those interleavings exhaustively, but when a future is
//! never woken inside `loom::future::block_on` the process aborts (loom reports a
//! deadlock, then panics again inside a destructor). Here a lost wakeup or a stale
//! waker is an ordinary panic carrying pollcheck's report, catchable by
//! `#[should_panic(expected = "lost wakeup")]` and by `catch_unwind`.
//!
//! # Writing a loom test
//!
//! ```ignore
//! #[test]
//! fn flag_and_waker() {
//!     pollcheck::loom::model(|| {
//!         let shared = loom::sync::Arc::new(MyFlag::new());
//!         let setter = shared.clone();
//!         pollcheck::loom::spawn(move || setter.set());
//!         pollcheck::loom::block_on(shared.wait());
//!     });
//! }
//! ```
//!
//! - Spawn the other threads with [`spawn`], not `loom::thread::spawn`: `block_on`
//!   must know when every other thread has finished to tell "not woken yet" from
//!   "never woken".
//! - [`block_on`] gives the future a fresh waker identity at every poll, so loom
//!   explores the waker swap racing with the wake; [`block_on_with`] adds spurious
//!   polls.
//! - Run with `RUSTFLAGS="--cfg loom" cargo test --release --test <your loom tests>`.
//!   [`model`] bounds preemptions at 2 unless `LOOM_MAX_PREEMPTIONS` says otherwise
//!   (3 is thorough and much slower); the other `LOOM_*` variables work as in loom.
//!
//! # Limits
//!
//! loom only sees code built on loom's types: a primitive on std atomics is opaque to
//! it (and to this module). loom does not run under miri. Threads spawned any other
//! way than [`spawn`] are invisible to quiescence.
//!
//! [loom]: https://docs.rs/loom

use std::future::Future;
use std::sync::atomic::Ordering::SeqCst;

use loom::sync::atomic::AtomicUsize;
use std::pin::pin;
use std::task::{Context, Poll};

use crate::detect::violation::{Violation, ViolationKind};
use crate::detect::{self, WakerHistory};
use crate::engine::waker::{self, Slot, WakerSlot};
use crate::report;
use crate::report::journal::{ActionOrigin, Event, Journal, PollResult};
use crate::spec::schedule::Step;
use crate::sync::Arc;

loom::lazy_static! {
    /// Threads started with [`spawn`] that have not finished, in this execution. A
    /// loom atomic: a thread's end must happen before `block_on` acts on it.
    static ref RUNNING: AtomicUsize = AtomicUsize::new(0);
}

/// The preemption bound [`model`] uses unless `LOOM_MAX_PREEMPTIONS` is set.
pub const DEFAULT_PREEMPTIONS: usize = 2;

/// Runs `f` as a loom model: every interleaving of its threads within the bounds.
///
/// # Panics
/// With pollcheck's report when a [`block_on`] inside finds a violation in any
/// interleaving, and with a clear message when a `LOOM_*` variable is invalid.
#[track_caller]
pub fn model<F>(f: F)
where
    F: Fn() + Sync + Send + 'static,
{
    let preemptions = match std::env::var("LOOM_MAX_PREEMPTIONS") {
        Err(_) => DEFAULT_PREEMPTIONS,
        Ok(v) => v.trim().parse().unwrap_or_else(|_| {
            panic!("pollcheck: LOOM_MAX_PREEMPTIONS={v:?} is not valid: expected a small integer such as 2 or 3")
        }),
    };
    for var in ["LOOM_MAX_BRANCHES", "LOOM_MAX_DURATION", "LOOM_MAX_PERMUTATIONS", "LOOM_CHECKPOINT_INTERVAL"] {
        if let Ok(v) = std::env::var(var) {
            if v.trim().parse::<u64>().is_err() {
                panic!("pollcheck: {var}={v:?} is not valid: expected an integer");
            }
        }
    }
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(preemptions);
    builder.check(f);
}

/// Spawns a model thread that [`block_on`] keeps track of.
pub fn spawn<F, T>(f: F) -> loom::thread::JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    RUNNING.fetch_add(1, SeqCst);
    loom::thread::spawn(move || {
        struct Finished;
        impl Drop for Finished {
            fn drop(&mut self) {
                RUNNING.fetch_sub(1, SeqCst);
            }
        }
        let _finished = Finished;
        f()
    })
}

fn others_running() -> bool {
    RUNNING.load(SeqCst) > 0
}

/// How [`block_on_with`] drives the future.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// Extra polls, each with a fresh waker, right after a `Pending` and before
    /// waiting for a wake: loom then also explores a spurious poll (and a waker
    /// swap) racing with the other threads.
    pub spurious_polls: usize,
}

impl Options {
    /// Options with this many spurious polls.
    pub fn spurious_polls(n: usize) -> Self {
        Options { spurious_polls: n }
    }
}

/// Drives `future` to completion on this model thread, with a fresh instrumented
/// waker at every poll.
///
/// # Panics
/// With pollcheck's report on a lost wakeup or a stale waker.
#[track_caller]
pub fn block_on<F: Future>(future: F) -> F::Output {
    block_on_with(Options::default(), future)
}

/// [`block_on`] with [`Options`].
#[track_caller]
pub fn block_on_with<F: Future>(options: Options, future: F) -> F::Output {
    let type_name = std::any::type_name::<F>();
    let mut task = LoomTask { journal: Arc::new(Journal::new(true)), slots: Vec::new(), seen: Vec::new(), polls: 0 };
    let mut future = pin!(future);
    let mut spurious_left = options.spurious_polls;
    loop {
        let spurious = task.polls > 0 && !task.history().latest_woken();
        if let Poll::Ready(out) = task.poll(future.as_mut(), spurious, false) {
            return out;
        }
        if spurious_left > 0 {
            spurious_left -= 1;
            continue;
        }
        // Wait for a wake of the latest waker, or for proof that none will come.
        loop {
            // Read order matters under loom's weak memory: a thread's end, and the
            // drop of a clone, are observed first (acquire), and only then the wake
            // counters, which those events happen after.
            let quiescent = !others_running();
            let h = task.history();
            let live = h.live_clones();
            if h.latest_woken() {
                break;
            }
            if live == 0 {
                let verdict = detect::stale_waker::woke_only_older(&h)
                    .map(|d| (ViolationKind::StaleWaker, d))
                    .or_else(|| detect::lost_wakeup::nothing_can_wake(&h).map(|d| (ViolationKind::LostWakeup, d)));
                if let Some((kind, detail)) = verdict {
                    task.fail(Violation::new(kind, Some((0, type_name)), detail));
                }
            }
            if quiescent {
                if let Some(d) = detect::stale_waker::woke_only_older(&h) {
                    task.fail(Violation::new(ViolationKind::StaleWaker, Some((0, type_name)), d));
                }
                let woken = h.older_woken().is_some();
                let probe = task.poll(future.as_mut(), true, true);
                match detect::lost_wakeup::could_finish_unwoken(woken, Some(probe.map(|_| None))) {
                    Some(d) => task.fail(Violation::new(ViolationKind::LostWakeup, Some((0, type_name)), d)),
                    None => task.stuck(type_name),
                }
            }
            loom::thread::yield_now();
        }
    }
}

struct LoomTask {
    journal: Arc<Journal>,
    slots: Vec<Slot>,
    seen: Vec<u32>,
    polls: u32,
}

impl LoomTask {
    fn history(&self) -> WakerHistory<'_, Slot> {
        WakerHistory { slots: &self.slots, seen: &self.seen, latest: self.slots.len().saturating_sub(1) }
    }

    /// Polls with a fresh waker identity.
    fn poll<F: Future>(&mut self, future: std::pin::Pin<&mut F>, spurious: bool, probe: bool) -> Poll<F::Output> {
        let slot =
            Slot::new(WakerSlot::fresh(self.slots.len() as u32 + 1, crate::engine::hooks::run_id(), 0, &self.journal));
        self.slots.push(Slot::clone(&slot));
        self.seen.push(0);
        for (seen, slot) in self.seen.iter_mut().zip(&self.slots) {
            *seen = slot.wakes();
        }
        let step = if spurious { Step::SpuriousPoll(0) } else { Step::Poll(0) };
        if !probe {
            self.journal.record(|| Event::Action(step, ActionOrigin::Schedule));
        }
        let lent = waker::lend(&slot);
        let poll = future.poll(&mut Context::from_waker(&lent));
        self.polls += 1;
        let result = if poll.is_ready() { PollResult::Ready(None) } else { PollResult::Pending };
        self.journal.record(|| match probe {
            true => Event::Probe { task: 0, result },
            false => Event::Polled { task: 0, waker: slot.id, spurious, inside_wake: false, result },
        });
        poll
    }

    /// Waits for the other threads to finish (so nothing is torn down under them),
    /// then panics with the report.
    fn fail(&self, violation: Violation) -> ! {
        self.panic_with(format!("pollcheck (loom): {violation}"))
    }

    /// Not a proven violation, but the model cannot finish: say so plainly.
    fn stuck(&self, type_name: &str) -> ! {
        self.panic_with(format!(
            "pollcheck (loom): task 0 ({type_name}) never finishes: every other thread finished, nothing woke it, \
             and an extra poll still returns Pending (it waits for something that never happens)"
        ))
    }

    fn panic_with(&self, headline: String) -> ! {
        while others_running() {
            loom::thread::yield_now();
        }
        let timeline = report::timeline(&self.journal.take());
        let mut text = format!("{headline}\n  interleaving, as the polling thread saw it:\n");
        for line in timeline {
            text.push_str("    ");
            text.push_str(&line);
            text.push('\n');
        }
        text.push_str("  (run with LOOM_LOG=1 LOOM_LOCATION=1 for loom's own trace of this interleaving)");
        panic!("{text}")
    }
}

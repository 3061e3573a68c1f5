//! The executor kit: runs a user's executor through a fixed set of checks, each on a
//! fresh executor, with tasks that are probes and report what the executor does to
//! them.

mod checks;
mod kit;
mod task;

pub use task::ExecutorTask;

use std::fmt;

use crate::detect::violation::{Violation, ViolationKind};
use crate::engine::panic_capture;
use crate::liveness::{self, Activity, ExecutorCall, Heartbeat, OnHang, Phase, Session};
use crate::report::Report;
use crate::spec::config::Config;
use checks::CHECKS;
use kit::Kit;

/// A user's executor as the kit drives it: a way to spawn a task and a way to run
/// until nothing is left to do. Dropping it drops the executor (so capture the
/// executor itself in the closures, not a reference to it).
///
/// ```
/// use futures_executor::LocalPool;
/// use futures_util::task::LocalSpawnExt;
///
/// let executor = {
///     let mut pool = LocalPool::new();
///     let spawner = pool.spawner();
///     pollcheck::Executor::new(move |task| spawner.spawn_local(task).unwrap(), move || pool.run_until_stalled())
/// };
/// # drop(executor);
/// ```
pub struct Executor {
    spawn: Box<dyn FnMut(ExecutorTask)>,
    run: Runner,
}

pub(super) enum Runner {
    UntilIdle(Box<dyn FnMut()>),
    Stepped(Box<dyn FnMut() -> bool>),
}

impl Executor {
    /// `spawn` hands a task to the executor; `run_until_idle` runs it until no task
    /// can make progress without a wake from outside (`LocalPool::run_until_stalled`).
    /// A multi-threaded executor's `run_until_idle` must wait until its workers are
    /// idle.
    pub fn new(spawn: impl FnMut(ExecutorTask) + 'static, run_until_idle: impl FnMut() + 'static) -> Self {
        Executor { spawn: Box::new(spawn), run: Runner::UntilIdle(Box::new(run_until_idle)) }
    }

    /// For an executor that runs one step at a time (`LocalPool::try_run_one`): `step`
    /// returns whether it did something; the kit calls it until it returns `false`.
    /// An executor still busy after 10,000 steps (200 under miri) with no task that
    /// could use them is reported as a [`Spin`](ViolationKind::Spin).
    pub fn stepped(spawn: impl FnMut(ExecutorTask) + 'static, step: impl FnMut() -> bool + 'static) -> Self {
        Executor { spawn: Box::new(spawn), run: Runner::Stepped(Box::new(step)) }
    }
}

impl fmt::Debug for Executor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Executor").finish_non_exhaustive()
    }
}

/// Runs every check of the executor kit on fresh executors from `factory` and
/// panics with the [`Report`] of the first failure. See [`try_check_executor`].
///
/// ```
/// use futures_executor::LocalPool;
/// use futures_util::task::LocalSpawnExt;
///
/// pollcheck::check_executor(|| {
///     let mut pool = LocalPool::new();
///     let spawner = pool.spawner();
///     pollcheck::Executor::new(move |task| spawner.spawn_local(task).unwrap(), move || pool.run_until_stalled())
/// });
/// ```
#[track_caller]
pub fn check_executor(factory: impl Fn() -> Executor) {
    if let Err(report) = try_check_executor(factory) {
        panic!("{report}");
    }
}

/// Runs every check of the executor kit, each on a fresh executor from `factory`;
/// returns the [`Report`] of the first failure (its "found by" names the check).
///
/// The kit's tasks are probes: every check also reports a task polled after it
/// returned `Ready` ([`PollAfterReady`](ViolationKind::PollAfterReady)) or moved
/// after its first poll ([`MovedWhilePinned`](ViolationKind::MovedWhilePinned)).
///
/// | check | fails with |
/// | --- | --- |
/// | polls spawned tasks | [`LostWakeup`](ViolationKind::LostWakeup): a spawned task never polled |
/// | drops finished tasks | [`LeakedFuture`](ViolationKind::LeakedFuture): a task that returned `Ready` still held after the run |
/// | re-polls after a wake from the same thread (`wake`, `wake_by_ref`) | `LostWakeup` |
/// | re-polls after a wake from another thread | `LostWakeup` |
/// | re-polls after a self-wake during poll (`wake_by_ref`, a woken clone, another thread waking while the task is being polled) | `LostWakeup` |
/// | never polls a task after `Ready` (a task that wakes itself and finishes; a stale waker woken after the end) | `PollAfterReady` |
/// | drops pending tasks when dropped (the tasks hold their own wakers) | `LeakedFuture` |
/// | wakers outliving the executor: woken, cloned, dropped, here and on another thread | [`Panic`](ViolationKind::Panic) (and under miri, any undefined behaviour) |
///
/// A panic from `spawn`, `run` or the executor's drop is a `Panic`. Run the same test
/// under `cargo +nightly miri test` to check the executor's unsafe code on every step.
///
/// A call into the executor that has not returned within the poll timeout
/// (`POLLCHECK_POLL_TIMEOUT_MS`, 2 s) is a [`Hang`](ViolationKind::Hang): the kit runs
/// on the calling thread, so, as under [`Checker::local`](crate::Checker::local),
/// pollcheck prints the report and ends the process with exit status 101.
///
/// An invalid `POLLCHECK_*` environment variable checks nothing: the report is an
/// [`InvalidConfig`](ViolationKind::InvalidConfig) whose detail names it and what it
/// allows.
pub fn try_check_executor(factory: impl Fn() -> Executor) -> Result<(), Report> {
    let config = Config::from_env().map_err(|e| Report::invalid_config(e.to_string()))?;
    let session = config.poll_timeout.map(|t| Session::naming(t, config.seed, OnHang::Exit, &checks::CHECK_NAMES));
    liveness::watch(session.as_ref(), |watch| run_checks(&factory, watch.map(|w| &w.heartbeat)))
}

fn run_checks(factory: &impl Fn() -> Executor, heartbeat: Option<&std::sync::Arc<Heartbeat>>) -> Result<(), Report> {
    let heartbeat = heartbeat.cloned();
    for (index, (name, check)) in CHECKS.into_iter().enumerate() {
        if let Some(hb) = &heartbeat {
            hb.reset();
            hb.set_phase(Phase::Executor(index as u64).code());
        }
        let executor = match watched(&heartbeat, ExecutorCall::Factory, || panic_capture::catch(factory)) {
            Ok(e) => e,
            Err(p) => {
                let v = Violation::new(ViolationKind::Panic, None, format!("the executor factory panicked: {p}"));
                return Err(Report::from_check(v, &[], name));
            }
        };
        let mut kit =
            Kit { executor: Some(executor), tasks: Vec::new(), steps: Vec::new(), heartbeat: heartbeat.clone() };
        let result = check(&mut kit);
        // Whatever happened, the executor goes (its panic no longer matters).
        let executor = kit.executor.take();
        let _ = watched(&heartbeat, ExecutorCall::Drop, || panic_capture::catch(move || drop(executor)));
        if let Err(v) = result {
            return Err(Report::from_check(v, &kit.steps, name));
        }
    }
    Ok(())
}

/// Runs a call into the user's executor as an activity the watchdog watches.
pub(super) fn watched<T>(
    heartbeat: &Option<std::sync::Arc<Heartbeat>>,
    call: ExecutorCall,
    f: impl FnOnce() -> T,
) -> T {
    if let Some(hb) = heartbeat {
        hb.start(Activity::Executor(call));
    }
    let result = f();
    if let Some(hb) = heartbeat {
        hb.end();
    }
    result
}

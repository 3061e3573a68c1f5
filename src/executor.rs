//! The executor kit: runs a user's executor through a fixed set of checks, each on a
//! fresh executor, with tasks that are probes and report what the executor does to
//! them.

use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::liveness::{self, Activity, ExecutorCall, Heartbeat, OnHang, Phase, Session};
use crate::panic_capture;
use crate::probe::{probe_in, Mode, Probe, ProbeHandle};
use crate::report::Report;
use crate::violation::{Violation, ViolationKind};

/// Most `step` calls of a [stepped](Executor::stepped) executor per run before it
/// counts as never idle.
const STEP_BOUND: usize = if cfg!(miri) { 200 } else { 10_000 };

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

enum Runner {
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

/// What a kit task does, besides waiting for the kit to complete it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Script {
    /// `Ready` at its first poll.
    ReadyAtOnce,
    /// `Pending` until the check completes it and wakes it.
    Waits,
    /// At its first poll: completes itself, wakes its own waker, returns `Pending`.
    SelfWake(SelfWake),
    /// At its first poll: wakes its own waker, then returns `Ready`.
    WakeThenReady,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SelfWake {
    ByRef,
    Clone,
    OtherThread,
}

impl Script {
    fn label(self) -> &'static str {
        match self {
            Script::ReadyAtOnce => "Ready at its first poll",
            Script::Waits => "Pending until the check wakes it",
            Script::SelfWake(SelfWake::ByRef) => "wakes itself with wake_by_ref during its first poll",
            Script::SelfWake(SelfWake::Clone) => "wakes a clone of its waker during its first poll",
            Script::SelfWake(SelfWake::OtherThread) => "has another thread wake it during its first poll",
            Script::WakeThenReady => "wakes itself, then returns Ready",
        }
    }
}

/// A task the kit spawns on the executor under test: a `Send + 'static` future with
/// output `()`, `!Unpin` (moving it after its first poll is reported).
#[must_use = "futures do nothing unless polled"]
pub struct ExecutorTask {
    probe: Probe<()>,
    script: Script,
    polled: bool,
}

impl fmt::Debug for ExecutorTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExecutorTask").field("script", &self.script.label()).finish_non_exhaustive()
    }
}

impl Future for ExecutorTask {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // SAFETY: `probe` is structurally pinned: `ExecutorTask` never moves it out,
        // has no `Drop` impl and is `!Unpin` through it.
        let this = unsafe { self.get_unchecked_mut() };
        let first = !std::mem::replace(&mut this.polled, true);
        // SAFETY: see above.
        let mut probe = unsafe { Pin::new_unchecked(&mut this.probe) };
        match (first, this.script) {
            (true, Script::WakeThenReady) => {
                cx.waker().wake_by_ref();
                probe.poll(cx)
            }
            (true, Script::SelfWake(how)) => {
                let poll = probe.as_mut().poll(cx);
                probe.fill(());
                match how {
                    SelfWake::ByRef => cx.waker().wake_by_ref(),
                    // On purpose: a clone woken by value takes another path in the
                    // executor's vtable than `wake_by_ref`.
                    #[allow(clippy::waker_clone_wake)]
                    SelfWake::Clone => cx.waker().clone().wake(),
                    SelfWake::OtherThread => {
                        let waker = cx.waker().clone();
                        if std::thread::spawn(move || waker.wake()).join().is_err() {
                            // The executor's wake panicked on the other thread; the kit
                            // sees the task never finish.
                        }
                    }
                }
                poll
            }
            _ => probe.poll(cx),
        }
    }
}

/// One task spawned by a check, and its handle.
struct Spawned {
    handle: ProbeHandle<()>,
    script: Script,
}

/// One check in progress: the executor, its tasks, and what was done so far.
struct Kit {
    executor: Option<Executor>,
    tasks: Vec<Spawned>,
    steps: Vec<String>,
    heartbeat: Option<std::sync::Arc<Heartbeat>>,
}

type Checked = Result<(), Violation>;

impl Kit {
    fn violation(&self, task: usize, kind: ViolationKind, detail: String) -> Violation {
        Violation::new(kind, Some((task, self.tasks[task].script.label())), detail)
    }

    fn spawn(&mut self, script: Script) -> Result<usize, Violation> {
        let (probe, handle) = probe_in(Mode::Kit, "task", Location::caller());
        if script == Script::ReadyAtOnce || script == Script::WakeThenReady {
            handle.fill(());
        }
        let index = self.tasks.len();
        self.tasks.push(Spawned { handle, script });
        self.steps.push(format!("spawn task {index} ({})", script.label()));
        let executor = self.executor.as_mut().expect("the executor is alive while tasks are spawned");
        let task = ExecutorTask { probe, script, polled: false };
        watched(&self.heartbeat, ExecutorCall::Spawn, || panic_capture::catch(|| (executor.spawn)(task)))
            .map_err(|p| Violation::new(ViolationKind::Panic, None, format!("spawn panicked: {p}")))?;
        Ok(index)
    }

    fn run(&mut self) -> Checked {
        let executor = self.executor.as_mut().expect("the executor is alive while it runs");
        let idle = watched(&self.heartbeat, ExecutorCall::Run, || match &mut executor.run {
            Runner::UntilIdle(run) => panic_capture::catch(run).map(|()| true),
            Runner::Stepped(step) => panic_capture::catch(|| (0..STEP_BOUND).any(|_| !step())),
        });
        let idle = idle
            .map_err(|p| Violation::new(ViolationKind::Panic, None, format!("running the executor panicked: {p}")))?;
        self.steps.push(format!("run until idle -> {}", self.status()));
        self.collect()?;
        if !idle {
            return Err(Violation::new(
                ViolationKind::Spin,
                None,
                format!("the executor was still busy after {STEP_BOUND} steps, with every task finished or waiting"),
            ));
        }
        Ok(())
    }

    fn status(&self) -> String {
        let tasks: Vec<String> = self
            .tasks
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let h = &t.handle;
                let state = if h.is_finished() {
                    "Ready"
                } else if h.polls() > 0 {
                    "Pending"
                } else {
                    "never polled"
                };
                let polls = h.polls();
                let dropped = if h.is_dropped() { ", dropped" } else { "" };
                format!("task {i}: {polls} poll{}, {state}{dropped}", if polls == 1 { "" } else { "s" })
            })
            .collect();
        tasks.join("; ")
    }

    /// What the tasks saw the executor do to them.
    fn collect(&self) -> Checked {
        for (i, t) in self.tasks.iter().enumerate() {
            if let Some(v) = t.handle.take_violations().into_iter().next() {
                return Err(self.violation(i, v.kind(), v.detail().to_owned()));
            }
        }
        Ok(())
    }

    fn drop_executor(&mut self) -> Checked {
        let executor = self.executor.take();
        watched(&self.heartbeat, ExecutorCall::Drop, || panic_capture::catch(move || drop(executor)))
            .map_err(|p| Violation::new(ViolationKind::Panic, None, format!("dropping the executor panicked: {p}")))?;
        self.steps.push(format!("drop the executor -> {}", self.status()));
        self.collect()
    }

    /// Fails unless task `t` returned `Ready`.
    fn expect_ready(&self, t: usize, after: &str) -> Checked {
        let h = &self.tasks[t].handle;
        if h.is_finished() {
            return Ok(());
        }
        let detail = if h.polls() == 0 {
            format!("the task was spawned and the executor ran until idle, but it never polled it{after}")
        } else {
            let polls = h.polls();
            let s = if polls == 1 { "" } else { "s" };
            format!("{after}; the executor ran until idle without polling it again (polled {polls} time{s} in all)")
        };
        Err(self.violation(t, ViolationKind::LostWakeup, detail))
    }

    fn expect_dropped(&self, t: usize, detail: &str) -> Checked {
        if self.tasks[t].handle.is_dropped() {
            return Ok(());
        }
        Err(self.violation(t, ViolationKind::LeakedFuture, detail.to_owned()))
    }

    /// Completes task `t` without waking it and returns a clone of its waker.
    fn complete_silently(&mut self, t: usize) -> Result<std::task::Waker, Violation> {
        let h = &self.tasks[t].handle;
        if h.polls() == 0 {
            return Err(self.violation(
                t,
                ViolationKind::LostWakeup,
                "the task was spawned and the executor ran until idle, but it never polled it".into(),
            ));
        }
        h.fill(());
        h.registered_waker().ok_or_else(|| {
            self.violation(t, ViolationKind::LostWakeup, "the task returned Pending, yet holds no waker".into())
        })
    }

    fn note(&mut self, what: impl Into<String>) {
        self.steps.push(what.into());
    }
}

fn polls_spawned_tasks(kit: &mut Kit) -> Checked {
    kit.spawn(Script::ReadyAtOnce)?;
    kit.spawn(Script::Waits)?;
    kit.run()?;
    kit.expect_ready(0, "")?;
    if kit.tasks[1].handle.polls() == 0 {
        return kit.expect_ready(1, "");
    }
    Ok(())
}

fn drops_finished_tasks(kit: &mut Kit) -> Checked {
    kit.spawn(Script::ReadyAtOnce)?;
    kit.spawn(Script::Waits)?;
    kit.run()?;
    kit.tasks[1].handle.complete(());
    kit.note("complete task 1 and wake it (wake by value, this thread)");
    kit.run()?;
    for t in 0..2 {
        kit.expect_ready(t, "")?;
        kit.expect_dropped(
            t,
            "the task returned Ready, and after running until idle the executor still holds it: a finished \
             task must be dropped (it may own resources, and wakers it registered keep other things alive)",
        )?;
    }
    Ok(())
}

fn repolls_after_wake_on_same_thread(kit: &mut Kit) -> Checked {
    kit.spawn(Script::Waits)?;
    kit.spawn(Script::Waits)?;
    kit.run()?;
    kit.tasks[0].handle.complete(());
    kit.note("complete task 0 and wake it (wake by value, this thread)");
    let waker = kit.complete_silently(1)?;
    waker.wake_by_ref();
    drop(waker);
    kit.note("complete task 1 and wake it (wake_by_ref on a clone, this thread)");
    kit.run()?;
    kit.expect_ready(0, "the task returned Pending and was woken from this thread (wake)")?;
    kit.expect_ready(1, "the task returned Pending and was woken from this thread (wake_by_ref)")
}

fn repolls_after_wake_from_another_thread(kit: &mut Kit) -> Checked {
    kit.spawn(Script::Waits)?;
    kit.spawn(Script::Waits)?;
    kit.run()?;
    let by_value = kit.complete_silently(0)?;
    let by_ref = kit.complete_silently(1)?;
    let woke = std::thread::spawn(move || {
        by_value.wake();
        by_ref.wake_by_ref();
    })
    .join();
    if let Err(p) = woke {
        let p = panic_capture::payload_text(&*p);
        return Err(Violation::new(ViolationKind::Panic, None, format!("a wake on another thread panicked: {p}")));
    }
    kit.note("complete tasks 0 and 1; another thread wakes task 0 (wake) and task 1 (wake_by_ref)");
    kit.run()?;
    kit.expect_ready(0, "the task returned Pending and was woken from another thread (wake)")?;
    kit.expect_ready(1, "the task returned Pending and was woken from another thread (wake_by_ref)")
}

fn repolls_after_self_wake(kit: &mut Kit) -> Checked {
    let hows = [SelfWake::ByRef, SelfWake::Clone, SelfWake::OtherThread];
    for how in hows {
        kit.spawn(Script::SelfWake(how))?;
    }
    kit.run()?;
    for t in 0..hows.len() {
        kit.expect_ready(
            t,
            "the task woke itself during its own poll, then returned Pending. The executor lost a wake that \
             arrived while it polled the task (e.g. it clears the task's 'woken' flag after polling instead \
             of before)",
        )?;
    }
    Ok(())
}

fn never_polls_after_ready(kit: &mut Kit) -> Checked {
    kit.spawn(Script::WakeThenReady)?;
    kit.spawn(Script::Waits)?;
    kit.run()?;
    let waker = kit.complete_silently(1)?;
    waker.wake_by_ref();
    kit.note("complete task 1 and wake it, keeping a clone of its waker");
    kit.run()?;
    waker.wake();
    kit.note("wake task 1's waker again, after the task returned Ready");
    kit.run()
}

fn drops_pending_tasks_when_dropped(kit: &mut Kit) -> Checked {
    kit.spawn(Script::Waits)?;
    kit.spawn(Script::Waits)?;
    kit.run()?;
    kit.drop_executor()?;
    for t in 0..2 {
        kit.expect_dropped(
            t,
            "the task was still Pending when the executor was dropped, and it was never dropped: a cancelled \
             task must be dropped with its executor. The task holds its own waker (as a task waiting on a \
             channel does), so an executor that frees a task only when its last waker is gone leaks it",
        )?;
    }
    Ok(())
}

fn survives_wakers_outliving_it(kit: &mut Kit) -> Checked {
    kit.spawn(Script::Waits)?;
    kit.run()?;
    let first = kit.complete_silently(0)?;
    let second = first.clone();
    kit.note("keep two clones of task 0's waker");
    kit.drop_executor()?;
    let used = panic_capture::catch(move || {
        first.wake_by_ref();
        let third = first.clone();
        std::thread::spawn(move || {
            third.wake_by_ref();
            third.wake();
        })
        .join()
        .map_err(|p| panic_capture::payload_text(&*p))?;
        second.wake();
        drop(first);
        Ok::<(), String>(())
    });
    kit.note("wake, clone and drop the kept wakers, on this thread and another");
    let err = match used {
        Ok(Ok(())) => return Ok(()),
        Ok(Err(p)) => p,
        Err(p) => p.to_string(),
    };
    Err(Violation::new(
        ViolationKind::Panic,
        None,
        format!("using a waker after its executor was dropped panicked (it must be a no-op): {err}"),
    ))
}

type Check = fn(&mut Kit) -> Checked;

/// Runs a call into the user's executor as an activity the watchdog watches.
fn watched<T>(heartbeat: &Option<std::sync::Arc<Heartbeat>>, call: ExecutorCall, f: impl FnOnce() -> T) -> T {
    if let Some(hb) = heartbeat {
        hb.start(Activity::Executor(call));
    }
    let result = f();
    if let Some(hb) = heartbeat {
        hb.end();
    }
    result
}

/// The name of check `index`, as a report's "found by" gives it.
pub(crate) fn check_name(index: usize) -> &'static str {
    CHECKS.get(index).map_or("the executor kit", |(name, _)| name)
}

/// The checks, in order, each named as a report's "found by".
const CHECKS: [(&str, Check); 8] = [
    ("executor check: polls spawned tasks", polls_spawned_tasks),
    ("executor check: drops finished tasks", drops_finished_tasks),
    ("executor check: re-polls after a wake from the same thread", repolls_after_wake_on_same_thread),
    ("executor check: re-polls after a wake from another thread", repolls_after_wake_from_another_thread),
    ("executor check: re-polls after a self-wake during poll", repolls_after_self_wake),
    ("executor check: never polls a task after Ready", never_polls_after_ready),
    ("executor check: drops pending tasks when dropped", drops_pending_tasks_when_dropped),
    ("executor check: wakers outliving the executor", survives_wakers_outliving_it),
];

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
/// # Panics
/// If `POLLCHECK_POLL_TIMEOUT_MS` is invalid.
#[track_caller]
pub fn try_check_executor(factory: impl Fn() -> Executor) -> Result<(), Report> {
    let config = crate::Config::from_env().unwrap_or_else(|e| panic!("pollcheck: {e}"));
    let session = config.poll_timeout.map(|t| Session::new(t, config.seed, OnHang::Exit));
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

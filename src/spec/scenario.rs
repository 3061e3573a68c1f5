//! Scenarios: the tasks under test and the driver steps that make progress for them.

use std::cell::Cell;
use std::fmt::Debug;
use std::future::Future;
use std::ops::Range;
use std::panic::Location;

use crate::spec::task::{movable, pinned, DriverStep, Fate, TaskFuture, TaskSpec};

/// What one schedule runs against: one or more tasks (the futures under test) and the
/// driver (closures run in order between polls: the other side of a channel, a
/// notifier, a timer firing).
///
/// The checker calls your factory for a fresh scenario before every schedule, so
/// every schedule starts from the same state.
///
/// ```
/// use futures_channel::oneshot;
/// use pollcheck::Scenario;
///
/// let scenario = {
///     let (tx, rx) = oneshot::channel::<u32>();
///     Scenario::new().task(rx).step(move || tx.send(7).unwrap())
/// };
/// # drop(scenario);
/// ```
///
/// A driver step is `FnOnce`: what it captures is dropped after it runs. When several
/// steps share a sender, give each an `Rc` clone of it.
#[must_use = "a scenario does nothing until a checker runs it"]
#[derive(Default)]
pub struct Scenario {
    pub(crate) tasks: Vec<TaskSpec>,
    pub(crate) steps: Vec<DriverStep>,
    /// Every task must finish ([`Scenario::all_must_finish`]).
    pub(crate) all_must_finish: bool,
    /// No excuse for a pending wake held by an abandoned task
    /// ([`Scenario::strict_abandonment`]).
    pub(crate) strict_abandonment: bool,
    /// At least this many of the declared tasks must finish ([`Scenario::quorum`]).
    pub(crate) quorum: Option<usize>,
    /// Kept alive until teardown ([`Scenario::hold`]).
    pub(crate) held: Vec<Box<dyn std::any::Any>>,
    /// The groups of interchangeable tasks ([`Scenario::tasks`]), as index ranges in
    /// the order they were added.
    pub(crate) groups: Vec<Range<usize>>,
}

thread_local! {
    /// See [`Scenario::recycle`].
    static SPARE: Cell<(Vec<TaskSpec>, Vec<DriverStep>)> = const { Cell::new((Vec::new(), Vec::new())) };
}

impl Scenario {
    /// An empty scenario.
    pub fn new() -> Self {
        // The lists of the last scenario the engine ran on this thread, emptied: a
        // factory builds one scenario per schedule.
        let (tasks, steps) = SPARE.try_with(|s| s.take()).unwrap_or_default();
        Scenario { tasks, steps, ..Scenario::default() }
    }

    /// Hands back the (emptied) lists of a scenario the engine took apart.
    pub(crate) fn recycle(mut tasks: Vec<TaskSpec>, mut steps: Vec<DriverStep>) {
        tasks.clear();
        steps.clear();
        let _ = SPARE.try_with(|s| s.set((tasks, steps)));
    }

    /// Adds a task: any future, `!Unpin` and `!Send` ones included. Its output is kept
    /// (as its `Debug` text) to compare schedules with each other. Tasks are numbered
    /// from 0 in the order they are added.
    pub fn task<F>(self, future: F) -> Self
    where
        F: Future + 'static,
        F::Output: Debug,
    {
        self.with_task(std::any::type_name::<F>(), pinned(future))
    }

    /// A model's scenario: `body` is task 0, which must finish (a body still `Pending`
    /// at quiescence is a stuck task or a lost wakeup, as the same test would hang
    /// under any runtime) and is never cancelled or abandoned; the tasks it
    /// [`spawn`](crate::spawn)s follow, in spawn order. [`model`](crate::model) is
    /// `Checker::new(move || Scenario::model(body())).run()`; build the `Checker`
    /// yourself for bounds, a seed, a replay or `try_run`, and pass the same factory
    /// to the proptest and fuzz entry points.
    ///
    /// ```
    /// use pollcheck::{Checker, Scenario};
    ///
    /// let summary = Checker::new(|| {
    ///     Scenario::model(async {
    ///         let (tx, rx) = futures_channel::oneshot::channel::<u32>();
    ///         let rx = pollcheck::spawn(async move { rx.await.ok() });
    ///         let _ = tx.send(1);
    ///         rx.await
    ///     })
    /// })
    /// .depth(4)
    /// .try_run()
    /// .unwrap();
    /// assert!(summary.schedules() > 1);
    /// ```
    pub fn model<F>(body: F) -> Self
    where
        F: Future + 'static,
        F::Output: Debug,
    {
        let mut scenario = Scenario::new();
        scenario.tasks.push(TaskSpec {
            type_name: std::any::type_name::<F>(),
            future: pinned(body),
            must_finish: true,
            fate: Fate::KEPT,
        });
        scenario
    }

    /// Adds `n` interchangeable tasks, each the future `make` returns (called `n` times,
    /// in order), numbered after the tasks added before.
    ///
    /// Declaring them interchangeable lets the systematic phase explore one schedule
    /// per class of renamings: four waiters built by the same code reach the same
    /// states whichever of them is polled first, so of the schedules that differ only
    /// in which member of the group plays which part, one is run (among the members
    /// the schedule has not acted on yet, only the lowest-numbered one may be acted on
    /// next). Every violation the full exploration finds is still found, possibly with
    /// the tasks renamed; the 4-waiter, 4-step tokio semaphore of BENCHMARKS.md runs
    /// 22 times fewer schedules at the default depth.
    ///
    /// The promise you make: swapping any two of them changes nothing but their
    /// numbers. So `make` builds each the same way, from the same state, and
    /// registers nothing when it is called (a future that joins a waiter list when
    /// it is first *polled*, as `Notify::notified` and `Semaphore::acquire` do, is
    /// fine); no driver step, other task or [`hold`](Scenario::hold) value singles one
    /// of them out; and their outputs mean the same whichever task returns them.
    /// A scenario that breaks the promise may have violations the reduction skips:
    /// add such tasks one by one with [`task`](Scenario::task).
    ///
    /// [`must_finish`](Scenario::must_finish) right after it applies to the whole
    /// group. The random phase, replays and the proptest and fuzz entry points run
    /// schedules as they are: the reduction is the systematic phase's.
    ///
    /// ```
    /// use pollcheck::{Checker, Scenario};
    /// use std::sync::Arc;
    /// use tokio::sync::Semaphore;
    ///
    /// let summary = Checker::new(|| {
    ///     let sem = Arc::new(Semaphore::new(0));
    ///     let (a, b) = (Arc::clone(&sem), Arc::clone(&sem));
    ///     let acquirer = Arc::clone(&sem);
    ///     Scenario::new()
    ///         .tasks(3, move || {
    ///             let sem = Arc::clone(&acquirer);
    ///             async move { sem.acquire_owned().await.is_ok() }
    ///         })
    ///         .must_finish() // all three
    ///         .step(move || a.add_permits(2))
    ///         .step(move || b.add_permits(1))
    /// })
    /// .cases(0)
    /// .run();
    /// assert!(summary.systematic > 0);
    /// ```
    pub fn tasks<F>(mut self, n: usize, mut make: impl FnMut() -> F) -> Self
    where
        F: Future + 'static,
        F::Output: Debug,
    {
        let start = self.tasks.len();
        for _ in 0..n {
            self = self.task(make());
        }
        if n > 1 {
            self.groups.push(start..start + n);
        }
        self
    }

    /// Adds an `Unpin` task, which the checker may also move to a new address between
    /// polls ([`Step::Move`](crate::Step::Move)): moving an `Unpin` future is legal, so
    /// a future that breaks when moved has a bug.
    pub fn unpin_task<F>(self, future: F) -> Self
    where
        F: Future + Unpin + 'static,
        F::Output: Debug,
    {
        self.with_task(std::any::type_name::<F>(), movable(future))
    }

    /// Adds a task that drains a stream (feature `stream`): each poll of the task calls
    /// `poll_next` until the stream returns `Pending` or `None`, as an executor polling
    /// a consumer loop does, and the task finishes at `None`. Its output is the item
    /// sequence (as `Debug` text), compared across schedules like any output; the
    /// report's timeline shows what each poll yielded (`Pending (yielded 3, 4)`).
    ///
    /// Every detector applies to each poll: a stream that returns `Pending` without
    /// registering its waker is a lost wakeup, one that keeps its first waker a stale
    /// waker, and so on. At quiescence, an extra poll that yields an item counts as
    /// progress the task could have made (a lost wakeup if nothing woke it).
    ///
    /// ```
    /// use futures_channel::mpsc;
    /// use pollcheck::Scenario;
    ///
    /// pollcheck::check(|| {
    ///     let (tx, rx) = mpsc::unbounded::<u32>();
    ///     let tx2 = tx.clone();
    ///     Scenario::new()
    ///         .stream_task(rx)
    ///         .step(move || drop(tx.unbounded_send(1)))
    ///         .step(move || drop(tx2))
    /// });
    /// ```
    ///
    /// A stream that never returns `Pending` nor `None` loops inside one poll: that is
    /// reported as a [`Hang`](crate::ViolationKind::Hang).
    #[cfg(feature = "stream")]
    pub fn stream_task<S>(self, stream: S) -> Self
    where
        S: futures_core::Stream + 'static,
        S::Item: Debug,
    {
        self.with_task(
            std::any::type_name::<S>(),
            TaskFuture::Pinned(Box::pin(crate::spec::stream_task::StreamTask::new(stream))),
        )
    }

    /// Adds a task that feeds `items` into a sink (feature `sink`), following the
    /// protocol: `poll_ready` until `Ready(Ok)` before each `start_send`, then
    /// `poll_flush` and `poll_close` until `Ready`. Each `poll_*` call is part of a
    /// poll of the task, so every waker check applies to it. The task's output is
    /// `Ok(n)` (items sent, sink closed) or the sink's first error (as `Debug` text);
    /// the timeline shows what each poll sent (`Pending (sent 1, 2)`).
    ///
    /// ```
    /// use futures_channel::mpsc;
    /// use futures_util::StreamExt;
    /// use pollcheck::Scenario;
    ///
    /// pollcheck::check(|| {
    ///     let (tx, rx) = mpsc::channel::<u32>(0);
    ///     Scenario::new().sink_task(tx, vec![1, 2]).task(rx.collect::<Vec<_>>())
    /// });
    /// ```
    #[cfg(feature = "sink")]
    pub fn sink_task<S, T>(self, sink: S, items: impl IntoIterator<Item = T>) -> Self
    where
        S: futures_sink::Sink<T> + 'static,
        S::Error: Debug,
        T: Debug + 'static,
    {
        self.with_task(
            std::any::type_name::<S>(),
            TaskFuture::Pinned(Box::pin(crate::spec::stream_task::SinkTask::new(sink, items))),
        )
    }

    /// Adds a task any schedule may poll, cancel, abandon (and move, if `future` is
    /// movable).
    fn with_task(mut self, type_name: &'static str, future: TaskFuture) -> Self {
        self.tasks.push(TaskSpec { type_name, future, must_finish: false, fate: Fate::ANY });
        self
    }

    /// Adds a driver step. Steps run in the order they are added, each once, when the
    /// schedule says so; by the end of every schedule all of them have run.
    #[track_caller]
    pub fn step(mut self, step: impl FnOnce() + 'static) -> Self {
        self.steps.push(DriverStep { location: Location::caller(), run: Box::new(step) });
        self
    }

    /// Declares that the task added last (after [`tasks`](Scenario::tasks), every task
    /// of that group) must finish: at quiescence (every driver
    /// step ran, no wake is pending), if it was neither cancelled nor abandoned and is
    /// still `Pending`, that is a [`StuckTask`](crate::ViolationKind::StuckTask)
    /// violation, even though its waker is still registered somewhere.
    ///
    /// Without it, a task left `Pending` with a live waker is legal: pollcheck cannot
    /// know whether the scenario's driver was meant to let it finish. Add it when the
    /// driver makes finishing certain under every schedule (a receiver whose messages
    /// are all sent, an acquirer whose permits are all released), so that a primitive
    /// that loses the notification or the permit the task waited for is caught.
    ///
    /// ```
    /// use futures_channel::oneshot;
    /// use pollcheck::Scenario;
    ///
    /// pollcheck::check(|| {
    ///     let (tx, rx) = oneshot::channel::<u32>();
    ///     Scenario::new().task(rx).must_finish().step(move || {
    ///         let _ = tx.send(7);
    ///     })
    /// });
    /// ```
    ///
    /// # Panics
    ///
    /// If no task was added yet.
    #[track_caller]
    pub fn must_finish(mut self) -> Self {
        let last = match self.tasks.len() {
            0 => panic!("Scenario::must_finish: no task was added yet; call it after the .task(..) it is about"),
            n => n - 1..n,
        };
        // After `tasks(n, ..)`, the whole group: one member alone would single it out.
        let group = self.groups.last().filter(|g| g.end == last.end).cloned().unwrap_or(last);
        for task in &mut self.tasks[group] {
            task.must_finish = true;
        }
        self
    }

    /// Declares that every task, including those added after this call, must finish
    /// (see [`must_finish`](Scenario::must_finish)).
    ///
    /// ```
    /// use futures_channel::mpsc;
    /// use futures_util::StreamExt;
    /// use pollcheck::Scenario;
    ///
    /// pollcheck::check(|| {
    ///     let (tx, rx) = mpsc::unbounded::<u32>();
    ///     let tx2 = tx.clone();
    ///     Scenario::new()
    ///         .all_must_finish()
    ///         .task(rx.collect::<Vec<_>>())
    ///         .step(move || drop(tx.unbounded_send(1)))
    ///         .step(move || drop(tx2))
    /// });
    /// ```
    pub fn all_must_finish(mut self) -> Self {
        self.all_must_finish = true;
        self
    }

    /// Takes away the excuse of an abandoned task (one never polled again, never
    /// dropped: [`Step::Abandon`](crate::Step::Abandon)) that holds a pending wake.
    ///
    /// By default, while an abandoned task holds a wake it was not polled for, no other
    /// task is reported for a lost wakeup at quiescence (nor as a
    /// [stuck task](Scenario::must_finish)): a notify-one primitive cannot know that
    /// nobody will poll the task it woke, and locks built on event-listener rightly
    /// rely on it. Turn this on for primitives that promise more: that every message
    /// wakes some receiver that is still polled (a channel whose receive future hands a
    /// notification it does not use on to another waiter). The scenario then needs at
    /// least as many messages as waiting receivers: with one message and two
    /// receivers, a correct channel wakes one, the schedule abandons it, and the other
    /// is rightly left waiting, which strict abandonment reports.
    ///
    /// ```
    /// use futures_channel::mpsc;
    /// use futures_util::StreamExt;
    /// use pollcheck::Scenario;
    ///
    /// pollcheck::check(|| {
    ///     let (tx, rx) = mpsc::unbounded::<u32>();
    ///     Scenario::new()
    ///         .strict_abandonment()
    ///         .task(rx.collect::<Vec<_>>())
    ///         .must_finish()
    ///         .step(move || drop(tx))
    /// });
    /// ```
    pub fn strict_abandonment(mut self) -> Self {
        self.strict_abandonment = true;
        self
    }

    /// Declares that at least `k` of the tasks must finish, where either may rightly be
    /// the one left waiting: with one notification and two waiters, a correct notifier
    /// lets one of them finish, and which one depends on the schedule, so neither can
    /// be declared with [`must_finish`](Scenario::must_finish) alone.
    ///
    /// The tasks counted are those declared with `must_finish` (or
    /// [`all_must_finish`](Scenario::all_must_finish)), or every task when none is. At
    /// quiescence, if fewer than `k` of them finished, and fewer than all of those the
    /// schedule did not cancel or abandon, a task among them still `Pending` is a
    /// [`StuckTask`](crate::ViolationKind::StuckTask): a cancelled task did not finish,
    /// but it takes nothing from the others (a notifier must pass a cancelled waiter's
    /// notification on), and an abandoned task holding a wake excuses the check, as for
    /// `must_finish`.
    ///
    /// ```
    /// use pollcheck::Scenario;
    /// use std::sync::Arc;
    /// use tokio::sync::Notify;
    ///
    /// pollcheck::check(|| {
    ///     let notify = Arc::new(Notify::new());
    ///     let (a, b) = (notify.clone(), notify.clone());
    ///     Scenario::new()
    ///         .task(async move { a.notified().await })
    ///         .task(async move { b.notified().await })
    ///         .quorum(1)
    ///         .step(move || notify.notify_one())
    /// });
    /// ```
    ///
    /// # Panics
    ///
    /// If `k` is 0 (a quorum of none checks nothing).
    pub fn quorum(mut self, k: usize) -> Self {
        assert!(k > 0, "Scenario::quorum(0): a quorum of no task checks nothing; use 1 or more");
        self.quorum = Some(k);
        self
    }

    /// Keeps `value` alive until the end of the schedule: dropped at teardown, after
    /// the tasks and the driver steps. For the half of a channel no step uses (a
    /// sender kept so the channel stays open) without `mem::forget`, whose leaked
    /// primitive would keep the task's waker alive and show as a leaked waker.
    ///
    /// ```
    /// use pollcheck::Scenario;
    ///
    /// pollcheck::check(|| {
    ///     let (tx, rx) = futures_channel::mpsc::unbounded::<u32>();
    ///     let kept = tx.clone();
    ///     Scenario::new()
    ///         .task(async move {
    ///             let mut rx = rx;
    ///             futures_util::StreamExt::next(&mut rx).await
    ///         })
    ///         .step(move || drop(tx.unbounded_send(1)))
    ///         .hold(kept) // the channel stays open until teardown
    /// });
    /// ```
    pub fn hold(mut self, value: impl std::any::Any) -> Self {
        self.held.push(Box::new(value));
        self
    }

    /// How many tasks.
    pub fn task_count(&self) -> usize {
        self.tasks.len()
    }

    /// How many driver steps.
    pub fn step_count(&self) -> usize {
        self.steps.len()
    }
}

impl std::fmt::Debug for Scenario {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scenario")
            .field("tasks", &self.tasks.iter().map(|t| t.type_name).collect::<Vec<_>>())
            .field("steps", &self.steps.iter().map(|s| s.location).collect::<Vec<_>>())
            .field("must_finish", &self.tasks.iter().map(|t| self.all_must_finish || t.must_finish).collect::<Vec<_>>())
            .field("strict_abandonment", &self.strict_abandonment)
            .field("quorum", &self.quorum)
            .field("interchangeable", &self.groups)
            .finish()
    }
}

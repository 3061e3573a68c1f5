//! Models: a test written as async code, explored like a scenario; `spawn` adds its
//! tasks. Under `--cfg loom` the same model runs on loom's threads.

pub(crate) mod spawn;

use std::fmt::Debug;
use std::future::Future;

#[cfg(not(loom))]
use crate::check::Checker;
#[cfg(not(loom))]
use crate::spec::scenario::Scenario;

/// Checks an async test body under every schedule of the default exploration, and
/// panics with the [`Report`](crate::Report) of the first violation.
///
/// `body` is called afresh for every schedule (as a [`Scenario`] factory is) and its
/// future is task 0; every [`spawn`](crate::spawn) inside it, or inside a spawned
/// task, adds a task in spawn order. The explorer chooses which woken task runs
/// next, polls tasks spuriously, gives them new wakers, cancels those spawned with
/// [`spawn_cancellable`](crate::spawn_cancellable), and runs the opt-in re-entrant
/// actions, then a random phase; every detector, the shrinker, the replay string,
/// the watchdog and `threads(n)` apply as for a `Scenario`. No driver steps are
/// needed: synchronous progress is code in a task.
///
/// The body must finish: still `Pending` at quiescence, it is reported (a lost
/// wakeup or a stuck task), as the same test would hang under any runtime.
///
/// ```
/// pollcheck::model(|| async {
///     let (tx, rx) = futures_channel::oneshot::channel::<u32>();
///     let receiver = pollcheck::spawn(async move { rx.await.unwrap() });
///     pollcheck::spawn(async move {
///         let _ = tx.send(7);
///     });
///     assert_eq!(receiver.await, 7);
/// });
/// ```
///
/// For bounds, a seed, a replay or a `Result`, build the checker with
/// [`Scenario::model`]: `Checker::new(|| Scenario::model(body()))`.
///
/// # The same model under loom
///
/// Built with `RUSTFLAGS="--cfg loom"`, `model` runs the body inside
/// `pollcheck::loom::model` instead (the module exists only under `--cfg loom`), with every
/// spawned task on a loom thread of its own, polled through pollcheck's instrumented
/// `pollcheck::loom::block_on`: a lost wakeup or a stale waker across threads
/// is an ordinary panic with a report. One test file, both engines (spawned futures
/// must then be `Send`).
#[track_caller]
pub fn model<B, F>(body: B)
where
    B: Fn() -> F + Send + Sync + 'static,
    F: Future + 'static,
    F::Output: Debug,
{
    // Under `--cfg loom`: every interleaving of the body's thread and the spawned
    // tasks' threads, within loom's bounds.
    #[cfg(loom)]
    crate::checks::loom::model(move || {
        crate::checks::loom::block_on(body());
    });
    #[cfg(not(loom))]
    Checker::new(move || Scenario::model(body())).run();
}

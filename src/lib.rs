//! pollcheck drives your futures the way the worst legal executor would, and proves
//! the bugs async Rust hides best: lost wakeups, stale wakers, futures that break when
//! polled spuriously, combinators that poll a finished future, and pinned futures
//! that get moved.
//!
//! # Background
//!
//! Rust futures are lazy and pull-based: nothing runs until an executor calls
//! `poll`. A future that cannot finish returns `Pending` and must arrange for the
//! `Waker` it was given to be woken when it can make progress; otherwise the executor
//! never polls it again, and the task hangs forever with no error anywhere. Only the
//! waker from the *most recent* poll has to be woken, an executor may poll at any
//! time without a wake, and a pinned `!Unpin` future must never move. The compiler
//! checks none of this.
//!
//! # Writing a test
//!
//! Write it as async code: [`model`] runs an async body under every schedule, the
//! body as task 0 and every [`spawn`] as one more task, in spawn order.
//!
//! ```
//! pollcheck::model(|| async {
//!     let (tx, rx) = futures_channel::oneshot::channel::<u32>();
//!     let receiver = pollcheck::spawn(async move { rx.await.ok() });
//!     pollcheck::spawn(async move {
//!         let _ = tx.send(7);
//!     });
//!     assert_eq!(receiver.await, Some(7));
//! });
//! ```
//!
//! For finer control, cut the test into a [`Scenario`]: the futures under test as
//! tasks, and the other side as synchronous driver steps run between polls, where
//! the opt-in re-entrant actions can also run them inside waker calls.
//!
//! Give [`check`] a factory that builds a [`Scenario`]: the futures under test
//! (tasks) and the driver steps that make progress for them (the other side of your
//! channel, lock or timer). pollcheck runs every schedule of polls, spurious polls,
//! waker swaps, driver steps, cancellations, abandoned tasks and moves within its bounds,
//! then a seeded random phase, each from a fresh scenario and each completed honestly.
//!
//! ```
//! use futures_channel::oneshot;
//! use pollcheck::Scenario;
//!
//! pollcheck::check(|| {
//!     let (tx, rx) = oneshot::channel::<u32>();
//!     Scenario::new()
//!         .task(rx)
//!         .step(move || { let _ = tx.send(7); })
//! });
//! ```
//!
//! Several waiters built by the same code go in with [`Scenario::tasks`]: declared
//! interchangeable, they are explored once per renaming instead of once per order of
//! their first polls (up to `n!` times fewer schedules for `n` of them: 22 times fewer for tokio's
//! semaphore with four waiters at the default depth), with
//! the same verdicts.
//!
//! On a violation, [`check`] panics with a [`Report`]: the violation, the minimal
//! schedule as a numbered timeline, and a replay string. Paste the replay into
//! [`Checker::replay`] to keep the failure as a regression test.
//!
//! # What is proven
//!
//! | [`ViolationKind`] | proven when |
//! | --- | --- |
//! | `LostWakeup` | the task returned `Pending` and every clone of its wakers was dropped unwoken; or at quiescence it is `Pending`, unwoken, and an extra poll returns `Ready` |
//! | `StaleWaker` | a wake reached an older waker but never the one from the most recent poll, and the task was not polled since |
//! | `SpuriousPoll` | a poll no wake preceded panics, changes the output, or finishes although nothing happened since `Pending` |
//! | `PollAfterReady` | a [`.checked()`](FutureCheckExt::checked) future is polled after `Ready` |
//! | `MovedWhilePinned` | a `.checked()` future moves after its first poll |
//! | `Panic` | a poll, a driver step or a drop panicked |
//! | `Spin` | at quiescence the task wakes itself and returns `Pending` past [`Config::spin_bound`], or a group of tasks keeps waking each other past it without any finishing (the report names who woke whom) |
//! | `LeakedWaker` | waker clones outlive the scenario |
//! | `LeakedFuture` | a [`probe`] is still alive after teardown, or an executor under [`check_executor`] keeps a finished or cancelled task |
//! | `DoubleDrop` | a [`probe`] is dropped twice |
//! | `BrokenWaker` | a waker under [`check_waker`] breaks the vtable contract: `clone` takes no reference, `drop` or `wake` releases none, `wake_by_ref` releases one, a clone has another data pointer (`will_wake` false between clones) |
//! | `Hang` | a poll, a driver step, a step inside a waker call, a drop or the factory has not returned within [`Config::poll_timeout`]: a busy loop or a deadlock, as the stuck thread's CPU time tells |
//! | `SinkProtocol` | a `.checked_sink()` or a `probe_sink` (feature `sink`) gets `start_send` without a `Ready(Ok)` from `poll_ready` since the last `start_send`, or any call after `poll_close` returned `Ready` |
//! | `StuckTask` (opt-in) | a task declared with [`Scenario::must_finish`] or [`Scenario::all_must_finish`] is, at quiescence, neither cancelled nor abandoned and still `Pending`, with no wake coming: the notification or permit it waited for was lost though its waker is still registered; or fewer than the [`Scenario::quorum`] of them finished (one notification, two waiters: either may be left waiting, one must finish) |
//!
//! Not violations: returning `Pending` without waking while the waker is registered
//! somewhere; deregistering a waker on drop; waking too often; a leaf future that
//! panics when polled after `Ready`; an output whose `Debug` text differs between two
//! runs of the same schedule (a `HashMap`'s order, an `Instant`): before a spurious
//! schedule's output counts as different, both it and its honest twin are rerun, and a
//! task whose output is not the same on every run is never compared again.
//!
//! While an abandoned task (`a0`: never polled again, never dropped) holds a wake it was
//! not polled for, no other task is reported for a lost wakeup at quiescence or as
//! stuck: a notify-one primitive cannot know that nobody will poll the task it woke.
//! [`Scenario::strict_abandonment`] removes that excuse, for primitives that promise
//! every message wakes a receiver that is still polled (channels), in scenarios with at
//! least as many messages as waiting receivers.
//!
//! # Schedules
//!
//! A schedule prints as tokens (see [`Step`]): `p0` poll task 0 (woken), `s0` poll it
//! spuriously, `w0` give it a new waker, `d` run the next driver step, `c0` cancel it,
//! `a0` abandon it, `m0` move it (`Unpin` tasks). Four re-entrant actions are opt-in
//! ([`Bounds::reentrant`], [`Bounds::polls_inside_wake`], [`Bounds::reentrant_drops`],
//! [`Bounds::reentrant_clones`]):
//! `r` runs the next driver step with the one after it inside the next wake, `i0` polls
//! task 0 inside the next wake of its waker, `u` runs the next driver step inside
//! the next drop of a waker clone its task no longer uses (dropping the last reference
//! to a task drops its future, which may touch the primitive that dropped the waker),
//! and `k0` runs the next driver step inside the next clone of task 0's latest waker
//! (the moment of registration: check-then-register code misses that wake).
//! They are off by default because waking, cloning or dropping wakers under a lock is
//! legal and common, and on one thread the nested step or poll would deadlock on that
//! lock.
//!
//! `b` makes the next read or write of an I/O probe (`pollcheck::io`, feature `io`)
//! move at most one byte ([`Bounds::short_io`], 2 by default; never enabled in a
//! scenario without an I/O probe): code that waits after a short read or write,
//! instead of reading or writing again, loses its wakeup.
//!
//! # Checking combinators and executors
//!
//! A combinator (join, select, a stream of futures) is checked over [probes](probe):
//! leaf futures that a handle completes, run as the checker's task, with the handles'
//! calls as driver steps. Every schedule then applies to the combinator, and the
//! probes report what it does to its children: polled after `Ready`, moved while
//! pinned, given a waker that does not lead back to the task, woken but never polled
//! again, dropped twice or never.
//!
//! ```
//! use futures_util::FutureExt;
//! use pollcheck::Scenario;
//!
//! pollcheck::check(|| {
//!     let (child, handle) = pollcheck::probe::<u32>();
//!     Scenario::new().task(child.map(|x| x + 1)).step(handle.completes(1))
//! });
//! ```
//!
//! [`probe`] shows a join over two probes.
//!
//! An executor is checked by [`check_executor`], given the executor as two closures
//! (spawn a task; run until idle); a custom `RawWakerVTable` by [`check_waker`]. Both
//! return the same [`Report`], found by the check that failed. Run them under miri
//! too: the executor's and the vtable's unsafe code is then checked on every step.
//!
//! # Streams and sinks
//!
//! With the `stream` feature, `Scenario::stream_task` runs a `Stream` as a task: each
//! poll calls `poll_next` until `Pending` or `None`, the output is the item sequence,
//! and the timeline shows what each poll yielded (`Pending (yielded 3, 4)`).
//! `StreamCheckExt::checked` reports a child stream polled after `None`, and
//! `probe_stream` is a stream probe. With the `sink` feature, `Scenario::sink_task`
//! feeds items to a `Sink` by its protocol, `SinkCheckExt::checked_sink` reports the
//! protocol broken by a sink's caller (`SinkProtocol`), and `probe_sink` is a sink
//! probe whose handle accepts, fills, drains and fails it.
//!
//! ```
//! # #[cfg(all(feature = "stream", feature = "sink"))] {
//! use futures_channel::mpsc;
//! use pollcheck::{Scenario, SinkCheckExt, StreamCheckExt};
//!
//! pollcheck::check(|| {
//!     let (tx, rx) = mpsc::channel::<u32>(0);
//!     Scenario::new().sink_task(tx.checked_sink(), [1, 2]).stream_task(rx.checked()).all_must_finish()
//! });
//! # }
//! ```
//!
//! # Inside real executors
//!
//! Code that cannot be cut out into a [`Scenario`] (a client over a real socket, a
//! service under `#[tokio::test]`) is awaited through
//! [`.checked()`](FutureCheckExt::checked) inside its own executor. Each poll then gives
//! the inner future a waker of its own identity that forwards to the executor's, and the
//! wrapper panics at once on a lost wakeup (`Pending`, not woken, no waker clone kept), at
//! the next poll on a stale waker (a wake reached only an earlier poll's waker, the
//! latest one was dropped), and on a panic in a poll no wake preceded;
//! [`Checked::spurious`] adds seeded spurious polls. It sees only the schedules the
//! executor happens to run; a [`Scenario`] explores them all.
//!
//! ```
//! use pollcheck::FutureCheckExt;
//!
//! let (tx, rx) = futures_channel::oneshot::channel::<u32>();
//! std::thread::spawn(move || tx.send(7).unwrap());
//! assert_eq!(futures_executor::block_on(rx.checked().spurious(1)), Ok(7));
//! ```
//!
//! # Limits
//!
//! Driver steps should be synchronous: a thread spawned by a step that wakes later is
//! invisible to quiescence (use loom for that). A future whose readiness depends on
//! real time can look like it finished without a cause.
//!
//! # Hangs
//!
//! A poll that spins, or a lock re-entered from inside a waker call, never returns.
//! A watchdog thread (one per process) sees the action run past
//! [`Config::poll_timeout`] (2 s), reads the stuck thread's CPU time, and reports a
//! [`ViolationKind::Hang`]: a busy loop or a deadlock. [`check`] and
//! [`Checker::new`] explore on a helper thread, so the hang is an ordinary report and
//! the stuck thread is left behind; that needs a `Send + Sync + 'static` factory.
//! [`Checker::local`] takes any factory and explores on the calling thread: on a hang
//! it prints the report and ends the process with exit status 101 (under cargo
//! nextest, only that test's process).
//!
//! # Running under miri
//!
//! `cargo +nightly miri test` runs the same checks with smaller default bounds;
//! the watchdog is off there (miri has no real time; it reports a self-deadlock
//! itself).
//!
//! # Layout (for contributors)
//!
//! `src/` is layered; a module may use its own layer and the ones listed before it,
//! never one after it (`scripts/layers.py` checks this, and that no two files import
//! each other, on every run of the suite):
//!
//! 1. `sync`: std's or loom's primitives.
//! 2. `spec/`: the description of a check: the scenario and its tasks, the schedule,
//!    the bounds and settings.
//! 3. `detect/`: the violation kinds and the detectors that prove them. A new kind
//!    goes here.
//! 4. `report/`: the journal of a run, the report read from it, the summary of a
//!    passing check.
//! 5. `liveness/`: the watchdog and its hang reports.
//! 6. `engine/`: runs one schedule on one scenario, with what a run needs: the
//!    instrumented wakers, the re-entrant actions, hooks, panic capture.
//! 7. `instrument/`: what users put in their own code: `.checked()`, checked sinks,
//!    probes, I/O probes, the assert macros. A new probe goes here.
//! 8. `explore/`: the schedule sources (systematic, random, parallel, proptest,
//!    fuzzing), the judge and the shrinker. A new schedule source goes here.
//! 9. `checks/`: the checks that are not a scenario's: the executor kit, the waker
//!    check, the loom driver.
//! 10. `check.rs` (`check`, `Checker`), then `model/` (`model`, `spawn`).

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]
// docs.rs (`--cfg docsrs`, nightly): label each feature-gated item with its feature.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod check;
mod checks;
mod detect;
mod engine;
mod explore;
mod instrument;
mod liveness;
mod model;
mod report;
mod spec;
mod sync;

pub use check::{check, Checker};
pub use checks::executor::{check_executor, try_check_executor, Executor, ExecutorTask};
#[cfg(loom)]
#[doc(inline)]
pub use checks::loom;
pub use checks::waker_check::{check_waker, try_check_waker, WakerUnderTest};
pub use detect::violation::{Violation, ViolationKind};
#[cfg(feature = "stream")]
pub use instrument::checked::StreamCheckExt;
pub use instrument::checked::{Checked, FutureCheckExt};
#[cfg(feature = "sink")]
pub use instrument::checked_sink::{CheckedSink, SinkCheckExt};
#[cfg(feature = "io")]
#[doc(inline)]
pub use instrument::io;
pub use instrument::probe::{probe, Probe, ProbeHandle, WakerId};
#[cfg(feature = "sink")]
pub use instrument::probe::{probe_sink, SinkHandle, SinkProbe};
#[cfg(feature = "stream")]
pub use instrument::probe::{probe_stream, StreamHandle, StreamProbe};
pub use model::model;
pub use model::spawn::{spawn, spawn_cancellable, spawn_unpin, JoinHandle};
/// `#[pollcheck::test]` (feature `macros`): `async fn name() { .. }` becomes a `#[test]`
/// that runs the body as a [`model`]; arguments are the [`Checker`] builder's setters.
///
/// ```
/// #[pollcheck::test(depth = 5)]
/// async fn receiver_gets_the_value() {
///     let (tx, rx) = futures_channel::oneshot::channel::<u32>();
///     pollcheck::spawn(async move { let _ = tx.send(7); });
///     assert_eq!(rx.await, Ok(7));
/// }
/// ```
#[cfg(feature = "macros")]
pub use pollcheck_macros::test;
pub use report::summary::Summary;
pub use report::{FoundBy, Report};
pub use spec::config::{Bounds, Config, ConfigError, Mode, Shard};
pub use spec::scenario::Scenario;
pub use spec::schedule::{ParseError, Schedule, Step, MAX_TASKS};
pub use spec::step_state::StepState;

#[cfg(feature = "arbitrary")]
pub use explore::arbitrary;
#[cfg(feature = "proptest")]
pub use explore::proptest;

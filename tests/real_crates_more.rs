//! More correct primitives from the package registry (async-channel, event-listener,
//! async-lock, flume, embassy-sync, oneshot), checked with the default exploration:
//! every one of them must pass. A
//! failure here is either a pollcheck false positive or an upstream bug; either way
//! the case stays in this file, `#[ignore]`d with the evidence until it is fixed,
//! never silently weakened.
//!
//! The conventions are those of `tests/real_crates.rs`:
//! - the driver is the other side of the primitive; steps that share a sender or a
//!   receiver hold `Rc` clones of it, so it is dropped once the last step has run;
//! - schedules cancel tasks and run driver steps inside wakes, so a step never
//!   unwraps a send (the receiving task may be gone);
//! - task outputs are plain values (no handles whose `Debug` shows shared state that
//!   differs between schedules); where several tasks compete for values, a task
//!   reports *whether* it got one, not which.
//! - `all_must_finish()` and `strict_abandonment()` as in `tests/real_crates.rs`:
//!   comments say where a task may rightly be left waiting or strictness does not
//!   apply.
//!
//! Three pollcheck false positives showed up on these crates (nothing found so far is
//! an upstream bug). All three are fixed in pollcheck, and the tests that showed them
//! run again (their comments keep the replay strings):
//! - `r` and `i` are opt-in (default bounds 0), because of 1;
//! - outputs are compared with the honest twin only for one-task scenarios, because
//!   of 2;
//! - an abandoned task with a pending wake means "not quiescent": no extra poll is
//!   taken as proof, because of 3.
//!
//! What they were:
//!
//! 1. **`r` deadlocks on a primitive that wakes under its own lock** (event-listener,
//!    and so async-channel and async-lock; flume). `r` runs the next driver step inside
//!    the waker call the current step makes. event-listener 5.4 calls `wake` while
//!    holding the list's `std::sync::Mutex` (`Inner::notify` runs inside `with_inner`,
//!    src/intrusive.rs:225 and :377), and flume 0.12 fires a waiting receiver's hook
//!    while holding the channel's mutex (`Shared::send`, src/lib.rs:498-526). When the
//!    nested step uses the same primitive (a second send, a close), it locks that mutex
//!    again on the same thread: a self-deadlock. The run used to hang; now it is a
//!    `Hang` report (a deadlock, minimal schedule `p0 r` on any scenario with two steps
//!    on the same channel or event), which the `*_deadlock_under_reentrant_steps` tests
//!    keep as the documented hazard of that mode. The other party that `r` stands for
//!    would, on its own thread, wait for the lock; waking under a lock is legal
//!    (futures-channel's bounded mpsc does it too, which is why `i` is opt-in).
//!    Scenarios here with two or more driver steps on one of these primitives keep `r`
//!    off even when `POLLCHECK_MAX_REENTRANT` turns it on ([`pass_without_reentry`]).
//! 2. **The honest twin of a spurious poll on a barging channel is another history**
//!    (async-channel). A spurious poll of a task that was not woken lets it take a value
//!    (or a free slot) meant for the task that was woken; async-channel does not hand
//!    values to the woken waiter, so the spurious poll legitimately changes which task
//!    wins, and with a later driver step that closes the channel or finds it full, the
//!    outputs differ. The task does not mishandle the spurious poll.
//! 3. **A lost wakeup "proven" while an abandoned task holds the only notification**
//!    (async-lock's `Semaphore`). The abandoned task was woken for the released permit
//!    and is never polled again; the other waiter could take the permit if polled, but
//!    nothing wakes it. By the design's own definition this is not quiescence (a wake is
//!    pending, on the abandoned task), and no notify-one primitive can satisfy it.
#![cfg(not(loom))] // its dev-dependencies are not built under --cfg loom (Cargo.toml)

use std::future::Future;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pollcheck::{Bounds, Checker, Config, Scenario, Summary, ViolationKind};

mod real;

/// Runs the default exploration and panics with the full report on a violation.
#[track_caller]
fn pass<F: Fn() -> Scenario + Send + Sync + 'static>(factory: F) -> Summary {
    pass_with(|_| {}, factory)
}

/// Runs the default exploration with `tweak` applied to its bounds (those of the
/// `POLLCHECK_*` variables), and panics with the full report on a violation.
#[track_caller]
fn pass_with<F: Fn() -> Scenario + Send + Sync + 'static>(tweak: impl FnOnce(&mut Bounds), factory: F) -> Summary {
    let mut bounds = Config::from_env().map(|c| c.bounds).unwrap_or_default();
    if cfg!(miri) {
        // A run costs a good fraction of a second under miri: one step deep there, as
        // in tests/real_crates.rs (miri checks pollcheck's unsafe code under each
        // crate's use of wakers; the schedules are explored natively).
        bounds.depth = 1;
    }
    tweak(&mut bounds);
    let start = Instant::now();
    match Checker::new(factory).bounds(bounds).try_run() {
        Ok(summary) => {
            println!("{} schedules ({} runs) in {:?}", summary.schedules(), summary.runs, start.elapsed());
            summary
        }
        Err(report) => panic!("{report}"),
    }
}

/// The default exploration, with re-entrant driver steps (`r`) off even when
/// `POLLCHECK_MAX_REENTRANT` turns them on: these primitives wake under their own lock,
/// and a nested step that takes it again deadlocks (false positive 1 in the file's
/// docs).
#[track_caller]
fn pass_without_reentry<F: Fn() -> Scenario + Send + Sync + 'static>(factory: F) -> Summary {
    pass_with(|b| b.reentrant = 0, factory)
}

/// With re-entrant driver steps (`r`) on, a primitive that wakes under its own
/// `std::sync::Mutex` meets that mutex again on the same thread: a `Hang` report (a
/// deadlock) with `schedule`, within the poll timeout (short here), never a hung test.
/// The hazard `r` exists to show; not a bug of the crate (false positive 1 in the
/// file's docs).
#[track_caller]
fn deadlocks_under_reentrant_steps<F: Fn() -> Scenario + Send + Sync + 'static>(factory: F, schedule: &str) {
    let report = Checker::new(factory)
        .bounds(Bounds { reentrant: 1, ..Bounds::default() })
        .poll_timeout(Some(Duration::from_millis(300)))
        .try_run()
        .expect_err("a deadlock under `r`");
    assert_eq!(report.kind(), ViolationKind::Hang, "{report}");
    assert!(report.violation().detail().contains("a deadlock"), "{report}");
    assert_eq!(report.schedule().to_string(), schedule, "{report}");
}

// ---------------------------------------------------------------------------------
// async-channel
// ---------------------------------------------------------------------------------

mod async_channel_tests {
    use super::*;
    use async_channel::{Receiver, Sender};

    /// Receives until the channel is closed.
    async fn drain(rx: Receiver<u32>) -> Vec<u32> {
        let mut got = Vec::new();
        while let Ok(v) = rx.recv().await {
            got.push(v);
        }
        got
    }

    /// One receiver; the driver sends twice, then drops the sender (closing the
    /// channel).
    fn receiver_and_two_sends(tx: Sender<u32>, rx: Receiver<u32>) -> Scenario {
        let scenario = Scenario::new().all_must_finish().strict_abandonment().task(drain(rx));
        real::sends_two(scenario, tx, |tx, v| {
            let _ = tx.try_send(v);
        })
    }

    fn unbounded_receiver() -> Scenario {
        let (tx, rx) = async_channel::unbounded::<u32>();
        receiver_and_two_sends(tx, rx)
    }

    #[test]
    fn unbounded_receiver_gets_everything() {
        pass_without_reentry(unbounded_receiver);
    }

    // Was a pollcheck false positive (the run hung, no report) while `r` was on by
    // default: `p0 r` deadlocks, now a hang report. Driver step
    // 0's `try_send` wakes the receiver from inside event-listener's `notify`, which
    // holds the event's `std::sync::Mutex` (event-listener 5.4.2 src/intrusive.rs:225,
    // :377); `r` runs step 1 inside that wake, and its `try_send` notifies the same event
    // and locks the same mutex on the same thread. A sender on another thread would wait
    // for the lock. See false positive 1 in the file's docs.
    #[test]
    #[cfg_attr(miri, ignore = "a hang needs the watchdog, which is off under miri")]
    fn unbounded_receiver_deadlocks_under_reentrant_steps() {
        deadlocks_under_reentrant_steps(unbounded_receiver, "p0 r");
    }

    #[test]
    fn bounded_receiver_gets_everything() {
        pass_without_reentry(|| {
            // Capacity 2, two sends: the driver's sends never find the channel full,
            // so the output does not depend on the schedule.
            let (tx, rx) = async_channel::bounded::<u32>(2);
            receiver_and_two_sends(tx, rx)
        });
    }

    #[test]
    fn receiver_sees_the_channel_closed() {
        pass(|| {
            let (tx, rx) = async_channel::bounded::<u32>(1);
            Scenario::new().all_must_finish().strict_abandonment().task(async move { rx.recv().await.ok() }).step(
                move || {
                    tx.close();
                },
            )
        });
    }

    async fn receive_one(rx: Receiver<u32>) -> bool {
        rx.recv().await.is_ok()
    }

    /// Two receivers; one driver step sends two values and drops the sender.
    #[test]
    fn two_receivers_one_step() {
        pass(|| {
            let (tx, rx) = async_channel::bounded::<u32>(2);
            Scenario::new()
                .all_must_finish()
                .strict_abandonment()
                .task(receive_one(rx.clone()))
                .task(receive_one(rx))
                .step(move || {
                    let _ = tx.try_send(1);
                    let _ = tx.try_send(2);
                })
        });
    }

    /// Two receivers; two driver steps send one value each, then the sender is dropped.
    fn two_receivers(capacity: Option<usize>) -> Scenario {
        let (tx, rx) = match capacity {
            Some(n) => async_channel::bounded::<u32>(n),
            None => async_channel::unbounded::<u32>(),
        };
        let scenario =
            Scenario::new().all_must_finish().strict_abandonment().task(receive_one(rx.clone())).task(receive_one(rx));
        real::sends_two(scenario, tx, |tx, v| {
            let _ = tx.try_send(v);
        })
    }

    #[test]
    fn two_receivers_unbounded() {
        pass_without_reentry(|| two_receivers(None));
    }

    #[test]
    fn two_receivers_bounded() {
        // Capacity 2: both sends succeed whatever the schedule, so both receivers get
        // a value unless cancelled.
        pass_without_reentry(|| two_receivers(Some(2)));
    }

    // Was a pollcheck false positive: `p0 p1 d s1 d p0` was reported as spurious-poll
    // intolerance in task 1 ("finished with true, but without them with false"). Step 0
    // sends 1 and wakes task 0 only; the spurious poll of task 1 takes that value
    // (async-channel does not hand it to the woken receiver), which frees the only slot,
    // so step 1's `try_send(2)` succeeds and task 0 later gets 2. In the honest twin
    // (`p0 p1 d d p0`) the slot is still full at step 1, its `try_send` fails, the
    // channel closes, task 0 gets 1 and task 1 gets nothing. The spurious poll changed
    // the history, legitimately; task 1 handled it correctly. See false positive 2.
    #[test]
    fn two_receivers_capacity_one() {
        pass_without_reentry(|| two_receivers(Some(1)));
    }

    /// Two senders wait for capacity on a full channel; the driver receives twice, then
    /// drops the receiver, which must wake a sender still waiting.
    // Was a pollcheck false positive: `p0 p1 d s1 d p0` was reported as spurious-poll
    // intolerance in task 1 ("finished with true, but without them with false"). Step 0
    // takes the queued value and wakes task 0 only; the spurious poll of task 1 puts its
    // value in the freed slot (async-channel does not reserve it for the woken sender),
    // step 1 takes that value and drops the receiver, and task 0 finds the channel
    // closed (false). In the honest twin (`p0 p1 d d p0`) nobody filled the slot before
    // the receiver was dropped, so both senders fail. The spurious poll changed the
    // history, legitimately. See false positive 2.
    #[test]
    fn two_senders_wait_for_capacity() {
        pass_without_reentry(|| {
            let (tx, rx) = async_channel::bounded::<u32>(1);
            tx.try_send(0).unwrap();
            let sender = |tx: Sender<u32>, v: u32| async move { tx.send(v).await.is_ok() };
            let rx = Rc::new(rx);
            let (r1, r2) = (Rc::clone(&rx), rx);
            Scenario::new()
                .all_must_finish()
                .strict_abandonment()
                .task(sender(tx.clone(), 1))
                .task(sender(tx, 2))
                .step(move || {
                    let _ = r1.try_recv();
                })
                .step(move || {
                    let _ = r2.try_recv();
                })
        });
    }

    /// Two senders on a full channel; one step takes the queued value and drops the
    /// receiver: every sender must be woken by the close.
    #[test]
    fn two_senders_see_the_receiver_dropped() {
        pass(|| {
            let (tx, rx) = async_channel::bounded::<u32>(1);
            tx.try_send(0).unwrap();
            let sender = |tx: Sender<u32>, v: u32| async move { tx.send(v).await.is_ok() };
            Scenario::new().all_must_finish().strict_abandonment().task(sender(tx.clone(), 1)).task(sender(tx, 2)).step(
                move || {
                    let _ = rx.try_recv();
                },
            )
        });
    }

    /// A sender task and a receiver task on a channel of capacity 1: the receiver
    /// takes two values and is dropped, which must wake the sender blocked on the
    /// third.
    // Not under strict abandonment: the tasks depend on each other, so abandoning one
    // rightly strands the other (`p0 a0 p1`).
    #[test]
    fn sender_and_receiver_tasks() {
        pass(|| {
            let (tx, rx) = async_channel::bounded::<u32>(1);
            Scenario::new()
                .all_must_finish()
                .task(async move {
                    let a = tx.send(1).await.is_ok();
                    let b = tx.send(2).await.is_ok();
                    let c = tx.send(3).await.is_ok();
                    (a, b, c)
                })
                .task(async move {
                    let a = rx.recv().await.ok();
                    let b = rx.recv().await.ok();
                    (a, b)
                })
        });
    }
}

// ---------------------------------------------------------------------------------
// event-listener
// ---------------------------------------------------------------------------------

mod event_listener_tests {
    use super::*;
    use event_listener::{Event, IntoNotification};

    /// The documented pattern: check a flag, listen, check again, await.
    async fn wait_for_flag(flag: Arc<AtomicBool>, event: Arc<Event>) -> bool {
        loop {
            if flag.load(Ordering::SeqCst) {
                return true;
            }
            let listener = event.listen();
            if flag.load(Ordering::SeqCst) {
                return true;
            }
            listener.await;
        }
    }

    /// A listener created before the scenario starts is the task itself (it is
    /// `Unpin`, so the checker also moves it).
    #[test]
    fn one_listener_notified() {
        pass(|| {
            let event = Event::new();
            let listener = event.listen();
            Scenario::new().all_must_finish().strict_abandonment().unpin_task(listener).step(move || {
                event.notify(1);
            })
        });
    }

    #[test]
    fn listener_with_a_tag() {
        pass(|| {
            let event = Event::<u32>::with_tag();
            let listener = event.listen();
            Scenario::new().all_must_finish().strict_abandonment().task(listener).step(move || {
                event.notify(1.tag(7));
            })
        });
    }

    #[test]
    fn one_waiter_on_a_flag() {
        pass(|| {
            let flag = Arc::new(AtomicBool::new(false));
            let event = Arc::new(Event::new());
            let (f, e) = (Arc::clone(&flag), Arc::clone(&event));
            Scenario::new().all_must_finish().strict_abandonment().task(wait_for_flag(flag, event)).step(move || {
                f.store(true, Ordering::SeqCst);
                e.notify(usize::MAX);
            })
        });
    }

    /// Two waiters on a flag; one step sets it and notifies everyone.
    #[test]
    fn two_waiters_on_a_flag() {
        pass(|| {
            let flag = Arc::new(AtomicBool::new(false));
            let event = Arc::new(Event::new());
            let (f, e) = (Arc::clone(&flag), Arc::clone(&event));
            Scenario::new()
                .all_must_finish()
                .strict_abandonment()
                .task(wait_for_flag(Arc::clone(&flag), Arc::clone(&event)))
                .task(wait_for_flag(flag, event))
                .step(move || {
                    f.store(true, Ordering::SeqCst);
                    e.notify(usize::MAX);
                })
        });
    }

    /// Two waiters on a flag; the driver sets it and notifies one waiter at a time.
    /// `notify_additional` counts past listeners already notified but not yet done.
    fn two_waiters_notified_one_at_a_time() -> Scenario {
        let flag = Arc::new(AtomicBool::new(false));
        let event = Arc::new(Event::new());
        let (f, e1, e2) = (Arc::clone(&flag), Arc::clone(&event), Arc::clone(&event));
        Scenario::new()
            .all_must_finish()
            .strict_abandonment()
            .task(wait_for_flag(Arc::clone(&flag), Arc::clone(&event)))
            .task(wait_for_flag(flag, event))
            .step(move || {
                f.store(true, Ordering::SeqCst);
                e1.notify_additional(1);
            })
            .step(move || {
                e2.notify_additional(1);
            })
    }

    #[test]
    fn two_waiters_on_a_flag_notified_one_at_a_time() {
        pass_without_reentry(two_waiters_notified_one_at_a_time);
    }

    // Was a pollcheck false positive (the run hung, no report) while `r` was on by
    // default: `p0 r` deadlocks, now a hang report. Step 0's
    // `notify_additional` wakes task 0 while holding the event's `std::sync::Mutex`
    // (event-listener 5.4.2 src/intrusive.rs:225, :377); `r` runs step 1 inside that
    // wake, and its `notify_additional` locks the same mutex on the same thread. See
    // false positive 1 in the file's docs.
    #[test]
    #[cfg_attr(miri, ignore = "a hang needs the watchdog, which is off under miri")]
    fn two_waiters_deadlock_under_reentrant_steps() {
        deadlocks_under_reentrant_steps(two_waiters_notified_one_at_a_time, "p0 r");
    }

    /// Two listeners registered up front; two separate `notify_additional(1)`.
    #[test]
    fn two_listeners_notify_additional_twice() {
        pass_without_reentry(|| {
            let event = Rc::new(Event::new());
            let (l1, l2) = (event.listen(), event.listen());
            let (e1, e2) = (Rc::clone(&event), event);
            Scenario::new()
                .all_must_finish()
                .strict_abandonment()
                .task(l1)
                .task(l2)
                .step(move || {
                    e1.notify_additional(1);
                })
                .step(move || {
                    e2.notify_additional(1);
                })
        });
    }

    /// `notify(1)` wakes the first listener; if it is cancelled before it consumed the
    /// notification, dropping it must pass the notification on to the second.
    /// `notify(usize::MAX)` then wakes whoever is left.
    #[test]
    fn two_listeners_notify_one_then_all() {
        pass_without_reentry(|| {
            let event = Rc::new(Event::new());
            let (l1, l2) = (event.listen(), event.listen());
            let (e1, e2) = (Rc::clone(&event), event);
            Scenario::new()
                .all_must_finish()
                .strict_abandonment()
                .task(l1)
                .task(l2)
                .step(move || {
                    e1.notify(1);
                })
                .step(move || {
                    e2.notify(usize::MAX);
                })
        });
    }

    /// Only `notify(1)`: one listener finishes and the other waits forever, unless
    /// the first is cancelled after it was notified, in which case the notification
    /// moves on to the second. Neither is a violation; a notification lost with a
    /// dropped listener would be (the second would be ready but never woken).
    // Not every task must finish: one notification for two listeners.
    #[test]
    fn two_listeners_notify_one_passes_on_when_cancelled() {
        pass(|| {
            let event = Event::new();
            let (l1, l2) = (event.listen(), event.listen());
            Scenario::new().task(l1).task(l2).step(move || {
                event.notify(1);
            })
        });
    }

    /// A listener on the stack (`listener!`), re-armed in a loop: the task waits for
    /// two notifications.
    #[test]
    fn stack_listener_waits_twice() {
        pass_without_reentry(|| {
            let count = Arc::new(AtomicU32::new(0));
            let event = Arc::new(Event::new());
            let (c, e) = (Arc::clone(&count), Arc::clone(&event));
            let bump = move || {
                c.fetch_add(1, Ordering::SeqCst);
                e.notify(usize::MAX);
            };
            Scenario::new()
                .all_must_finish()
                .strict_abandonment()
                .task(async move {
                    loop {
                        if count.load(Ordering::SeqCst) >= 2 {
                            return;
                        }
                        event_listener::listener!(event => listener);
                        if count.load(Ordering::SeqCst) >= 2 {
                            return;
                        }
                        listener.await;
                    }
                })
                .step(bump.clone())
                .step(bump)
        });
    }
}

// ---------------------------------------------------------------------------------
// async-lock
// ---------------------------------------------------------------------------------

mod async_lock_mutex {
    use super::*;
    use async_lock::Mutex;

    fn locker(m: &Arc<Mutex<u32>>) -> impl Future<Output = ()> + 'static {
        let m = Arc::clone(m);
        async move {
            *m.lock().await += 1;
        }
    }

    // Not under strict abandonment: a release wakes one waiter (event-listener's
    // `notify(1)`), and with it abandoned the other rightly waits (`p0 a0 p1 d`).
    #[test]
    fn two_lockers_driver_holds_the_lock_first() {
        pass(|| {
            let m = Arc::new(Mutex::new(0u32));
            let guard = m.try_lock_arc().unwrap();
            Scenario::new().all_must_finish().task(locker(&m)).task(locker(&m)).step(move || drop(guard))
        });
    }

    /// The `lock_arc` futures themselves are the tasks; their output (a guard) is
    /// dropped as soon as it is formatted, which releases the lock.
    // Not under strict abandonment: a release wakes one waiter (event-listener's
    // `notify(1)`), and with it abandoned the other rightly waits (`p0 a0 p1 d`).
    #[test]
    fn two_lock_arc_futures() {
        pass(|| {
            let m = Arc::new(Mutex::new(0u32));
            let guard = m.try_lock_arc().unwrap();
            Scenario::new().all_must_finish().task(m.lock_arc()).task(m.lock_arc()).step(move || drop(guard))
        });
    }

    /// The first locker holds the lock across an await, so the second is woken by a
    /// task's release.
    // Not every task must finish: the gate is a tokio `Notify`, which stores at most
    // one permit (`d d p0 p1` leaves task 1 waiting, rightly).
    #[test]
    fn two_lockers_hold_across_an_await() {
        pass(|| {
            real::two_held_across_a_gate(Arc::new(Mutex::new(())), |m, gate| async move {
                let _g = m.lock().await;
                gate.notified().await;
            })
        });
    }
}

mod async_lock_semaphore {
    use super::*;
    use async_lock::Semaphore;

    fn acquirer(sem: &Arc<Semaphore>) -> impl Future<Output = ()> + 'static {
        let sem = Arc::clone(sem);
        // The permit is released as soon as it is acquired.
        async move {
            drop(sem.acquire_arc().await);
        }
    }

    // Not under strict abandonment: one permit, released to task 0, which `p0 a0 p1 d`
    // abandons (false positive 3 below).
    /// Two acquirers; the driver releases the only permit.
    fn two_acquirers() -> Scenario {
        let sem = Arc::new(Semaphore::new(1));
        // The driver holds the only permit at first.
        let held = sem.try_acquire_arc().unwrap();
        Scenario::new().all_must_finish().task(acquirer(&sem)).task(acquirer(&sem)).step(move || drop(held))
    }

    // Was a pollcheck false positive: `p0 a0 p1 d` was reported as a lost wakeup in
    // task 1 ("at quiescence ... an extra poll returns Ready"). The released permit's
    // `notify(1)` goes to the first listener, task 0's, which `a0` never polls again;
    // task 1 is registered but not notified, and its probe poll takes the free permit
    // (`Acquire` tries `try_acquire` before looking at its listener). A notify-one
    // primitive cannot know that the woken task was abandoned, and the design defines
    // quiescence as "no wake pending": task 0's is. tokio's `Semaphore` passed the same
    // scenario only because it assigns the permit to the first waiter, so task 1's probe
    // returns `Pending` (it starves all the same); async-lock's `Mutex` passed because
    // its lock future retries only after its own notification. With `c0` instead of
    // `a0`, dropping the notified listener passes the notification on to task 1, and the
    // run passed. See false positive 3 in the file's docs.
    #[test]
    fn two_acquirers_share_one_permit() {
        pass(two_acquirers);
    }

    /// The driver releases the permit, then adds one. (The release's `notify` wakes
    /// under event-listener's lock, and `add_permits` notifies the same event: no `r`,
    /// false positive 1.)
    // Not under strict abandonment: async-lock 3.5's `add_permits(n)` calls event-listener's
    // `notify(n)`, which counts listeners already notified, so with the notified task
    // abandoned the added permit wakes nobody (`p0 a0 p1 d d`; task 1 could take it).
    // event-listener's documented semantics, the excuse strict abandonment removes.
    #[test]
    fn two_acquirers_driver_releases_and_adds() {
        pass_without_reentry(|| {
            let sem = Arc::new(Semaphore::new(1));
            let held = sem.try_acquire_arc().unwrap();
            let s1 = Arc::clone(&sem);
            Scenario::new()
                .all_must_finish()
                .task(acquirer(&sem))
                .task(acquirer(&sem))
                .step(move || drop(held))
                .step(move || s1.add_permits(1))
        });
    }

    /// Each task keeps its permit across a second await, so the other one is woken by
    /// a task's release, not by the driver.
    // Not every task must finish: the gate is a tokio `Notify`, which stores at most
    // one permit (`d d p0 p1` leaves task 1 waiting, rightly).
    #[test]
    fn two_holders_hand_the_permit_over() {
        pass(|| {
            real::two_held_across_a_gate(Arc::new(Semaphore::new(1)), |sem, gate| async move {
                let permit = sem.acquire_arc().await;
                gate.notified().await;
                drop(permit);
            })
        });
    }
}

// ---------------------------------------------------------------------------------
// flume
// ---------------------------------------------------------------------------------

mod flume_tests {
    use super::*;
    use flume::{Receiver, Sender};

    /// Receives until every sender is gone.
    async fn drain(rx: Receiver<u32>) -> Vec<u32> {
        let mut got = Vec::new();
        while let Ok(v) = rx.recv_async().await {
            got.push(v);
        }
        got
    }

    /// One receiver; the driver sends twice, then drops the sender (disconnecting the
    /// channel).
    fn receiver_and_two_sends(tx: Sender<u32>, rx: Receiver<u32>) -> Scenario {
        let scenario = Scenario::new().all_must_finish().strict_abandonment().task(drain(rx));
        real::sends_two(scenario, tx, |tx, v| {
            let _ = tx.try_send(v);
        })
    }

    fn unbounded_receiver() -> Scenario {
        let (tx, rx) = flume::unbounded::<u32>();
        receiver_and_two_sends(tx, rx)
    }

    #[test]
    fn unbounded_receiver_gets_everything() {
        pass_without_reentry(unbounded_receiver);
    }

    // Was a pollcheck false positive (the run hung, no report) while `r` was on by
    // default: `p0 r` deadlocks, now a hang report. Step 0's
    // `try_send` finds task 0's hook waiting and fires it (waking task 0) while holding
    // the channel's `std::sync::Mutex` (flume 0.12.0 `Shared::send`, src/lib.rs:498,
    // :517); `r` runs step 1 inside that wake, and its `try_send` locks the same mutex on
    // the same thread. See false positive 1 in the file's docs.
    #[test]
    #[cfg_attr(miri, ignore = "a hang needs the watchdog, which is off under miri")]
    fn unbounded_receiver_deadlocks_under_reentrant_steps() {
        deadlocks_under_reentrant_steps(unbounded_receiver, "p0 r");
    }

    #[test]
    fn bounded_receiver_gets_everything() {
        pass_without_reentry(|| {
            let (tx, rx) = flume::bounded::<u32>(2);
            receiver_and_two_sends(tx, rx)
        });
    }

    #[test]
    fn into_recv_async_sees_the_sender_dropped() {
        pass(|| {
            let (tx, rx) = flume::bounded::<u32>(1);
            Scenario::new()
                .all_must_finish()
                .strict_abandonment()
                .task(async move { rx.into_recv_async().await.ok() })
                .step(move || drop(tx))
        });
    }

    async fn receive_one(rx: Receiver<u32>) -> bool {
        rx.recv_async().await.is_ok()
    }

    /// Two receivers; one driver step sends two values and drops the sender.
    #[test]
    fn two_receivers_one_step() {
        pass(|| {
            let (tx, rx) = flume::unbounded::<u32>();
            Scenario::new()
                .all_must_finish()
                .strict_abandonment()
                .task(receive_one(rx.clone()))
                .task(receive_one(rx))
                .step(move || {
                    let _ = tx.try_send(1);
                    let _ = tx.try_send(2);
                })
        });
    }

    /// Two receivers; two driver steps send one value each, then the sender is dropped.
    /// flume hands a sent value to the waiting receiver it wakes, so a spurious poll of
    /// the other one cannot take it, and even capacity 1 gives schedule-independent
    /// outputs.
    fn two_receivers(capacity: Option<usize>) -> Scenario {
        let (tx, rx) = match capacity {
            Some(n) => flume::bounded::<u32>(n),
            None => flume::unbounded::<u32>(),
        };
        let scenario =
            Scenario::new().all_must_finish().strict_abandonment().task(receive_one(rx.clone())).task(receive_one(rx));
        real::sends_two(scenario, tx, |tx, v| {
            let _ = tx.try_send(v);
        })
    }

    #[test]
    fn two_receivers_unbounded() {
        pass_without_reentry(|| two_receivers(None));
    }

    #[test]
    fn two_receivers_bounded() {
        pass_without_reentry(|| two_receivers(Some(1)));
    }

    /// Two senders wait for capacity on a full channel; the driver receives twice, then
    /// drops the receiver, which must wake a sender still waiting.
    #[test]
    fn two_senders_wait_for_capacity() {
        pass_without_reentry(|| {
            let (tx, rx) = flume::bounded::<u32>(1);
            tx.try_send(0).unwrap();
            let sender = |tx: Sender<u32>, v: u32| async move { tx.send_async(v).await.is_ok() };
            let rx = Rc::new(rx);
            let (r1, r2) = (Rc::clone(&rx), rx);
            Scenario::new()
                .all_must_finish()
                .strict_abandonment()
                .task(sender(tx.clone(), 1))
                .task(sender(tx, 2))
                .step(move || {
                    let _ = r1.try_recv();
                })
                .step(move || {
                    let _ = r2.try_recv();
                })
        });
    }

    /// Two senders on a full channel; one step takes the queued value and drops the
    /// receiver.
    #[test]
    fn two_senders_one_step() {
        pass(|| {
            let (tx, rx) = flume::bounded::<u32>(1);
            tx.try_send(0).unwrap();
            let sender = |tx: Sender<u32>, v: u32| async move { tx.send_async(v).await.is_ok() };
            Scenario::new().all_must_finish().strict_abandonment().task(sender(tx.clone(), 1)).task(sender(tx, 2)).step(
                move || {
                    let _ = rx.try_recv();
                },
            )
        });
    }

    /// `into_send_async` on a full channel, one sender; the driver receives.
    #[test]
    fn into_send_async_waits_for_capacity() {
        pass(|| {
            let (tx, rx) = flume::bounded::<u32>(1);
            tx.try_send(0).unwrap();
            Scenario::new()
                .all_must_finish()
                .strict_abandonment()
                .task(async move { tx.into_send_async(1).await.is_ok() })
                .step(move || {
                    let _ = rx.try_recv();
                })
        });
    }

    /// A sender task and a receiver task on a channel of capacity 1: the receiver
    /// takes two values and is dropped, which must wake the sender blocked on the
    /// third.
    // Not under strict abandonment: the tasks depend on each other, so abandoning one
    // rightly strands the other (`p1 a1 p0`).
    #[test]
    fn sender_and_receiver_tasks() {
        pass(|| {
            let (tx, rx) = flume::bounded::<u32>(1);
            Scenario::new()
                .all_must_finish()
                .task(async move {
                    let a = tx.send_async(1).await.is_ok();
                    let b = tx.send_async(2).await.is_ok();
                    let c = tx.send_async(3).await.is_ok();
                    (a, b, c)
                })
                .task(async move {
                    let a = rx.recv_async().await.ok();
                    let b = rx.recv_async().await.ok();
                    (a, b)
                })
        });
    }
}

// ---------------------------------------------------------------------------------
// Tried in the session of 2026-12-03, each with the defaults (passing) and the opt-in
// modes (README, "What the opt-in modes flag on correct crates"): embassy-sync 0.8,
// the `oneshot` crate 0.2, async-lock's `RwLock` and `OnceCell`.
// ---------------------------------------------------------------------------------

/// embassy-sync with its `NoopRawMutex` (the single-core flavour: a `RefCell`, so the
/// opt-in `r`, `i` and `k` steps, which re-enter it inside a waker call, find it
/// borrowed and panic, the hazard of those modes). Its `WakerRegistration` keeps one
/// waker and wakes the one it replaces; two receivers on one channel wake each other
/// while both wait, which ends once a value arrives.
mod embassy_sync_tests {
    use super::*;
    use embassy_sync::blocking_mutex::raw::NoopRawMutex;
    use embassy_sync::channel::Channel;
    use embassy_sync::mutex::Mutex;
    use embassy_sync::signal::Signal;
    use embassy_sync::watch::Watch;

    #[test]
    fn channel_receiver_gets_the_value() {
        pass(|| {
            let ch = Rc::new(Channel::<NoopRawMutex, u32, 1>::new());
            let rx = Rc::clone(&ch);
            Scenario::new().all_must_finish().strict_abandonment().task(async move { rx.receive().await }).step(
                move || {
                    let _ = ch.try_send(7);
                },
            )
        });
    }

    #[test]
    fn channel_sender_waits_for_capacity() {
        pass(|| {
            let ch = Rc::new(Channel::<NoopRawMutex, u32, 1>::new());
            let _ = ch.try_send(1);
            let tx = Rc::clone(&ch);
            Scenario::new().all_must_finish().strict_abandonment().task(async move { tx.send(2).await }).step(
                move || {
                    let _ = ch.try_receive();
                },
            )
        });
    }

    /// Two receivers, two sends: each gets one (which one gets which is left out).
    // Not under strict abandonment: a receiver abandoned when woken keeps the channel's
    // one receive waker, and the other rightly waits.
    #[test]
    fn channel_two_receivers_two_sends() {
        pass(|| {
            let ch = Rc::new(Channel::<NoopRawMutex, u32, 2>::new());
            let (a, b, tx) = (Rc::clone(&ch), Rc::clone(&ch), Rc::clone(&ch));
            Scenario::new()
                .all_must_finish()
                .task(async move { a.receive().await > 0 })
                .task(async move { b.receive().await > 0 })
                .step(move || {
                    let _ = tx.try_send(1);
                })
                .step(move || {
                    let _ = ch.try_send(2);
                })
        });
    }

    #[test]
    fn signal_wakes_the_waiter() {
        pass(|| {
            let signal = Rc::new(Signal::<NoopRawMutex, u32>::new());
            let waiter = Rc::clone(&signal);
            Scenario::new()
                .all_must_finish()
                .strict_abandonment()
                .task(async move { waiter.wait().await })
                .step(move || signal.signal(5))
        });
    }

    /// The first locker holds the lock across an await.
    #[test]
    fn mutex_two_lockers() {
        pass(|| {
            let m = Rc::new(Mutex::<NoopRawMutex, u32>::new(0));
            let (a, b) = (Rc::clone(&m), Rc::clone(&m));
            Scenario::new()
                .all_must_finish()
                .task(async move {
                    let mut g = a.lock().await;
                    real::yield_now().await;
                    *g += 1;
                })
                .task(async move {
                    *b.lock().await += 1;
                })
        });
    }

    #[test]
    fn watch_receiver_sees_the_change() {
        pass(|| {
            let watch = Rc::new(Watch::<NoopRawMutex, u32, 2>::new());
            let w = Rc::clone(&watch);
            Scenario::new()
                .all_must_finish()
                .strict_abandonment()
                .task(async move {
                    let mut rx = w.receiver().expect("a receiver slot is free");
                    rx.changed().await
                })
                .step(move || watch.sender().send(3))
        });
    }
}

/// The `oneshot` crate (feature `async`): its receiver, awaited, in every mode.
mod oneshot_crate_tests {
    use super::*;
    use pollcheck::Mode;

    fn value() -> Scenario {
        let (tx, rx) = oneshot::channel::<u32>();
        Scenario::new().all_must_finish().strict_abandonment().task(std::future::IntoFuture::into_future(rx)).step(
            move || {
                let _ = tx.send(7);
            },
        )
    }

    fn sender_dropped() -> Scenario {
        let (tx, rx) = oneshot::channel::<u32>();
        Scenario::new()
            .all_must_finish()
            .strict_abandonment()
            .task(async move { rx.await.is_err() })
            .step(move || drop(tx))
    }

    #[test]
    fn receiver_gets_the_value() {
        pass(value);
    }

    #[test]
    fn receiver_sees_the_sender_dropped() {
        pass(sender_dropped);
    }

    /// It wakes, clones and drops wakers outside any lock: every opt-in mode passes.
    #[test]
    fn receiver_passes_every_mode() {
        for mode in Mode::ALL {
            println!("{mode:?}");
            pass_with(|b| *b = b.with_mode(mode), value);
        }
    }
}

mod async_lock_more {
    use super::*;
    use async_lock::{OnceCell, RwLock};

    /// A writer holding the lock across an await, and a reader.
    #[test]
    fn rwlock_writer_and_reader() {
        pass(|| {
            let l = Rc::new(RwLock::new(0u32));
            let (w, r) = (Rc::clone(&l), Rc::clone(&l));
            Scenario::new()
                .all_must_finish()
                .task(async move {
                    let mut g = w.write().await;
                    real::yield_now().await;
                    *g += 1;
                })
                .task(async move { *r.read().await })
        });
    }

    /// Two tasks initialize one cell; the first one's initializer awaits. Each task
    /// reports whether it saw a value, not which.
    #[test]
    fn once_cell_two_initializers() {
        pass(|| {
            let c = Rc::new(OnceCell::<u32>::new());
            let (x, y) = (Rc::clone(&c), Rc::clone(&c));
            Scenario::new()
                .all_must_finish()
                .task(async move {
                    *x.get_or_init(|| async {
                        real::yield_now().await;
                        1
                    })
                    .await
                        > 0
                })
                .task(async move { *y.get_or_init(|| async { 2 }).await > 0 })
        });
    }
}

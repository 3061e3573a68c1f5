//! Correct primitives from crates.io, checked with the default exploration: every one
//! of them must pass. A failure here is either a pollcheck false positive or an
//! upstream bug; either way the case stays in this file, `#[ignore]`d with the
//! evidence, never silently weakened.
//!
//! Conventions of these scenarios:
//! - the driver is the other side of the primitive; steps that share a sender or a
//!   receiver hold `Rc` clones of it, so it is dropped once the last step has run;
//! - schedules cancel tasks and run driver steps inside wakes, so a step never
//!   unwraps a send (the receiving task may be gone);
//! - task outputs are plain values (no handles whose `Debug` shows shared state that
//!   differs between schedules).
//! - `all_must_finish()` wherever every task finishes under every schedule (the
//!   driver sends every message, releases every permit, or closes), so the real crates
//!   prove the stuck-task check has no false positive; `strict_abandonment()` too,
//!   except where a comment says why it does not apply (tasks that depend on each
//!   other, a release that wakes one waiter).
//!
//! The scenarios the fuzz targets check too are in tests/real (`real::`).

use std::cell::RefCell;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::Poll;
use std::time::Instant;

use futures_util::{SinkExt, StreamExt};
use pollcheck::{Checker, Scenario, Summary};

mod real;

/// Runs the default exploration and panics with the full report on a violation.
/// Under miri (a run of a real crate costs a good fraction of a second there) one
/// scheduled step deep, then the drain, with every detector on: what miri checks here
/// is pollcheck's unsafe code (the waker vtable, the pin projections) under each
/// crate's own use of wakers, which every schedule exercises; the crates' schedules
/// themselves are explored natively, seven steps deep.
#[track_caller]
fn pass<F: Fn() -> Scenario + Send + Sync + 'static>(factory: F) -> Summary {
    let start = Instant::now();
    let checker = Checker::new(factory);
    let checker = if cfg!(miri) { checker.depth(1) } else { checker };
    match checker.try_run() {
        Ok(summary) => {
            println!("{} schedules ({} runs) in {:?}", summary.schedules(), summary.runs, start.elapsed());
            summary
        }
        Err(report) => panic!("{report}"),
    }
}

/// Lends the driver's single-owner handle (a receiver) to one step at a time.
///
/// Schedules run a driver step *inside* a waker call made by an earlier step (`r`),
/// as if another party acted while the first one was inside the primitive. A
/// single-owner handle cannot be used by both at once, so the nested step finds it
/// lent out and does nothing; a `RefCell` borrow held across the call would panic
/// instead. The handle is dropped with the last step's clone of the `Rc`.
struct Lent<T>(Rc<RefCell<Option<T>>>);

impl<T> Lent<T> {
    fn new(value: T) -> Self {
        Lent(Rc::new(RefCell::new(Some(value))))
    }

    fn with(&self, f: impl FnOnce(&mut T)) {
        let taken = self.0.borrow_mut().take();
        if let Some(mut value) = taken {
            f(&mut value);
            *self.0.borrow_mut() = Some(value);
        }
    }
}

impl<T> Clone for Lent<T> {
    fn clone(&self) -> Self {
        Lent(Rc::clone(&self.0))
    }
}

// ---------------------------------------------------------------------------------
// futures-channel
// ---------------------------------------------------------------------------------

mod futures_channel_oneshot {
    use super::*;
    use futures_channel::oneshot;

    #[test]
    fn receiver_gets_the_value() {
        pass(real::futures_oneshot_value);
    }

    #[test]
    fn receiver_sees_the_sender_dropped() {
        pass(real::futures_oneshot_dropped);
    }

    #[test]
    fn sender_cancellation_sees_the_receiver_dropped() {
        pass(|| {
            let (mut tx, rx) = oneshot::channel::<u32>();
            Scenario::new()
                .all_must_finish()
                .strict_abandonment()
                .task(async move {
                    tx.cancellation().await;
                    tx.is_canceled()
                })
                .step(move || drop(rx))
        });
    }

    /// A relay: the driver signals task 1, which sends to task 0, or gives up when
    /// task 0 is cancelled and its receiver dropped (`poll_canceled`).
    // pollcheck false positive: `p1 r s1 c0` is reported as spurious-poll intolerance. The
    // armed re-entrant step (`r`) fires *inside* the spurious poll, on the drop of the
    // waker clone that the primitive replaces when it is polled with a new waker, so the
    // driver step runs during that poll (which then sees the value and finishes: true).
    // The honest twin deletes the spurious poll, and the armed step then fires later,
    // after `c0` dropped task 0, so task 1 sends into a closed channel (false). The two
    // runs have different histories, so their outputs may differ; the task does not
    // mishandle spurious polls: `p1 r d p1 c0`, which runs the step where it fired (`d`)
    // and then polls honestly, gives the same output as the spurious run (true).
    // Not under strict abandonment: the tasks depend on each other, so abandoning one
    // rightly strands the other (`p1 a1 p0 d`).
    #[test]
    // Once a false positive: an `r` step fired inside a spurious poll (on a waker drop) and
    // the honest twin moved it. Drops no longer run re-entrant steps, and a spurious poll
    // that ran one is not compared with its twin.
    fn relay_through_two_tasks() {
        pass(|| {
            let (gate_tx, mut gate_rx) = oneshot::channel::<u32>();
            let (mut tx, rx) = oneshot::channel::<u32>();
            Scenario::new()
                .all_must_finish()
                .task(rx)
                .task(async move {
                    let got = poll_fn(|cx| {
                        if let Poll::Ready(v) = Pin::new(&mut gate_rx).poll(cx) {
                            return Poll::Ready(v.ok());
                        }
                        tx.poll_canceled(cx).map(|()| None)
                    })
                    .await;
                    match got {
                        Some(v) => tx.send(v + 1).is_ok(),
                        None => false,
                    }
                })
                .step(move || {
                    let _ = gate_tx.send(1);
                })
        });
    }
}

mod futures_channel_mpsc {
    use super::*;
    use futures_channel::mpsc;

    #[test]
    fn unbounded_receiver_collects_everything() {
        pass(real::futures_mpsc_unbounded);
    }

    #[test]
    fn unbounded_receiver_next_one_at_a_time() {
        pass(|| {
            let (tx, mut rx) = mpsc::unbounded::<u32>();
            let scenario = Scenario::new().all_must_finish().strict_abandonment().task(async move {
                let first = rx.next().await;
                let second = rx.next().await;
                (first, second)
            });
            real::sends_two(scenario, tx, |tx, v| {
                let _ = tx.unbounded_send(v);
            })
        });
    }

    #[test]
    fn bounded_receiver_collects_everything() {
        pass(real::futures_mpsc_bounded);
    }

    /// Two senders wait for capacity with `poll_ready`; the driver receives.
    // pollcheck false positive while `i` was on by default (the run hung, before hangs
    // were reports): futures-channel wakes a
    // parked sender while holding that sender's `Mutex<SenderTask>`
    // (`task.lock().unwrap().notify()`, futures-channel 0.3.34 src/mpsc/mod.rs:1102).
    // `i0` polls the sender inside that wake on the checker's own thread, and
    // `poll_unparked` (mod.rs:698) locks the same mutex again: a self-deadlock. The
    // multi-threaded worker that `i0` stands for would wait for the lock, not
    // deadlock. Minimal schedule: `p0 i0 d` (the watchdog then printed `p0 d p0`,
    // without the `i0`; a hang report now names every action, `i0` included). Waking under a lock is legal.
    #[test]
    // futures-channel wakes a parked sender under that sender's mutex, so `i0` (a poll
    // inside the wake) deadlocked here on one thread: that is why `i` is opt-in.
    fn bounded_senders_wait_for_capacity_with_poll_ready() {
        pass(|| {
            let (tx, rx) = mpsc::channel::<u32>(0);
            let rx = Lent::new(rx);
            let sender = |mut tx: mpsc::Sender<u32>, base: u32| async move {
                let mut sent = Vec::new();
                for v in base..base + 2 {
                    match poll_fn(|cx| tx.poll_ready(cx)).await {
                        Ok(()) => sent.push(tx.start_send(v).is_ok()),
                        Err(e) => {
                            assert!(e.is_disconnected(), "{e}");
                            sent.push(false);
                        }
                    }
                }
                sent
            };
            let (r1, r2, r3) = (rx.clone(), rx.clone(), rx);
            Scenario::new()
                .all_must_finish()
                .strict_abandonment()
                .task(sender(tx.clone(), 10))
                .task(sender(tx, 20))
                .step(move || {
                    r1.with(|rx| {
                        let _ = rx.try_recv();
                    });
                })
                .step(move || {
                    r2.with(|rx| {
                        let _ = rx.try_recv();
                    });
                })
                .step(move || {
                    r3.with(|rx| {
                        let _ = rx.try_recv();
                    });
                    // The last step drops the receiver: parked senders must be woken.
                })
        });
    }

    /// The same with `SinkExt::send` futures.
    // pollcheck false positive while `i` was on by default (the run hung, before hangs
    // were reports): futures-channel wakes a
    // parked sender while holding that sender's `Mutex<SenderTask>`
    // (`task.lock().unwrap().notify()`, futures-channel 0.3.34 src/mpsc/mod.rs:1102).
    // `i0` polls the sender inside that wake on the checker's own thread, and
    // `poll_unparked` (mod.rs:698) locks the same mutex again: a self-deadlock. The
    // multi-threaded worker that `i0` stands for would wait for the lock, not
    // deadlock. Minimal schedule: `p0 i0 d` (the watchdog then printed `p0 d p0`,
    // without the `i0`; a hang report now names every action, `i0` included). Waking under a lock is legal.
    #[test]
    // futures-channel wakes a parked sender under that sender's mutex, so `i0` (a poll
    // inside the wake) deadlocked here on one thread: that is why `i` is opt-in.
    fn bounded_senders_with_sink_send() {
        pass(|| {
            let (tx, rx) = mpsc::channel::<u32>(0);
            let rx = Lent::new(rx);
            let sender = |mut tx: mpsc::Sender<u32>, base: u32| async move {
                let a = tx.send(base).await.is_ok();
                let b = tx.send(base + 1).await.is_ok();
                (a, b)
            };
            let (r1, r2, r3) = (rx.clone(), rx.clone(), rx);
            Scenario::new()
                .all_must_finish()
                .strict_abandonment()
                .task(sender(tx.clone(), 10))
                .task(sender(tx, 20))
                .step(move || {
                    r1.with(|rx| {
                        let _ = rx.try_recv();
                    });
                })
                .step(move || {
                    r2.with(|rx| {
                        let _ = rx.try_recv();
                    });
                })
                .step(move || {
                    r3.with(|rx| {
                        let _ = rx.try_recv();
                    });
                })
        });
    }

    /// A sender task and a receiver task on one bounded channel: the receiver takes
    /// two values and is dropped, which must wake the sender blocked on the third.
    // pollcheck false positive while `i` was on by default (the run hung, before hangs
    // were reports): futures-channel wakes a
    // parked sender while holding that sender's `Mutex<SenderTask>`
    // (`task.lock().unwrap().notify()`, futures-channel 0.3.34 src/mpsc/mod.rs:1102).
    // `i0` polls the sender inside that wake on the checker's own thread, and
    // `poll_unparked` (mod.rs:698) locks the same mutex again: a self-deadlock. The
    // multi-threaded worker that `i0` stands for would wait for the lock, not
    // deadlock. Minimal schedule: `p0 i0 p1` (the watchdog then printed `p0 p1 p0`,
    // without the `i0`; a hang report now names every action, `i0` included). Waking under a lock is legal.
    // Not under strict abandonment: the tasks depend on each other, so abandoning one
    // rightly strands the other (`p0 a0 p1`).
    #[test]
    // futures-channel wakes a parked sender under that sender's mutex, so `i0` (a poll
    // inside the wake) deadlocked here on one thread: that is why `i` is opt-in.
    fn bounded_sender_and_receiver_tasks() {
        pass(|| {
            let (mut tx, rx) = mpsc::channel::<u32>(0);
            Scenario::new()
                .all_must_finish()
                .task(async move {
                    let a = tx.send(1).await.is_ok();
                    let b = tx.send(2).await.is_ok();
                    let c = tx.send(3).await.is_ok();
                    (a, b, c)
                })
                .task(rx.take(2).collect::<Vec<_>>())
        });
    }
}

// ---------------------------------------------------------------------------------
// tokio::sync
// ---------------------------------------------------------------------------------

mod tokio_oneshot {
    use super::*;
    use tokio::sync::oneshot;

    #[test]
    fn receiver_gets_the_value() {
        pass(real::tokio_oneshot_value);
    }

    #[test]
    fn receiver_sees_the_sender_dropped() {
        pass(|| {
            let (tx, rx) = oneshot::channel::<u32>();
            Scenario::new()
                .all_must_finish()
                .strict_abandonment()
                .task(async move { rx.await.ok() })
                .step(move || drop(tx))
        });
    }

    #[test]
    fn sender_closed_sees_the_receiver_dropped() {
        pass(|| {
            let (mut tx, rx) = oneshot::channel::<u32>();
            Scenario::new()
                .all_must_finish()
                .strict_abandonment()
                .task(async move {
                    tx.closed().await;
                    tx.is_closed()
                })
                .step(move || drop(rx))
        });
    }

    /// A relay: the driver signals task 1, which sends to task 0, or gives up when
    /// task 0 is cancelled and its receiver dropped (`poll_closed`).
    // pollcheck false positive: `p1 w1 r s1 c0` is reported as spurious-poll intolerance.
    // The armed re-entrant step (`r`) fires *inside* the spurious poll, on the drop of the
    // waker clone that the primitive replaces when it is polled with a new waker, so the
    // driver step runs during that poll (which then sees the value and finishes: true).
    // The honest twin deletes the spurious poll, and the armed step then fires later,
    // after `c0` dropped task 0, so task 1 sends into a closed channel (false). The two
    // runs have different histories, so their outputs may differ; the task does not
    // mishandle spurious polls: `p1 w1 r d p1 c0`, which runs the step where it fired
    // (`d`) and then polls honestly, gives the same output as the spurious run (true).
    // Not under strict abandonment: the tasks depend on each other, so abandoning one
    // rightly strands the other (`p1 a1 p0 d`).
    #[test]
    // Once a false positive: an `r` step fired inside a spurious poll (on a waker drop) and
    // the honest twin moved it. Drops no longer run re-entrant steps, and a spurious poll
    // that ran one is not compared with its twin.
    fn relay_through_two_tasks() {
        pass(|| {
            let (gate_tx, mut gate_rx) = oneshot::channel::<u32>();
            let (mut tx, rx) = oneshot::channel::<u32>();
            Scenario::new()
                .all_must_finish()
                .task(async move { rx.await.ok() })
                .task(async move {
                    let got = poll_fn(|cx| {
                        if let Poll::Ready(v) = Pin::new(&mut gate_rx).poll(cx) {
                            return Poll::Ready(v.ok());
                        }
                        tx.poll_closed(cx).map(|()| None)
                    })
                    .await;
                    match got {
                        Some(v) => tx.send(v + 1).is_ok(),
                        None => false,
                    }
                })
                .step(move || {
                    let _ = gate_tx.send(1);
                })
        });
    }
}

mod tokio_notify {
    use super::*;
    use tokio::sync::Notify;

    // Not every task must finish: tokio's `Notify` stores at most one permit, and
    // `notify_waiters` none (`d d p0 p1` leaves task 1 waiting, rightly).
    #[test]
    fn two_waiters_notify_one_twice() {
        pass(real::tokio_notify_one);
    }

    // Not every task must finish: tokio's `Notify` stores at most one permit, and
    // `notify_waiters` none (`d d p0 p1` leaves task 1 waiting, rightly).
    #[test]
    fn two_waiters_notify_waiters() {
        pass(real::tokio_notify_waiters);
    }

    // Not every task must finish: tokio's `Notify` stores at most one permit, and
    // `notify_waiters` none (`d d p0 p1` leaves task 1 waiting, rightly).
    #[test]
    fn two_waiters_notify_one_then_notify_waiters() {
        pass(|| {
            let (scenario, n) = real::tokio_notify_two_waiters();
            let n1 = Arc::clone(&n);
            scenario.step(move || n1.notify_one()).step(move || n.notify_waiters())
        });
    }

    // Not every task must finish: tokio's `Notify` stores at most one permit, and
    // `notify_waiters` none (`d d p0 p1` leaves task 1 waiting, rightly).
    #[test]
    fn two_owned_notified_futures() {
        pass(|| {
            let n = Arc::new(Notify::new());
            let (n1, n2) = (Arc::clone(&n), n.clone());
            Scenario::new()
                .task(Arc::clone(&n).notified_owned())
                .task(n.notified_owned())
                .step(move || n1.notify_one())
                .step(move || n2.notify_last())
        });
    }
}

mod tokio_semaphore {
    use super::*;
    use tokio::sync::Semaphore;

    #[test]
    fn two_acquirers_driver_releases_and_adds() {
        pass(real::tokio_semaphore);
    }

    #[test]
    fn two_acquirers_driver_closes() {
        pass(|| {
            let (scenario, sem, held) = real::tokio_semaphore_held();
            scenario.step(move || sem.close()).step(move || drop(held))
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
                let permit = sem.acquire_owned().await;
                gate.notified().await;
                drop(permit);
            })
        });
    }
}

mod tokio_mutex {
    use super::*;
    use tokio::sync::Mutex;

    // Not under strict abandonment: a lock's release wakes one waiter, and with it
    // abandoned the other rightly waits (`p0 a0 p1 d`).
    #[test]
    fn two_lockers_driver_holds_the_lock_first() {
        pass(real::tokio_mutex);
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

mod tokio_watch {
    use super::*;
    use tokio::sync::watch;

    #[test]
    fn two_receivers_see_a_change_or_the_close() {
        pass(real::tokio_watch);
    }

    #[test]
    fn two_receivers_watch_until_the_sender_is_gone() {
        pass(real::tokio_watch_until_closed);
    }

    #[test]
    fn sender_closed_sees_both_receivers_dropped() {
        pass(|| {
            let (tx, rx) = watch::channel(0u32);
            let rx2 = rx.clone();
            Scenario::new()
                .all_must_finish()
                .strict_abandonment()
                .task(async move { tx.closed().await })
                .step(move || drop(rx))
                .step(move || drop(rx2))
        });
    }
}

mod tokio_mpsc {
    use super::*;
    use tokio::sync::mpsc;

    #[test]
    fn bounded_receiver_gets_everything() {
        pass(real::tokio_mpsc);
    }

    #[test]
    fn unbounded_receiver_gets_everything() {
        pass(|| {
            let (tx, mut rx) = mpsc::unbounded_channel::<u32>();
            let scenario = Scenario::new().all_must_finish().strict_abandonment().task(async move {
                let mut got = Vec::new();
                while let Some(v) = rx.recv().await {
                    got.push(v);
                }
                got
            });
            real::sends_two(scenario, tx, |tx, v| {
                let _ = tx.send(v);
            })
        });
    }

    /// Two senders wait for capacity in `Sender::send`; the driver receives, then
    /// drops the receiver.
    // pollcheck false positive: `r p0 w0 s0 d p0 p1` is reported as spurious-poll
    // intolerance. The armed re-entrant step (`r`) fires *inside* the spurious poll, on
    // the drop of the waker clone that the primitive replaces when it is polled with a new
    // waker, so the driver step runs during that poll. The honest twin deletes the
    // spurious poll, and the armed step then fires later, at the `d`, so driver step 2
    // (which drops the receiver) has not run yet at task 0's next poll (true instead of
    // false). The two runs have different histories, so their outputs may differ; the task
    // does not mishandle spurious polls: `r p0 w0 d d p0 p1`, which runs the step where it
    // fired (`d`) and then polls honestly, gives the same output as the spurious run
    // (false).
    #[test]
    // Once a false positive: an `r` step fired inside a spurious poll (on a waker drop) and
    // the honest twin moved it. Drops no longer run re-entrant steps, and a spurious poll
    // that ran one is not compared with its twin.
    fn bounded_senders_wait_for_capacity() {
        pass(|| {
            let (tx, rx) = mpsc::channel::<u32>(1);
            let rx = Lent::new(rx);
            let sender = |tx: mpsc::Sender<u32>, v: u32| async move { tx.send(v).await.is_ok() };
            let (r1, r2) = (rx.clone(), rx);
            Scenario::new()
                .all_must_finish()
                .strict_abandonment()
                .task(sender(tx.clone(), 1))
                .task(sender(tx.clone(), 2))
                .step(move || {
                    // Fill the only slot first so that both tasks have to wait.
                    let _ = tx.try_send(0);
                })
                .step(move || {
                    r1.with(|rx| {
                        let _ = rx.try_recv();
                    });
                })
                .step(move || {
                    r2.with(|rx| {
                        let _ = rx.try_recv();
                    });
                })
        });
    }

    /// `reserve` (the permit API) for two senders.
    // pollcheck false positive: `p0 w0 r s0 d p0 p1` is reported as spurious-poll
    // intolerance. The armed re-entrant step (`r`) fires *inside* the spurious poll, on
    // the drop of the waker clone that the primitive replaces when it is polled with a new
    // waker, so the driver step runs during that poll. The honest twin deletes the
    // spurious poll, and the armed step then fires later, at the `d`, so driver step 2
    // (which drops the receiver) has not run yet at task 0's next poll (true instead of
    // false). The two runs have different histories, so their outputs may differ; the task
    // does not mishandle spurious polls: `p0 w0 r d d p0 p1`, which runs the step where it
    // fired (`d`) and then polls honestly, gives the same output as the spurious run
    // (false).
    #[test]
    // Once a false positive: an `r` step fired inside a spurious poll (on a waker drop) and
    // the honest twin moved it. Drops no longer run re-entrant steps, and a spurious poll
    // that ran one is not compared with its twin.
    fn bounded_senders_reserve() {
        pass(|| {
            let (tx, rx) = mpsc::channel::<u32>(1);
            let held = tx.clone().try_reserve_owned().unwrap();
            let rx = Lent::new(rx);
            let sender = |tx: mpsc::Sender<u32>, v: u32| async move {
                match tx.reserve().await {
                    Ok(permit) => {
                        permit.send(v);
                        true
                    }
                    Err(_) => false,
                }
            };
            let (r1, r2) = (rx.clone(), rx);
            Scenario::new()
                .all_must_finish()
                .strict_abandonment()
                .task(sender(tx.clone(), 1))
                .task(sender(tx, 2))
                .step(move || {
                    held.send(0);
                })
                .step(move || {
                    r1.with(|rx| {
                        let _ = rx.try_recv();
                    });
                })
                .step(move || {
                    r2.with(|rx| {
                        let _ = rx.try_recv();
                    });
                })
        });
    }
}

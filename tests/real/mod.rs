//! Correct primitives from futures-channel and tokio::sync, as scenario factories:
//! the one copy that tests/real_crates.rs checks with the default exploration and the
//! fuzz targets (fuzz/, which include this module by `#[path]`) check under arbitrary
//! schedules, and the builders tests/real_crates_more.rs shares. The dependencies it
//! uses must be in fuzz/Cargo.toml too.
//!
//! The conventions of tests/real_crates.rs hold: the driver is the other side of the
//! primitive; steps that share a sender hold `Rc` clones of it; a step never unwraps
//! a send (schedules cancel the receiving task); task outputs are plain values; and
//! `all_must_finish()` / `strict_abandonment()` wherever they apply (comments say
//! where they do not).
// Each includer uses a part of it.
#![allow(dead_code)]

use std::fmt::Debug;
use std::future::Future;
use std::rc::Rc;
use std::sync::Arc;

use futures_util::StreamExt;
use pollcheck::Scenario;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

/// A named scenario factory.
pub type Named = (&'static str, fn() -> Scenario);

/// Every correct real-crate scenario the fuzz targets pick from (by their input's
/// first byte).
pub const REAL: &[Named] = &[
    ("futures oneshot: value", futures_oneshot_value),
    ("futures oneshot: sender dropped", futures_oneshot_dropped),
    ("futures mpsc: unbounded collect", futures_mpsc_unbounded),
    ("futures mpsc: bounded collect", futures_mpsc_bounded),
    ("tokio oneshot: value", tokio_oneshot_value),
    ("tokio notify: two waiters, notify_one twice", tokio_notify_one),
    ("tokio notify: two waiters, notify_waiters", tokio_notify_waiters),
    ("tokio semaphore: two acquirers", tokio_semaphore),
    ("tokio mutex: two lockers", tokio_mutex),
    ("tokio watch: two receivers until closed", tokio_watch_until_closed),
    ("tokio mpsc: bounded recv", tokio_mpsc),
    ("tokio watch: two receivers, one change", tokio_watch),
];

/// Yields once (wakes itself and returns `Pending`): an await point inside a
/// critical section, such as a lock held across it.
pub async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if std::mem::replace(&mut yielded, true) {
            std::task::Poll::Ready(())
        } else {
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await
}

pub fn futures_oneshot_value() -> Scenario {
    let (tx, rx) = futures_channel::oneshot::channel::<u32>();
    Scenario::new().all_must_finish().strict_abandonment().task(rx).step(move || {
        let _ = tx.send(7);
    })
}

pub fn futures_oneshot_dropped() -> Scenario {
    let (tx, rx) = futures_channel::oneshot::channel::<u32>();
    Scenario::new().all_must_finish().strict_abandonment().task(rx).step(move || drop(tx))
}

pub fn futures_mpsc_unbounded() -> Scenario {
    let (tx, rx) = futures_channel::mpsc::unbounded::<u32>();
    let scenario = Scenario::new().all_must_finish().strict_abandonment().task(rx.collect::<Vec<u32>>());
    sends_two(scenario, tx, |tx, v| {
        let _ = tx.unbounded_send(v);
    })
}

pub fn futures_mpsc_bounded() -> Scenario {
    // Capacity 2 plus one slot per sender, one sender per step: the driver's sends
    // never find the channel full, so the output does not depend on the schedule.
    // Each step owns its sender (a `RefCell` borrowed across `try_send` would meet
    // itself again when the send wakes the receiver and a re-entrant step runs inside
    // that wake).
    let (tx, rx) = futures_channel::mpsc::channel::<u32>(2);
    let (mut t1, mut t2, mut t3) = (tx.clone(), tx.clone(), tx);
    Scenario::new()
        .all_must_finish()
        .strict_abandonment()
        .task(rx.collect::<Vec<u32>>())
        .step(move || {
            let _ = t1.try_send(1);
        })
        .step(move || {
            let _ = t2.try_send(2);
        })
        .step(move || {
            let _ = t3.try_send(3);
        })
}

pub fn tokio_oneshot_value() -> Scenario {
    let (tx, rx) = tokio::sync::oneshot::channel::<u32>();
    Scenario::new().all_must_finish().strict_abandonment().task(async move { rx.await.ok() }).step(move || {
        let _ = tx.send(7);
    })
}

/// Two tasks that each wait for one notification of a tokio `Notify`: the scenario
/// before its driver steps, and the `Notify`.
// Not every task must finish: tokio's `Notify` stores at most one permit, and
// `notify_waiters` none (`d d p0 p1` leaves task 1 waiting, rightly).
pub fn tokio_notify_two_waiters() -> (Scenario, Arc<Notify>) {
    let n = Arc::new(Notify::new());
    let waiter = |n: Arc<Notify>| async move { n.notified().await };
    (Scenario::new().task(waiter(Arc::clone(&n))).task(waiter(Arc::clone(&n))), n)
}

pub fn tokio_notify_one() -> Scenario {
    let (scenario, n) = tokio_notify_two_waiters();
    let n1 = Arc::clone(&n);
    scenario.step(move || n1.notify_one()).step(move || n.notify_one())
}

pub fn tokio_notify_waiters() -> Scenario {
    let (scenario, n) = tokio_notify_two_waiters();
    scenario.step(move || n.notify_waiters())
}

/// Acquires a permit of `sem` and releases it at once.
fn acquirer(sem: &Arc<Semaphore>) -> impl Future<Output = bool> + 'static {
    let sem = Arc::clone(sem);
    async move { sem.acquire_owned().await.is_ok() }
}

/// Two acquirers of a one-permit semaphore whose permit the driver holds at first:
/// the scenario (every task must finish, strict abandonment) before its driver steps,
/// the semaphore and the permit.
pub fn tokio_semaphore_held() -> (Scenario, Arc<Semaphore>, OwnedSemaphorePermit) {
    let sem = Arc::new(Semaphore::new(1));
    let held = Arc::clone(&sem).try_acquire_owned().unwrap();
    let scenario = Scenario::new().all_must_finish().strict_abandonment().task(acquirer(&sem)).task(acquirer(&sem));
    (scenario, sem, held)
}

/// Two acquirers; the driver releases the only permit, then adds one.
pub fn tokio_semaphore() -> Scenario {
    let (scenario, sem, held) = tokio_semaphore_held();
    scenario.step(move || drop(held)).step(move || sem.add_permits(1))
}

/// Two lockers; the driver holds the lock first.
// Not under strict abandonment: a lock's release wakes one waiter, and with it
// abandoned the other rightly waits (`p0 a0 p1 d`).
pub fn tokio_mutex() -> Scenario {
    let m = Arc::new(tokio::sync::Mutex::new(0u32));
    let guard = Arc::clone(&m).try_lock_owned().unwrap();
    let locker = |m: Arc<tokio::sync::Mutex<u32>>| async move {
        let mut g = m.lock().await;
        *g += 1;
    };
    Scenario::new().all_must_finish().task(locker(Arc::clone(&m))).task(locker(m)).step(move || drop(guard))
}

/// Two receivers of one change (or the close); the driver sends once, then drops the
/// sender.
pub fn tokio_watch() -> Scenario {
    /// One change (or the close), then the value seen.
    async fn watcher(mut rx: tokio::sync::watch::Receiver<u32>) -> (bool, u32) {
        let changed = rx.changed().await.is_ok();
        let seen = *rx.borrow_and_update();
        (changed, seen)
    }
    let (tx, rx) = tokio::sync::watch::channel(0u32);
    let scenario = Scenario::new().all_must_finish().strict_abandonment().task(watcher(rx.clone())).task(watcher(rx));
    let tx = Rc::new(tx);
    let t1 = Rc::clone(&tx);
    // Then the sender is dropped with the last `Rc`.
    scenario
        .step(move || {
            let _ = t1.send(1);
        })
        .step(move || drop(tx))
}

/// Two receivers that watch until the sender is gone; the driver sends twice, and the
/// sender is dropped with the last step's `Rc`.
pub fn tokio_watch_until_closed() -> Scenario {
    async fn watcher(mut rx: tokio::sync::watch::Receiver<u32>) -> u32 {
        // The last value seen is the last one sent.
        while rx.changed().await.is_ok() {}
        let last = *rx.borrow_and_update();
        last
    }
    let (tx, rx) = tokio::sync::watch::channel(0u32);
    let scenario = Scenario::new().all_must_finish().strict_abandonment().task(watcher(rx.clone())).task(watcher(rx));
    sends_two(scenario, tx, |tx, v| {
        let _ = tx.send(v);
    })
}

pub fn tokio_mpsc() -> Scenario {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<u32>(4);
    let scenario = Scenario::new().all_must_finish().strict_abandonment().task(async move {
        let mut got = Vec::new();
        while let Some(v) = rx.recv().await {
            got.push(v);
        }
        got
    });
    sends_two(scenario, tx, |tx, v| {
        let _ = tx.try_send(v);
    })
}

/// `scenario` with two driver steps that `send` 1, then 2, through one sender: each
/// step holds an `Rc` of it, so the last step to run drops it (which closes most
/// channels).
pub fn sends_two<S: 'static>(scenario: Scenario, tx: S, send: fn(&S, u32)) -> Scenario {
    let tx = Rc::new(tx);
    let t1 = Rc::clone(&tx);
    scenario.step(move || send(&t1, 1)).step(move || send(&tx, 2))
}

/// Two tasks that each take hold of `resource` (with `task`) and keep it until a gate
/// (a tokio `Notify`) lets them go; the driver opens the gate twice (`notify_one`), so
/// the task that waits for the resource is woken by the other's release, not by the
/// driver.
// Not every task must finish: the gate stores at most one permit (`d d p0 p1` leaves
// task 1 waiting, rightly).
pub fn two_held_across_a_gate<R: 'static, F>(resource: Arc<R>, task: impl Fn(Arc<R>, Arc<Notify>) -> F) -> Scenario
where
    F: Future + 'static,
    F::Output: Debug,
{
    let gate = Arc::new(Notify::new());
    let (g1, g2) = (Arc::clone(&gate), Arc::clone(&gate));
    Scenario::new()
        .task(task(Arc::clone(&resource), Arc::clone(&gate)))
        .task(task(resource, gate))
        .step(move || g1.notify_one())
        .step(move || g2.notify_one())
}

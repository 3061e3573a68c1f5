//! Correct primitives from crates.io, as scenario factories. The conventions of
//! tests/real_crates.rs hold: steps that share a sender hold `Rc` clones of it, and a
//! step never unwraps a send (schedules cancel the receiving task).

use std::rc::Rc;
use std::sync::Arc;

use futures_util::StreamExt;
use pollcheck::Scenario;

/// A named scenario factory.
pub type Named = (&'static str, fn() -> Scenario);

/// Every correct real-crate scenario.
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
    ("tokio watch: two receivers", tokio_watch),
    ("tokio mpsc: bounded recv", tokio_mpsc),
];

fn futures_oneshot_value() -> Scenario {
    let (tx, rx) = futures_channel::oneshot::channel::<u32>();
    Scenario::new().task(rx).step(move || {
        let _ = tx.send(7);
    })
}

fn futures_oneshot_dropped() -> Scenario {
    let (tx, rx) = futures_channel::oneshot::channel::<u32>();
    Scenario::new().task(rx).step(move || drop(tx))
}

fn futures_mpsc_unbounded() -> Scenario {
    let (tx, rx) = futures_channel::mpsc::unbounded::<u32>();
    let tx = Rc::new(tx);
    let tx2 = Rc::clone(&tx);
    Scenario::new()
        .task(rx.collect::<Vec<u32>>())
        .step(move || {
            let _ = tx.unbounded_send(1);
        })
        .step(move || {
            let _ = tx2.unbounded_send(2);
        })
}

fn futures_mpsc_bounded() -> Scenario {
    // Capacity 2 plus one slot per sender: the driver's sends never find the channel
    // full, so the output does not depend on the schedule. Each step owns its sender
    // (a `RefCell` borrowed across `try_send` would meet itself again when the send
    // wakes the receiver and a re-entrant step runs inside that wake).
    let (tx, rx) = futures_channel::mpsc::channel::<u32>(2);
    let (mut tx1, mut tx2, mut tx3) = (tx.clone(), tx.clone(), tx);
    Scenario::new()
        .task(rx.collect::<Vec<u32>>())
        .step(move || {
            let _ = tx1.try_send(1);
        })
        .step(move || {
            let _ = tx2.try_send(2);
        })
        .step(move || {
            let _ = tx3.try_send(3);
        })
}

fn tokio_oneshot_value() -> Scenario {
    let (tx, rx) = tokio::sync::oneshot::channel::<u32>();
    Scenario::new().task(rx).step(move || {
        let _ = tx.send(7);
    })
}

fn tokio_notify_one() -> Scenario {
    let n = Arc::new(tokio::sync::Notify::new());
    let waiter = |n: Arc<tokio::sync::Notify>| async move { n.notified().await };
    let (n1, n2) = (Arc::clone(&n), Arc::clone(&n));
    Scenario::new()
        .task(waiter(Arc::clone(&n)))
        .task(waiter(n))
        .step(move || n1.notify_one())
        .step(move || n2.notify_one())
}

fn tokio_notify_waiters() -> Scenario {
    let n = Arc::new(tokio::sync::Notify::new());
    let waiter = |n: Arc<tokio::sync::Notify>| async move { n.notified().await };
    let n1 = Arc::clone(&n);
    Scenario::new().task(waiter(Arc::clone(&n))).task(waiter(n)).step(move || n1.notify_waiters())
}

fn tokio_semaphore() -> Scenario {
    let sem = Arc::new(tokio::sync::Semaphore::new(1));
    // The driver holds the only permit at first.
    let held = Arc::clone(&sem).try_acquire_owned().expect("a fresh permit");
    let acquirer = |sem: Arc<tokio::sync::Semaphore>| async move { sem.acquire_owned().await.is_ok() };
    let s1 = Arc::clone(&sem);
    Scenario::new()
        .task(acquirer(Arc::clone(&sem)))
        .task(acquirer(sem))
        .step(move || drop(held))
        .step(move || s1.add_permits(1))
}

fn tokio_mutex() -> Scenario {
    let m = Arc::new(tokio::sync::Mutex::new(0u32));
    let guard = Arc::clone(&m).try_lock_owned().expect("an unlocked mutex");
    let locker = |m: Arc<tokio::sync::Mutex<u32>>| async move {
        let mut g = m.lock().await;
        *g += 1;
    };
    Scenario::new().task(locker(Arc::clone(&m))).task(locker(m)).step(move || drop(guard))
}

fn tokio_watch() -> Scenario {
    let (tx, rx) = tokio::sync::watch::channel(0u32);
    let watcher = |mut rx: tokio::sync::watch::Receiver<u32>| async move {
        // Until the sender is gone; the last value seen is the last one sent.
        while rx.changed().await.is_ok() {}
        let last = *rx.borrow_and_update();
        last
    };
    let tx = Rc::new(tx);
    let (t1, t2) = (Rc::clone(&tx), tx);
    Scenario::new()
        .task(watcher(rx.clone()))
        .task(watcher(rx))
        .step(move || {
            let _ = t1.send(1);
        })
        .step(move || {
            let _ = t2.send(2);
        })
}

fn tokio_mpsc() -> Scenario {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<u32>(4);
    let tx = Rc::new(tx);
    let (t1, t2) = (Rc::clone(&tx), tx);
    Scenario::new()
        .task(async move {
            let mut got = Vec::new();
            while let Some(v) = rx.recv().await {
                got.push(v);
            }
            got
        })
        .step(move || {
            let _ = t1.try_send(1);
        })
        .step(move || {
            let _ = t2.try_send(2);
        })
}

//! Buggy and fixed primitives built on loom's types, each run under
//! `pollcheck::loom`. Every bug here needs a specific interleaving of two threads;
//! the comments name it. Run with:
//!
//! ```sh
//! RUSTFLAGS="--cfg loom" cargo test --release --test loom_primitives
//! ```
#![cfg(all(loom, not(miri)))]

use std::future::{poll_fn, Future};
use std::task::{Poll, Waker};

use loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use loom::sync::{Arc, Mutex};
use pollcheck::loom::{block_on, block_on_with, model, spawn, Options};

#[path = "common/loom_prims.rs"]
mod loom_prims;

use loom_prims::{Flag, Oneshot};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Flavor {
    Buggy,
    Fixed,
}

// ---------------------------------------------------------------------------------
// 1. A flag + AtomicWaker. Bug: the waiter checks the flag, then registers, and does
// not check again. Interleaving: waiter sees `false`; setter sets and wakes an empty
// AtomicWaker; waiter registers and returns Pending. Nobody will wake it.

fn flag_model(flavor: Flavor) {
    model(move || {
        let flag = Flag::new(flavor == Flavor::Fixed);
        let setter = flag.clone();
        let t = spawn(move || setter.set());
        block_on(flag.wait());
        t.join().unwrap();
    });
}

#[test]
#[should_panic(expected = "pollcheck (loom): lost wakeup in task 0")]
fn registering_after_the_check_without_rechecking_loses_the_wakeup() {
    flag_model(Flavor::Buggy);
}

#[test]
fn registering_then_rechecking_passes() {
    flag_model(Flavor::Fixed);
}

// ---------------------------------------------------------------------------------
// 2. A oneshot. Bug: the sender takes the waker *before* it publishes the value.
// Interleaving: sender takes the registered waker #1; receiver is re-polled (spurious
// poll, new waker #2), sees no value and registers #2; sender publishes and wakes #1.
// The wake reached an old waker; the latest one is never woken.

fn oneshot_model(flavor: Flavor) {
    model(move || {
        let chan = Oneshot::new(flavor == Flavor::Fixed);
        let tx = chan.clone();
        let t = spawn(move || tx.send(7));
        assert_eq!(block_on_with(Options::spurious_polls(1), chan.recv()), 7);
        t.join().unwrap();
    });
}

#[test]
fn taking_the_waker_before_publishing_is_caught() {
    let err = std::panic::catch_unwind(|| oneshot_model(Flavor::Buggy)).unwrap_err();
    let message = err.downcast_ref::<String>().expect("a String panic with the report");
    assert!(message.starts_with("pollcheck (loom): stale waker in task 0"), "{message}");
    assert!(message.contains("a wake reached the older waker #1 but never #2"), "{message}");
    assert!(message.contains("interleaving, as the polling thread saw it"), "{message}");
}

#[test]
fn publishing_before_taking_the_waker_passes() {
    oneshot_model(Flavor::Fixed);
}

// ---------------------------------------------------------------------------------
// 3. A receiver that keeps the first waker it saw. Interleaving: receiver registers
// #1 and is re-polled with #2 (spurious poll) before the sender runs; the sender wakes
// #1 only.

struct KeepFirst {
    value: AtomicUsize,
    waker: Mutex<Option<Waker>>,
    flavor: Flavor,
}

impl KeepFirst {
    fn recv(&self) -> impl Future<Output = usize> + '_ {
        poll_fn(move |cx| {
            let mut slot = self.waker.lock().unwrap();
            let v = self.value.load(SeqCst);
            if v != 0 {
                return Poll::Ready(v);
            }
            let keep = self.flavor == Flavor::Buggy && slot.is_some();
            let old = if keep { None } else { slot.replace(cx.waker().clone()) };
            drop(slot);
            drop(old);
            Poll::Pending
        })
    }

    fn send(&self, v: usize) {
        self.value.store(v, SeqCst);
        let w = self.waker.lock().unwrap().take();
        if let Some(w) = w {
            w.wake();
        }
    }
}

fn keep_first_model(flavor: Flavor) {
    model(move || {
        let chan = Arc::new(KeepFirst { value: AtomicUsize::new(0), waker: Mutex::new(None), flavor });
        let tx = chan.clone();
        let t = spawn(move || tx.send(3));
        assert_eq!(block_on_with(Options::spurious_polls(1), chan.recv()), 3);
        t.join().unwrap();
    });
}

#[test]
#[should_panic(expected = "pollcheck (loom): stale waker in task 0")]
fn keeping_the_first_waker_while_the_sender_races_is_a_stale_waker() {
    keep_first_model(Flavor::Buggy);
}

#[test]
fn replacing_the_waker_passes() {
    keep_first_model(Flavor::Fixed);
}

// ---------------------------------------------------------------------------------
// 4. A notifier that hands its permit to the first waiter. Bug: a waiter dropped
// concurrently with `notify` puts the permit it was handed back in the pool without
// waking the next waiter. Interleaving: `notify` hands the permit to waiter A; A is
// dropped (on another thread) before it consumes it; waiter B could take the permit,
// but nothing ever wakes it.

struct Notifier {
    permits: AtomicUsize,
    waiters: Mutex<Vec<(usize, Waker, bool)>>,
    flavor: Flavor,
}

impl Notifier {
    fn notify(&self) {
        let w = {
            let mut ws = self.waiters.lock().unwrap();
            match ws.iter_mut().find(|w| !w.2) {
                Some(w) => {
                    w.2 = true;
                    Some(w.1.clone())
                }
                None => {
                    self.permits.fetch_add(1, SeqCst);
                    None
                }
            }
        };
        if let Some(w) = w {
            w.wake();
        }
    }

    /// Waiter `id` polls: Ready if it was handed a permit (or one is free).
    fn poll_wait(&self, id: usize, waker: &Waker) -> Poll<()> {
        let mut ws = self.waiters.lock().unwrap();
        if let Some(i) = ws.iter().position(|w| w.0 == id) {
            if ws[i].2 {
                ws.remove(i);
                return Poll::Ready(());
            }
            if self.permits.load(SeqCst) > 0 {
                self.permits.fetch_sub(1, SeqCst);
                ws.remove(i);
                return Poll::Ready(());
            }
            ws[i].1 = waker.clone();
            return Poll::Pending;
        }
        if self.permits.load(SeqCst) > 0 {
            self.permits.fetch_sub(1, SeqCst);
            return Poll::Ready(());
        }
        ws.push((id, waker.clone(), false));
        Poll::Pending
    }

    /// Waiter `id` goes away.
    fn cancel(&self, id: usize) {
        let removed = {
            let mut ws = self.waiters.lock().unwrap();
            ws.iter().position(|w| w.0 == id).map(|i| ws.remove(i))
        };
        if let Some((_, _, true)) = removed {
            match self.flavor {
                Flavor::Fixed => self.notify(),
                Flavor::Buggy => drop(self.permits.fetch_add(1, SeqCst)),
            }
        }
    }
}

fn notifier_model(flavor: Flavor) {
    model(move || {
        let n = Arc::new(Notifier { permits: AtomicUsize::new(0), waiters: Mutex::new(Vec::new()), flavor });
        // Waiter A registers on this thread, then another thread drops it while a
        // third notifies.
        let noop = futures_test::task::noop_waker();
        assert!(n.poll_wait(1, &noop).is_pending());
        let (n1, n2) = (n.clone(), n.clone());
        let canceller = spawn(move || n1.cancel(1));
        let notifier = spawn(move || n2.notify());
        block_on(poll_fn(|cx| n.poll_wait(2, cx.waker())));
        canceller.join().unwrap();
        notifier.join().unwrap();
    });
}

#[test]
#[should_panic(expected = "pollcheck (loom): lost wakeup in task 0")]
fn a_waiter_dropped_concurrently_with_notify_loses_the_wakeup() {
    notifier_model(Flavor::Buggy);
}

#[test]
fn forwarding_the_permit_on_drop_passes() {
    notifier_model(Flavor::Fixed);
}

// ---------------------------------------------------------------------------------
// No abort: a loom lost wakeup is an ordinary, catchable panic with the report.

#[test]
fn a_loom_lost_wakeup_is_caught_by_catch_unwind() {
    let err = std::panic::catch_unwind(|| flag_model(Flavor::Buggy)).unwrap_err();
    let message = err.downcast_ref::<String>().expect("a String panic with the report");
    assert!(message.starts_with("pollcheck (loom): lost wakeup in task 0"), "{message}");
    assert!(message.contains("extra poll returns Ready"), "{message}");
    assert!(message.contains("poll task 0 with waker #1 -> Pending"), "{message}");
}

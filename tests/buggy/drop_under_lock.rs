//! A one-shot notifier. Bug: when a waiter is polled with a new waker, `poll`
//! replaces the registered waker and drops the old one while still holding the
//! notifier's lock. Dropping a waker may drop the last reference to a task whose
//! future touches this notifier again (a major runtime shipped exactly this deadlock
//! in its notifier); pollcheck's `u` runs the next `notify` inside that drop. The
//! fixed flavor takes the old waker out and drops it after releasing the lock.
//!
//! The lock is either a `RefCell` (re-entering it on one thread panics with "already
//! borrowed", which a test can assert) or a `std::sync::Mutex` (re-entering it on one
//! thread deadlocks: do not run the buggy flavor of [`scenario_mutex`] until hangs
//! are reported as hangs).

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

use super::{wake, Flavor};
use pollcheck::Scenario;

/// Which lock guards the notifier's state (independent of the [`Flavor`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockKind {
    /// Re-entered on one thread, panics ("already borrowed").
    RefCell,
    /// Re-entered on one thread, deadlocks.
    Mutex,
}

/// A non-reentrant lock of either kind.
enum Lock<T> {
    RefCell(RefCell<T>),
    Mutex(Mutex<T>),
}

impl<T> Lock<T> {
    fn new(kind: LockKind, value: T) -> Self {
        match kind {
            LockKind::RefCell => Lock::RefCell(RefCell::new(value)),
            LockKind::Mutex => Lock::Mutex(Mutex::new(value)),
        }
    }

    /// Runs `f` with the lock held.
    fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        match self {
            Lock::RefCell(cell) => f(&mut cell.borrow_mut()),
            Lock::Mutex(mutex) => f(&mut mutex.lock().unwrap_or_else(|e| e.into_inner())),
        }
    }
}

#[derive(Default)]
struct State {
    notified: bool,
    waker: Option<Waker>,
}

#[derive(Clone)]
pub struct Notify {
    state: Rc<Lock<State>>,
    flavor: Flavor,
}

pub struct Notified(Notify);

impl Notify {
    pub fn new(flavor: Flavor, lock: LockKind) -> Self {
        Notify { state: Rc::new(Lock::new(lock, State::default())), flavor }
    }

    pub fn notified(&self) -> Notified {
        Notified(self.clone())
    }

    /// Sets the flag and wakes the waiter, outside the lock (correct in both flavors).
    pub fn notify(&self) {
        let waker = self.state.with(|s| {
            s.notified = true;
            s.waker.take()
        });
        wake(waker);
    }
}

impl Future for Notified {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let buggy = self.0.flavor.buggy();
        let (ready, replaced) = self.0.state.with(|s| {
            if s.notified {
                return (true, None);
            }
            let replaced = match &s.waker {
                Some(w) if w.will_wake(cx.waker()) => None,
                _ => s.waker.replace(cx.waker().clone()),
            };
            if buggy {
                // Drops the replaced waker with the lock held.
                drop(replaced);
                (false, None)
            } else {
                (false, replaced)
            }
        });
        // The fixed flavor drops it here, after the lock is released.
        drop(replaced);
        if ready {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

fn scenario_with(flavor: Flavor, lock: LockKind) -> Scenario {
    let notify = Notify::new(flavor, lock);
    Scenario::new().task(notify.notified()).step(move || notify.notify())
}

/// The notifier over a `RefCell`: the buggy flavor panics under `u`.
pub fn scenario(flavor: Flavor) -> Scenario {
    scenario_with(flavor, LockKind::RefCell)
}

/// The notifier over a `std::sync::Mutex`: the buggy flavor deadlocks under `u`.
pub fn scenario_mutex(flavor: Flavor) -> Scenario {
    scenario_with(flavor, LockKind::Mutex)
}

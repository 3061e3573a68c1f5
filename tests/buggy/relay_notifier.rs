//! A multi-waiter notifier (`notify_one` notifies one waiter or stores a permit) whose
//! registered waiters check only their own `notified` flag, never the stored permits
//! (a permit is only for a waiter's first poll). Bug: a waiter that was notified but
//! is dropped before it is polled turns its notification into a permit instead of
//! passing it to the next waiter, so a waiter already registered never sees it.
//!
//! The existing detectors cannot see it: the other waiter's waker stays registered
//! (so something *could* wake it) and an extra poll returns `Pending` (it checks its
//! own flag). Only a declaration that the waiter must finish
//! ([`Scenario::must_finish`]) makes its stranding a violation (`StuckTask`).
//!
//! The scenario sends one notification to two tasks; task 0 relays it (once
//! notified, it notifies again), so with a correct notifier task 1 finishes under
//! every schedule that neither cancels nor abandons it.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use super::{swap_waker, Flavor};
use pollcheck::Scenario;

struct Waiter {
    id: usize,
    waker: Option<Waker>,
    notified: bool,
}

#[derive(Default)]
struct State {
    permits: usize,
    waiters: Vec<Waiter>,
    next_id: usize,
}

#[derive(Clone)]
pub struct Notify {
    state: Rc<RefCell<State>>,
    flavor: Flavor,
}

pub struct Notified {
    notify: Notify,
    id: Option<usize>,
    done: bool,
}

impl Notify {
    pub fn new(flavor: Flavor) -> Self {
        Notify { state: Rc::default(), flavor }
    }

    pub fn notified(&self) -> Notified {
        Notified { notify: self.clone(), id: None, done: false }
    }

    /// Notifies the first waiter not notified yet, or stores a permit for a future
    /// waiter's first poll.
    pub fn notify_one(&self) {
        let waker = {
            let mut s = self.state.borrow_mut();
            match s.waiters.iter_mut().find(|w| !w.notified) {
                Some(w) => {
                    w.notified = true;
                    w.waker.take()
                }
                None => {
                    s.permits += 1;
                    None
                }
            }
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl Future for Notified {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        let mut guard = this.notify.state.borrow_mut();
        let s = &mut *guard;
        if let Some(id) = this.id {
            // Registered: only its own notification counts.
            let i = s.waiters.iter().position(|w| w.id == id).expect("registered");
            if s.waiters[i].notified {
                s.waiters.remove(i);
                this.done = true;
                return Poll::Ready(());
            }
            let old = swap_waker(&mut s.waiters[i].waker, cx.waker());
            drop(guard);
            drop(old);
            return Poll::Pending;
        }
        if s.permits > 0 {
            s.permits -= 1;
            this.done = true;
            return Poll::Ready(());
        }
        let id = s.next_id;
        s.next_id += 1;
        s.waiters.push(Waiter { id, waker: Some(cx.waker().clone()), notified: false });
        this.id = Some(id);
        Poll::Pending
    }
}

impl Drop for Notified {
    fn drop(&mut self) {
        let (Some(id), false) = (self.id, self.done) else { return };
        let removed = {
            let mut s = self.notify.state.borrow_mut();
            let i = s.waiters.iter().position(|w| w.id == id).expect("registered");
            s.waiters.remove(i)
        };
        if removed.notified {
            if self.notify.flavor.buggy() {
                // Keeps the notification as a permit, which registered waiters never
                // look at.
                self.notify.state.borrow_mut().permits += 1;
            } else {
                self.notify.notify_one();
            }
        }
        drop(removed);
    }
}

/// Task 0 relays the notification to task 1; nothing is declared.
pub fn scenario(flavor: Flavor) -> Scenario {
    let notify = Notify::new(flavor);
    let relay = notify.clone();
    Scenario::new()
        .task(async move {
            relay.notified().await;
            relay.notify_one();
        })
        .task(notify.notified())
        .step(move || notify.notify_one())
}

/// The same, with task 1 declared to finish.
pub fn must_finish(flavor: Flavor) -> Scenario {
    scenario(flavor).must_finish()
}

/// Two plain waiters and one notification: either may rightly be the one left waiting.
pub fn two_waiters(flavor: Flavor) -> Scenario {
    let notify = Notify::new(flavor);
    Scenario::new().task(notify.notified()).task(notify.notified()).step(move || notify.notify_one())
}

/// The same, where at least one of them must finish (a quorum of 1).
pub fn quorum(flavor: Flavor) -> Scenario {
    two_waiters(flavor).quorum(1)
}

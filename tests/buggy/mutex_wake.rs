//! A notifier on a `std::sync::Mutex`. Bug: `notify` wakes the waiter while it still
//! holds the mutex. A waker is arbitrary code: with `r` pollcheck runs the next
//! `notify` inside that wake, which locks the mutex again on the same thread and
//! deadlocks (a hang). The fixed notifier takes the waker out and wakes it after
//! unlocking. (tests/buggy/locked_wake.rs is the same bug on a `RefCell`, a panic.)

use std::future::{poll_fn, Future};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};

use super::{swap_waker, Flavor};
use pollcheck::Scenario;

#[derive(Default)]
struct State {
    notified: usize,
    waiter: Option<Waker>,
}

#[derive(Clone)]
pub struct Notify {
    state: Arc<Mutex<State>>,
    flavor: Flavor,
}

impl Notify {
    pub fn new(flavor: Flavor) -> Self {
        Notify { state: Arc::default(), flavor }
    }

    pub fn notify(&self) {
        let mut s = self.state.lock().unwrap();
        s.notified += 1;
        let waiter = s.waiter.take();
        if self.flavor.buggy() {
            if let Some(w) = waiter {
                w.wake();
            }
        } else {
            drop(s);
            if let Some(w) = waiter {
                w.wake();
            }
        }
    }

    /// Waits until `notify` was called at least `n` times.
    pub fn wait_for(&self, n: usize) -> impl Future<Output = usize> {
        let state = Arc::clone(&self.state);
        poll_fn(move |cx| {
            let mut s = state.lock().unwrap();
            if s.notified >= n {
                return Poll::Ready(s.notified);
            }
            let old = swap_waker(&mut s.waiter, cx.waker());
            drop(s);
            drop(old);
            Poll::Pending
        })
    }
}

pub fn scenario(flavor: Flavor) -> Scenario {
    let notify = Notify::new(flavor);
    let (a, b) = (notify.clone(), notify.clone());
    Scenario::new().task(notify.wait_for(2)).step(move || a.notify()).step(move || b.notify())
}

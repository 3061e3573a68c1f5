//! A "ready flag" that one task sets and another waits for. Bug: the waiter's `poll`
//! spins until the flag is set, as if another thread would set it; on an executor's
//! thread the setter never runs, so the poll never returns (a busy loop: a hang).
//! The fixed waiter registers its waker and returns `Pending`.
//!
//! `release` lets a test free the thread a hang report leaves behind once it has the
//! report (the checker knows nothing of it: to the checker the poll just never returns).

use std::cell::{Cell, RefCell};
use std::future::{poll_fn, Future};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Poll, Waker};

use super::Flavor;
use pollcheck::Scenario;

#[derive(Default)]
struct Flag {
    set: Cell<bool>,
    waiter: RefCell<Option<Waker>>,
}

fn wait(flag: Rc<Flag>, flavor: Flavor, release: Arc<AtomicBool>) -> impl Future<Output = ()> {
    poll_fn(move |cx| {
        if flavor.buggy() {
            while !flag.set.get() && !release.load(Ordering::Relaxed) {
                std::hint::spin_loop();
            }
        }
        if flag.set.get() {
            return Poll::Ready(());
        }
        *flag.waiter.borrow_mut() = Some(cx.waker().clone());
        Poll::Pending
    })
}

fn set(flag: Rc<Flag>) -> impl Future<Output = ()> {
    poll_fn(move |_| {
        flag.set.set(true);
        let waiter = flag.waiter.borrow_mut().take();
        if let Some(w) = waiter {
            w.wake();
        }
        Poll::Ready(())
    })
}

/// Task 0 waits for the flag, task 1 sets it.
pub fn scenario_with_release(flavor: Flavor, release: Arc<AtomicBool>) -> Scenario {
    let flag = Rc::new(Flag::default());
    Scenario::new().task(wait(flag.clone(), flavor, release)).task(set(flag))
}

pub fn scenario(flavor: Flavor) -> Scenario {
    scenario_with_release(flavor, Arc::default())
}

//! A flag with one registered waiter. Bug: the waiter checks the flag and only then
//! registers its waker, so a set that lands between the two wakes nobody (the classic
//! check-then-register race); the fix registers first and checks after. `k0` runs the
//! setter inside the clone that registers, which is exactly between the two.
//!
//! [`locked`] is a correct flag that clones the waker while it holds its own lock: a
//! setter run inside that clone meets the lock (a `RefCell`: the nested step panics;
//! a `Mutex` would deadlock, a hang).

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use super::Flavor;
use pollcheck::Scenario;

#[derive(Default)]
struct State {
    set: bool,
    waiter: Option<Waker>,
}

fn set(state: &RefCell<State>) {
    let waiter = {
        let mut s = state.borrow_mut();
        s.set = true;
        s.waiter.take()
    };
    if let Some(w) = waiter {
        w.wake();
    }
}

pub struct Wait {
    state: Rc<RefCell<State>>,
    flavor: Flavor,
}

impl Future for Wait {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.flavor.buggy() {
            if self.state.borrow().set {
                return Poll::Ready(());
            }
            let waker = cx.waker().clone();
            // The replaced waker is dropped outside the borrow (its drop may run code).
            let old = self.state.borrow_mut().waiter.replace(waker);
            drop(old);
            Poll::Pending
        } else {
            let waker = cx.waker().clone();
            let old = self.state.borrow_mut().waiter.replace(waker);
            drop(old);
            if self.state.borrow().set {
                return Poll::Ready(());
            }
            Poll::Pending
        }
    }
}

/// One waiter; the driver sets the flag. The waiter must finish.
pub fn scenario(flavor: Flavor) -> Scenario {
    let state = Rc::new(RefCell::new(State::default()));
    let wait = Wait { state: state.clone(), flavor };
    Scenario::new().task(wait).step(move || set(&state))
}

/// A correct waiter that clones its waker while it holds the state borrowed.
pub struct LockedWait(Rc<RefCell<State>>);

impl Future for LockedWait {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut s = self.0.borrow_mut();
        if s.set {
            return Poll::Ready(());
        }
        s.waiter = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// [`LockedWait`] and the setter.
pub fn locked() -> Scenario {
    let state = Rc::new(RefCell::new(State::default()));
    Scenario::new().task(LockedWait(state.clone())).step(move || set(&state))
}

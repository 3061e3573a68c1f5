//! A one-shot event flag. Bug: on `Pending` the waiter forgets to store its waker,
//! so setting the flag wakes nobody (lost wakeup: every clone dropped unwoken).

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use super::{swap_waker, wake, Flavor};
use pollcheck::Scenario;

#[derive(Default)]
struct State {
    set: bool,
    waker: Option<Waker>,
}

pub struct Flag(Rc<RefCell<State>>);

pub struct Wait {
    state: Rc<RefCell<State>>,
    flavor: Flavor,
}

impl Flag {
    pub fn new(flavor: Flavor) -> (Flag, Wait) {
        let state = Rc::new(RefCell::new(State::default()));
        (Flag(state.clone()), Wait { state, flavor })
    }

    pub fn set(&self) {
        let waker = {
            let mut s = self.0.borrow_mut();
            s.set = true;
            s.waker.take()
        };
        wake(waker);
    }
}

impl Future for Wait {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut s = self.state.borrow_mut();
        if s.set {
            return Poll::Ready(());
        }
        let old = if self.flavor.buggy() { None } else { swap_waker(&mut s.waker, cx.waker()) };
        drop(s);
        drop(old);
        Poll::Pending
    }
}

pub fn scenario(flavor: Flavor) -> Scenario {
    let (flag, wait) = Flag::new(flavor);
    Scenario::new().task(wait).step(move || flag.set())
}

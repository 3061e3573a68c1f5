//! A oneshot receiver. Bug: it assumes that being polled again means it was woken,
//! so any second poll "completes", with no value (spurious-poll intolerance).

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use super::{swap_waker, wake, Flavor};
use pollcheck::Scenario;

#[derive(Default)]
struct State {
    value: Option<u32>,
    waker: Option<Waker>,
}

pub struct Receiver {
    state: Rc<RefCell<State>>,
    polled: bool,
    flavor: Flavor,
}

impl Future for Receiver {
    type Output = Option<u32>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<u32>> {
        if self.flavor.buggy() && self.polled {
            // "We were woken, so the value must be there."
            return Poll::Ready(self.state.borrow_mut().value.take());
        }
        self.polled = true;
        let mut s = self.state.borrow_mut();
        if let Some(v) = s.value.take() {
            return Poll::Ready(Some(v));
        }
        let old = swap_waker(&mut s.waker, cx.waker());
        drop(s);
        drop(old);
        Poll::Pending
    }
}

/// The receiver and the send of 7 (also used by benches/detection.rs).
pub fn parts(flavor: Flavor) -> (Receiver, impl FnOnce()) {
    let state = Rc::new(RefCell::new(State::default()));
    let rx = Receiver { state: state.clone(), polled: false, flavor };
    let send = move || {
        let waker = {
            let mut s = state.borrow_mut();
            s.value = Some(7);
            s.waker.take()
        };
        wake(waker);
    };
    (rx, send)
}

pub fn scenario(flavor: Flavor) -> Scenario {
    let (rx, send) = parts(flavor);
    Scenario::new().task(rx).step(send)
}

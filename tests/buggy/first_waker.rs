//! A oneshot channel. Bug: the receiver stores only the first waker it sees, so when
//! it is re-polled with a new waker (moved to another task, or re-polled by a
//! combinator) the send wakes the stale one (stale waker).

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

pub struct Sender(Rc<RefCell<State>>);

pub struct Receiver {
    state: Rc<RefCell<State>>,
    flavor: Flavor,
}

pub fn channel(flavor: Flavor) -> (Sender, Receiver) {
    let state = Rc::new(RefCell::new(State::default()));
    (Sender(state.clone()), Receiver { state, flavor })
}

impl Sender {
    pub fn send(self, value: u32) {
        let waker = {
            let mut s = self.0.borrow_mut();
            s.value = Some(value);
            s.waker.take()
        };
        wake(waker);
    }
}

impl Future for Receiver {
    type Output = u32;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        let mut s = self.state.borrow_mut();
        if let Some(v) = s.value.take() {
            return Poll::Ready(v);
        }
        let old = if self.flavor.buggy() && s.waker.is_some() { None } else { swap_waker(&mut s.waker, cx.waker()) };
        drop(s);
        drop(old);
        Poll::Pending
    }
}

pub fn scenario(flavor: Flavor) -> Scenario {
    let (tx, rx) = channel(flavor);
    Scenario::new().task(rx).step(move || tx.send(7))
}

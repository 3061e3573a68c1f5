//! A oneshot channel. Bug: the sender wakes the receiver *before* it stores the
//! value. An executor may poll the woken task before `wake` returns (a worker thread
//! does exactly that), and then the task finds nothing, registers again, and is never
//! woken for the value that lands a moment later (lost wakeup; pollcheck's `i0`).

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

pub struct Sender {
    state: Rc<RefCell<State>>,
    flavor: Flavor,
}

pub struct Receiver(Rc<RefCell<State>>);

pub fn channel(flavor: Flavor) -> (Sender, Receiver) {
    let state = Rc::new(RefCell::new(State::default()));
    (Sender { state: state.clone(), flavor }, Receiver(state))
}

impl Sender {
    pub fn send(self, value: u32) {
        if self.flavor.buggy() {
            let waker = self.state.borrow_mut().waker.take();
            wake(waker);
            self.state.borrow_mut().value = Some(value);
        } else {
            let waker = {
                let mut s = self.state.borrow_mut();
                s.value = Some(value);
                s.waker.take()
            };
            wake(waker);
        }
    }
}

impl Future for Receiver {
    type Output = u32;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        let mut s = self.0.borrow_mut();
        if let Some(v) = s.value.take() {
            return Poll::Ready(v);
        }
        let old = swap_waker(&mut s.waker, cx.waker());
        drop(s);
        drop(old);
        Poll::Pending
    }
}

pub fn scenario(flavor: Flavor) -> Scenario {
    let (tx, rx) = channel(flavor);
    Scenario::new().task(rx).step(move || tx.send(7))
}

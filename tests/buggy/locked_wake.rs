//! A queue channel. Bug: `send` wakes the receiver while it still holds its own lock
//! (here a `RefCell` borrow, which panics where a mutex would deadlock). A waker is
//! arbitrary code; pollcheck's `r` runs the next send inside that wake (panic).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use super::{swap_waker, wake, Flavor};
use pollcheck::Scenario;

#[derive(Default)]
struct State {
    queue: VecDeque<u32>,
    waker: Option<Waker>,
}

pub struct Sender {
    state: Rc<RefCell<State>>,
    flavor: Flavor,
}

pub struct Recv(Rc<RefCell<State>>);

impl Sender {
    pub fn send(&self, v: u32) {
        let mut s = self.state.borrow_mut();
        s.queue.push_back(v);
        let waker = s.waker.take();
        if self.flavor.buggy() {
            wake(waker);
        } else {
            drop(s);
            wake(waker);
        }
    }
}

impl Future for Recv {
    type Output = u32;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        let mut s = self.0.borrow_mut();
        if let Some(v) = s.queue.pop_front() {
            return Poll::Ready(v);
        }
        let old = swap_waker(&mut s.waker, cx.waker());
        drop(s);
        drop(old);
        Poll::Pending
    }
}

/// A sender and its receiver (also used by benches/detection.rs).
pub fn channel(flavor: Flavor) -> (Sender, Recv) {
    let state = Rc::new(RefCell::new(State::default()));
    (Sender { state: state.clone(), flavor }, Recv(state))
}

pub fn scenario(flavor: Flavor) -> Scenario {
    let (tx, rx) = channel(flavor);
    let tx = Rc::new(tx);
    let tx2 = tx.clone();
    Scenario::new().task(rx).step(move || tx.send(1)).step(move || tx2.send(2))
}

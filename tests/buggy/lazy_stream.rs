//! An unbounded channel whose receiver is a `Stream`. Bug: once it has yielded an
//! item, it returns `Pending` on an empty buffer without registering its waker ("it
//! was woken already"), so the next send wakes nobody (lost wakeup).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use futures_util::Stream;

use super::{swap_waker, wake, Flavor};
use pollcheck::Scenario;

#[derive(Default)]
struct State {
    items: VecDeque<u32>,
    closed: bool,
    waker: Option<Waker>,
}

pub struct Sender(Rc<RefCell<State>>);

pub struct Receiver {
    state: Rc<RefCell<State>>,
    yielded: bool,
    flavor: Flavor,
}

impl Sender {
    pub fn send(&self, item: u32) {
        let waker = {
            let mut s = self.0.borrow_mut();
            s.items.push_back(item);
            s.waker.take()
        };
        wake(waker);
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        let waker = {
            let mut s = self.0.borrow_mut();
            s.closed = true;
            s.waker.take()
        };
        wake(waker);
    }
}

impl Stream for Receiver {
    type Item = u32;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<u32>> {
        let mut s = self.state.borrow_mut();
        if let Some(item) = s.items.pop_front() {
            drop(s);
            self.yielded = true;
            return Poll::Ready(Some(item));
        }
        if s.closed {
            return Poll::Ready(None);
        }
        let old = if self.flavor.buggy() && self.yielded { None } else { swap_waker(&mut s.waker, cx.waker()) };
        drop(s);
        drop(old);
        Poll::Pending
    }
}

pub fn channel(flavor: Flavor) -> (Sender, Receiver) {
    let state = Rc::new(RefCell::new(State::default()));
    (Sender(state.clone()), Receiver { state, yielded: false, flavor })
}

pub fn scenario(flavor: Flavor) -> Scenario {
    let (tx, rx) = channel(flavor);
    let tx = Rc::new(tx);
    let tx2 = tx.clone();
    Scenario::new().stream_task(rx).step(move || tx.send(1)).step(move || tx2.send(2))
}

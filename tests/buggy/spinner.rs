//! A busy-waiting receiver (it wakes itself instead of registering, which is legal).
//! Bug: it does not handle the sender going away, so once the channel is closed it
//! wakes itself and returns `Pending` forever (spin).

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::Flavor;
use pollcheck::Scenario;

#[derive(Default)]
struct State {
    value: Option<u32>,
    closed: bool,
}

pub struct Receiver {
    state: Rc<RefCell<State>>,
    flavor: Flavor,
}

impl Future for Receiver {
    type Output = Option<u32>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<u32>> {
        let mut s = self.state.borrow_mut();
        if let Some(v) = s.value.take() {
            return Poll::Ready(Some(v));
        }
        if s.closed && !self.flavor.buggy() {
            return Poll::Ready(None);
        }
        drop(s);
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// The receiver and the sender going away without sending (also used by
/// benches/detection.rs).
pub fn parts(flavor: Flavor) -> (Receiver, impl FnOnce()) {
    let state = Rc::new(RefCell::new(State::default()));
    let rx = Receiver { state: state.clone(), flavor };
    (rx, move || state.borrow_mut().closed = true)
}

/// The sender goes away without sending.
pub fn scenario(flavor: Flavor) -> Scenario {
    let (rx, close) = parts(flavor);
    Scenario::new().task(rx).step(close)
}

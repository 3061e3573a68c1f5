//! A watch-style stream of values. Bug: the receiver keeps the first waker it
//! registered, so after the task is re-polled with a new waker (moved to another
//! task, re-polled by a combinator) the next value wakes the stale one.

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

pub struct Receiver {
    state: Rc<RefCell<State>>,
    flavor: Flavor,
}

fn notify(state: &RefCell<State>, change: impl FnOnce(&mut State)) {
    let waker = {
        let mut s = state.borrow_mut();
        change(&mut s);
        // The buggy receiver's registration is kept: wake a clone of it.
        s.waker.clone()
    };
    wake(waker);
}

impl Stream for Receiver {
    type Item = u32;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<u32>> {
        let mut s = self.state.borrow_mut();
        if let Some(item) = s.items.pop_front() {
            return Poll::Ready(Some(item));
        }
        if s.closed {
            return Poll::Ready(None);
        }
        let old = if self.flavor.buggy() && s.waker.is_some() { None } else { swap_waker(&mut s.waker, cx.waker()) };
        drop(s);
        drop(old);
        Poll::Pending
    }
}

pub fn scenario(flavor: Flavor) -> Scenario {
    let state = Rc::new(RefCell::new(State::default()));
    let rx = Receiver { state: state.clone(), flavor };
    let closer = state.clone();
    Scenario::new()
        .stream_task(rx)
        .step(move || notify(&state, |s| s.items.push_back(1)))
        .step(move || notify(&closer, |s| s.closed = true))
}

//! Two receivers that cannot stand being polled without a wake. Bugs: one panics
//! ("woken, so the value must be there"); the other reports how many polls it took
//! as part of its output, so a spurious poll changes its result.

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

pub struct Expecting {
    state: Rc<RefCell<State>>,
    registered: bool,
    flavor: Flavor,
}

impl Future for Expecting {
    type Output = u32;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        let mut s = self.state.borrow_mut();
        if self.registered && self.flavor.buggy() {
            return Poll::Ready(s.value.take().expect("woken, so the value must be there"));
        }
        if let Some(v) = s.value.take() {
            return Poll::Ready(v);
        }
        let old = swap_waker(&mut s.waker, cx.waker());
        drop(s);
        drop(old);
        self.registered = true;
        Poll::Pending
    }
}

pub struct Counting {
    state: Rc<RefCell<State>>,
    polls: u32,
    flavor: Flavor,
}

impl Future for Counting {
    /// The value, and (buggy flavor) how many polls it took.
    type Output = (u32, u32);
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<(u32, u32)> {
        self.polls += 1;
        let mut s = self.state.borrow_mut();
        if let Some(v) = s.value.take() {
            let polls = if self.flavor.buggy() { self.polls } else { 0 };
            return Poll::Ready((v, polls));
        }
        let old = swap_waker(&mut s.waker, cx.waker());
        drop(s);
        drop(old);
        Poll::Pending
    }
}

fn send(state: &RefCell<State>, v: u32) {
    let waker = {
        let mut s = state.borrow_mut();
        s.value = Some(v);
        s.waker.take()
    };
    wake(waker);
}

/// The panicking receiver and the send of 7 (also used by benches/detection.rs).
pub fn panicking_parts(flavor: Flavor) -> (Expecting, impl FnOnce()) {
    let state = Rc::new(RefCell::new(State::default()));
    let rx = Expecting { state: state.clone(), registered: false, flavor };
    (rx, move || send(&state, 7))
}

/// The counting receiver and the send of 7 (also used by benches/detection.rs).
pub fn counting_parts(flavor: Flavor) -> (Counting, impl FnOnce()) {
    let state = Rc::new(RefCell::new(State::default()));
    let rx = Counting { state: state.clone(), polls: 0, flavor };
    (rx, move || send(&state, 7))
}

pub fn panicking(flavor: Flavor) -> Scenario {
    let (rx, send) = panicking_parts(flavor);
    Scenario::new().task(rx).step(send)
}

pub fn counting(flavor: Flavor) -> Scenario {
    let (rx, send) = counting_parts(flavor);
    Scenario::new().task(rx).step(send)
}

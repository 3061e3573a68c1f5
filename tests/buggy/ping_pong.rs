//! Waiters that park in one shared slot. Bug: a waiter that finds the slot taken wakes
//! the waiter it displaces ("so it can check again"), which parks again and displaces
//! the first: with nothing to receive, the two wake each other forever (a livelock
//! across tasks; neither wakes itself, so no single task spins).

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use super::Flavor;
use pollcheck::Scenario;

#[derive(Default)]
struct State {
    /// Set by a sender this scenario leaves out.
    value: Option<u32>,
    /// Buggy: one slot. Fixed: every waiter's latest waker.
    parked: Vec<Waker>,
}

pub struct Waiter {
    state: Rc<RefCell<State>>,
    flavor: Flavor,
}

impl Future for Waiter {
    type Output = u32;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        let mut s = self.state.borrow_mut();
        if let Some(v) = s.value.take() {
            return Poll::Ready(v);
        }
        if self.flavor.buggy() {
            let displaced = s.parked.pop();
            s.parked.push(cx.waker().clone());
            drop(s);
            if let Some(w) = displaced.filter(|w| !w.will_wake(cx.waker())) {
                w.wake();
            }
        } else if !s.parked.iter().any(|w| w.will_wake(cx.waker())) {
            s.parked.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

/// Two waiters, and nothing sent yet.
pub fn scenario(flavor: Flavor) -> Scenario {
    let state = Rc::new(RefCell::new(State::default()));
    let waiter = || Waiter { state: state.clone(), flavor };
    Scenario::new().task(waiter()).task(waiter())
}

/// Correct: two tasks that take turns `rounds` times each, each turn waking the other,
/// then finish (a bounded relay at quiescence is not a livelock).
pub fn relay(rounds: u32) -> Scenario {
    #[derive(Default)]
    struct Baton {
        turn: usize,
        taken: [u32; 2],
        wakers: [Option<Waker>; 2],
    }
    struct Runner {
        me: usize,
        baton: Rc<RefCell<Baton>>,
        rounds: u32,
    }
    impl Future for Runner {
        type Output = u32;
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
            let mut b = self.baton.borrow_mut();
            b.wakers[self.me] = Some(cx.waker().clone());
            if b.turn == self.me {
                b.taken[self.me] += 1;
                b.turn = 1 - self.me;
                if let Some(w) = b.wakers[1 - self.me].take() {
                    w.wake();
                }
                if b.taken[self.me] == self.rounds {
                    b.wakers[self.me] = None;
                    return Poll::Ready(b.taken[self.me]);
                }
            }
            Poll::Pending
        }
    }
    let baton = Rc::new(RefCell::new(Baton::default()));
    let runner = |me| Runner { me, baton: baton.clone(), rounds };
    Scenario::new().task(runner(0)).task(runner(1))
}

//! A multi-receiver channel (each `send` queues a message and notifies one waiting
//! receiver). Bug: `send` notifies the first waiting receiver even when it was
//! notified already, instead of one that was not. A receive future that completes
//! having been notified more than once hands the extra notifications on to the other
//! waiters, so as long as every notified receiver is polled, every message still
//! reaches a receiver.
//!
//! Only an abandoned receiver (never polled again, never dropped) shows the bug: it
//! sits on both notifications and the other receiver is never woken, though a message
//! waits for it. By default pollcheck excuses that (an abandoned task holds a pending
//! wake); [`Scenario::strict_abandonment`] does not, because a channel promises that
//! every message wakes a receiver that is still polled. The scenario sends as many
//! messages as there are receivers, so the fixed channel passes under it.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use super::{swap_waker, wake, Flavor};
use pollcheck::Scenario;

struct Waiter {
    id: usize,
    waker: Option<Waker>,
    /// Notifications received since it last found the queue empty.
    notified: u32,
}

#[derive(Default)]
struct State {
    queue: VecDeque<u32>,
    waiters: Vec<Waiter>,
    next_id: usize,
}

#[derive(Clone)]
pub struct Channel {
    state: Rc<RefCell<State>>,
    flavor: Flavor,
}

pub struct Recv {
    channel: Channel,
    id: Option<usize>,
    done: bool,
}

impl Channel {
    pub fn new(flavor: Flavor) -> Self {
        Channel { state: Rc::default(), flavor }
    }

    pub fn recv(&self) -> Recv {
        Recv { channel: self.clone(), id: None, done: false }
    }

    pub fn send(&self, value: u32) {
        self.state.borrow_mut().queue.push_back(value);
        self.notify_one();
    }

    fn notify_one(&self) {
        let waker = {
            let mut s = self.state.borrow_mut();
            let buggy = self.flavor.buggy();
            // The bug: the first waiter, notified or not.
            match s.waiters.iter_mut().find(|w| buggy || w.notified == 0) {
                Some(w) => {
                    w.notified += 1;
                    w.waker.take()
                }
                None => None,
            }
        };
        wake(waker);
    }

    /// Passes `n` notifications on to other waiters.
    fn hand_on(&self, n: u32) {
        for _ in 0..n {
            self.notify_one();
        }
    }
}

impl Future for Recv {
    type Output = u32;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        let this = &mut *self;
        let mut guard = this.channel.state.borrow_mut();
        let s = &mut *guard;
        let at = this.id.map(|id| s.waiters.iter().position(|w| w.id == id).expect("registered"));
        if let Some(value) = s.queue.pop_front() {
            this.done = true;
            let extra = at.map_or(0, |i| s.waiters.remove(i).notified.saturating_sub(1));
            drop(guard);
            this.channel.hand_on(extra);
            return Poll::Ready(value);
        }
        match at {
            Some(i) => {
                // Woken for a message another receiver took: wait again.
                s.waiters[i].notified = 0;
                let old = swap_waker(&mut s.waiters[i].waker, cx.waker());
                drop(guard);
                drop(old);
            }
            None => {
                let id = s.next_id;
                s.next_id += 1;
                s.waiters.push(Waiter { id, waker: Some(cx.waker().clone()), notified: 0 });
                this.id = Some(id);
            }
        }
        Poll::Pending
    }
}

impl Drop for Recv {
    fn drop(&mut self) {
        let (Some(id), false) = (self.id, self.done) else { return };
        let removed = {
            let mut s = self.channel.state.borrow_mut();
            let i = s.waiters.iter().position(|w| w.id == id).expect("registered");
            s.waiters.remove(i)
        };
        self.channel.hand_on(removed.notified);
        drop(removed);
    }
}

/// Two receivers, two messages, every receiver declared to finish.
pub fn scenario(flavor: Flavor) -> Scenario {
    let channel = Channel::new(flavor);
    let second = channel.clone();
    Scenario::new()
        .all_must_finish()
        .task(channel.recv())
        .task(channel.recv())
        .step(move || channel.send(1))
        .step(move || second.send(2))
}

/// The same under strict abandonment.
pub fn strict(flavor: Flavor) -> Scenario {
    scenario(flavor).strict_abandonment()
}

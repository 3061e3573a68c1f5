//! A bounded channel (capacity 1) whose sender is a `Sink`. Bug: `poll_ready` says
//! `Ready` when the buffer is full, and `start_send` then drops the item. The receiver
//! waits for an item that was accepted and lost: declared with `must_finish`, it is a
//! stuck task.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use futures_util::Sink;
use futures_util::Stream;
use futures_util::StreamExt;

use super::{swap_waker, wake, Flavor};
use pollcheck::{Bounds, Scenario};

const CAPACITY: usize = 1;

#[derive(Default)]
struct State {
    items: VecDeque<u32>,
    /// The sender waiting for room, and the receiver waiting for an item.
    tx_waker: Option<Waker>,
    rx_waker: Option<Waker>,
}

pub struct Sender {
    state: Rc<RefCell<State>>,
    flavor: Flavor,
}

pub struct Receiver(Rc<RefCell<State>>);

impl Sink<u32> for Sender {
    type Error = ();

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), ()>> {
        let mut s = self.state.borrow_mut();
        if s.items.len() < CAPACITY || self.flavor.buggy() {
            return Poll::Ready(Ok(()));
        }
        let old = swap_waker(&mut s.tx_waker, cx.waker());
        drop(s);
        drop(old);
        Poll::Pending
    }

    fn start_send(self: Pin<&mut Self>, item: u32) -> Result<(), ()> {
        let waker = {
            let mut s = self.state.borrow_mut();
            if s.items.len() < CAPACITY {
                s.items.push_back(item);
            } // else: full, the item is dropped (the bug poll_ready let in)
            s.rx_waker.take()
        };
        wake(waker);
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), ()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), ()>> {
        Poll::Ready(Ok(()))
    }
}

impl Stream for Receiver {
    type Item = u32;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<u32>> {
        let mut s = self.0.borrow_mut();
        if let Some(item) = s.items.pop_front() {
            let waker = s.tx_waker.take();
            drop(s);
            wake(waker);
            return Poll::Ready(Some(item));
        }
        let old = swap_waker(&mut s.rx_waker, cx.waker());
        drop(s);
        drop(old);
        Poll::Pending
    }
}

/// The sending and the receiving side.
pub fn channel(flavor: Flavor) -> (Sender, Receiver) {
    let state = Rc::new(RefCell::new(State::default()));
    (Sender { state: state.clone(), flavor }, Receiver(state))
}

/// The channel never closes: the receiver takes the three items it is sent.
pub fn scenario(flavor: Flavor) -> Scenario {
    let state = Rc::new(RefCell::new(State::default()));
    let tx = Sender { state: state.clone(), flavor };
    Scenario::new().sink_task(tx, [1, 2, 3]).task(Receiver(state).take(3).collect::<Vec<_>>()).must_finish()
}

/// Cancelling the sender leaves the receiver waiting, rightly (the channel never
/// closes): no cancels.
pub fn bounds() -> Bounds {
    Bounds { cancels: 0, ..Bounds::default() }
}

//! Two primitives on loom's types that the loom tests and the loom bench share, each
//! with its bug behind a switch. Built without `--cfg loom` (tests/loom_models.rs runs
//! on both engines) they are on std's types and futures' `AtomicWaker`.
#![allow(dead_code)] // each file that includes this uses some of it

use std::future::{poll_fn, Future};
use std::task::{Poll, Waker};

#[cfg(not(loom))]
use futures_util::task::AtomicWaker;
#[cfg(loom)]
use loom::future::AtomicWaker;
#[cfg(loom)]
use loom::sync::{
    atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst},
    Arc, Mutex,
};
#[cfg(not(loom))]
use std::sync::{
    atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst},
    Arc, Mutex,
};

/// A flag and its waiter's `AtomicWaker`. Buggy (`recheck: false`): the waiter checks
/// the flag, registers, and does not check again. Interleaving: the waiter sees
/// `false`; the setter sets and wakes an empty `AtomicWaker`; the waiter registers
/// and returns `Pending`. Nobody will wake it.
pub struct Flag {
    set: AtomicBool,
    waker: AtomicWaker,
    recheck: bool,
}

impl Flag {
    pub fn new(recheck: bool) -> Arc<Flag> {
        Arc::new(Flag { set: AtomicBool::new(false), waker: AtomicWaker::new(), recheck })
    }

    pub fn set(&self) {
        self.set.store(true, SeqCst);
        self.waker.wake();
    }

    pub fn wait(&self) -> impl Future<Output = ()> + '_ {
        poll_fn(move |cx| {
            if self.set.load(SeqCst) {
                return Poll::Ready(());
            }
            #[cfg(loom)]
            self.waker.register_by_ref(cx.waker());
            #[cfg(not(loom))]
            self.waker.register(cx.waker());
            if self.recheck && self.set.load(SeqCst) {
                return Poll::Ready(());
            }
            Poll::Pending
        })
    }
}

/// A oneshot. Buggy (`publish_first: false`): the sender takes the waker before it
/// publishes the value. Interleaving: the sender takes the registered waker #1; the
/// receiver is polled again (spuriously, with a new waker #2), sees no value and
/// registers #2; the sender publishes and wakes #1. The wake reached an old waker; the
/// latest one is never woken.
pub struct Oneshot {
    value: AtomicUsize,
    waker: Mutex<Option<Waker>>,
    publish_first: bool,
}

impl Oneshot {
    pub fn new(publish_first: bool) -> Arc<Oneshot> {
        Arc::new(Oneshot { value: AtomicUsize::new(0), waker: Mutex::new(None), publish_first })
    }

    pub fn send(&self, v: usize) {
        let waker = if self.publish_first {
            self.value.store(v, SeqCst);
            self.waker.lock().unwrap().take()
        } else {
            let w = self.waker.lock().unwrap().take();
            self.value.store(v, SeqCst);
            w
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    pub fn recv(&self) -> impl Future<Output = usize> + '_ {
        poll_fn(move |cx| {
            let mut slot = self.waker.lock().unwrap();
            let v = self.value.load(SeqCst);
            if v != 0 {
                return Poll::Ready(v);
            }
            let old = slot.replace(cx.waker().clone());
            drop(slot);
            drop(old);
            Poll::Pending
        })
    }
}

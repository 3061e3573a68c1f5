//! A timer registered in a thread-local reactor. Bug: a timer dropped before it fires
//! never deregisters, so the reactor keeps its waker forever (leaked waker).

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use super::Flavor;
use pollcheck::Scenario;

thread_local! {
    static REACTOR: RefCell<Vec<(usize, Waker)>> = const { RefCell::new(Vec::new()) };
    static NEXT: Cell<usize> = const { Cell::new(0) };
}

pub struct Sleep {
    key: usize,
    fired: Rc<Cell<bool>>,
    flavor: Flavor,
}

impl Future for Sleep {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.fired.get() {
            return Poll::Ready(());
        }
        let old = REACTOR.with(|r| {
            let mut r = r.borrow_mut();
            let old = r.iter().position(|(k, _)| *k == self.key).map(|i| r.remove(i));
            r.push((self.key, cx.waker().clone()));
            old
        });
        drop(old);
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if self.flavor.buggy() {
            return;
        }
        let entry = REACTOR.with(|r| {
            let mut r = r.borrow_mut();
            r.iter().position(|(k, _)| *k == self.key).map(|i| r.remove(i))
        });
        drop(entry);
    }
}

/// Fires the timer `key`.
pub fn fire(key: usize, fired: &Cell<bool>) {
    fired.set(true);
    let entry = REACTOR.with(|r| {
        let mut r = r.borrow_mut();
        r.iter().position(|(k, _)| *k == key).map(|i| r.remove(i))
    });
    if let Some((_, w)) = entry {
        w.wake();
    }
}

/// A new timer and what fires it (also used by benches/detection.rs).
pub fn timer(flavor: Flavor) -> (Sleep, impl FnOnce()) {
    let key = NEXT.with(|n| {
        n.set(n.get() + 1);
        n.get()
    });
    let fired = Rc::new(Cell::new(false));
    (Sleep { key, fired: fired.clone(), flavor }, move || fire(key, &fired))
}

/// A long timer that does not fire while the test runs, and one that does.
pub fn scenario(flavor: Flavor) -> Scenario {
    let (long, _never) = timer(flavor);
    let (short, fire_short) = timer(flavor);
    Scenario::new().task(long).task(short).step(fire_short)
}

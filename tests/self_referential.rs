//! `.checked()` around self-referential futures: an `async` block that holds a borrow
//! of its own local across an `.await`. The wrapper's move check must read its address
//! without reborrowing the whole wrapper (the pinned inner future included) as shared:
//! under miri's aliasing models (Stacked and Tree Borrows) such a reborrow between
//! polls invalidates the borrow the block holds, and its next use is undefined
//! behaviour (rust-lang/rust#137750). Run it under miri with `-Zmiri-strict-provenance`,
//! and again with `-Zmiri-tree-borrows`.

use std::future::Future;
use std::pin::{pin, Pin};
use std::task::{Context, Poll};

use futures_test::task::noop_context;
use pollcheck::{FutureCheckExt, Scenario};

/// Returns `Pending` once (waking itself first), then `Ready`.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if std::mem::replace(&mut self.0, true) {
            Poll::Ready(())
        } else {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// Writes through the borrow it holds when dropped: a drop of the pending block
/// uses the self-reference too.
struct Guard<'a>(&'a mut Vec<u32>);

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        self.0.push(99);
    }
}

/// A block whose state borrows its own `data` across two awaits, through a plain
/// `&mut` and through a guard.
async fn self_referential() -> Vec<u32> {
    let mut data = vec![1];
    {
        let held = &mut data;
        YieldOnce(false).await;
        held.push(2);
        let guard = Guard(held);
        YieldOnce(false).await;
        guard.0.push(3);
    }
    data
}

#[test]
fn a_checked_self_referential_block_is_polled_to_the_end() {
    let mut fut = pin!(self_referential().checked());
    let mut cx = noop_context();
    let mut polls = 0;
    let out = loop {
        polls += 1;
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            break out;
        }
    };
    assert_eq!(out, vec![1, 2, 3, 99]);
    assert_eq!(polls, 3);
}

#[test]
fn a_checked_self_referential_block_is_dropped_while_it_holds_its_borrow() {
    let mut fut = Box::pin(self_referential().checked());
    let mut cx = noop_context();
    assert!(fut.as_mut().poll(&mut cx).is_pending());
    assert!(fut.as_mut().poll(&mut cx).is_pending());
    // The guard's drop writes through the borrow after the wrapper's drop checked
    // the address.
    drop(fut);
}

#[test]
fn a_checked_self_referential_block_passes_under_a_real_executor() {
    assert_eq!(futures_executor::block_on(self_referential().checked()), vec![1, 2, 3, 99]);
}

#[test]
fn a_checked_self_referential_block_passes_the_checker() {
    pollcheck::Checker::new(|| Scenario::new().task(self_referential().checked()))
        .cases(if cfg!(miri) { 1 } else { 50 })
        .run();
}

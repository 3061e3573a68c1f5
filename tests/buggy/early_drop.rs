//! Two combinators that get dropping their child wrong.
//!
//! `EarlyDrop` drops its child in place as soon as it finishes, to free it early.
//! Bug: its own `Drop` drops the child again (double drop).
//!
//! `Detach` is meant to drop its child with itself. Bug: it hands the child to a
//! "graveyard" instead (a stand-in for `mem::forget` that this test can still clean
//! up), so the child outlives the task (leaked future).

use std::any::Any;
use std::cell::RefCell;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::Flavor;
use pollcheck::Scenario;

pub struct EarlyDrop<F> {
    child: ManuallyDrop<F>,
    dropped: bool,
    flavor: Flavor,
}

impl<F: Future> Future for EarlyDrop<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `child` is structurally pinned: dropped in place, never moved.
        let this = unsafe { self.get_unchecked_mut() };
        assert!(!this.dropped, "EarlyDrop polled after Ready");
        // SAFETY: see above.
        let poll = unsafe { Pin::new_unchecked(&mut *this.child) }.poll(cx);
        if poll.is_ready() {
            this.dropped = true;
            // SAFETY: the child finished and is dropped exactly once here; `dropped`
            // tells `Drop` (of the fixed flavor) not to drop it again.
            unsafe { ManuallyDrop::drop(&mut this.child) };
        }
        poll
    }
}

impl<F> Drop for EarlyDrop<F> {
    fn drop(&mut self) {
        if !self.dropped || self.flavor.buggy() {
            // SAFETY (of the fixed flavor): not dropped yet. The buggy flavor drops it
            // a second time on purpose; a probe survives that (its state lives on in
            // its handle) and reports it.
            unsafe { ManuallyDrop::drop(&mut self.child) };
        }
    }
}

pub fn early_drop<F>(child: F, flavor: Flavor) -> EarlyDrop<F> {
    EarlyDrop { child: ManuallyDrop::new(child), dropped: false, flavor }
}

thread_local! {
    static GRAVEYARD: RefCell<Vec<Box<dyn Any>>> = const { RefCell::new(Vec::new()) };
}

/// Drops whatever buggy `Detach`es left behind on this thread.
pub fn clear_graveyard() {
    let dead = GRAVEYARD.with(|g| std::mem::take(&mut *g.borrow_mut()));
    drop(dead);
}

pub struct Detach<F: 'static> {
    child: Option<Pin<Box<F>>>,
    flavor: Flavor,
}

impl<F: Future> Future for Detach<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.child.as_mut().expect("child present until drop").as_mut().poll(cx)
    }
}

impl<F: 'static> Drop for Detach<F> {
    fn drop(&mut self) {
        if let (Some(child), true) = (self.child.take(), self.flavor.buggy()) {
            GRAVEYARD.with(|g| g.borrow_mut().push(Box::new(child)));
        }
    }
}

pub fn detach<F>(child: F, flavor: Flavor) -> Detach<F> {
    Detach { child: Some(Box::pin(child)), flavor }
}

pub fn double_drop(flavor: Flavor) -> Scenario {
    let (a, ha) = pollcheck::probe::<u32>();
    Scenario::new().task(early_drop(a, flavor)).step(ha.completes(1))
}

pub fn leak(flavor: Flavor) -> Scenario {
    let (a, ha) = pollcheck::probe::<u32>();
    // Cancelled before it finishes: the child must go with it.
    let _keep = ha;
    Scenario::new().task(detach(a, flavor))
}

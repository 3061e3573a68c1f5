//! A combinator that keeps its child inline. Bug: it "compacts" its storage on every
//! poll by moving the child from one slot to another with unsafe code, although the
//! child is pinned (moved while pinned, caught on the `.checked()` child).

use std::future::Future;
use std::marker::PhantomPinned;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::{first_waker, Flavor};
use pollcheck::{FutureCheckExt, Scenario};

pub struct Inline<F> {
    slots: [Option<F>; 2],
    current: usize,
    flavor: Flavor,
    _pinned: PhantomPinned,
}

pub fn inline<F>(child: F, flavor: Flavor) -> Inline<F> {
    Inline { slots: [Some(child), None], current: 0, flavor, _pinned: PhantomPinned }
}

impl<F: Future> Future for Inline<F> {
    type Output = F::Output;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY (of the fixed flavor): `slots` is structurally pinned and never moved
        // out of. The buggy flavor breaks exactly this promise, on purpose.
        let this = unsafe { self.get_unchecked_mut() };
        if this.flavor.buggy() {
            let next = 1 - this.current;
            this.slots[next] = this.slots[this.current].take();
            this.current = next;
        }
        let child = this.slots[this.current].as_mut().expect("child present");
        // SAFETY: see above; `this` is pinned, so is its field.
        unsafe { Pin::new_unchecked(child) }.poll(cx)
    }
}

pub fn scenario(flavor: Flavor) -> Scenario {
    let (tx, rx) = first_waker::channel(Flavor::Fixed);
    Scenario::new().task(inline(rx.checked(), flavor)).step(move || tx.send(7))
}

//! A fair select that keeps its two children inline. Bug: to alternate which child
//! goes first it swaps them in place with unsafe code, moving both pinned children
//! (moved while pinned, reported by the probes).

use std::future::Future;
use std::marker::PhantomPinned;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::Flavor;
use pollcheck::Scenario;

pub struct FairSelect<F> {
    children: [F; 2],
    first: usize,
    flavor: Flavor,
    _pinned: PhantomPinned,
}

pub fn fair_select<F: Future>(a: F, b: F, flavor: Flavor) -> FairSelect<F> {
    FairSelect { children: [a, b], first: 0, flavor, _pinned: PhantomPinned }
}

impl<F: Future> Future for FairSelect<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY (of the fixed flavor): `children` is structurally pinned and never
        // moved. The buggy flavor breaks exactly this promise, on purpose.
        let this = unsafe { self.get_unchecked_mut() };
        for i in 0..2 {
            let index = if this.flavor.buggy() { i } else { (this.first + i) % 2 };
            // SAFETY: see above.
            let child = unsafe { Pin::new_unchecked(&mut this.children[index]) };
            if let Poll::Ready(v) = child.poll(cx) {
                return Poll::Ready(v);
            }
        }
        if this.flavor.buggy() {
            this.children.swap(0, 1);
        } else {
            this.first = 1 - this.first;
        }
        Poll::Pending
    }
}

pub fn scenario(flavor: Flavor) -> Scenario {
    let (a, ha) = pollcheck::probe::<u32>();
    let (b, hb) = pollcheck::probe::<u32>();
    // A fair select legitimately picks either child when both are ready, and which
    // one depends on how often it was polled: equal outputs keep schedules comparable.
    Scenario::new().task(fair_select(a, b, flavor)).step(ha.completes(1)).step(hb.completes(1))
}

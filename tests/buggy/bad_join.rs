//! A join of two futures. Bug: it polls both children on every poll, including one
//! that already returned `Ready` (poll after ready, caught on the `.checked()` child).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::{first_waker, Flavor};
use pollcheck::{FutureCheckExt, Scenario};

pub struct Join<A: Future, B: Future> {
    a: Pin<Box<A>>,
    b: Pin<Box<B>>,
    out_a: Option<A::Output>,
    out_b: Option<B::Output>,
    flavor: Flavor,
}

pub fn join<A: Future, B: Future>(a: A, b: B, flavor: Flavor) -> Join<A, B> {
    Join { a: Box::pin(a), b: Box::pin(b), out_a: None, out_b: None, flavor }
}

impl<A: Future, B: Future> Future for Join<A, B>
where
    A::Output: Unpin,
    B::Output: Unpin,
{
    type Output = (A::Output, B::Output);
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if this.out_a.is_none() || this.flavor.buggy() {
            if let Poll::Ready(v) = this.a.as_mut().poll(cx) {
                this.out_a = Some(v);
            }
        }
        if this.out_b.is_none() || this.flavor.buggy() {
            if let Poll::Ready(v) = this.b.as_mut().poll(cx) {
                this.out_b = Some(v);
            }
        }
        if this.out_a.is_some() && this.out_b.is_some() {
            return Poll::Ready((this.out_a.take().unwrap(), this.out_b.take().unwrap()));
        }
        Poll::Pending
    }
}

pub fn scenario(flavor: Flavor) -> Scenario {
    let (tx1, rx1) = first_waker::channel(Flavor::Fixed);
    let (tx2, rx2) = first_waker::channel(Flavor::Fixed);
    Scenario::new().task(join(rx1.checked(), rx2.checked(), flavor)).step(move || tx1.send(1)).step(move || tx2.send(2))
}

/// The same join over probes: the probes report the poll after ready themselves.
pub fn over_probes(flavor: Flavor) -> Scenario {
    let (a, ha) = pollcheck::probe::<u32>();
    let (b, hb) = pollcheck::probe::<u32>();
    Scenario::new().task(join(a, b, flavor)).step(ha.completes(1)).step(hb.completes(2))
}

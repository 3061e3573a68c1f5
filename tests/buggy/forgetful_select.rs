//! A select of two futures. Bug: after its first poll it polls only the first child,
//! so a wake of the second one reaches the task and is then lost inside the
//! combinator (the probe reports that it was woken and never polled again).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::Flavor;
use pollcheck::Scenario;

pub struct Select<A, B> {
    a: Pin<Box<A>>,
    b: Pin<Box<B>>,
    polled: bool,
    flavor: Flavor,
}

pub fn select<A, B>(a: A, b: B, flavor: Flavor) -> Select<A, B> {
    Select { a: Box::pin(a), b: Box::pin(b), polled: false, flavor }
}

impl<T, A: Future<Output = T>, B: Future<Output = T>> Future for Select<A, B> {
    type Output = (usize, T);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<(usize, T)> {
        if let Poll::Ready(v) = self.a.as_mut().poll(cx) {
            return Poll::Ready((0, v));
        }
        let first = !std::mem::replace(&mut self.polled, true);
        if first || !self.flavor.buggy() {
            return self.b.as_mut().poll(cx).map(|v| (1, v));
        }
        Poll::Pending
    }
}

pub fn scenario(flavor: Flavor) -> Scenario {
    let (a, ha) = pollcheck::probe::<u32>();
    let (b, hb) = pollcheck::probe::<u32>();
    // `a` never finishes: only `b` can end the select.
    let _keep = ha;
    Scenario::new().task(select(a, b, flavor)).step(hb.completes(2))
}

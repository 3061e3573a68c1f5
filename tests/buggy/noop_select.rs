//! A select of two futures. Bug: it polls its second child with a no-op waker (a
//! "peek" that must not register), so when only that child can make progress nothing
//! wakes the task (the probe reports that its waker does not lead back to the task).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::Flavor;
use pollcheck::Scenario;

pub struct Select<A, B> {
    a: Pin<Box<A>>,
    b: Pin<Box<B>>,
    flavor: Flavor,
}

pub fn select<A, B>(a: A, b: B, flavor: Flavor) -> Select<A, B> {
    Select { a: Box::pin(a), b: Box::pin(b), flavor }
}

impl<T, A: Future<Output = T>, B: Future<Output = T>> Future for Select<A, B> {
    /// Which child finished (0 or 1), and its output.
    type Output = (usize, T);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<(usize, T)> {
        if let Poll::Ready(v) = self.a.as_mut().poll(cx) {
            return Poll::Ready((0, v));
        }
        let mut peek = Context::from_waker(futures_util::task::noop_waker_ref());
        let cx = if self.flavor.buggy() { &mut peek } else { cx };
        self.b.as_mut().poll(cx).map(|v| (1, v))
    }
}

pub fn scenario(flavor: Flavor) -> Scenario {
    let (a, ha) = pollcheck::probe::<u32>();
    let (b, hb) = pollcheck::probe::<u32>();
    Scenario::new().task(select(a, b, flavor)).step(hb.completes(2)).step(ha.completes(1))
}

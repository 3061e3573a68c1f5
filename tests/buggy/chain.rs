//! A chain of two streams. Bug: it polls the first stream on every poll, even after
//! it returned `None` (poll after ready, reported by the stream probe).

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::{Stream, StreamExt};

use super::Flavor;
use pollcheck::Scenario;

pub struct Chain<A, B> {
    first: Pin<Box<A>>,
    second: Pin<Box<B>>,
    first_done: bool,
    flavor: Flavor,
}

pub fn chain<A, B>(first: A, second: B, flavor: Flavor) -> Chain<A, B> {
    Chain { first: Box::pin(first), second: Box::pin(second), first_done: false, flavor }
}

impl<T, A: Stream<Item = T>, B: Stream<Item = T>> Stream for Chain<A, B> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        if !self.first_done || self.flavor.buggy() {
            match self.first.as_mut().poll_next(cx) {
                Poll::Ready(Some(item)) => return Poll::Ready(Some(item)),
                Poll::Ready(None) => self.first_done = true,
                Poll::Pending => return Poll::Pending,
            }
        }
        self.second.as_mut().poll_next(cx)
    }
}

pub fn scenario(flavor: Flavor) -> Scenario {
    let (a, ha) = pollcheck::probe_stream::<u32>();
    let (b, hb) = pollcheck::probe_stream::<u32>();
    Scenario::new()
        .task(chain(a, b, flavor).collect::<Vec<u32>>())
        .step(ha.yields(1))
        .step(ha.ends())
        .step(hb.yields(2))
        .step(hb.ends())
}

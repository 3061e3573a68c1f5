//! A fan-out sink that sends every item to two sinks. Bug: its `poll_ready` asks only
//! the first sink, then `start_send` sends to both, so the second gets `start_send`
//! without a `Ready(Ok)` from its `poll_ready` (sink protocol), and loses the item or
//! overflows when it is full.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::Sink;

use super::Flavor;
use pollcheck::Scenario;

pub struct Fanout<A, B> {
    a: Pin<Box<A>>,
    b: Pin<Box<B>>,
    flavor: Flavor,
}

pub fn fanout<A, B>(a: A, b: B, flavor: Flavor) -> Fanout<A, B> {
    Fanout { a: Box::pin(a), b: Box::pin(b), flavor }
}

impl<T: Clone, E, A: Sink<T, Error = E>, B: Sink<T, Error = E>> Sink<T> for Fanout<A, B> {
    type Error = E;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), E>> {
        let a = self.a.as_mut().poll_ready(cx)?;
        if self.flavor.buggy() {
            return a.map(Ok);
        }
        let b = self.b.as_mut().poll_ready(cx)?;
        if a.is_ready() && b.is_ready() {
            Poll::Ready(Ok(()))
        } else {
            Poll::Pending
        }
    }

    fn start_send(mut self: Pin<&mut Self>, item: T) -> Result<(), E> {
        self.a.as_mut().start_send(item.clone())?;
        self.b.as_mut().start_send(item)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), E>> {
        let a = self.a.as_mut().poll_flush(cx)?;
        let b = self.b.as_mut().poll_flush(cx)?;
        if a.is_ready() && b.is_ready() {
            Poll::Ready(Ok(()))
        } else {
            Poll::Pending
        }
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), E>> {
        let a = self.a.as_mut().poll_close(cx)?;
        let b = self.b.as_mut().poll_close(cx)?;
        if a.is_ready() && b.is_ready() {
            Poll::Ready(Ok(()))
        } else {
            Poll::Pending
        }
    }
}

/// Over sink probes: the second probe reports the protocol error.
pub fn scenario(flavor: Flavor) -> Scenario {
    let (a, ha) = pollcheck::probe_sink::<u32>();
    let (b, hb) = pollcheck::probe_sink::<u32>();
    Scenario::new()
        .sink_task(fanout(a, b, flavor), [1])
        .step(ha.accepts(1))
        .step(hb.accepts(1))
        .step(ha.drains())
        .step(hb.drains())
}

/// Over `.checked_sink()` futures-channel senders.
pub fn over_checked_senders(flavor: Flavor) -> Scenario {
    use futures_util::StreamExt;
    use pollcheck::SinkCheckExt;

    let (ta, ra) = futures_channel::mpsc::channel::<u32>(0);
    let (tb, rb) = futures_channel::mpsc::channel::<u32>(0);
    Scenario::new()
        .sink_task(fanout(ta.checked_sink(), tb.checked_sink(), flavor), [1, 2])
        .task(ra.collect::<Vec<_>>())
        .task(rb.collect::<Vec<_>>())
}

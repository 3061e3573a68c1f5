//! Streams and sinks as tasks: adapters that the engine polls like any task future.
//!
//! A stream task's poll calls `poll_next` until `Pending` or `None` (what an executor
//! polling a consumer loop does); a sink task's poll drives `poll_ready`, `start_send`,
//! `poll_flush` and `poll_close` in order until one is `Pending`. So every detector
//! applies per poll without the engine knowing about streams or sinks; what each poll
//! moved is kept for the timeline ([`Items`]).

use std::fmt::Debug;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::spec::task::{ErasedFuture, Items};

/// A stream run as a task ([`Scenario::stream_task`](crate::Scenario::stream_task)).
#[cfg(feature = "stream")]
pub(crate) struct StreamTask<S> {
    stream: S,
    /// Every item so far (formatted when outputs are captured).
    all: Vec<String>,
    last: Option<Items>,
}

#[cfg(feature = "stream")]
impl<S> StreamTask<S> {
    pub(crate) fn new(stream: S) -> Self {
        StreamTask { stream, all: Vec::new(), last: None }
    }
}

#[cfg(feature = "stream")]
impl<S> ErasedFuture for StreamTask<S>
where
    S: futures_core::Stream,
    S::Item: Debug,
{
    fn poll_erased(self: Pin<&mut Self>, cx: &mut Context<'_>, capture: bool) -> Poll<Option<String>> {
        // SAFETY: structural pin projection of `stream`; the other fields are not
        // pinned, and `StreamTask` has no `Drop` impl that could move the stream.
        let this = unsafe { self.get_unchecked_mut() };
        let mut stream = unsafe { Pin::new_unchecked(&mut this.stream) };
        let last = this.last.insert(Items { verb: "yielded", ..Items::default() });
        loop {
            match stream.as_mut().poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(item)) => {
                    last.count += 1;
                    if capture {
                        let text = format!("{item:?}");
                        this.all.push(text.clone());
                        last.items.push(text);
                    }
                }
                Poll::Ready(None) => {
                    last.end = Some("Ready(None)");
                    return Poll::Ready(capture.then(|| format!("[{}]", this.all.join(", "))));
                }
            }
        }
    }

    fn take_items(self: Pin<&mut Self>) -> Option<Items> {
        // SAFETY: `last` is not structurally pinned.
        unsafe { self.get_unchecked_mut() }.last.take()
    }
}

/// Where a sink task is in the protocol.
#[cfg(feature = "sink")]
#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for `poll_ready` before the next item (or the flush when none is left).
    Ready,
    Flush,
    Close,
}

/// A sink fed items as a task ([`Scenario::sink_task`](crate::Scenario::sink_task)).
#[cfg(feature = "sink")]
pub(crate) struct SinkTask<S, T> {
    sink: S,
    items: std::collections::VecDeque<T>,
    phase: Phase,
    sent: usize,
    last: Option<Items>,
}

#[cfg(feature = "sink")]
impl<S, T> SinkTask<S, T> {
    pub(crate) fn new(sink: S, items: impl IntoIterator<Item = T>) -> Self {
        SinkTask { sink, items: items.into_iter().collect(), phase: Phase::Ready, sent: 0, last: None }
    }
}

#[cfg(feature = "sink")]
impl<S, T> ErasedFuture for SinkTask<S, T>
where
    S: futures_sink::Sink<T>,
    S::Error: Debug,
    T: Debug,
{
    fn poll_erased(self: Pin<&mut Self>, cx: &mut Context<'_>, capture: bool) -> Poll<Option<String>> {
        // SAFETY: structural pin projection of `sink`; the other fields are not pinned,
        // and `SinkTask` has no `Drop` impl that could move the sink.
        let this = unsafe { self.get_unchecked_mut() };
        let mut sink = unsafe { Pin::new_unchecked(&mut this.sink) };
        let last = this.last.insert(Items { verb: "sent", ..Items::default() });
        let failed = |e: S::Error| Poll::Ready(capture.then(|| format!("Err({e:?})")));
        loop {
            match this.phase {
                Phase::Ready if this.items.is_empty() => this.phase = Phase::Flush,
                Phase::Ready => match sink.as_mut().poll_ready(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Err(e)) => return failed(e),
                    Poll::Ready(Ok(())) => {
                        let item = this.items.pop_front().expect("not empty");
                        let text = capture.then(|| format!("{item:?}"));
                        if let Err(e) = sink.as_mut().start_send(item) {
                            return failed(e);
                        }
                        this.sent += 1;
                        last.count += 1;
                        last.items.extend(text);
                    }
                },
                Phase::Flush => match sink.as_mut().poll_flush(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Err(e)) => return failed(e),
                    Poll::Ready(Ok(())) => this.phase = Phase::Close,
                },
                Phase::Close => match sink.as_mut().poll_close(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Err(e)) => return failed(e),
                    Poll::Ready(Ok(())) => {
                        last.end = Some("Ready (flushed, closed)");
                        return Poll::Ready(capture.then(|| format!("Ok({} sent)", this.sent)));
                    }
                },
            }
        }
    }

    fn take_items(self: Pin<&mut Self>) -> Option<Items> {
        // SAFETY: `last` is not structurally pinned.
        unsafe { self.get_unchecked_mut() }.last.take()
    }
}

//! A merge of two streams. Bug: it polls both children on every poll, even one that
//! already returned `None` (poll after ready). futures-channel's receivers return
//! `None` again, being `FusedStream`s, which hides the bug; a merge generic over any
//! `Stream` must not rely on it, and `.checked()` children say so.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_channel::mpsc;
use futures_util::Stream;
use pollcheck::{Scenario, StreamCheckExt};

use super::Flavor;

pub struct Merge<A, B> {
    a: Pin<Box<A>>,
    b: Pin<Box<B>>,
    a_done: bool,
    b_done: bool,
    flavor: Flavor,
}

pub fn merge<A, B>(a: A, b: B, flavor: Flavor) -> Merge<A, B> {
    Merge { a: Box::pin(a), b: Box::pin(b), a_done: false, b_done: false, flavor }
}

fn poll_child<S: Stream>(s: Pin<&mut S>, done: &mut bool, skip: bool, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
    if skip {
        return Poll::Ready(None);
    }
    let poll = s.poll_next(cx);
    if let Poll::Ready(None) = poll {
        *done = true;
    }
    poll
}

impl<T, A: Stream<Item = T>, B: Stream<Item = T>> Stream for Merge<A, B> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = &mut *self;
        let fixed = !this.flavor.buggy();
        let skip = fixed && this.a_done;
        let a = poll_child(this.a.as_mut(), &mut this.a_done, skip, cx);
        if let Poll::Ready(Some(item)) = a {
            return Poll::Ready(Some(item));
        }
        let skip = fixed && this.b_done;
        let b = poll_child(this.b.as_mut(), &mut this.b_done, skip, cx);
        if let Poll::Ready(Some(item)) = b {
            return Poll::Ready(Some(item));
        }
        if this.a_done && this.b_done {
            Poll::Ready(None)
        } else {
            Poll::Pending
        }
    }
}

pub fn scenario(flavor: Flavor) -> Scenario {
    let (ta, ra) = mpsc::unbounded::<u32>();
    let (tb, rb) = mpsc::unbounded::<u32>();
    Scenario::new()
        .stream_task(merge(ra.checked(), rb.checked(), flavor))
        .step(move || drop(ta))
        .step(move || drop(tb.unbounded_send(2)))
}

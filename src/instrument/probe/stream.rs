//! The stream probe (feature `stream`): a `Stream` whose items its handle yields.

use std::collections::VecDeque;
use std::fmt;
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_core::Stream;

use super::leaf::Leaf;
use super::shared::{Mode, Shared};

/// A probe stream and the handle that controls it: [`probe`](crate::probe) for
/// streams (feature `stream`).
///
/// The stream is `Pending` until its handle yields an item ([`StreamHandle::yield_item`])
/// or ends it ([`StreamHandle::end`]); polling it again after it returned `None` is a
/// [`PollAfterReady`](crate::ViolationKind::PollAfterReady), and every other check of
/// [`probe`](crate::probe) applies.
///
/// ```
/// use futures_util::StreamExt;
/// use pollcheck::Scenario;
///
/// pollcheck::check(|| {
///     let (items, h) = pollcheck::probe_stream::<u32>();
///     Scenario::new()
///         .task(items.map(|x| x * 10).collect::<Vec<_>>())
///         .step(h.yields(1))
///         .step(h.ends())
/// });
/// ```
#[track_caller]
pub fn probe_stream<T>() -> (StreamProbe<T>, StreamHandle<T>) {
    let queue = Queue { items: VecDeque::new(), ended_at: None };
    let shared = Shared::new("stream probe", "None", Location::caller(), Mode::Test, queue, |q| Queue {
        items: std::mem::take(&mut q.items),
        ended_at: q.ended_at,
    });
    let handle = StreamHandle { shared: Arc::clone(&shared) };
    (StreamProbe { leaf: Leaf::new(shared) }, handle)
}

struct Queue<T> {
    items: VecDeque<T>,
    ended_at: Option<&'static Location<'static>>,
}

/// The stream half of [`probe_stream`].
#[must_use = "streams do nothing unless polled"]
pub struct StreamProbe<T> {
    leaf: Leaf<Queue<T>>,
}

impl<T: 'static> Stream for StreamProbe<T> {
    type Item = T;

    #[track_caller]
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.leaf.poll(self.leaf.address(), Location::caller(), cx, |q| match q.items.pop_front() {
            Some(item) => Some((Some(item), false)),
            None => q.ended_at.map(|_| (None, true)),
        })
    }
}

impl<T> fmt::Debug for StreamProbe<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.leaf.fmt_probe("StreamProbe", f)
    }
}

super::shared::probe_handle! {
    /// Controls a [`StreamProbe`]. Clones control the same stream.
    pub struct StreamHandle<T>(Shared<Queue<T>>);
    what: "stream",
    make: "pollcheck::probe_stream::<u32>()",
    polled: "(`poll_next`)",
}

impl<T: 'static> StreamHandle<T> {
    /// Queues `item` for the stream's next poll and wakes it.
    ///
    /// # Panics
    /// If the stream was ended.
    #[track_caller]
    pub fn yield_item(&self, item: T) {
        self.yield_at(item, Location::caller());
    }

    fn yield_at(&self, item: T, at: &'static Location<'static>) {
        let created_at = self.shared.created_at;
        self.shared.update_and_wake(at, |q| {
            if let Some(ended) = q.ended_at {
                panic!("pollcheck: the stream probe created at {created_at} yielded at {at} after it ended at {ended}");
            }
            q.items.push_back(item);
        });
    }

    /// Ends the stream (after the queued items) and wakes it.
    #[track_caller]
    pub fn end(&self) {
        self.ends()();
    }

    /// A driver step that yields `item`.
    #[track_caller]
    #[must_use = "a driver step does nothing until it is given to `Scenario::step` (or called)"]
    pub fn yields(&self, item: T) -> impl FnOnce() + 'static {
        let handle = self.clone();
        let at = Location::caller();
        move || handle.yield_at(item, at)
    }

    /// A driver step that ends the stream.
    #[track_caller]
    #[must_use = "a driver step does nothing until it is given to `Scenario::step` (or called)"]
    pub fn ends(&self) -> impl FnOnce() + 'static {
        let at = Location::caller();
        self.shared.step(at, move |q| {
            q.ended_at.get_or_insert(at);
        })
    }
}

impl<T> StreamHandle<T> {
    /// Whether the stream returned `None`.
    pub fn is_finished(&self) -> bool {
        self.shared.is_finished()
    }
}

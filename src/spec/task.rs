//! What a scenario is made of: its tasks (futures with their output type erased, and
//! what a schedule may do to them) and its driver steps. Below both the scenario and
//! the stream and sink task adapters, which are erased futures too.

use std::fmt::Debug;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};

pub(crate) struct TaskSpec {
    pub(crate) type_name: &'static str,
    pub(crate) future: TaskFuture,
    /// Declared with [`Scenario::must_finish`].
    pub(crate) must_finish: bool,
    pub(crate) fate: Fate,
}

/// What a schedule may do to a task's life besides polling it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Fate {
    /// `c`: dropped before it finishes.
    pub(crate) cancel: bool,
    /// `a`: never polled again.
    pub(crate) abandon: bool,
}

impl Fate {
    /// A `Scenario` task: anything.
    pub(crate) const ANY: Fate = Fate { cancel: true, abandon: true };
    /// A model's body, or a spawned task something may await: runs to its end.
    pub(crate) const KEPT: Fate = Fate { cancel: false, abandon: false };
    /// `spawn_cancellable`: may be cancelled (its handle says so), never abandoned.
    pub(crate) const CANCELLABLE: Fate = Fate { cancel: true, abandon: false };
}

pub(crate) struct DriverStep {
    pub(crate) location: &'static Location<'static>,
    pub(crate) run: Box<dyn FnOnce()>,
}

/// A task's future with its output type erased.
pub(crate) enum TaskFuture {
    Pinned(Pin<Box<dyn ErasedFuture>>),
    Movable(Box<dyn MovableFuture>),
}

impl TaskFuture {
    pub(crate) fn poll(&mut self, cx: &mut Context<'_>, capture: bool) -> Poll<Option<String>> {
        match self {
            TaskFuture::Pinned(f) => f.as_mut().poll_erased(cx, capture),
            TaskFuture::Movable(f) => Pin::new(&mut **f).poll_erased(cx, capture),
        }
    }

    /// What the last poll yielded or sent (stream and sink tasks only).
    pub(crate) fn take_items(&mut self) -> Option<Items> {
        match self {
            TaskFuture::Pinned(f) => f.as_mut().take_items(),
            TaskFuture::Movable(f) => Pin::new(&mut **f).take_items(),
        }
    }

    /// Moves an `Unpin` future to a fresh allocation (a pinned one stays put: the
    /// engine enables `m` only for `Unpin` tasks).
    pub(crate) fn relocate(&mut self) {
        if let TaskFuture::Movable(f) = self {
            let old = std::mem::replace(f, Box::new(Captured(std::future::pending::<()>())));
            *f = old.relocate();
        }
    }
}

/// A future whose output is formatted (only when asked, to keep polls cheap) and
/// dropped at once, so outputs such as lock guards release what they hold.
pub(crate) trait ErasedFuture {
    fn poll_erased(self: Pin<&mut Self>, cx: &mut Context<'_>, capture: bool) -> Poll<Option<String>>;

    /// What the last poll yielded (a stream task) or sent (a sink task).
    fn take_items(self: Pin<&mut Self>) -> Option<Items> {
        None
    }
}

/// What one poll of a stream or sink task moved, for the timeline and the
/// quiescence probe (an item yielded or accepted is progress).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Items {
    /// "yielded", "sent".
    pub(crate) verb: &'static str,
    /// How many (counted even when they are not formatted).
    pub(crate) count: usize,
    /// The items, formatted when outputs are captured.
    pub(crate) items: Vec<String>,
    /// How the task ended in this poll, replacing `Ready(..)` in the timeline:
    /// "Ready(None)", "closed".
    pub(crate) end: Option<&'static str>,
}

pub(crate) trait MovableFuture: ErasedFuture + Unpin {
    fn relocate(self: Box<Self>) -> Box<dyn MovableFuture>;
}

/// `future` as a pinned task future.
pub(crate) fn pinned<F>(future: F) -> TaskFuture
where
    F: Future + 'static,
    F::Output: Debug,
{
    TaskFuture::Pinned(Box::pin(Captured(future)))
}

/// `future` as a task future the engine may move (`m`).
pub(crate) fn movable<F>(future: F) -> TaskFuture
where
    F: Future + Unpin + 'static,
    F::Output: Debug,
{
    TaskFuture::Movable(Box::new(Captured(future)))
}

struct Captured<F>(F);

impl<F> ErasedFuture for Captured<F>
where
    F: Future,
    F::Output: Debug,
{
    fn poll_erased(self: Pin<&mut Self>, cx: &mut Context<'_>, capture: bool) -> Poll<Option<String>> {
        // SAFETY: structural pin projection; `Captured` never moves its field and has
        // no `Drop` or `Unpin` impl of its own that could.
        let inner = unsafe { self.map_unchecked_mut(|c| &mut c.0) };
        inner.poll(cx).map(|out| capture.then(|| format!("{out:?}")))
    }
}

impl<F> MovableFuture for Captured<F>
where
    F: Future + Unpin + 'static,
    F::Output: Debug,
{
    fn relocate(self: Box<Self>) -> Box<dyn MovableFuture> {
        // Allocate the new home before freeing the old one so the address changes.
        let mut fresh: Box<std::mem::MaybeUninit<Self>> = Box::new_uninit();
        fresh.write(*self);
        // SAFETY: `fresh` was fully initialised by the `write` above.
        unsafe { fresh.assume_init() }
    }
}

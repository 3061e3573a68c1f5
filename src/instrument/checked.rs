//! `.checked()`: a wrapper that reports *poll after ready* and *moved while pinned*,
//! naming where it was created and where it was first polled.

use std::future::Future;
use std::marker::PhantomPinned;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::detect::violation::ViolationKind;
use crate::engine::raised::raise;
use crate::instrument::runtime::{Runtime, Spurious};

/// Extension trait for futures, in the spirit of `futures_test::future::FutureTestExt`.
pub trait FutureCheckExt: Future + Sized {
    /// Wraps the future so that polling it after it returned `Ready`, or moving it
    /// after it was first polled, panics with a message naming where it was created
    /// and first polled. Inside the checker the panic becomes a
    /// [`PollAfterReady`](crate::ViolationKind::PollAfterReady) or
    /// [`MovedWhilePinned`](crate::ViolationKind::MovedWhilePinned) report.
    ///
    /// Use it on the children of a combinator under test: the combinator is the one
    /// that must not poll a finished child or move a pinned one.
    ///
    /// ```
    /// use pollcheck::FutureCheckExt;
    /// use futures_test::task::noop_context;
    /// use std::future::{ready, Future};
    /// use std::pin::pin;
    ///
    /// let mut fut = pin!(ready(1).checked());
    /// let mut cx = noop_context();
    /// assert_eq!(fut.as_mut().poll(&mut cx), std::task::Poll::Ready(1));
    /// let again = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
    ///     let _ = fut.as_mut().poll(&mut cx);
    /// }));
    /// assert!(again.is_err());
    /// ```
    ///
    /// # Under a real executor
    ///
    /// Outside pollcheck's engine (tokio, smol, futures-executor, your own), every poll
    /// gives the inner future a waker of its own identity that wraps the executor's
    /// waker, so every wake still reaches the executor, and the wrapper panics with:
    ///
    /// * [`LostWakeup`](crate::ViolationKind::LostWakeup), at the end of a poll: the
    ///   inner future returned `Pending`, was not woken during that poll and kept no
    ///   clone of any waker it was given, so nothing can ever wake it (instead of a test
    ///   that hangs until its timeout);
    /// * [`StaleWaker`](crate::ViolationKind::StaleWaker), at the next poll or at drop:
    ///   the latest poll returned `Pending` and dropped its waker unwoken, and a wake
    ///   reached a waker from an earlier poll (forwarding made this run work; another
    ///   executor, or a task that moved, would hang). Both polls are named.
    ///
    /// Each poll is a new identity even when the executor's waker did not change: the
    /// wakers of two polls are not [`will_wake`](std::task::Waker::will_wake) each
    /// other (clones of one are), so a future that compares with `will_wake` re-registers
    /// every poll, and one that keeps an earlier waker is caught. [`Checked::spurious`]
    /// adds spurious polls. Inside pollcheck's engine none of this applies: the engine
    /// instruments the wakers itself.
    ///
    /// ```
    /// use pollcheck::FutureCheckExt;
    /// use std::future::poll_fn;
    /// use std::task::Poll;
    ///
    /// // A future that returns Pending once without keeping or waking its waker.
    /// let mut first = true;
    /// let forgetful = poll_fn(move |_cx| if std::mem::take(&mut first) { Poll::Pending } else { Poll::Ready(()) });
    /// let hang = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
    ///     futures_executor::block_on(forgetful.checked()) // would hang without `.checked()`
    /// }));
    /// assert!(hang.is_err()); // "pollcheck: lost wakeup: the future created at src/main.rs:..."
    ///
    /// // Correct code passes.
    /// let (tx, rx) = futures_channel::oneshot::channel::<u32>();
    /// std::thread::spawn(move || tx.send(7).unwrap());
    /// assert_eq!(futures_executor::block_on(rx.checked()), Ok(7));
    /// ```
    #[track_caller]
    fn checked(self) -> Checked<Self> {
        Checked::new(self, Location::caller())
    }
}

impl<F: Future> FutureCheckExt for F {}

/// Extension trait for streams (feature `stream`): [`FutureCheckExt`] for `Stream`s.
#[cfg(feature = "stream")]
pub trait StreamCheckExt: futures_core::Stream + Sized {
    /// Wraps the stream so that polling it after it returned `None`, or moving it after
    /// it was first polled, panics with a message naming where it was created and
    /// polled. Inside the checker the panic becomes a
    /// [`PollAfterReady`](crate::ViolationKind::PollAfterReady) or
    /// [`MovedWhilePinned`](crate::ViolationKind::MovedWhilePinned) report. Use it on
    /// the child streams of a combinator under test (a merge, a chain, a flatten).
    /// Under a real executor, each `poll_next` is checked as
    /// [`FutureCheckExt::checked`] checks a poll (lost wakeup, stale waker).
    ///
    /// A [`FusedStream`](futures_core::FusedStream) may be polled after `None`: wrap it
    /// with [`checked_fused`](StreamCheckExt::checked_fused) instead.
    ///
    /// ```
    /// use futures_util::{stream, StreamExt};
    /// use pollcheck::StreamCheckExt;
    /// use futures_test::task::noop_context;
    /// use std::task::Poll;
    ///
    /// let mut s = Box::pin(stream::iter([1]).checked());
    /// let mut cx = noop_context();
    /// assert_eq!(s.poll_next_unpin(&mut cx), Poll::Ready(Some(1)));
    /// assert_eq!(s.poll_next_unpin(&mut cx), Poll::Ready(None));
    /// let again = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| s.poll_next_unpin(&mut cx)));
    /// assert!(again.is_err()); // "pollcheck: poll after ready: the stream created at ..."
    /// ```
    #[track_caller]
    fn checked(self) -> Checked<Self> {
        Checked::new(self, Location::caller())
    }

    /// [`checked`](StreamCheckExt::checked) for a
    /// [`FusedStream`](futures_core::FusedStream): polling it after `None` is allowed
    /// (it must keep returning `None`); moves are still reported.
    ///
    /// ```
    /// use futures_util::{stream, StreamExt};
    /// use pollcheck::StreamCheckExt;
    /// use futures_test::task::noop_context;
    /// use std::task::Poll;
    ///
    /// let mut s = Box::pin(stream::iter([1]).fuse().checked_fused());
    /// let mut cx = noop_context();
    /// assert_eq!(s.poll_next_unpin(&mut cx), Poll::Ready(Some(1)));
    /// assert_eq!(s.poll_next_unpin(&mut cx), Poll::Ready(None));
    /// assert_eq!(s.poll_next_unpin(&mut cx), Poll::Ready(None));
    /// ```
    #[track_caller]
    fn checked_fused(self) -> Checked<Self>
    where
        Self: futures_core::FusedStream,
    {
        let mut checked = StreamCheckExt::checked(self);
        checked.created_at = Location::caller();
        checked.fused = true;
        checked
    }
}

#[cfg(feature = "stream")]
impl<S: futures_core::Stream> StreamCheckExt for S {}

/// The future returned by [`FutureCheckExt::checked`], and the stream returned by
/// `StreamCheckExt::checked` (feature `stream`: `Checked<S>` is a `Stream` when `S` is,
/// and a `FusedStream` when `S` is).
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct Checked<F> {
    inner: F,
    created_at: &'static Location<'static>,
    /// Address when first polled, and where that poll came from.
    first_poll: Option<(usize, &'static Location<'static>)>,
    ready_at: Option<&'static Location<'static>>,
    /// The instrumented wakers under a real executor (created at the first poll there).
    runtime: Option<Runtime>,
    /// The adversarial mode, when on.
    spurious: Option<Spurious>,
    /// A checked `FusedStream`: polls after `None` are allowed.
    #[cfg_attr(not(feature = "stream"), allow(dead_code))]
    fused: bool,
    _pinned: PhantomPinned,
}

impl<F> Checked<F> {
    fn new(inner: F, created_at: &'static Location<'static>) -> Self {
        Checked {
            inner,
            created_at,
            first_poll: None,
            ready_at: None,
            runtime: None,
            spurious: None,
            fused: false,
            _pinned: PhantomPinned,
        }
    }

    /// Where `.checked()` was called.
    pub fn created_at(&self) -> &'static Location<'static> {
        self.created_at
    }

    /// Turns on adversarial polling under a real executor, seeded by `seed` (the same
    /// seed makes the same choices for the same sequence of polls).
    ///
    /// Before one poll in four (on average) the wrapper wakes itself and returns
    /// `Pending` without polling the inner future, so the executor runs other tasks in
    /// between; and after one `Pending` in two that no wake accompanied, it polls the
    /// inner future again at once, with a new waker and no wake in between: a spurious
    /// poll, which the contract allows at any time. A panic in that extra poll is
    /// reported as [`SpuriousPoll`](crate::ViolationKind::SpuriousPoll), naming both
    /// polls. (A future that returns a wrong output after a spurious poll is beyond this
    /// mode: only pollcheck's engine, which replays the honest schedule, proves that.)
    ///
    /// Inside pollcheck's engine the mode does nothing: the engine explores spurious
    /// polls itself.
    ///
    /// ```
    /// use pollcheck::FutureCheckExt;
    /// use futures_channel::oneshot;
    ///
    /// let (tx, rx) = oneshot::channel::<u32>();
    /// std::thread::spawn(move || tx.send(7).unwrap());
    /// // futures-channel's receiver tolerates spurious polls.
    /// assert_eq!(futures_executor::block_on(rx.checked().spurious(0x5eed)), Ok(7));
    /// ```
    pub fn spurious(mut self, seed: u64) -> Self {
        self.spurious = Some(Spurious::new(seed));
        self
    }

    /// How many yields (a self-wake and `Pending`, the inner future not polled) and
    /// extra polls (polls with no wake since `Pending`) the [`spurious`](Self::spurious)
    /// mode made so far; `(0, 0)` when it is off.
    ///
    /// ```
    /// use pollcheck::FutureCheckExt;
    /// use std::future::ready;
    ///
    /// assert_eq!(ready(1).checked().spurious_counts(), (0, 0));
    /// ```
    pub fn spurious_counts(&self) -> (u64, u64) {
        self.spurious.as_ref().map_or((0, 0), |s| (s.yields, s.extra_polls))
    }
}

/// Panics with a [`MovedWhilePinned`](ViolationKind::MovedWhilePinned) violation if
/// `address` is not where the wrapper was first polled.
///
/// It takes the two fields it reads, not `&self`: a shared reborrow of the whole
/// wrapper would cover the pinned inner future too, and under miri's aliasing models
/// that invalidates the borrows a self-referential future (an `async` block holding a
/// reference across an `.await`) keeps into itself (rust-lang/rust#137750). Callers
/// read the fields, and the address, through their `&mut`.
#[track_caller]
fn check_unmoved(
    first_poll: Option<(usize, &'static Location<'static>)>,
    created_at: &'static Location<'static>,
    address: usize,
    action: &str,
) {
    if let Some((first, polled_at)) = first_poll {
        if first != address {
            raise(
                ViolationKind::MovedWhilePinned,
                format!(
                    "the future created at {created_at} was first polled at {first:#x} (from {polled_at}) \
                     and {action} at {address:#x}: it moved while pinned"
                ),
            );
        }
    }
}

/// Panics with a [`PollAfterReady`](ViolationKind::PollAfterReady) violation if the
/// wrapper already ended (at `ended_at`); `what` and `how` say what it is and how it
/// ended, for the report. Fields, not `&self`, as for [`check_unmoved`].
#[track_caller]
fn check_not_ended(
    ended_at: Option<&'static Location<'static>>,
    created_at: &'static Location<'static>,
    (what, how): (&str, &str),
    note: &str,
) {
    if let Some(ended_at) = ended_at {
        raise(
            ViolationKind::PollAfterReady,
            format!(
                "the {what} created at {created_at} {how} to a poll from {ended_at} and was polled again \
                 from {}{note}",
                Location::caller()
            ),
        );
    }
}

impl<F: Future> Future for Checked<F> {
    type Output = F::Output;

    #[track_caller]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `inner` is structurally pinned: it is never moved out of `this` and
        // `Drop` below does not move it. The address is read by casting this `&mut`
        // to a raw pointer, and the move check reads only the fields it needs: a
        // shared reborrow of the whole wrapper (`Pin<&Self>`, `&self`, `addr_of!`)
        // covers the inner future, which miri's aliasing models reject for
        // self-referential futures (rust-lang/rust#137750; tests/self_referential.rs).
        let this = unsafe { self.get_unchecked_mut() };
        let address = std::ptr::from_mut(this).addr();
        check_unmoved(this.first_poll, this.created_at, address, "is now polled");
        check_not_ended(this.ready_at, this.created_at, ("future", "returned Ready"), "");
        this.first_poll.get_or_insert((address, Location::caller()));
        // SAFETY: see above; `this` stays pinned, so its field does too.
        let inner = unsafe { Pin::new_unchecked(&mut this.inner) };
        let poll = if crate::engine::hooks::active() {
            // pollcheck's engine instruments the wakers and explores the schedules itself.
            inner.poll(cx)
        } else {
            let runtime = this.runtime.get_or_insert_with(Runtime::default);
            runtime.poll(inner, cx, this.created_at, Location::caller(), this.spurious.as_mut())
        };
        if poll.is_ready() {
            this.ready_at = Some(Location::caller());
        }
        poll
    }
}

#[cfg(feature = "stream")]
impl<S: futures_core::Stream> futures_core::Stream for Checked<S> {
    type Item = S::Item;

    #[track_caller]
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        // SAFETY: as in `Future::poll` above: `inner` is structurally pinned.
        let this = unsafe { self.get_unchecked_mut() };
        let address = std::ptr::from_mut(this).addr();
        check_unmoved(this.first_poll, this.created_at, address, "is now polled");
        if !this.fused {
            let note = " (only a FusedStream may be polled after None)";
            check_not_ended(this.ready_at, this.created_at, ("stream", "returned None"), note);
        }
        this.first_poll.get_or_insert((address, Location::caller()));
        // SAFETY: see above.
        let inner = unsafe { Pin::new_unchecked(&mut this.inner) };
        let poll = if crate::engine::hooks::active() {
            inner.poll_next(cx)
        } else {
            let runtime = this.runtime.get_or_insert_with(Runtime::default);
            let mut next = NextOf(inner);
            runtime.poll(Pin::new(&mut next), cx, this.created_at, Location::caller(), this.spurious.as_mut())
        };
        if let Poll::Ready(None) = poll {
            this.ready_at.get_or_insert(Location::caller());
        }
        poll
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

#[cfg(feature = "stream")]
impl<S: futures_core::FusedStream> futures_core::FusedStream for Checked<S> {
    fn is_terminated(&self) -> bool {
        self.inner.is_terminated()
    }
}

/// One `poll_next` as a future, for the runtime's instrumented polls.
#[cfg(feature = "stream")]
struct NextOf<'a, S>(Pin<&'a mut S>);

#[cfg(feature = "stream")]
impl<S: futures_core::Stream> Future for NextOf<'_, S> {
    type Output = Option<S::Item>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.0.as_mut().poll_next(cx)
    }
}

impl<F> Drop for Checked<F> {
    fn drop(&mut self) {
        // Never panic while unwinding: that would abort the process.
        if std::thread::panicking() {
            return;
        }
        let address = std::ptr::from_mut(self).addr();
        check_unmoved(self.first_poll, self.created_at, address, "is now dropped");
        if let Some(runtime) = &mut self.runtime {
            runtime.at_drop(self.created_at);
        }
    }
}

/// `Checked<F>` is `Send` and `Sync` whenever `F` is: the runtime state is shared
/// through `Arc`s of atomics and wakers.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<Checked<std::future::Ready<u32>>>();
    send_sync::<Checked<std::future::Pending<String>>>();
};

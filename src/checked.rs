//! `.checked()`: a wrapper that reports *poll after ready* and *moved while pinned*,
//! naming where it was created and where it was first polled.

use std::cell::RefCell;
use std::future::Future;
use std::marker::PhantomPinned;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::ViolationKind;

thread_local! {
    /// The last violation a checked wrapper panicked with on this thread, so the
    /// engine can classify the panic it catches and report the plain sentence.
    static LAST_VIOLATION: RefCell<Option<(ViolationKind, String)>> = const { RefCell::new(None) };
}

pub(crate) fn take_violation() -> Option<(ViolationKind, String)> {
    LAST_VIOLATION.try_with(|v| v.borrow_mut().take()).ok().flatten()
}

/// Panics with `kind` and `message`, leaving them for the engine to classify the
/// panic (shared with probes).
#[track_caller]
pub(crate) fn violation(kind: ViolationKind, message: String) -> ! {
    let text = format!("pollcheck: {kind}: {message}");
    LAST_VIOLATION.with(|v| *v.borrow_mut() = Some((kind, message)));
    panic!("{text}")
}

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
    #[track_caller]
    fn checked(self) -> Checked<Self> {
        Checked {
            inner: self,
            created_at: Location::caller(),
            first_poll: None,
            ready_at: None,
            _pinned: PhantomPinned,
        }
    }
}

impl<F: Future> FutureCheckExt for F {}

/// The future returned by [`FutureCheckExt::checked`].
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct Checked<F> {
    inner: F,
    created_at: &'static Location<'static>,
    /// Address when first polled, and where that poll came from.
    first_poll: Option<(usize, &'static Location<'static>)>,
    ready_at: Option<&'static Location<'static>>,
    _pinned: PhantomPinned,
}

impl<F> Checked<F> {
    /// Where `.checked()` was called.
    pub fn created_at(&self) -> &'static Location<'static> {
        self.created_at
    }

    #[track_caller]
    fn check_unmoved(&self, address: usize, action: &str) {
        if let Some((first, polled_at)) = self.first_poll {
            if first != address {
                violation(
                    ViolationKind::MovedWhilePinned,
                    format!(
                        "the future created at {} was first polled at {first:#x} (from {polled_at}) \
                         and {action} at {address:#x}: it moved while pinned",
                        self.created_at
                    ),
                );
            }
        }
    }
}

impl<F: Future> Future for Checked<F> {
    type Output = F::Output;

    #[track_caller]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `inner` is structurally pinned: it is never moved out of `this` and
        // `Drop` below does not move it. The address is read through this `&mut`
        // rather than a `Pin<&Self>`, which miri's aliasing models reject for
        // self-referential futures (rust-lang/rust#137750).
        let this = unsafe { self.get_unchecked_mut() };
        let address = std::ptr::addr_of!(*this).addr();
        this.check_unmoved(address, "is now polled");
        if let Some(ready_at) = this.ready_at {
            violation(
                ViolationKind::PollAfterReady,
                format!(
                    "the future created at {} returned Ready to a poll from {ready_at} and was \
                     polled again from {}",
                    this.created_at,
                    Location::caller()
                ),
            );
        }
        this.first_poll.get_or_insert((address, Location::caller()));
        // SAFETY: see above; `this` stays pinned, so its field does too.
        let inner = unsafe { Pin::new_unchecked(&mut this.inner) };
        let poll = inner.poll(cx);
        if poll.is_ready() {
            this.ready_at = Some(Location::caller());
        }
        poll
    }
}

impl<F> Drop for Checked<F> {
    fn drop(&mut self) {
        // Never panic while unwinding: that would abort the process.
        if std::thread::panicking() {
            return;
        }
        let address = std::ptr::addr_of!(*self).addr();
        self.check_unmoved(address, "is now dropped");
    }
}
